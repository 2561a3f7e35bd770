package daemon

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// TestServeUDPTCPReload serves a Go-built configuration over UDP and TCP,
// reloads it with another layer on the same sockets, and shuts down.
func TestServeUDPTCPReload(t *testing.T) {
	testnet.Isolate(t)
	cfg := &Config{Layers: []Layer{&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}}
	s := startServer(t, cfg)
	addr := s.Addrs(KindDNS)[0]
	for _, netw := range []string{"udp", "tcp"} {
		r := exchange(t, netw, addr, query("www.example.org", dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
			t.Fatalf("%s: answer %v", netw, r)
		}
		if !r.Authoritative || !r.RecursionAvailable {
			t.Errorf("%s: flags aa=%v ra=%v", netw, r.Authoritative, r.RecursionAvailable)
		}
		// nothing answers AAAA: REFUSED (no recursion yet)
		if r := exchange(t, netw, addr, query("www.example.org", dns.TypeAAAA)); r.Rcode != dns.RcodeRefused {
			t.Fatalf("%s AAAA: rcode %s, want REFUSED", netw, dns.RcodeToString[r.Rcode])
		}
	}
	cfg2 := &Config{Listen: cfg.Listen, Log: cfg.Log,
		Layers: []Layer{&memLayer{name: "mem2", addr: netip.MustParseAddr("192.0.2.2"), ttl: 60}}}
	cfg2.Listen = []Listen{{Addr: addr}}
	s.mu.Lock()
	var before *listenerGroup
	for _, lg := range s.listeners {
		before = lg
	}
	s.mu.Unlock()
	if err := s.Reload(cfg2); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	for _, lg := range s.listeners {
		if lg != before {
			t.Error("the reload replaced the sockets")
		}
	}
	s.mu.Unlock()
	if got := s.Addrs(KindDNS); len(got) != 1 || got[0] != addr {
		t.Fatalf("after reload: listeners %v, want %v", got, addr)
	}
	for _, netw := range []string{"udp", "tcp"} {
		r := exchange(t, netw, addr, query("www.example.org", dns.TypeA))
		if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.2" {
			t.Fatalf("%s after reload: answer %v", netw, r)
		}
	}
}

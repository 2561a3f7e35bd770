package nsid

import (
	"context"
	"encoding/hex"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/daemon/mod/policy"
)

// exchange runs one query through a listener-less server with layers.
func exchange(t *testing.T, layers []daemon.Layer, m *dns.Msg) *dns.Msg {
	t.Helper()
	s, err := daemon.New(&daemon.Config{Layers: layers, Log: daemon.NewLogger(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	}()
	w, _ := m.Pack()
	out, ok := s.Exchange(w, netip.MustParseAddrPort("127.0.0.1:5300"), netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
	if !ok {
		t.Fatal("no answer")
	}
	a := new(dns.Msg)
	if err := a.Unpack(out); err != nil {
		t.Fatal(err)
	}
	return a
}

func nsidOf(a *dns.Msg) (string, bool) {
	if o := a.IsEdns0(); o != nil {
		for _, e := range o.Option {
			if n, ok := e.(*dns.EDNS0_NSID); ok {
				b, _ := hex.DecodeString(n.Nsid)
				return string(b), true
			}
		}
	}
	return "", false
}

// TestNSID: the identifier comes back only to queries that carry the NSID
// option (RFC 5001 §2.1), with the answer otherwise unchanged; none before
// one is set; SetName changes it.
func TestNSID(t *testing.T) {
	p := policy.New()
	p.Add(policy.All(policy.ANSWER(map[uint16]policy.Data{dns.TypeA: {RData: [][]byte{{192, 0, 2, 1}}, TTL: 60}}, true)), false)
	n := New("")
	layers := []daemon.Layer{p, n}
	ask := func(withOpt bool) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("www.example.", dns.TypeA)
		m.SetEdns0(1232, false)
		if withOpt {
			o := m.IsEdns0()
			o.Option = append(o.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
		}
		return exchange(t, layers, m)
	}
	if _, ok := nsidOf(ask(true)); ok {
		t.Error("NSID sent with no identifier set")
	}
	n.SetName("instance 1")
	a := ask(true)
	if id, ok := nsidOf(a); !ok || id != "instance 1" || len(a.Answer) != 1 {
		t.Errorf("NSID %q %v, answer %v", id, ok, a.Answer)
	}
	if _, ok := nsidOf(ask(false)); ok {
		t.Error("NSID sent unasked")
	}
	if n.Get() != "instance 1" {
		t.Errorf("Get() = %q", n.Get())
	}
}

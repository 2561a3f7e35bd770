package rrl

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/clock"
	"ljdns/daemon"
	"ljdns/daemon/mod/policy"
	"ljdns/internal/testnet"
)

func TestSlipAndDrop(t *testing.T) {
	testnet.Isolate(t) // a loopback of its own: port-0 listeners cannot collide
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := New(Options{Rate: 5, Slip: 2, Clock: clk, Whitelist: []netip.Prefix{netip.MustParsePrefix("127.0.0.9/32")}})
	p := policy.New()
	p.Add(policy.All(policy.ANSWER(map[uint16]policy.Data{dns.TypeA: {RData: [][]byte{{192, 0, 2, 1}}, TTL: 60}}, true)), false)
	cfg := &daemon.Config{Layers: []daemon.Layer{p, l}, Log: daemon.NewLogger(os.Stderr),
		Listen: []daemon.Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:0")}}}
	s, err := daemon.New(cfg)
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
	local := netip.MustParseAddrPort("127.0.0.1:53")
	m := new(dns.Msg)
	m.SetQuestion("www.example.", dns.TypeA)
	w, _ := m.Pack()
	flood := func(client string, proto daemon.Proto, n int) (full, tc, none int) {
		for i := 0; i < n; i++ {
			out, ok := s.Exchange(w, netip.MustParseAddrPort(client), local, proto, 0)
			if !ok || out == nil {
				none++
				continue
			}
			a := new(dns.Msg)
			if err := a.Unpack(out); err != nil {
				t.Fatal(err)
			}
			if a.Truncated && len(a.Answer) == 0 {
				tc++
			} else {
				full++
			}
		}
		return
	}
	if f, tc, no := flood("127.0.0.1:1000", daemon.UDP, 20); f != 5 || tc != 7 || no != 8 {
		t.Errorf("flood: %d full %d slipped %d dropped, want 5 7 8", f, tc, no)
	}
	if f, _, _ := flood("127.0.0.2:1000", daemon.UDP, 1); f != 0 {
		t.Error("same /24 not limited together")
	}
	if f, _, _ := flood("127.0.1.1:1000", daemon.UDP, 5); f != 5 {
		t.Error("another /24 limited")
	}
	if f, _, _ := flood("127.0.0.1:1000", daemon.TCP, 5); f != 5 {
		t.Error("TCP limited")
	}
	if f, _, _ := flood("127.0.0.9:1000", daemon.UDP, 10); f != 10 {
		t.Error("whitelisted client limited")
	}
	clk.Advance(time.Second)
	if f, _, _ := flood("127.0.0.1:1000", daemon.UDP, 6); f != 5 {
		t.Errorf("after a second: %d full, want 5", f)
	}
	if l.Dropped.Load() == 0 || l.Slipped.Load() == 0 {
		t.Error("counters")
	}
	// over a real socket: a slipped answer is truncated, dropped ones time out
	addr := s.Addrs(daemon.KindDNS)[0]
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	clk.Advance(time.Second)
	got := map[string]int{}
	buf := make([]byte, 2048)
	for i := 0; i < 12; i++ {
		c.Write(w)
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		if err != nil {
			got["none"]++
			continue
		}
		a := new(dns.Msg)
		a.Unpack(buf[:n])
		if a.Truncated {
			got["tc"]++
		} else {
			got["full"]++
		}
	}
	if got["full"] != 5 || got["tc"] != 4 || got["none"] != 3 {
		t.Errorf("socket flood: %v", got)
	}
}

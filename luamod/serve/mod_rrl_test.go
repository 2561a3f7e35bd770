package serve

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/internal/testnet"
)

// TestRRLModule: rrl.config limits a UDP flood from one client (answers
// past the rate are dropped, every slip-th one comes back truncated),
// leaves TCP alone, and rrl.stats() counts it.
func TestRRLModule(t *testing.T) {
	r := newRig(t, 1, `
modules = {'hints', 'rrl'}
hints.set('h.example 192.0.2.1')
rrl.config({rate = 3, slip = 2})
`, nil)
	m := new(dns.Msg)
	m.SetQuestion("h.example.", dns.TypeA)
	wire, _ := m.Pack()
	var answered, truncated, dropped int
	for i := 0; i < 23; i++ {
		out, ok := r.srv.Exchange(wire, netip.MustParseAddrPort("127.0.0.1:5300"), netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
		if !ok || out == nil {
			dropped++
			continue
		}
		a := new(dns.Msg)
		if err := a.Unpack(out); err != nil {
			t.Fatal(err)
		}
		if a.Truncated && len(a.Answer) == 0 {
			truncated++
		} else {
			answered++
		}
	}
	// 3 tokens (+ at most one refilled while the loop runs), then 20 limited: 10 slipped, 10 dropped
	if answered < 3 || answered > 4 || truncated < 9 || dropped < 9 {
		t.Errorf("answered %d, truncated %d, dropped %d: want 3, 10, 10", answered, truncated, dropped)
	}
	out, ok := r.srv.Exchange(wire, netip.MustParseAddrPort("127.0.0.1:5301"), netip.MustParseAddrPort("127.0.0.1:53"), daemon.TCP, 0)
	if !ok || out == nil {
		t.Error("TCP answer limited")
	}
	if got := r.eval(0, "return rrl.stats().dropped + rrl.stats().slipped"); got == "0" || got == "" {
		t.Errorf("rrl.stats(): %q", got)
	}
	if err := loadErr(t, "modules.load('rrl')\nrrl.config({rate = 0})", Options{}); err == nil {
		t.Error("rate 0 accepted")
	}
}

// TestServeStaleModule: with serve_stale loaded, an expired cache entry
// answers (TTL 1, extended error 3) when the upstream no longer answers;
// without it the same query fails.
func TestServeStaleModule(t *testing.T) {
	testnet.Isolate(t)
	for _, stale := range []bool{true, false} {
		up, n, pc := countingUpstreamConn(t, 1)
		cfg := "cache.min_ttl(0)\npolicy.add(policy.all(policy.FORWARD('" + up + "')))\n"
		if stale {
			cfg = "modules.load('serve_stale < cache')\n" + cfg
		}
		r := newRig(t, 1, cfg, nil)
		if a := r.query(t, "s.example", dns.TypeA, 0); len(a.Answer) != 1 || n.Load() != 1 {
			t.Fatalf("first answer %v", a)
		}
		// the upstream goes away (its port answers ICMP unreachable) and the entry expires
		pc.Close()
		time.Sleep(1100 * time.Millisecond)
		a := r.query(t, "s.example", dns.TypeA, 0)
		code, _, hasEDE := ede(a)
		if stale {
			if len(a.Answer) != 1 || a.Answer[0].Header().Ttl != 1 || !hasEDE || code != 3 {
				t.Errorf("serve_stale: %v", a)
			}
		} else if len(a.Answer) != 0 || a.Rcode != dns.RcodeServerFailure {
			t.Errorf("without serve_stale: %v", a)
		}
		r.ld.Close()
	}
}

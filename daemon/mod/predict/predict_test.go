package predict

import (
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/clock"
	"ljdns/daemon"
	"ljdns/internal/testnet"
	"ljdns/resolver"
)

// rootServer serves a root zone of its own on addr (UDP), www.test. A with
// TTL 100 among it, and counts the A queries for each name.
func rootServer(t *testing.T, addr netip.AddrPort) map[string]*atomic.Int64 {
	counts := map[string]*atomic.Int64{"www.test.": {}, "www2.test.": {}}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		a := new(dns.Msg)
		a.SetReply(q)
		a.Authoritative = true
		qn := strings.ToLower(q.Question[0].Name)
		qt := q.Question[0].Qtype
		rr := func(s string) dns.RR { r, _ := dns.NewRR(s); return r }
		switch {
		case qn == "." && qt == dns.TypeNS:
			a.Answer = append(a.Answer, rr(". 86400 IN NS ns.root."))
			a.Extra = append(a.Extra, rr("ns.root. 86400 IN A "+addr.Addr().String()))
		case qn == "ns.root." && qt == dns.TypeA:
			a.Answer = append(a.Answer, rr("ns.root. 86400 IN A "+addr.Addr().String()))
		case counts[qn] != nil && qt == dns.TypeA:
			counts[qn].Add(1)
			a.Answer = append(a.Answer, rr(qn+" 100 IN A 192.0.2.1"))
		case counts[qn] != nil || qn == "test.":
			a.Ns = append(a.Ns, rr(". 60 IN SOA ns.root. h.root. 1 2 3 4 60"))
		default:
			a.Rcode = dns.RcodeNameError
			a.Ns = append(a.Ns, rr(". 60 IN SOA ns.root. h.root. 1 2 3 4 60"))
		}
		w.WriteMsg(a)
	})
	srv := &dns.Server{Addr: addr.String(), Net: "udp", Handler: h}
	ready := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(ready) }
	go srv.ListenAndServe()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("root server did not start")
	}
	t.Cleanup(func() { srv.Shutdown() })
	return counts
}

type rig struct {
	t      *testing.T
	clk    *clock.Fake
	r      *resolver.Resolver
	s      *daemon.Server
	counts map[string]*atomic.Int64
}

func newRig(t *testing.T, p func(r *resolver.Resolver, clk *clock.Fake) *Predictor) (*rig, *Predictor) {
	addr := testnet.FreeAddr(t)
	counts := rootServer(t, addr)
	clk := clock.NewFake(time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC))
	r, err := resolver.New(resolver.Config{Roots: []resolver.Hint{{Name: "ns.root.", Addrs: []netip.Addr{addr.Addr()}}}, Clock: clk, AllowLocal: true})
	if err != nil {
		t.Fatal(err)
	}
	l := &resolver.Layer{R: r}
	layers := []daemon.Layer{l}
	var pr *Predictor
	if p != nil {
		pr = p(r, clk)
		layers = append(layers, pr)
		pr.Start()
		t.Cleanup(func() { pr.Close() })
	}
	s, err := daemon.New(&daemon.Config{Layers: layers, Resolver: l})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t, clk, r, s, counts}, pr
}

// ask asks name A through the daemon and returns the answer's TTL.
func (g *rig) ask(name string) uint32 {
	g.t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	w, _ := m.Pack()
	out, ok := g.s.Exchange(w, netip.MustParseAddrPort("127.0.0.1:5353"), netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
	a := new(dns.Msg)
	if !ok || a.Unpack(out) != nil || a.Rcode != 0 || len(a.Answer) != 1 {
		g.t.Fatalf("%s: %v %v", name, ok, a)
	}
	return a.Answer[0].Header().Ttl
}

// waitCount waits until name has been asked upstream n times.
func (g *rig) waitCount(name string, n int64) {
	g.t.Helper()
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if g.counts[name].Load() >= n {
			return
		}
	}
	g.t.Fatalf("%s asked upstream %d times, want %d", name, g.counts[name].Load(), n)
}

// TestPredictExpiring: an answer taken from the cache with less than 1%
// of its TTL plus 5 s left is resolved again at once, so that after the
// original record's expiry the cache still answers (no upstream query, the
// refreshed TTL); without the module the cache misses then.
func TestPredictExpiring(t *testing.T) {
	testnet.Isolate(t)
	for _, on := range []bool{true, false} {
		var mk func(r *resolver.Resolver, clk *clock.Fake) *Predictor
		if on {
			mk = func(r *resolver.Resolver, clk *clock.Fake) *Predictor {
				return New(Options{Window: time.Hour, Clock: clk, Refresh: r.Refresh, Cached: r.CachedTTL})
			}
		}
		g, p := newRig(t, mk)
		g.ask("www.test.")
		g.waitCount("www.test.", 1)
		g.clk.Advance(50 * time.Second)
		if ttl := g.ask("www.test."); ttl != 50 {
			t.Errorf("predict %v: TTL %d after 50 s, want 50", on, ttl)
		}
		g.clk.Advance(46 * time.Second) // 4 s left of 100: expiring (4 < 1 + 5)
		if ttl := g.ask("www.test."); ttl != 4 {
			t.Errorf("predict %v: TTL %d after 96 s, want 4", on, ttl)
		}
		if on {
			g.waitCount("www.test.", 2) // the refresh
			if st := p.Stats(); st.Refreshed != 1 {
				t.Errorf("stats %+v, want 1 refresh", st)
			}
		}
		g.clk.Advance(50 * time.Second) // past the first answer's end
		ttl := g.ask("www.test.")
		n := g.counts["www.test."].Load()
		if on && (ttl != 50 || n != 2) {
			t.Errorf("with predict: TTL %d and %d upstream queries at 146 s, want 50 (refreshed at 96 s) and 2", ttl, n)
		}
		if !on && (ttl != 100 || n != 2) {
			t.Errorf("without predict: TTL %d and %d upstream queries at 146 s, want 100 and 2 (a miss)", ttl, n)
		}
	}
}

// TestPredictLearn: a question asked in two of the last Period windows is
// learned and resolved ahead at the window's start when its answer would
// not last the next window; one asked once is not.
func TestPredictLearn(t *testing.T) {
	testnet.Isolate(t)
	g, p := newRig(t, func(r *resolver.Resolver, clk *clock.Fake) *Predictor {
		return New(Options{Window: time.Hour, Period: 3, Clock: clk, Refresh: r.Refresh, Cached: r.CachedTTL})
	})
	g.ask("www.test.")
	g.ask("www2.test.")
	p.Tick()
	if st := p.Stats(); st.Learned != 0 || st.Epoch != 1 {
		t.Fatalf("after one window: %+v", st)
	}
	g.clk.Advance(10 * time.Second)
	g.ask("www.test.") // from the cache
	p.Tick()
	if st := p.Stats(); st.Learned != 1 {
		t.Errorf("after two windows: %+v, want 1 learned", st)
	}
	g.waitCount("www.test.", 2) // resolved ahead: 90 s left < the window
	if n := g.counts["www2.test."].Load(); n != 1 {
		t.Errorf("www2.test. asked %d times upstream, want 1", n)
	}
}

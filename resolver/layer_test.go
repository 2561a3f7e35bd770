package resolver

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/clock"
	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// fwdLayer forwards the queries for names under fwd. to a fixed answer.
type fwdLayer struct{}

func (fwdLayer) Name() string { return "fwd" }

func (fwdLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if strings.HasSuffix(strings.ToLower(nameText(r.QName())), "www.example.") && r.Vars["forward"] != nil {
		r.Upstream = &fixedTransport{}
	}
	return s
}

type fixedTransport struct{ nsTransport }

func (*fixedTransport) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	qn, qt, qc, _ := q.Question()
	a := dnsmsg.NewPacket(512)
	a.SetQuestion(qn, qt, qc)
	a.SetID(q.ID())
	a.Buf[2], a.Buf[3] = 0x81, 0x80
	a.Begin(dnsmsg.SectionAN)
	rr := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: qn}, Type: typeA, Class: dnsmsg.ClassINET, TTL: 60}
	rr.Add([]byte{192, 0, 2, 99})
	a.Put(rr, false)
	a.Parse(false)
	return a, nil
}

// TestLayerInDaemon: the Layer answers through the daemon's pipeline (by
// iteration, then from its cache in Begin), and leaves a request a module
// forwards to the forwarding.
func TestLayerInDaemon(t *testing.T) {
	n := baseNet(t)
	l := &Layer{R: fakeResolver(t, n, nil)}
	var forward bool
	mark := markLayer{&forward}
	s, err := daemon.New(&daemon.Config{Layers: []daemon.Layer{mark, fwdLayer{}, l}, Resolver: l})
	if err != nil {
		t.Fatal(err)
	}
	client := netip.MustParseAddrPort("127.0.0.1:5353")
	ask := func() *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("www.example.", dns.TypeA)
		w, _ := m.Pack()
		out, ok := s.Exchange(w, client, netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
		if !ok {
			t.Fatal("dropped")
		}
		a := new(dns.Msg)
		if err := a.Unpack(out); err != nil {
			t.Fatal(err)
		}
		return a
	}
	for i := 0; i < 2; i++ {
		if a := ask(); a.Rcode != 0 || len(a.Answer) != 1 || a.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
			t.Fatalf("pass %d: %v", i, a)
		}
	}
	if l.R.Stats.CacheHits.Load() == 0 {
		t.Error("the second answer did not come from the cache")
	}
	forward = true
	if a := ask(); len(a.Answer) != 1 || a.Answer[0].(*dns.A).A.String() != "192.0.2.99" {
		t.Errorf("forwarded request answered by the resolver: %v", a)
	}
}

// markLayer sets Vars["forward"] when *on.
type markLayer struct{ on *bool }

func (markLayer) Name() string { return "mark" }

func (m markLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if *m.on {
		r.SetVar("forward", true)
	}
	return s
}

// BenchmarkLayerWarm: a warm answer through the daemon's pipeline.
func BenchmarkLayerWarm(b *testing.B) {
	n := baseNet(b)
	l := &Layer{R: fakeResolver(b, n, nil)}
	s, err := daemon.New(&daemon.Config{Layers: []daemon.Layer{l}, Resolver: l})
	if err != nil {
		b.Fatal(err)
	}
	client := netip.MustParseAddrPort("127.0.0.1:5353")
	local := netip.MustParseAddrPort("127.0.0.1:53")
	m := new(dns.Msg)
	m.SetQuestion("www.sub.example.", dns.TypeA)
	w, _ := m.Pack()
	s.Exchange(w, client, local, daemon.UDP, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := s.Exchange(w, client, local, daemon.UDP, 0); !ok {
			b.Fatal("dropped")
		}
	}
}

// TestReorderRR: with option('REORDER_RR') the records of a set come in
// varying order; without it in the cache's order.
func TestReorderRR(t *testing.T) {
	n := baseNet(t)
	n.serve(t, "10.0.0.3", "sub.example.", "sub.example. 300 NS ns.sub.example.", "ns.sub.example. 300 A 10.0.0.3",
		"many.sub.example. 300 A 192.0.2.1", "many.sub.example. 300 A 192.0.2.2", "many.sub.example. 300 A 192.0.2.3", "many.sub.example. 300 A 192.0.2.4")
	l := &Layer{R: fakeResolver(t, n, nil)}
	for _, on := range []bool{false, true} {
		cfg := &daemon.Config{Layers: []daemon.Layer{l}, Resolver: l}
		if on {
			cfg.Options |= daemon.ReorderRR
		}
		s, err := daemon.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m := new(dns.Msg)
		m.SetQuestion("many.sub.example.", dns.TypeA)
		w, _ := m.Pack()
		firsts := map[string]bool{}
		for i := 0; i < 40; i++ {
			out, _ := s.Exchange(w, netip.MustParseAddrPort("127.0.0.1:5353"), netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
			a := new(dns.Msg)
			if err := a.Unpack(out); err != nil || len(a.Answer) != 4 {
				t.Fatalf("%v %v", a, err)
			}
			firsts[a.Answer[0].(*dns.A).A.String()] = true
		}
		if (len(firsts) > 1) != on {
			t.Errorf("REORDER_RR %v: first records %v", on, firsts)
		}
	}
}

// TestLayerStaleTimeout: with StaleTimeout (serve_stale.timeout) and
// expired data kept, a question whose servers do not answer within the
// timeout is answered from the expired data (TTL 1, EDE 3) while its
// resolution goes on; once the servers answer, that resolution refreshes
// the cache.
func TestLayerStaleTimeout(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := baseNet(t)
	release := make(chan struct{})
	var hold atomic.Bool
	n.hook = func(netip.Addr, []byte, uint16, *dnsmsg.Packet) {
		if hold.Load() {
			<-release // the servers are silent until released
		}
	}
	r := fakeResolver(t, n, func(c *Config) { c.Clock = clk })
	r.SetServeStale(time.Hour)
	l := &Layer{R: r, StaleTimeout: func() time.Duration { return 20 * time.Millisecond }}
	s, err := daemon.New(&daemon.Config{Layers: []daemon.Layer{l}, Resolver: l})
	if err != nil {
		t.Fatal(err)
	}
	ask := func() *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion("www.example.", dns.TypeA)
		m.SetEdns0(1232, false)
		w, _ := m.Pack()
		got := make(chan []byte, 1)
		go func() {
			out, _ := s.Exchange(w, netip.MustParseAddrPort("127.0.0.1:5353"), netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
			got <- out
		}()
		select {
		case out := <-got:
			a := new(dns.Msg)
			if err := a.Unpack(out); err != nil {
				t.Fatal(err)
			}
			return a
		case <-time.After(60 * time.Second): // a guard against hanging, not a timing limit
			close(release)
			t.Fatal("no answer while the servers are silent")
		}
		return nil
	}
	if a := ask(); len(a.Answer) != 1 || a.Answer[0].Header().Ttl != 300 {
		t.Fatalf("first answer: %v", a)
	}
	clk.Advance(400 * time.Second)
	hold.Store(true)
	a := ask()
	code, _, ok := func() (uint16, string, bool) {
		if o := a.IsEdns0(); o != nil {
			for _, e := range o.Option {
				if x, ok := e.(*dns.EDNS0_EDE); ok {
					return x.InfoCode, x.ExtraText, true
				}
			}
		}
		return 0, "", false
	}()
	if a.Rcode != 0 || len(a.Answer) != 1 || a.Answer[0].Header().Ttl != 1 || !ok || code != 3 {
		t.Errorf("servers silent: %v (want the expired A with TTL 1 and EDE 3)", a)
	}
	hold.Store(false)
	close(release)
	for i := 0; ; i++ {
		if _, _, _, _, live := r.cachedAnswer(wname(t, "www.example."), typeA, QueryFlags{}); live {
			break
		}
		if i == 6000 {
			t.Fatal("the background resolution did not refresh the cache")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a := ask(); len(a.Answer) != 1 || a.Answer[0].Header().Ttl != 300 {
		t.Errorf("after the servers answered again: %v (want the refreshed answer)", a)
	}
}

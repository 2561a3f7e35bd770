package dnsclient

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/clock"
	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

// fakeUpstream answers from a function, counting queries; no network.
type fakeUpstream struct {
	n      atomic.Int64
	answer func(q *dns.Msg) (*dns.Msg, error)
}

func (f *fakeUpstream) Query(_ context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	f.n.Add(1)
	m := new(dns.Msg)
	if err := m.Unpack(q.Bytes()); err != nil {
		return nil, err
	}
	r, err := f.answer(m)
	if err != nil {
		return nil, err
	}
	b, err := r.Pack()
	if err != nil {
		return nil, err
	}
	p := dnsmsg.NewPacketFrom(len(b), b)
	if p.Parse(false) != 0 {
		return nil, errors.New("fake: bad answer")
	}
	return p, nil
}

func (f *fakeUpstream) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	return streamByQuery(ctx, f, q, fn)
}

func (f *fakeUpstream) Close() error { return nil }

// reply builds an answer to q from zone lines per section and an rcode.
func reply(q *dns.Msg, rcode int, an, ns []string) *dns.Msg {
	r := new(dns.Msg)
	r.SetReply(q)
	r.Rcode = rcode
	for _, s := range an {
		rr, _ := dns.NewRR(s)
		r.Answer = append(r.Answer, rr)
	}
	for _, s := range ns {
		rr, _ := dns.NewRR(s)
		r.Ns = append(r.Ns, rr)
	}
	return r
}

// ttls returns the TTLs of the records of a (OPT excepted), in wire order.
func ttls(a *dnsmsg.Packet) []uint32 {
	var out []uint32
	w := a.Bytes()
	_ = walkRRs(w, func(r rrPos) bool {
		if r.typ != dnsmsg.TypeOPT {
			out = append(out, binary.BigEndian.Uint32(w[r.ttlOff:]))
		}
		return true
	})
	return out
}

func newTestCache(t *testing.T, up Transport, o CacheOptions) (*Cache, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	o.Clock = clk
	c, err := NewCache(up, o)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

const soaLine = "example.test. 3600 IN SOA ns.example.test. hm.example.test. 1 3600 600 86400 300"

func TestCacheTTL(t *testing.T) {
	up := &fakeUpstream{answer: func(q *dns.Msg) (*dns.Msg, error) {
		return reply(q, 0, []string{"www.example.test. 300 IN A 192.0.2.1"}, nil), nil
	}}
	c, clk := newTestCache(t, up, CacheOptions{})
	q1 := q(t, "www.example.test", dnsmsg.TypeA)
	a, err := c.Query(ctx(t), q1)
	if err != nil || a.ID() != q1.ID() {
		t.Fatal(err, a)
	}
	clk.Advance(100*time.Second + 500*time.Millisecond)
	q2 := q(t, "WWW.Example.TEST", dnsmsg.TypeA)
	a, err = c.Query(ctx(t), q2)
	if err != nil {
		t.Fatal(err)
	}
	if got := ttls(a); len(got) != 1 || got[0] != 200 {
		t.Errorf("TTL after 100.5 s: %v, want 200", got)
	}
	if a.ID() != q2.ID() || string(mustQName(a)) != string(mustQName(q2)) {
		t.Errorf("hit has ID %d and name %q; query %d %q", a.ID(), mustQName(a), q2.ID(), mustQName(q2))
	}
	if n := up.n.Load(); n != 1 {
		t.Errorf("upstream asked %d times", n)
	}
	// other flags, other entry: CD
	q3 := q(t, "www.example.test", dnsmsg.TypeA)
	q3.SetFlag("cd", true)
	if _, err := c.Query(ctx(t), q3); err != nil || up.n.Load() != 2 {
		t.Errorf("CD query: %v, upstream asked %d times", err, up.n.Load())
	}
	clk.Advance(200 * time.Second) // expired
	if _, err := c.Query(ctx(t), q1); err != nil || up.n.Load() != 3 {
		t.Errorf("after expiry: %v, upstream asked %d times", err, up.n.Load())
	}
	if st := c.Stats(); st.Hits != 1 || st.Misses != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestCacheLifetimes(t *testing.T) {
	for _, c := range []struct {
		name   string
		rcode  int
		an, ns []string
		o      CacheOptions
		life   time.Duration // 0: not cached
	}{
		{"positive", 0, []string{"www.example.test. 300 IN A 192.0.2.1", "www.example.test. 100 IN A 192.0.2.2"}, nil, CacheOptions{}, 100 * time.Second},
		{"max-ttl", 0, []string{"www.example.test. 86400 IN A 192.0.2.1"}, nil, CacheOptions{MaxTTL: time.Hour}, time.Hour},
		{"ttl-0", 0, []string{"www.example.test. 0 IN A 192.0.2.1"}, nil, CacheOptions{}, 0},
		{"nxdomain-soa-minimum", dns.RcodeNameError, nil, []string{soaLine}, CacheOptions{}, 300 * time.Second},
		{"nxdomain-soa-ttl", dns.RcodeNameError, nil, []string{"example.test. 60 IN SOA ns.example.test. hm.example.test. 1 3600 600 86400 300"}, CacheOptions{}, 60 * time.Second},
		{"nxdomain-cap", dns.RcodeNameError, nil, []string{"example.test. 86400 IN SOA ns.example.test. hm.example.test. 1 3600 600 86400 86400"}, CacheOptions{NegativeTTL: 120 * time.Second}, 120 * time.Second},
		{"nxdomain-no-soa", dns.RcodeNameError, nil, nil, CacheOptions{}, 0},
		{"nodata", 0, nil, []string{soaLine}, CacheOptions{}, 300 * time.Second},
		{"referral", 0, nil, []string{"sub.example.test. 7200 IN NS ns.sub.example.test."}, CacheOptions{}, 7200 * time.Second},
		{"weird", 0, nil, nil, CacheOptions{}, 0},
		{"servfail", dns.RcodeServerFailure, nil, nil, CacheOptions{}, 30 * time.Second},
		{"refused-errorttl", dns.RcodeRefused, nil, nil, CacheOptions{ErrorTTL: 5 * time.Second}, 5 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			up := &fakeUpstream{answer: func(q *dns.Msg) (*dns.Msg, error) { return reply(q, c.rcode, c.an, c.ns), nil }}
			cache, clk := newTestCache(t, up, c.o)
			qq := q(t, "www.example.test", dnsmsg.TypeA)
			a, err := cache.Query(ctx(t), qq)
			if err != nil || a.Rcode() != c.rcode {
				t.Fatalf("%v %v", err, a)
			}
			if c.life == 0 {
				_, _ = cache.Query(ctx(t), qq)
				if up.n.Load() != 2 {
					t.Errorf("cached (upstream asked %d times)", up.n.Load())
				}
				return
			}
			clk.Advance(c.life - time.Second)
			_, _ = cache.Query(ctx(t), qq)
			if up.n.Load() != 1 {
				t.Errorf("not cached for %v", c.life-time.Second)
			}
			clk.Advance(time.Second)
			_, _ = cache.Query(ctx(t), qq)
			if up.n.Load() != 2 {
				t.Errorf("cached past %v", c.life)
			}
		})
	}
}

func TestCacheEvicts(t *testing.T) {
	up := &fakeUpstream{answer: func(q *dns.Msg) (*dns.Msg, error) {
		return reply(q, 0, []string{q.Question[0].Name + " 300 IN A 192.0.2.1"}, nil), nil
	}}
	c, _ := newTestCache(t, up, CacheOptions{MaxEntries: 2})
	for _, n := range []string{"a", "b", "a", "c", "a", "b"} { // c evicts b (a was used), b comes back
		if _, err := c.Query(ctx(t), q(t, n+".example.test", dnsmsg.TypeA)); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); up.n.Load() != 4 || st.Evictions != 2 || st.Entries != 2 {
		t.Errorf("upstream asked %d times, stats %+v", up.n.Load(), st)
	}
}

func TestCacheFailure(t *testing.T) {
	fail := errors.New("boom")
	up := &fakeUpstream{answer: func(q *dns.Msg) (*dns.Msg, error) { return nil, fail }}
	c, clk := newTestCache(t, up, CacheOptions{})
	qq := q(t, "www.example.test", dnsmsg.TypeA)
	for range 2 {
		if _, err := c.Query(ctx(t), qq); !errors.Is(err, fail) {
			t.Fatalf("got %v", err)
		}
	}
	if up.n.Load() != 1 {
		t.Errorf("failure not remembered: upstream asked %d times", up.n.Load())
	}
	clk.Advance(30 * time.Second)
	_, _ = c.Query(ctx(t), qq)
	if up.n.Load() != 2 {
		t.Errorf("failure remembered past 30 s")
	}
	off, _ := newTestCache(t, up, CacheOptions{FailureTTL: -1})
	_, _ = off.Query(ctx(t), qq)
	_, _ = off.Query(ctx(t), qq)
	if up.n.Load() != 4 {
		t.Errorf("FailureTTL -1 remembered the failure")
	}
}

// TestCacheServeStale: once the upstream fails, the expired answer is
// served with TTL 30 and the upstream is left alone for FailureTTL.
func TestCacheServeStale(t *testing.T) {
	var failing atomic.Bool
	up := &fakeUpstream{answer: func(q *dns.Msg) (*dns.Msg, error) {
		if failing.Load() {
			return nil, ErrTimeout
		}
		return reply(q, 0, []string{"www.example.test. 60 IN A 192.0.2.1"}, nil), nil
	}}
	for _, stale := range []bool{false, true} {
		c, clk := newTestCache(t, up, CacheOptions{ServeStale: map[bool]time.Duration{true: 24 * time.Hour}[stale]})
		failing.Store(false)
		up.n.Store(0)
		qq := q(t, "www.example.test", dnsmsg.TypeA)
		if _, err := c.Query(ctx(t), qq); err != nil {
			t.Fatal(err)
		}
		failing.Store(true)
		clk.Advance(2 * time.Minute)
		a, err := c.Query(ctx(t), qq)
		if !stale {
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("without serve-stale: %v %v", err, a)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := ttls(a); len(got) != 1 || got[0] != 30 {
			t.Errorf("stale TTLs %v", got)
		}
		clk.Advance(10 * time.Second)
		if _, err := c.Query(ctx(t), qq); err != nil || up.n.Load() != 2 {
			t.Errorf("within the failure recheck: %v, upstream asked %d times", err, up.n.Load())
		}
		clk.Advance(30 * time.Second)
		failing.Store(false)
		a, err = c.Query(ctx(t), qq)
		if err != nil || up.n.Load() != 3 || ttls(a)[0] != 60 {
			t.Errorf("after the recheck: %v, upstream asked %d times, %v", err, up.n.Load(), a)
		}
		if st := c.Stats(); st.Stale != 2 {
			t.Errorf("stats %+v", st)
		}
		clk.Advance(25 * time.Hour) // past the stale window
		failing.Store(true)
		if _, err := c.Query(ctx(t), qq); !errors.Is(err, ErrTimeout) {
			t.Errorf("served past the stale window: %v", err)
		}
	}
}

// TestCacheStaleAnswerTimeout: a slow upstream; the stale answer comes
// after the client response timer, and the refresh still lands.
func TestCacheStaleAnswerTimeout(t *testing.T) {
	gate := make(chan struct{})
	var slow atomic.Bool
	up := &fakeUpstream{answer: func(q *dns.Msg) (*dns.Msg, error) {
		if slow.Load() {
			<-gate
		}
		return reply(q, 0, []string{"www.example.test. 60 IN A 192.0.2.1"}, nil), nil
	}}
	c, clk := newTestCache(t, up, CacheOptions{ServeStale: time.Hour, StaleAnswerTimeout: 1800 * time.Millisecond})
	qq := q(t, "www.example.test", dnsmsg.TypeA)
	if _, err := c.Query(ctx(t), qq); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	slow.Store(true)
	done := make(chan *dnsmsg.Packet)
	go func() {
		a, err := c.Query(ctx(t), qq)
		if err != nil {
			t.Error(err)
		}
		done <- a
	}()
	clk.BlockUntil(1) // the client response timer
	clk.Advance(1800 * time.Millisecond)
	a := <-done
	if got := ttls(a); got[0] != 30 {
		t.Errorf("not the stale answer: %v", got)
	}
	close(gate)
	c.bg.Wait()
	slow.Store(false)
	a, err := c.Query(ctx(t), qq)
	if err != nil || ttls(a)[0] != 60 || up.n.Load() != 2 {
		t.Errorf("after the refresh: %v %v, upstream asked %d times", err, ttls(a), up.n.Load())
	}
}

func TestCachePrefetch(t *testing.T) {
	var serial atomic.Int64
	up := &fakeUpstream{answer: func(q *dns.Msg) (*dns.Msg, error) {
		serial.Add(1)
		return reply(q, 0, []string{"www.example.test. 100 IN A 192.0.2.1"}, nil), nil
	}}
	c, clk := newTestCache(t, up, CacheOptions{Prefetch: true})
	qq := q(t, "www.example.test", dnsmsg.TypeA)
	_, _ = c.Query(ctx(t), qq)
	clk.Advance(50 * time.Second)
	_, _ = c.Query(ctx(t), qq) // fresh, not near the end: no prefetch
	c.bg.Wait()
	if up.n.Load() != 1 {
		t.Fatalf("prefetched at half life")
	}
	clk.Advance(45 * time.Second)
	a, _ := c.Query(ctx(t), qq) // 5 s left: answered from the cache, refreshed behind
	c.bg.Wait()
	if up.n.Load() != 2 || ttls(a)[0] != 5 {
		t.Fatalf("upstream asked %d times, TTL %v", up.n.Load(), ttls(a))
	}
	clk.Advance(10 * time.Second) // the old entry would have expired
	a, _ = c.Query(ctx(t), qq)
	if up.n.Load() != 2 || ttls(a)[0] != 90 {
		t.Errorf("after prefetch: upstream asked %d times, TTL %v", up.n.Load(), ttls(a))
	}
	if st := c.Stats(); st.Prefetches != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestCacheCoalesces: concurrent misses of one key make one upstream
// query.
func TestCacheCoalesces(t *testing.T) {
	gate := make(chan struct{})
	up := &fakeUpstream{answer: func(q *dns.Msg) (*dns.Msg, error) {
		<-gate
		return reply(q, 0, []string{"www.example.test. 100 IN A 192.0.2.1"}, nil), nil
	}}
	c, _ := newTestCache(t, up, CacheOptions{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qq := q(t, "www.example.test", dnsmsg.TypeA)
			if a, err := c.Query(ctx(t), qq); err != nil || a.ID() != qq.ID() {
				t.Error(err, a)
			}
		}()
	}
	for { // all ten are waiting: one in the upstream, nine on its call
		c.mu.Lock()
		n := len(c.inflight)
		c.mu.Unlock()
		if n == 1 && up.n.Load() == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(gate)
	wg.Wait()
	if n := up.n.Load(); n != 1 {
		t.Errorf("upstream asked %d times", n)
	}
}

// udpRelay forwards UDP queries to backend and the answers back, counting
// the queries: the traffic a server sees.
func udpRelay(t *testing.T, backend netip.AddrPort, n *atomic.Int64) netip.AddrPort {
	return fakeUDP(t, func(c *net.UDPConn, from netip.AddrPort, _ *dns.Msg, raw []byte) {
		n.Add(1)
		b, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(backend))
		if err != nil {
			return
		}
		defer b.Close()
		_ = b.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := b.Write(raw); err != nil {
			return
		}
		buf := make([]byte, 65535)
		m, err := b.Read(buf)
		if err == nil {
			_, _ = c.WriteToUDPAddrPort(buf[:m], from)
		}
	})
}

// TestPeersCacheHit: the second query is answered from the cache: the
// relay in front of knotd sees one query, and the TTL went down with time.
func TestPeersCacheHit(t *testing.T) {
	testnet.Isolate(t)
	k := testnet.StartKnot(t, testnet.KnotConfig{Zones: []testnet.Zone{{Name: "example.test.", File: writeZone(t, 0)}}})
	var seen atomic.Int64
	relay := udpRelay(t, k.Addr(), &seen)
	for _, kind := range []string{"dgram", "dgram_stream"} {
		t.Run(kind, func(t *testing.T) {
			seen.Store(0)
			var up Transport
			if kind == "dgram" {
				up, _ = NewDgram(relay.String(), DgramOptions{})
			} else {
				up, _ = NewDgramStream(relay.String(), DgramStreamOptions{})
			}
			c, clk := newTestCache(t, up, CacheOptions{})
			defer c.Close()
			for i := range 5 {
				qq := q(t, "www.example.test", dnsmsg.TypeA)
				a, err := c.Query(ctx(t), qq)
				if err != nil {
					t.Fatal(err)
				}
				checkWWW(t, qq, a)
				if got, want := ttls(a)[0], uint32(3600-10*i); got != want {
					t.Errorf("query %d: TTL %d, want %d", i, got, want)
				}
				clk.Advance(10 * time.Second)
			}
			if n := seen.Load(); n != 1 {
				t.Errorf("the server saw %d queries for 5 asked", n)
			}
			if st := c.Stats(); st.Hits != 4 || st.Misses != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

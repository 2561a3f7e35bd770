package cache

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/clock"
	"ljdns/daemon"
	"ljdns/dnsclient"
	"ljdns/internal/testnet"
)

// holdUpstream is a UDP name server on a Go socket: it answers A queries
// with addr (TTL 60) until hold is set, then keeps the queries unanswered
// until release answers them with the address given.
type holdUpstream struct {
	pc   net.PacketConn
	hold atomic.Bool
	n    atomic.Int64 // queries received

	mu   sync.Mutex
	held []heldQuery
}

type heldQuery struct {
	from net.Addr
	m    *dns.Msg
}

func startHoldUpstream(t *testing.T) *holdUpstream {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &holdUpstream{pc: pc}
	t.Cleanup(func() { pc.Close() })
	go func() {
		b := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			m := new(dns.Msg)
			if m.Unpack(b[:n]) != nil || len(m.Question) != 1 {
				continue
			}
			u.n.Add(1)
			if u.hold.Load() {
				u.mu.Lock()
				u.held = append(u.held, heldQuery{from, m})
				u.mu.Unlock()
				continue
			}
			u.answer(from, m, "192.0.2.1", 60)
		}
	}()
	return u
}

func (u *holdUpstream) answer(to net.Addr, q *dns.Msg, addr string, ttl int) {
	a := new(dns.Msg)
	a.SetReply(q)
	rr, _ := dns.NewRR(q.Question[0].Name + " " + strconv.Itoa(ttl) + " IN A " + addr)
	a.Answer = append(a.Answer, rr)
	if o := q.IsEdns0(); o != nil {
		a.SetEdns0(1232, o.Do())
	}
	w, _ := a.Pack()
	u.pc.WriteTo(w, to)
}

// release answers the held queries with addr (TTL 300).
func (u *holdUpstream) release(addr string) int {
	u.mu.Lock()
	held := u.held
	u.held = nil
	u.mu.Unlock()
	for _, h := range held {
		u.answer(h.from, h.m, addr, 300)
	}
	return len(held)
}

// transportLayer forwards every recursive query through t.
type transportLayer struct{ t dnsclient.Transport }

func (l *transportLayer) Name() string { return "fwd" }
func (l *transportLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if r.MayRecurse() {
		r.Upstream = l.t
	}
	return s
}

// TestStaleTimeout: with serve_stale's timeout, a question whose cache
// entry expired is answered from the stale entry (TTL 1, extended error
// 3) once the upstream has been silent for the timeout, although the
// upstream transport would wait a minute more; the upstream query goes on
// and its late answer refreshes the cache, which then answers the next
// query without asking upstream again.
func TestStaleTimeout(t *testing.T) {
	testnet.Isolate(t)
	u := startHoldUpstream(t)
	up, err := dnsclient.NewDgram(u.pc.LocalAddr().String(), dnsclient.DgramOptions{Timeout: time.Minute, Retries: -1, NoCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	clk := clock.NewFake(t0)
	rr := New(Options{Clock: clk, StaleKeep: time.Hour})
	sl := &StaleLayer{C: rr}
	sl.SetTimeout(200 * time.Millisecond)
	cfg := &daemon.Config{Layers: []daemon.Layer{&transportLayer{up}, &RRLayer{rr}, sl}, RequestTimeout: 10 * time.Minute,
		Log: daemon.NewLogger(testWriter{t})}
	s, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	ask := func() *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion("www.example.org.", dns.TypeA)
		m.SetEdns0(1232, false)
		w, _ := m.Pack()
		out, ok := s.Exchange(w, client, local, daemon.UDP, 0)
		if !ok || out == nil {
			t.Fatal("no answer")
		}
		a := new(dns.Msg)
		if err := a.Unpack(out); err != nil {
			t.Fatal(err)
		}
		return a
	}
	addrOf := func(m *dns.Msg) string {
		if len(m.Answer) == 1 {
			if a, ok := m.Answer[0].(*dns.A); ok {
				return a.A.String()
			}
		}
		return "?"
	}
	if a := ask(); addrOf(a) != "192.0.2.1" || u.n.Load() != 1 {
		t.Fatalf("first answer: %v (upstream %d)", a, u.n.Load())
	}
	clk.Advance(2 * time.Minute) // expired, kept for serve_stale
	u.hold.Store(true)
	got := make(chan *dns.Msg, 1)
	go func() { got <- ask() }()
	var a *dns.Msg
	select {
	case a = <-got:
	case <-time.After(45 * time.Second): // the transport gives up at 60 s
		t.Fatal("no stale answer while the upstream is silent (serve_stale's timeout not applied)")
	}
	if addrOf(a) != "192.0.2.1" || a.Answer[0].Header().Ttl != 1 || !hasEDE(a, 3) {
		t.Fatalf("stale answer: %v", a)
	}
	// the upstream still has the query: its late answer refreshes the cache
	deadline := time.Now().Add(30 * time.Second)
	for u.release("192.0.2.2") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the upstream query was not kept going")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		if ans, ok := rr.Lookup([]byte("\x03www\x07example\x03org\x00"), dns.TypeA, dns.ClassINET, false, false); ok && !ans.Stale &&
			len(ans.AN) == 1 && string(ans.AN[0].RData[0]) == string([]byte{192, 0, 2, 2}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the late upstream answer did not refresh the cache")
		}
		time.Sleep(10 * time.Millisecond)
	}
	n := u.n.Load()
	if a := ask(); addrOf(a) != "192.0.2.2" || a.Answer[0].Header().Ttl <= 1 || u.n.Load() != n {
		t.Fatalf("after the refresh: %v (upstream %d, was %d)", a, u.n.Load(), n)
	}
}

func hasEDE(m *dns.Msg, code uint16) bool {
	if o := m.IsEdns0(); o != nil {
		for _, e := range o.Option {
			if x, ok := e.(*dns.EDNS0_EDE); ok && x.InfoCode == code {
				return true
			}
		}
	}
	return false
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}

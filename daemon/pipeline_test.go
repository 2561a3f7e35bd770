package daemon

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
)

var (
	loClient  = netip.MustParseAddrPort("127.0.0.1:40000")
	farClient = netip.MustParseAddrPort("192.0.2.77:40000")
	localAddr = netip.MustParseAddrPort("127.0.0.1:53")
)

// newTestServer returns a server that is not listening, for Exchange.
func newTestServer(t *testing.T, cfg *Config) *Server {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = NewLogger(testWriter{t})
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pack(t *testing.T, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ask runs wire through s and unpacks the answer (nil when nothing is sent).
func ask(t *testing.T, s *Server, wire []byte, client netip.AddrPort, proto Proto) (*dns.Msg, int) {
	t.Helper()
	out, ok := s.Exchange(wire, client, localAddr, proto, 0)
	if !ok || out == nil {
		return nil, 0
	}
	m := new(dns.Msg)
	if err := m.Unpack(out); err != nil {
		t.Fatalf("answer does not unpack: %v", err)
	}
	return m, len(out)
}

func edeOf(m *dns.Msg) (uint16, string, bool) {
	if o := m.IsEdns0(); o != nil {
		for _, e := range o.Option {
			if x, ok := e.(*dns.EDNS0_EDE); ok {
				return x.InfoCode, x.ExtraText, true
			}
		}
	}
	return 0, "", false
}

// TestParseRules: drop short packets and responses; FORMERR for malformed
// queries and bad question counts; NOTIMP for unknown opcodes; REFUSED for
// NOTIFY and UPDATE; BADVERS for EDNS versions above 0 (RFC 6891 §6.1.3).
func TestParseRules(t *testing.T) {
	s := newTestServer(t, &Config{Layers: []Layer{&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}})
	good := pack(t, query("example.org", dns.TypeA))
	if m, _ := ask(t, s, good, loClient, UDP); m == nil || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
		t.Fatalf("a good query: %v", m)
	}
	t.Run("short", func(t *testing.T) {
		for n := 0; n < 12; n++ {
			if out, ok := s.Exchange(good[:n], loClient, localAddr, UDP, 0); ok || out != nil {
				t.Fatalf("%d bytes answered", n)
			}
		}
	})
	t.Run("qr", func(t *testing.T) {
		b := append([]byte(nil), good...)
		b[2] |= 0x80
		if out, ok := s.Exchange(b, loClient, localAddr, UDP, 0); ok || out != nil {
			t.Fatal("a response was answered")
		}
	})
	t.Run("formerr", func(t *testing.T) {
		trunc := good[:len(good)-2]
		two := append([]byte(nil), good...)
		binary.BigEndian.PutUint16(two[4:], 2)
		zero := append([]byte(nil), good[:12]...)
		binary.BigEndian.PutUint16(zero[4:], 0)
		trailing := append(append([]byte(nil), good...), 0, 0, 0)
		badLabel := append([]byte(nil), good...)
		badLabel[12] = 0xC0 // a compression pointer in the question pointing at itself
		badLabel[13] = 12
		for name, b := range map[string][]byte{"truncated": trunc, "qdcount2": two, "qdcount0": zero,
			"trailing": trailing, "loop": badLabel} {
			m, _ := ask(t, s, b, loClient, UDP)
			if m == nil || m.Rcode != dns.RcodeFormatError || m.Id != binary.BigEndian.Uint16(b) || !m.Response {
				t.Errorf("%s: answer %v, want FORMERR", name, m)
			}
		}
	})
	t.Run("opcodes", func(t *testing.T) {
		for op := 1; op < 16; op++ {
			b := append([]byte(nil), good...)
			b[2] = b[2]&^0x78 | byte(op)<<3
			m, _ := ask(t, s, b, loClient, UDP)
			want := dns.RcodeNotImplemented
			if op == OpcodeNotify || op == OpcodeUpdate {
				want = dns.RcodeRefused
			}
			if m == nil || m.Rcode != want || m.Opcode != op {
				t.Errorf("opcode %d: %v, want %s", op, m, dns.RcodeToString[want])
			}
		}
	})
	t.Run("badvers", func(t *testing.T) {
		q := query("example.org", dns.TypeA)
		q.SetEdns0(1232, false)
		q.IsEdns0().SetVersion(1)
		m, _ := ask(t, s, pack(t, q), loClient, UDP)
		if m == nil || m.Rcode != dns.RcodeBadVers || m.IsEdns0() == nil || m.IsEdns0().Version() != 0 || len(m.Answer) != 0 {
			t.Fatalf("EDNS version 1: %v, want BADVERS with version 0", m)
		}
	})
	t.Run("edns", func(t *testing.T) {
		q := query("example.org", dns.TypeA)
		q.SetEdns0(4096, true)
		m, _ := ask(t, s, pack(t, q), loClient, UDP)
		if o := m.IsEdns0(); o == nil || o.UDPSize() != DefaultBufSize || !o.Do() {
			t.Fatalf("EDNS answer %v: want payload %d and DO", m, DefaultBufSize)
		}
		m, _ = ask(t, s, good, loClient, UDP)
		if m.IsEdns0() != nil {
			t.Fatal("OPT in the answer to a query without EDNS")
		}
	})
}

// bigLayer answers with n A records.
type bigLayer struct{ n int }

func (bigLayer) Name() string { return "big" }

func (l bigLayer) Begin(r *Request, s State) State {
	rr := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.QName()}, Type: dnsmsg.TypeA, Class: dnsmsg.ClassINET, TTL: 60}
	for i := 0; i < l.n; i++ {
		rr.RData = append(rr.RData, []byte{198, 51, byte(i >> 8), byte(i)})
	}
	r.Answer.Put(rr, true)
	return Done
}

// TestTruncation: TC over UDP above 512 without EDNS and above
// min(client EDNS size, net.bufsize) with it; never over TCP.
func TestTruncation(t *testing.T) {
	s := newTestServer(t, &Config{BufSize: 1232, Layers: []Layer{bigLayer{100}}}) // ~1.6 kB answer
	for _, c := range []struct {
		name  string
		edns  uint16 // 0: none
		proto Proto
		tc    bool
		limit int
	}{
		{"noedns", 0, UDP, true, 512},
		{"edns4096", 4096, UDP, true, 1232},
		{"edns1000", 1000, UDP, true, 1000},
		{"edns100", 100, UDP, true, 512}, // below 512 counts as 512
		{"tcp", 0, TCP, false, 65535},
		{"tcp-edns", 1000, TCP, false, 65535},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := query("big.example", dns.TypeA)
			if c.edns > 0 {
				q.SetEdns0(c.edns, false)
			}
			m, n := ask(t, s, pack(t, q), loClient, c.proto)
			if m.Truncated != c.tc {
				t.Fatalf("TC=%v, want %v (%d bytes)", m.Truncated, c.tc, n)
			}
			if n > c.limit {
				t.Fatalf("%d bytes above %d", n, c.limit)
			}
			if c.tc && (len(m.Answer) != 0 || len(m.Question) != 1) {
				t.Fatalf("truncated answer keeps %d records", len(m.Answer))
			}
			if !c.tc && len(m.Answer) != 100 {
				t.Fatalf("%d records, want 100", len(m.Answer))
			}
			if (c.edns > 0) != (m.IsEdns0() != nil) {
				t.Fatalf("OPT presence wrong: %v", m.IsEdns0())
			}
		})
	}
	// a small answer is never truncated
	s2 := newTestServer(t, &Config{Layers: []Layer{bigLayer{3}}})
	if m, _ := ask(t, s2, pack(t, query("small.example", dns.TypeA)), loClient, UDP); m.Truncated {
		t.Fatal("small answer truncated")
	}
}

func cookieOf(m *dns.Msg) string {
	if o := m.IsEdns0(); o != nil {
		for _, e := range o.Option {
			if c, ok := e.(*dns.EDNS0_COOKIE); ok {
				return c.Cookie
			}
		}
	}
	return ""
}

// TestServerCookies: a client cookie gets a server cookie back (RFC 7873
// §5.2.3); that cookie then validates (serverCookieOK), a forged one is
// answered with a fresh cookie, a malformed option is FORMERR (§5.2.2),
// and the secret survives a reload.
func TestServerCookies(t *testing.T) {
	var seen []bool
	var mu sync.Mutex
	probe := layerFunc{name: "probe", begin: func(r *Request, s State) State {
		mu.Lock()
		seen = append(seen, r.serverCookieOK)
		mu.Unlock()
		return s
	}}
	cfg := &Config{Layers: []Layer{probe, &memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}}
	s := newTestServer(t, cfg)
	withCookie := func(c string) []byte {
		q := query("example.org", dns.TypeA)
		q.SetEdns0(1232, false)
		q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: c})
		return pack(t, q)
	}
	const cc = "0102030405060708"
	m, _ := ask(t, s, withCookie(cc), loClient, UDP)
	got := cookieOf(m)
	if len(got) != 48 || !strings.HasPrefix(got, cc) || got[16:18] != "01" {
		t.Fatalf("cookie in answer %q: want the client cookie and a 16-byte version 1 server cookie", got)
	}
	m, _ = ask(t, s, withCookie(got), loClient, UDP)
	if m.Rcode != dns.RcodeSuccess || len(cookieOf(m)) != 48 {
		t.Fatalf("with the server cookie: %v", m)
	}
	forged := got[:40] + "00000000"
	if got[40:] == "00000000" {
		forged = got[:40] + "11111111"
	}
	ask(t, s, withCookie(forged), loClient, UDP)
	// from another address the same cookie is not valid
	ask(t, s, withCookie(got), farClient, UDP)
	if m, _ := ask(t, s, withCookie("0102"), loClient, UDP); m.Rcode != dns.RcodeFormatError {
		t.Fatalf("2-byte cookie: %v, want FORMERR", m)
	}
	if err := s.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	ask(t, s, withCookie(got), loClient, UDP)
	mu.Lock()
	defer mu.Unlock()
	if want := []bool{false, true, false, false, true}; len(seen) != len(want) || seen[0] || !seen[1] || seen[2] || seen[3] || !seen[4] {
		t.Fatalf("server cookie valid per query = %v, want %v", seen, want)
	}
}

// layerFunc is a layer made of functions.
type layerFunc struct {
	name     string
	begin    func(r *Request, s State) State
	finish   func(r *Request, s State) State
	produce  func(r *Request, s State, q *dnsmsg.Packet) State
	checkout func(r *Request, s State, q *dnsmsg.Packet, dst netip.AddrPort, tcp bool) State
	consume  func(r *Request, s State, a *dnsmsg.Packet) State
}

func (l layerFunc) Name() string { return l.name }
func (l layerFunc) Begin(r *Request, s State) State {
	if l.begin == nil {
		return s
	}
	return l.begin(r, s)
}
func (l layerFunc) Finish(r *Request, s State) State {
	if l.finish == nil {
		return s
	}
	return l.finish(r, s)
}
func (l layerFunc) Produce(r *Request, s State, q *dnsmsg.Packet) State {
	if l.produce == nil {
		return s
	}
	return l.produce(r, s, q)
}
func (l layerFunc) Checkout(r *Request, s State, q *dnsmsg.Packet, dst netip.AddrPort, tcp bool) State {
	if l.checkout == nil {
		return s
	}
	return l.checkout(r, s, q, dst, tcp)
}
func (l layerFunc) Consume(r *Request, s State, a *dnsmsg.Packet) State {
	if l.consume == nil {
		return s
	}
	return l.consume(r, s, a)
}

// TestLayerFailures: a layer that panics or fails gives SERVFAIL with an
// RFC 8914 extended error; the next query is served; Finish still runs.
func TestLayerFailures(t *testing.T) {
	finished := 0
	boom := layerFunc{name: "boom", begin: func(r *Request, s State) State {
		switch string(r.QName()) {
		case "\x05panic\x00":
			var m map[string]int
			m["x"] = 1 // a Go panic
		case "\x04fail\x00":
			return Fail
		}
		return s
	}, finish: func(r *Request, s State) State { finished++; return s }}
	s := newTestServer(t, &Config{Layers: []Layer{boom, &memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}})
	for _, c := range []struct {
		name    string
		rcode   int
		ede     uint16
		hasEDE  bool
		edeText string
	}{
		{"panic.", dns.RcodeServerFailure, EDEOther, true, "module boom failed"},
		{"fail.", dns.RcodeServerFailure, EDEOther, true, ""},
		{"ok.", dns.RcodeSuccess, 0, false, ""},
	} {
		q := query(c.name, dns.TypeA)
		q.SetEdns0(1232, false)
		m, _ := ask(t, s, pack(t, q), loClient, UDP)
		if m == nil || m.Rcode != c.rcode {
			t.Fatalf("%s: %v, want %s", c.name, m, dns.RcodeToString[c.rcode])
		}
		code, text, has := edeOf(m)
		if has != c.hasEDE || code != c.ede || text != c.edeText {
			t.Fatalf("%s: EDE %v %d %q, want %v %d %q", c.name, has, code, text, c.hasEDE, c.ede, c.edeText)
		}
	}
	if finished != 3 {
		t.Fatalf("finish ran %d times, want 3", finished)
	}
	if s.Counters().Panics.Load() != 1 {
		t.Fatalf("panics counted %d", s.Counters().Panics.Load())
	}
}

// memTransport is an upstream in memory: it answers A queries with
// 203.0.113.1, or fails, or waits for release.
type memTransport struct {
	mu      sync.Mutex
	queries []*dnsmsg.Packet
	fail    bool
	hold    chan struct{} // non-nil: each query waits for a receive... until closed
	started chan string   // non-nil: receives each query's name when it arrives
}

func (m *memTransport) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	m.mu.Lock()
	m.queries = append(m.queries, q)
	m.mu.Unlock()
	qn, qt, qc, _ := q.Question()
	if m.started != nil {
		m.started <- string(qn)
	}
	if m.hold != nil {
		select {
		case <-m.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if m.fail {
		return nil, errors.New("upstream down")
	}
	a := dnsmsg.NewPacket(512)
	q.ToAnswer(a)
	a.SetFlag("ra", true)
	a.SetFlag("aa", true)
	if qt == dnsmsg.TypeA {
		a.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: qn}, Type: qt, Class: qc, TTL: 30, RData: [][]byte{{203, 0, 113, 1}}}, true)
	}
	a.Begin(dnsmsg.SectionAR)
	a.Put(dnsmsg.NewOPT(0, 1232), false)
	return a, nil
}

func (m *memTransport) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	a, err := m.Query(ctx, q)
	if err != nil {
		return err
	}
	return fn(a)
}

func (m *memTransport) Close() error { return nil }

// forwardLayer sets r.Upstream for every query (policy.FORWARD's effect).
func forwardLayer(up *memTransport) Layer {
	return layerFunc{name: "fwd", begin: func(r *Request, s State) State {
		r.Upstream = up
		return s
	}}
}

// TestForwardHooks: Produce sees the upstream query (RD, EDNS), Checkout
// its destination, Consume the answer; the answer is copied without AA;
// an upstream failure gives SERVFAIL with EDE 22 unless a Consume layer
// answers (serve_stale).
func TestForwardHooks(t *testing.T) {
	up := &memTransport{}
	var calls []string
	hooks := layerFunc{name: "hooks",
		produce: func(r *Request, s State, q *dnsmsg.Packet) State {
			calls = append(calls, "produce")
			if !q.Flag("rd") || q.OPT() == nil {
				t.Errorf("upstream query without RD or EDNS: %v", q)
			}
			return s
		},
		checkout: func(r *Request, s State, q *dnsmsg.Packet, dst netip.AddrPort, tcp bool) State {
			calls = append(calls, "checkout")
			return s
		},
		consume: func(r *Request, s State, a *dnsmsg.Packet) State {
			calls = append(calls, "consume")
			if a == nil && string(r.QName()) == "\x05stale\x00" {
				r.ResetAnswer()
				r.Answer.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.QName()}, Type: dnsmsg.TypeA, Class: 1, TTL: 30,
					RData: [][]byte{{192, 0, 2, 99}}}, true)
				return Done
			}
			return s
		},
	}
	s := newTestServer(t, &Config{Layers: []Layer{forwardLayer(up), hooks}})
	m, _ := ask(t, s, pack(t, query("www.example.org", dns.TypeA)), loClient, UDP)
	if m == nil || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "203.0.113.1" {
		t.Fatalf("forwarded answer %v", m)
	}
	if m.Authoritative || !m.RecursionAvailable || m.IsEdns0() != nil {
		t.Fatalf("flags/EDNS of the forwarded answer: %v", m)
	}
	if strings.Join(calls, ",") != "produce,checkout,consume" {
		t.Fatalf("hooks %v", calls)
	}
	up.fail = true
	q := query("www.example.org", dns.TypeA)
	q.SetEdns0(1232, false)
	m, _ = ask(t, s, pack(t, q), loClient, UDP)
	if code, _, ok := edeOf(m); m.Rcode != dns.RcodeServerFailure || !ok || code != EDENoReachableAuth {
		t.Fatalf("upstream down: %v, want SERVFAIL with EDE 22", m)
	}
	m, _ = ask(t, s, pack(t, query("stale", dns.TypeA)), loClient, UDP)
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
		t.Fatalf("a consume layer answering on failure: %v", m)
	}
}

// TestRecursionACL: forwarding serves RD=1 clients of the ACL only: an
// outside client gets REFUSED with EDE 18, RD=0 gets REFUSED, while data a
// layer answers in Begin (authoritative) goes to anyone, RD or not.
func TestRecursionACL(t *testing.T) {
	up := &memTransport{}
	auth := layerFunc{name: "auth", begin: func(r *Request, s State) State {
		if string(r.QName()) == "\x04auth\x00" {
			r.Answer.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.QName()}, Type: dnsmsg.TypeA, Class: 1, TTL: 30,
				RData: [][]byte{{192, 0, 2, 53}}}, true)
			return Done
		}
		return s
	}}
	s := newTestServer(t, &Config{Layers: []Layer{auth, forwardLayer(up)}})
	rd0 := query("www.example.org", dns.TypeA)
	rd0.RecursionDesired = false
	for _, c := range []struct {
		name   string
		q      *dns.Msg
		client netip.AddrPort
		rcode  int
		ede    bool
	}{
		{"inside", query("www.example.org", dns.TypeA), loClient, dns.RcodeSuccess, false},
		{"outside", query("www.example.org", dns.TypeA), farClient, dns.RcodeRefused, true},
		{"rd0", rd0, loClient, dns.RcodeRefused, false},
		{"auth-outside", query("auth", dns.TypeA), farClient, dns.RcodeSuccess, false},
		{"auth-rd0", func() *dns.Msg { m := query("auth", dns.TypeA); m.RecursionDesired = false; return m }(), farClient, dns.RcodeSuccess, false},
	} {
		c.q.SetEdns0(1232, false)
		m, _ := ask(t, s, pack(t, c.q), c.client, UDP)
		if m.Rcode != c.rcode {
			t.Errorf("%s: %s, want %s", c.name, dns.RcodeToString[m.Rcode], dns.RcodeToString[c.rcode])
		}
		if code, _, ok := edeOf(m); ok != c.ede || ok && code != EDEProhibited {
			t.Errorf("%s: EDE %v %d", c.name, ok, code)
		}
	}
	if len(up.queries) != 1 {
		t.Fatalf("%d upstream queries, want 1 (only the allowed client)", len(up.queries))
	}
	// private ranges by configuration
	s2 := newTestServer(t, &Config{Layers: []Layer{forwardLayer(up)}, RecursionACL: append(append([]netip.Prefix{}, LoopbackACL...), PrivateACL...)})
	if m, _ := ask(t, s2, pack(t, query("x.example", dns.TypeA)), netip.MustParseAddrPort("10.1.2.3:5353"), UDP); m.Rcode != dns.RcodeSuccess {
		t.Fatalf("private client with PrivateACL: %s", dns.RcodeToString[m.Rcode])
	}
}

// TestNoAnswer: a request flagged NO_ANSWER gets nothing back.
func TestNoAnswer(t *testing.T) {
	s := newTestServer(t, &Config{Layers: []Layer{layerFunc{name: "drop", begin: func(r *Request, s State) State {
		r.Options |= NoAnswer
		return Done
	}}}})
	if out, ok := s.Exchange(pack(t, query("x.", dns.TypeA)), loClient, localAddr, UDP, 0); !ok || out != nil {
		t.Fatalf("NO_ANSWER: %v %v", out, ok)
	}
}

// TestOutgoingLimits: Limits.OutgoingPerRequest bounds the upstream queries
// of one request made through QueryUpstream.
func TestOutgoingLimits(t *testing.T) {
	up := &memTransport{}
	var errs []error
	res := resolverFunc(func(r *Request) State {
		for i := 0; i < 3; i++ {
			_, err := r.QueryUpstream(up, r.UpstreamQuery())
			errs = append(errs, err)
		}
		return Fail
	})
	s := newTestServer(t, &Config{Resolver: res, Limits: Limits{OutgoingPerRequest: 2}})
	ask(t, s, pack(t, query("x.example", dns.TypeA)), loClient, UDP)
	if len(errs) != 3 || errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], ErrOutgoingLimit) {
		t.Fatalf("errors %v, want nil nil ErrOutgoingLimit", errs)
	}
	if len(up.queries) != 2 {
		t.Fatalf("%d queries went out, want 2", len(up.queries))
	}
	// the default lets a request make 100 (a resolver's cold iteration
	// with validation: Deckard's iter_ns_badip needs more than 10)
	up.queries, errs = nil, nil
	res = resolverFunc(func(r *Request) State {
		for i := 0; i < 101; i++ {
			_, err := r.QueryUpstream(up, r.UpstreamQuery())
			errs = append(errs, err)
		}
		return Fail
	})
	s = newTestServer(t, &Config{Resolver: res})
	ask(t, s, pack(t, query("x.example", dns.TypeA)), loClient, UDP)
	if len(errs) != 101 || errs[99] != nil || !errors.Is(errs[100], ErrOutgoingLimit) || len(up.queries) != 100 {
		t.Fatalf("default limit: %d queries went out, the 100th: %v, the 101st: %v", len(up.queries), errs[99], errs[100])
	}
}

// TestChainLoopServFail: a resolver's SERVFAIL for a CNAME loop keeps its
// records (RFC 1034 §3.6.2; Deckard's iter_dname_insec), where the same
// loop answered NOERROR is failed by the chain limit.
func TestChainLoopServFail(t *testing.T) {
	for _, rcode := range []int{dns.RcodeServerFailure, dns.RcodeSuccess} {
		res := resolverFunc(func(r *Request) State {
			name := r.QName()
			r.SetRcode(rcode)
			r.Answer.Begin(dnsmsg.SectionAN)
			r.Answer.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: name}, Type: dnsmsg.TypeCNAME, Class: 1, TTL: 60,
				RData: [][]byte{name}}, true)
			return Done
		})
		s := newTestServer(t, &Config{Resolver: res})
		m, _ := ask(t, s, pack(t, query("cyc.example", dns.TypeA)), loClient, UDP)
		if m == nil || m.Rcode != dns.RcodeServerFailure {
			t.Fatalf("rcode %d: answer %v, want SERVFAIL", rcode, m)
		}
		if keep := rcode == dns.RcodeServerFailure; (len(m.Answer) == 1) != keep {
			t.Errorf("rcode %d: answer section %v, want the loop kept: %v", rcode, m.Answer, keep)
		}
	}
}

type resolverFunc func(r *Request) State

func (f resolverFunc) Resolve(r *Request) State { return f(r) }

// TestAllowLocal: kresd's rule for name server addresses learned while
// iterating, and the outgoing allow list as LJDNS_OUTGOING_ALLOW ∩ config.
func TestAllowLocal(t *testing.T) {
	r := &Request{}
	for a, local := range map[string]bool{"127.0.0.1": true, "127.5.5.5": true, "::1": true, "::": true,
		"0.1.2.3": true, "192.0.2.1": false, "2001:db8::1": false, "::ffff:127.0.0.1": true} {
		if got := IsLocalAddr(netip.MustParseAddr(a)); got != local {
			t.Errorf("IsLocalAddr(%s) = %v", a, got)
		}
		if r.MayQueryNameserver(netip.MustParseAddr(a)) == local {
			t.Errorf("MayQueryNameserver(%s) without ALLOW_LOCAL wrong", a)
		}
	}
	r.Options |= AllowLocal
	if !r.MayQueryNameserver(netip.MustParseAddr("127.0.0.1")) {
		t.Error("ALLOW_LOCAL does not allow 127.0.0.1")
	}
	p := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	for _, c := range []struct {
		a, b []netip.Prefix
		want string
	}{
		{nil, nil, ""},
		{p("127.0.0.0/8", "::1/128"), nil, "127.0.0.0/8,::1/128"},
		{nil, p("10.0.0.0/8"), "10.0.0.0/8"},
		{p("127.0.0.0/8", "::1/128"), p("127.0.0.1/32", "10.0.0.0/8"), "127.0.0.1/32"},
		{p("127.0.0.0/8"), p("0.0.0.0/0"), "127.0.0.0/8"},
		{p("127.0.0.0/8"), p("10.0.0.0/8"), ""},
	} {
		got := IntersectPrefixes(c.a, c.b)
		if got.String() != c.want || (c.a != nil || c.b != nil) && got == nil {
			t.Errorf("IntersectPrefixes(%v, %v) = %v (nil %v), want %q", c.a, c.b, got, got == nil, c.want)
		}
	}
}

// TestResolve: Server.Resolve (kresd's resolve()) runs a query through
// the layers as a loopback client with RD set and returns the answer.
func TestResolve(t *testing.T) {
	up := &memTransport{}
	s := newTestServer(t, &Config{Layers: []Layer{forwardLayer(up)}})
	n, _ := dnsmsg.NameFromText("www.example.org")
	a, err := s.Resolve(n.Wire, dnsmsg.TypeA, dnsmsg.ClassINET, NoCache, 0)
	if err != nil || a == nil || a.Rcode() != 0 || len(a.Records(dnsmsg.SectionAN)) != 1 {
		t.Fatalf("Resolve: %v %v", a, err)
	}
	if len(up.queries) != 1 {
		t.Fatalf("%d upstream queries", len(up.queries))
	}
}

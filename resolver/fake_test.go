package resolver

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"ljdns/daemon/cache"
	"ljdns/dnsmsg"
)

// fakeNet is an in-memory set of authoritative servers: each address
// serves zones given as zone-file-like lines "owner TTL TYPE rdata".
type fakeNet struct {
	mu      sync.Mutex
	servers map[netip.Addr][]*fakeZone
	asked   []string                                                        // "addr qname qtype"
	hook    func(server netip.Addr, qn []byte, qt uint16, a *dnsmsg.Packet) // may add records
	tc      map[netip.Addr]bool                                             // answer UDP with TC
}

type fakeZone struct {
	origin []byte
	rrs    []*dnsmsg.RRSet
}

func rrOf(t testing.TB, line string) *dnsmsg.RRSet {
	t.Helper()
	f := strings.Fields(line)
	owner, err := dnsmsg.NameFromText(f[0])
	if err != nil {
		t.Fatal(err)
	}
	typ, rd, err := dnsmsg.ParseRData(strings.Join(f[2:], " "))
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	rr := &dnsmsg.RRSet{Owner: owner, Type: typ, Class: dnsmsg.ClassINET, TTL: 300}
	rr.Add(rd)
	return rr
}

func (n *fakeNet) serve(t testing.TB, addr, origin string, lines ...string) {
	z := &fakeZone{origin: wname(t, origin)}
	z.rrs = append(z.rrs, rrOf(t, origin+" 300 SOA ns."+strings.TrimPrefix(origin, ".")+" h. 1 2 3 4 60"))
	for _, l := range lines {
		z.rrs = append(z.rrs, rrOf(t, l))
	}
	if n.servers == nil {
		n.servers = map[netip.Addr][]*fakeZone{}
	}
	a := netip.MustParseAddr(addr)
	n.servers[a] = append(n.servers[a], z)
}

// exchange answers q as the server at server would.
func (n *fakeNet) exchange(ctx context.Context, server netip.AddrPort, q *dnsmsg.Packet, tcp bool) (*dnsmsg.Packet, error) {
	qn, qt, _, _ := q.Question()
	n.mu.Lock()
	n.asked = append(n.asked, server.Addr().String()+" "+nameText(qn)+" "+dnsmsg.TypeString(qt))
	zones := n.servers[server.Addr()]
	tc := n.tc[server.Addr()] && !tcp
	n.mu.Unlock()
	if zones == nil {
		return nil, ErrTimeout
	}
	a := dnsmsg.NewPacket(65535)
	a.SetQuestion(qn, qt, dnsmsg.ClassINET)
	a.SetID(q.ID())
	a.Buf[2] = 0x80
	if tc {
		a.Buf[2] |= 0x02
		a.Parse(false)
		return a, nil
	}
	var z *fakeZone
	for _, c := range zones {
		if dnsmsg.NameWithin(qn, c.origin) && (z == nil || len(c.origin) >= len(z.origin)) {
			z = c
		}
	}
	if z == nil {
		a.Buf[3] = 5
		a.Parse(false)
		return a, nil
	}
	var an, ns, ar []*dnsmsg.RRSet
	// a delegation on the way down?
	var cutNS []*dnsmsg.RRSet
	for _, rr := range z.rrs {
		if rr.Type == typeNS && below(rr.Owner.Wire, z.origin) && dnsmsg.NameWithin(qn, rr.Owner.Wire) && !(qt == typeDS && sameName(qn, rr.Owner.Wire)) {
			cutNS = append(cutNS, rr)
		}
	}
	if len(cutNS) > 0 {
		ns = cutNS
		for _, c := range cutNS {
			for _, rr := range z.rrs {
				if (rr.Type == typeA || rr.Type == typeAAAA) && sameName(rr.Owner.Wire, nameRData(c.RData[0])) {
					ar = append(ar, rr)
				}
			}
		}
	} else if d := fakeDNAME(z, qn); d != nil {
		a.Buf[2] |= 0x04 // AA
		target := substitute(qn, d.Owner.Wire, nameRData(d.RData[0]))
		cn := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: qn}, Type: typeCNAME, Class: dnsmsg.ClassINET, TTL: d.TTL}
		cn.Add(target)
		an = append(an, d, cn)
	} else {
		a.Buf[2] |= 0x04 // AA
		exists := false
		for _, rr := range z.rrs {
			if dnsmsg.NameWithin(rr.Owner.Wire, qn) {
				exists = true
			}
			if sameName(rr.Owner.Wire, qn) && (rr.Type == qt || rr.Type == typeCNAME) {
				an = append(an, rr)
			}
		}
		if len(an) == 0 {
			ns = append(ns, z.rrs[0])
			if !exists {
				a.Buf[3] = 3
			}
		}
	}
	for i, sec := range [][]*dnsmsg.RRSet{an, ns, ar} {
		a.Begin(i)
		for _, rr := range sec {
			a.Put(rr, false)
		}
	}
	a.Parse(false)
	if n.hook != nil {
		n.hook(server.Addr(), qn, qt, a)
	}
	return a, nil
}

func (n *fakeNet) contacted(addr string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, l := range n.asked {
		if strings.HasPrefix(l, addr+" ") {
			return true
		}
	}
	return false
}

// addRecords returns a with extra records appended to section sec.
func addRecords(t testing.TB, a *dnsmsg.Packet, sec int, lines ...string) *dnsmsg.Packet {
	return rewrite(t, a, sec, false, lines...)
}

// rewrite returns a with lines appended to section sec, or replacing it.
func rewrite(t testing.TB, a *dnsmsg.Packet, sec int, replace bool, lines ...string) *dnsmsg.Packet {
	out := dnsmsg.NewPacket(65535)
	qn, qt, qc, _ := a.Question()
	out.SetQuestion(qn, qt, qc)
	out.SetID(a.ID())
	out.Buf[2], out.Buf[3] = a.Buf[2], a.Buf[3]
	for s := 0; s <= 2; s++ {
		out.Begin(s)
		for _, rr := range a.Records(s) {
			if !replace || s != sec {
				out.Put(rr, false)
			}
		}
		if s == sec {
			for _, l := range lines {
				out.Put(rrOf(t, l), false)
			}
		}
	}
	out.Parse(false)
	return out
}

// baseNet is a root (10.0.0.1), example. and lab. on 10.0.0.2, and
// sub.example. on 10.0.0.3.
func baseNet(t testing.TB) *fakeNet {
	n := &fakeNet{}
	n.serve(t, "10.0.0.1", ".",
		". 300 NS ns.root.", "ns.root. 300 A 10.0.0.1",
		"example. 300 NS ns.example.", "ns.example. 300 A 10.0.0.2",
		"lab. 300 NS ns.example.",
		"org. 300 NS ns.org.", "ns.org. 300 A 10.0.0.4")
	n.serve(t, "10.0.0.2", "example.",
		"example. 300 NS ns.example.", "ns.example. 300 A 10.0.0.2",
		"www.example. 300 A 192.0.2.1",
		"alias.example. 300 CNAME www.sub.example.",
		"sub.example. 300 NS ns.sub.example.", "ns.sub.example. 300 A 10.0.0.3")
	n.serve(t, "10.0.0.2", "lab.", "lab. 300 NS ns.example.", "www.lab. 300 A 192.0.2.7")
	n.serve(t, "10.0.0.3", "sub.example.", "sub.example. 300 NS ns.sub.example.", "ns.sub.example. 300 A 10.0.0.3",
		"www.sub.example. 300 A 192.0.2.3")
	n.serve(t, "10.0.0.4", "org.", "org. 300 NS ns.org.", "ns.org. 300 A 10.0.0.4")
	return n
}

func fakeResolver(t testing.TB, n *fakeNet, mod func(*Config)) *Resolver {
	c := Config{Roots: []Hint{{Name: "ns.root.", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}}}, Exchange: n.exchange}
	if mod != nil {
		mod(&c)
	}
	r, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func resolveA(t testing.TB, r *Resolver, name string, qtype uint16) (*dnsmsg.Packet, Result) {
	t.Helper()
	a, res, err := r.Resolve(context.Background(), wname(t, name), qtype, dnsmsg.ClassINET, QueryFlags{})
	if err != nil {
		t.Logf("%s: %v", name, err)
	}
	return a, res
}

func answerText(a *dnsmsg.Packet) string {
	var out []string
	for _, rr := range a.Records(dnsmsg.SectionAN) {
		out = append(out, rr.String())
	}
	return strings.Join(out, "; ")
}

// TestFakeIteration: referrals, CNAME chasing across zones, NXDOMAIN,
// NODATA and priming on an in-memory hierarchy, with and without QNAME
// minimisation.
func TestFakeIteration(t *testing.T) {
	for _, nomin := range []bool{false, true} {
		n := baseNet(t)
		r := fakeResolver(t, n, func(c *Config) { c.NoMinimize = nomin })
		for _, c := range []struct {
			name  string
			qtype uint16
			rcode int
			want  string
		}{
			{"www.example.", typeA, 0, "192.0.2.1"},
			{"www.sub.example.", typeA, 0, "192.0.2.3"},
			{"alias.example.", typeA, 0, "192.0.2.3"},
			{"nx.sub.example.", typeA, 3, ""},
			{"www.sub.example.", typeAAAA, 0, ""},
			{"www.lab.", typeA, 0, "192.0.2.7"},
		} {
			a, res := resolveA(t, r, c.name, c.qtype)
			if a.Rcode() != c.rcode || !strings.Contains(answerText(a), c.want) {
				t.Errorf("nomin %v %s: rcode %d %q, want %d %q (%+v)", nomin, c.name, a.Rcode(), answerText(a), c.rcode, c.want, res)
			}
		}
		if a, _ := resolveA(t, r, "alias.example.", typeA); len(a.Records(dnsmsg.SectionAN)) != 2 {
			t.Errorf("alias: want the CNAME and the A: %s", answerText(a))
		}
		if !strings.HasPrefix(n.asked[0], "10.0.0.1 . NS") {
			t.Errorf("first query %q, want the priming query", n.asked[0])
		}
		if !nomin {
			for _, l := range n.asked {
				if strings.HasPrefix(l, "10.0.0.1 ") && strings.Count(l, ".") > 5 && !strings.HasSuffix(l, " NS") {
					t.Errorf("root asked a full name with minimisation on: %q", l)
				}
			}
		}
	}
}

// TestPoisonOutOfBailiwick: records out of the answering zone's bailiwick
// in a referral (authority and additional) and in an answer are ignored.
func TestPoisonOutOfBailiwick(t *testing.T) {
	n := baseNet(t)
	n.hook = func(s netip.Addr, qn []byte, qt uint16, a *dnsmsg.Packet) {
		if s == netip.MustParseAddr("10.0.0.2") && a.Count(dnsmsg.SectionNS) > 0 && !a.Flag("aa") {
			// example.'s referral to sub.example. claims org. and www.org.
			*a = *addRecords(t, a, dnsmsg.SectionNS, "org. 300 NS ns.evil.example.")
			*a = *addRecords(t, a, dnsmsg.SectionAR, "www.org. 300 A 6.6.6.6", "ns.org. 300 A 6.6.6.7")
		}
		if s == netip.MustParseAddr("10.0.0.3") && a.Flag("aa") {
			*a = *addRecords(t, a, dnsmsg.SectionAN, "www.org. 300 A 6.6.6.6", "www.example. 300 A 6.6.6.6")
		}
	}
	r := fakeResolver(t, n, nil)
	if a, _ := resolveA(t, r, "www.sub.example.", typeA); !strings.Contains(answerText(a), "192.0.2.3") || strings.Contains(answerText(a), "6.6.6.6") {
		t.Fatalf("www.sub.example.: %s", answerText(a))
	}
	// www.org. does not exist (org. answers NXDOMAIN): the poisoned
	// records must not answer it, ns.org. must keep its address.
	a, _ := resolveA(t, r, "www.org.", typeA)
	if a.Rcode() != 3 || strings.Contains(answerText(a), "6.6.6.6") {
		t.Errorf("www.org.: rcode %d %s, want NXDOMAIN", a.Rcode(), answerText(a))
	}
	if a, _ := resolveA(t, r, "www.example.", typeA); !strings.Contains(answerText(a), "192.0.2.1") {
		t.Errorf("www.example.: %s", answerText(a))
	}
	if n.contacted("6.6.6.7") {
		t.Error("the out-of-bailiwick glue was used")
	}
	if r.Stats.Ignored.Load() == 0 {
		t.Error("nothing counted as ignored")
	}
}

// TestPoisonGlueOverAuthoritative: glue never replaces authoritative data
// (RFC 2181 §5.4.1): the root's referral for lab. carries a different
// address for ns.example., already known from example.'s own answer.
func TestPoisonGlueOverAuthoritative(t *testing.T) {
	n := baseNet(t)
	n.hook = func(s netip.Addr, qn []byte, qt uint16, a *dnsmsg.Packet) {
		if s == netip.MustParseAddr("10.0.0.1") && dnsmsg.NameWithin(qn, wname(t, "lab.")) && a.Count(dnsmsg.SectionNS) > 0 {
			*a = *rewrite(t, a, dnsmsg.SectionAR, true, "ns.example. 300 A 6.6.6.6")
		}
	}
	r := fakeResolver(t, n, nil)
	if a, _ := resolveA(t, r, "ns.example.", typeA); !strings.Contains(answerText(a), "10.0.0.2") {
		t.Fatalf("ns.example.: %s", answerText(a))
	}
	a, _ := resolveA(t, r, "www.lab.", typeA)
	if !strings.Contains(answerText(a), "192.0.2.7") {
		t.Errorf("www.lab.: %s", answerText(a))
	}
	if n.contacted("6.6.6.6") {
		t.Error("the glue replaced the authoritative address of ns.example.")
	}
	if r.Stats.GlueRefused.Load() == 0 {
		t.Error("the glue was not counted as refused")
	}
}

// TestGlueMode: kresd's mode() table. The root's referral for lab. names
// ns.example. with its address: glue in the root's bailiwick but not below
// lab., so strict mode leaves it and resolves ns.example. itself, normal
// and permissive take it. Glue from outside the server's zone is taken in
// permissive mode only.
func TestGlueMode(t *testing.T) {
	for _, mode := range []Mode{Strict, Normal, Permissive} {
		n := baseNet(t)
		n.hook = func(s netip.Addr, qn []byte, qt uint16, a *dnsmsg.Packet) {
			if s == netip.MustParseAddr("10.0.0.2") && a.Count(dnsmsg.SectionNS) > 0 && !a.Flag("aa") {
				// example.'s referral to sub.example. adds ns.org. with an address
				*a = *addRecords(t, a, dnsmsg.SectionNS, "sub.example. 300 NS ns.org.")
				*a = *addRecords(t, a, dnsmsg.SectionAR, "ns.org. 300 A 10.0.0.99")
			}
		}
		r := fakeResolver(t, n, func(cf *Config) { cf.Mode = mode })
		a, _ := resolveA(t, r, "www.lab.", typeA)
		if !strings.Contains(answerText(a), "192.0.2.7") {
			t.Errorf("%v: www.lab.: %s", mode, answerText(a))
		}
		askedNS := false
		for _, l := range n.asked {
			if strings.HasSuffix(l, " ns.example. A") {
				askedNS = true
			}
		}
		if askedNS != (mode == Strict) {
			t.Errorf("%v: ns.example. resolved itself: %v\n%s", mode, askedNS, strings.Join(n.asked, "\n"))
		}
		resolveA(t, r, "www.sub.example.", typeA)
		s, _ := r.cache.get(wname(t, "ns.org."), typeA, rankGlue, r.clk.Now())
		if (s != nil) != (mode == Permissive) {
			t.Errorf("%v: out-of-zone glue stored: %v", mode, s != nil)
		}
	}
}

// TestLimits: a request stops after MaxQueriesPerRequest upstream queries,
// and at most MaxNSNamesPerDelegation glueless NS names are resolved
// (NXNSAttack).
func TestLimits(t *testing.T) {
	n := baseNet(t)
	var lines []string
	for i := 0; i < 20; i++ {
		lines = append(lines, "big.example. 300 NS ns"+string(rune('a'+i))+".org.")
	}
	n.serve(t, "10.0.0.2", "example.", append([]string{"example. 300 NS ns.example.", "ns.example. 300 A 10.0.0.2"}, lines...)...)
	r := fakeResolver(t, n, func(c *Config) { c.MaxNSNamesPerDelegation = 3 })
	a, _ := resolveA(t, r, "www.big.example.", typeA)
	if a.Rcode() != 2 {
		t.Errorf("rcode %d, want SERVFAIL", a.Rcode())
	}
	resolved := 0
	for _, l := range n.asked {
		if strings.HasPrefix(l, "10.0.0.4 ") && strings.Contains(l, ".org. A") {
			resolved++
		}
	}
	if resolved > 3 {
		t.Errorf("%d NS names resolved, want at most 3:\n%s", resolved, strings.Join(n.asked, "\n"))
	}
	r = fakeResolver(t, baseNet(t), func(c *Config) { c.MaxQueriesPerRequest = 2 })
	a, res := resolveA(t, r, "www.sub.example.", typeA)
	if a.Rcode() != 2 || res.Queries > 2 {
		t.Errorf("rcode %d after %d queries, want SERVFAIL after at most 2", a.Rcode(), res.Queries)
	}
}

// TestTCPOnTC: a truncated UDP answer is asked again over TCP.
func TestTCPOnTC(t *testing.T) {
	n := baseNet(t)
	n.tc = map[netip.Addr]bool{netip.MustParseAddr("10.0.0.3"): true}
	r := fakeResolver(t, n, nil)
	if a, _ := resolveA(t, r, "www.sub.example.", typeA); !strings.Contains(answerText(a), "192.0.2.3") {
		t.Errorf("www.sub.example.: %s", answerText(a))
	}
	if r.Stats.TCP.Load() == 0 {
		t.Error("no TCP retry counted")
	}
}

// TestAllowLocal: learnt name server addresses in 127/8 are not used
// unless AllowLocal; root hints in 127/8 are used as given.
func TestAllowLocal(t *testing.T) {
	mk := func() *fakeNet {
		n := &fakeNet{}
		n.serve(t, "127.0.0.1", ".", ". 300 NS ns.root.", "ns.root. 300 A 127.0.0.1",
			"example. 300 NS ns.example.", "ns.example. 300 A 127.0.0.2")
		n.serve(t, "127.0.0.2", "example.", "example. 300 NS ns.example.", "ns.example. 300 A 127.0.0.2", "www.example. 300 A 192.0.2.1")
		return n
	}
	for _, allow := range []bool{false, true} {
		n := mk()
		r, err := New(Config{Roots: []Hint{{Name: "ns.root.", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}}, Exchange: n.exchange, AllowLocal: allow})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := resolveA(t, r, "www.example.", typeA)
		if ok := strings.Contains(answerText(a), "192.0.2.1"); ok != allow || n.contacted("127.0.0.2") != allow {
			t.Errorf("AllowLocal %v: answer %q, 127.0.0.2 contacted %v", allow, answerText(a), n.contacted("127.0.0.2"))
		}
		if !n.contacted("127.0.0.1") {
			t.Errorf("AllowLocal %v: the root hint in 127/8 was not used", allow)
		}
	}
}

// TestNoIPv4NoIPv6: with an address family disabled (kresd's net.ipv4 /
// net.ipv6 = false) no address of it is contacted, root hints included,
// and the name servers are reached over the other family.
func TestNoIPv4NoIPv6(t *testing.T) {
	for _, no4 := range []bool{true, false} {
		n := &fakeNet{}
		for _, root := range []string{"10.0.0.1", "2001:db8::1"} {
			n.serve(t, root, ".", ". 300 NS ns.root.", "ns.root. 300 A 10.0.0.1", "ns.root. 300 AAAA 2001:db8::1",
				"example. 300 NS ns.example.", "ns.example. 300 A 10.0.0.2", "ns.example. 300 AAAA 2001:db8::2")
		}
		for _, ex := range []string{"10.0.0.2", "2001:db8::2"} {
			n.serve(t, ex, "example.", "example. 300 NS ns.example.", "ns.example. 300 A 10.0.0.2",
				"ns.example. 300 AAAA 2001:db8::2", "www.example. 300 A 192.0.2.1")
		}
		r, err := New(Config{Roots: []Hint{{Name: "ns.root.", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1"),
			netip.MustParseAddr("2001:db8::1")}}}, Exchange: n.exchange, NoIPv4: no4, NoIPv6: !no4})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := resolveA(t, r, "www.example.", typeA)
		if !strings.Contains(answerText(a), "192.0.2.1") {
			t.Errorf("NoIPv4 %v: answer %q", no4, answerText(a))
		}
		off, on := []string{"10.0.0.1", "10.0.0.2"}, []string{"2001:db8::1", "2001:db8::2"}
		if !no4 {
			off, on = on, off
		}
		for _, x := range off {
			if n.contacted(x) {
				t.Errorf("NoIPv4 %v: %s contacted", no4, x)
			}
		}
		if !n.contacted(on[1]) {
			t.Errorf("NoIPv4 %v: %s not contacted", no4, on[1])
		}
	}
}

// TestNoPriming: without priming (kresd with the priming module unloaded,
// as Deckard runs it) the root hints are asked the question directly, never
// ". NS"; with priming the root NS set is asked first.
func TestNoPriming(t *testing.T) {
	for _, no := range []bool{true, false} {
		n := baseNet(t)
		r := fakeResolver(t, n, func(c *Config) { c.NoPriming = no })
		a, _ := resolveA(t, r, "www.example.", typeA)
		if answerText(a) == "" {
			t.Errorf("NoPriming %v: no answer", no)
		}
		primed := false
		n.mu.Lock()
		for _, q := range n.asked {
			primed = primed || strings.HasSuffix(q, " . NS")
		}
		n.mu.Unlock()
		if primed == no {
			t.Errorf("NoPriming %v: asked %v", no, n.asked)
		}
	}
}

// TestReferralWithAA: a referral wrongly flagged authoritative (AA, child
// NS in AUTHORITY, no SOA) is still followed.
func TestReferralWithAA(t *testing.T) {
	n := baseNet(t)
	n.hook = func(s netip.Addr, qn []byte, qt uint16, a *dnsmsg.Packet) {
		if s == netip.MustParseAddr("10.0.0.1") && a.Count(dnsmsg.SectionAN) == 0 {
			a.SetFlag("aa", true)
		}
	}
	r := fakeResolver(t, n, func(c *Config) { c.NoMinimize = true })
	if a, _ := resolveA(t, r, "www.example.", typeA); !strings.Contains(answerText(a), "192.0.2.1") {
		t.Errorf("www.example.: %q", answerText(a))
	}
}

// TestOtherNSNamesAfterFailure: when the servers with known addresses
// fail (here SERVFAIL), the NS names without glue are resolved and tried.
func TestOtherNSNamesAfterFailure(t *testing.T) {
	n := &fakeNet{}
	n.serve(t, "10.0.0.1", ".", ". 300 NS ns.root.", "ns.root. 300 A 10.0.0.1",
		"example. 300 NS ns.example.", "example. 300 NS ns.example.org.", "ns.example. 300 A 10.0.0.2",
		"org. 300 NS ns.org.", "ns.org. 300 A 10.0.0.4")
	n.serve(t, "10.0.0.4", "org.", "org. 300 NS ns.org.", "ns.org. 300 A 10.0.0.4", "ns.example.org. 300 A 10.0.0.5")
	for _, a := range []string{"10.0.0.2", "10.0.0.5"} {
		n.serve(t, a, "example.", "example. 300 NS ns.example.", "example. 300 NS ns.example.org.",
			"ns.example. 300 A 10.0.0.2", "www.example. 300 A 192.0.2.1")
	}
	n.hook = func(s netip.Addr, qn []byte, qt uint16, a *dnsmsg.Packet) {
		if s == netip.MustParseAddr("10.0.0.2") {
			a.Buf[3] = (a.Buf[3] &^ 0x0f) | 2 // SERVFAIL
		}
	}
	r := fakeResolver(t, n, func(c *Config) { c.NoMinimize = true })
	if a, _ := resolveA(t, r, "www.example.", typeA); !strings.Contains(answerText(a), "192.0.2.1") || !n.contacted("10.0.0.5") {
		t.Errorf("www.example.: %q, 10.0.0.5 contacted %v", answerText(a), n.contacted("10.0.0.5"))
	}
}

var errNoNet = errors.New("no network")

// TestClearName: cache.clear(name) makes the next query for name go
// upstream again, and leaves other names cached.
func TestClearName(t *testing.T) {
	r := fakeResolver(t, baseNet(t), nil)
	resolveA(t, r, "www.example.", typeA)
	resolveA(t, r, "www.sub.example.", typeA)
	r.ClearName(wname(t, "sub.example."), false, 0)
	if _, res := resolveA(t, r, "www.example.", typeA); !res.Cached {
		t.Errorf("www.example. not cached any more: %+v", res)
	}
	if _, res := resolveA(t, r, "www.sub.example.", typeA); res.Cached || res.Queries == 0 {
		t.Errorf("www.sub.example. still cached: %+v", res)
	}
	r.ClearCache()
	if _, res := resolveA(t, r, "www.example.", typeA); res.Queries < 2 {
		t.Errorf("after ClearCache: %d queries, want priming and more", res.Queries)
	}
}

// fakeDNAME returns the DNAME of z above qn, if any.
func fakeDNAME(z *fakeZone, qn []byte) *dnsmsg.RRSet {
	for _, rr := range z.rrs {
		if rr.Type == typeDNAME && below(qn, rr.Owner.Wire) {
			return rr
		}
	}
	return nil
}

// TestDNAMEAndCNAME: a DNAME answer is followed through its synthesized
// CNAME into another zone; a CNAME to a name that does not exist gives
// NXDOMAIN with the CNAME; a CNAME loop ends.
func TestDNAMEAndCNAME(t *testing.T) {
	n := baseNet(t)
	n.serve(t, "10.0.0.2", "example.",
		"example. 300 NS ns.example.", "ns.example. 300 A 10.0.0.2",
		"dn.example. 300 DNAME sub.example.",
		"sub.example. 300 NS ns.sub.example.", "ns.sub.example. 300 A 10.0.0.3",
		"broken.example. 300 CNAME nx.sub.example.",
		"loop1.example. 300 CNAME loop2.example.", "loop2.example. 300 CNAME loop1.example.")
	for _, nomin := range []bool{false, true} {
		r := fakeResolver(t, n, func(c *Config) { c.NoMinimize = nomin })
		a, _ := resolveA(t, r, "www.dn.example.", typeA)
		if txt := answerText(a); a.Rcode() != 0 || !strings.Contains(txt, "DNAME") || !strings.Contains(txt, "CNAME") || !strings.Contains(txt, "192.0.2.3") {
			t.Errorf("nomin %v: DNAME: rcode %d %s", nomin, a.Rcode(), txt)
		}
		a, _ = resolveA(t, r, "broken.example.", typeA)
		if a.Rcode() != 3 || !strings.Contains(answerText(a), "CNAME") {
			t.Errorf("nomin %v: CNAME to nowhere: rcode %d %s", nomin, a.Rcode(), answerText(a))
		}
		a, _ = resolveA(t, r, "loop1.example.", typeA)
		if a.Rcode() != 0 && a.Rcode() != 2 {
			t.Errorf("nomin %v: CNAME loop: rcode %d %s", nomin, a.Rcode(), answerText(a))
		}
	}
}

// TestSharedCache: answers that need no AD bit go into the daemon's
// shared RR cache when the Config passes one.
func TestSharedCache(t *testing.T) {
	rc := cache.New(cache.Options{})
	r := fakeResolver(t, baseNet(t), func(c *Config) { c.Cache = rc })
	resolveA(t, r, "www.sub.example.", typeA)
	a, ok := rc.Lookup(wname(t, "www.sub.example."), typeA, dnsmsg.ClassINET, false, false)
	if !ok || len(a.AN) != 1 {
		t.Fatalf("shared cache: %v %+v", ok, a)
	}
}

// TestReglueFromParent: when the addresses of a zone's in-zone name
// servers are gone from the cache (expired) while its NS set is not, the
// parent is asked for the delegation again and its glue is used (Deckard's
// iter_pcttl, iter_timeouted_ns, iter_ns_badip).
func TestReglueFromParent(t *testing.T) {
	n := baseNet(t)
	r := fakeResolver(t, n, func(c *Config) { c.NoMinimize = true })
	if a, _ := resolveA(t, r, "www.example.", typeA); !strings.Contains(answerText(a), "192.0.2.1") {
		t.Fatalf("www.example.: %q", answerText(a))
	}
	r.ClearName(wname(t, "ns.example."), true, 0) // as if its address expired
	r.ClearName(wname(t, "www.example."), true, 0)
	n.asked = nil
	if a, _ := resolveA(t, r, "www.example.", typeA); !strings.Contains(answerText(a), "192.0.2.1") {
		t.Fatalf("www.example. after the glue expired: %q (asked %q)", answerText(a), n.asked)
	}
	if len(n.asked) == 0 || n.asked[0] != "10.0.0.1 example. NS" {
		t.Errorf("the root was not asked for the delegation first: %q", n.asked)
	}
}

// TestDNAMEFromCache: a cached DNAME answers the names below it with the
// CNAME it synthesises, without asking (RFC 6672 §3.2); a DNAME onto
// itself is a loop: SERVFAIL with the DNAME and the CNAME (RFC 1034
// §3.6.2, kresd; Deckard's iter_dname_insec, val_dname_bogus).
func TestDNAMEFromCache(t *testing.T) {
	n := baseNet(t)
	n.serve(t, "10.0.0.2", "example.",
		"example. 300 NS ns.example.", "ns.example. 300 A 10.0.0.2",
		"dn.example. 300 DNAME sub.example.", "self.example. 300 DNAME self.example.",
		"sub.example. 300 NS ns.sub.example.", "ns.sub.example. 300 A 10.0.0.3")
	r := fakeResolver(t, n, func(c *Config) { c.NoMinimize = true })
	if a, _ := resolveA(t, r, "www.dn.example.", typeA); a.Rcode() != 0 || !strings.Contains(answerText(a), "192.0.2.3") {
		t.Fatalf("www.dn.example.: rcode %d %s", a.Rcode(), answerText(a))
	}
	r.ClearName(wname(t, "www.dn.example."), true, 0) // the CNAME synthesised before
	n.asked = nil
	a, _ := resolveA(t, r, "www.dn.example.", typeAAAA)
	if txt := answerText(a); a.Rcode() != 0 || !strings.Contains(txt, "DNAME") || !strings.Contains(txt, "CNAME") {
		t.Errorf("www.dn.example. AAAA: rcode %d %s", a.Rcode(), txt)
	}
	for _, l := range n.asked {
		if strings.Contains(l, "dn.example.") {
			t.Errorf("asked %q: the cached DNAME should answer", l)
		}
	}
	a, _ = resolveA(t, r, "cyc.self.example.", typeA)
	if txt := answerText(a); a.Rcode() != 2 || strings.Count(txt, "DNAME") != 1 || strings.Count(txt, "CNAME") != 1 {
		t.Errorf("DNAME loop: rcode %d %s, want SERVFAIL with the DNAME and one CNAME", a.Rcode(), txt)
	}
}

// TestNXDOMAINKeepsZoneNS: the zone's NS set that comes along a NXDOMAIN
// (after the SOA) is passed to the client, as kresd does; another owner's
// NS is not (Deckard's iter_domain_sale).
func TestNXDOMAINKeepsZoneNS(t *testing.T) {
	n := baseNet(t)
	n.hook = func(s netip.Addr, qn []byte, qt uint16, a *dnsmsg.Packet) {
		if s == netip.MustParseAddr("10.0.0.2") && a.Rcode() == 3 {
			*a = *addRecords(t, a, dnsmsg.SectionNS, "example. 300 NS ns.example.", "lab. 300 NS ns.example.")
		}
	}
	r := fakeResolver(t, n, func(c *Config) { c.NoMinimize = true })
	a, _ := resolveA(t, r, "nx.example.", typeA)
	var auth []string
	for _, rr := range a.Records(dnsmsg.SectionNS) {
		auth = append(auth, rr.Owner.String()+" "+dnsmsg.TypeString(rr.Type))
	}
	if a.Rcode() != 3 || strings.Join(auth, ", ") != "example. SOA, example. NS" {
		t.Errorf("nx.example.: rcode %d, authority %q", a.Rcode(), auth)
	}
}

// TestMinimiseStopsAtNODATA: a minimised NS query answered NODATA (no cut
// there, the zone is the one asked) makes the next query the full name,
// as kresd ("found cut, retrying with non-minimized name"), not the next
// label (Deckard's iter_dname_insec).
func TestMinimiseStopsAtNODATA(t *testing.T) {
	n := baseNet(t)
	n.serve(t, "10.0.0.2", "example.",
		"example. 300 NS ns.example.", "ns.example. 300 A 10.0.0.2",
		"a.b.c.example. 300 A 192.0.2.9")
	r := fakeResolver(t, n, nil)
	if a, _ := resolveA(t, r, "a.b.c.example.", typeA); !strings.Contains(answerText(a), "192.0.2.9") {
		t.Fatalf("a.b.c.example.: %q", answerText(a))
	}
	var got []string
	for _, l := range n.asked {
		if strings.HasPrefix(l, "10.0.0.2 ") {
			got = append(got, strings.TrimPrefix(l, "10.0.0.2 "))
		}
	}
	if strings.Join(got, ", ") != "c.example. NS, a.b.c.example. A" {
		t.Errorf("asked of example.'s server: %q", got)
	}
}

// TestYXDOMAIN: a DNAME whose substitution would be too long comes with
// YXDOMAIN (RFC 6672 §2.2), which goes to the client with the DNAME.
func TestYXDOMAIN(t *testing.T) {
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + "."
	n := baseNet(t)
	n.hook = func(s netip.Addr, qn []byte, qt uint16, a *dnsmsg.Packet) {
		if s == netip.MustParseAddr("10.0.0.2") && strings.HasSuffix(nameText(qn), ".yx.example.") {
			*a = *rewrite(t, a, dnsmsg.SectionAN, true, "yx.example. 300 DNAME "+long)
			*a = *rewrite(t, a, dnsmsg.SectionNS, true)
			a.Buf[3] = (a.Buf[3] &^ 0x0f) | 6
		}
	}
	r := fakeResolver(t, n, func(c *Config) { c.NoMinimize = true })
	a, _ := resolveA(t, r, "xxxxxxxxxx.yx.example.", typeA)
	if txt := answerText(a); a.Rcode() != 6 || !strings.Contains(txt, "DNAME") {
		t.Errorf("rcode %d %s, want YXDOMAIN with the DNAME", a.Rcode(), txt)
	}
}

// TestWithProofs: the answer of a chain keeps the NSEC proofs of its
// earlier links (a cached wildcard CNAME) next to the last link's
// authority (Deckard's nsec_aggr_cache step 504).
func TestWithProofs(t *testing.T) {
	nsec := &rrset{rr: rrOf(t, "a.example. 300 NSEC c.example. CNAME RRSIG NSEC")}
	cn := &rrset{rr: rrOf(t, "b.example. 300 CNAME www.lab."), proof: []*rrset{nsec}}
	soa := &rrset{rr: rrOf(t, "lab. 300 SOA ns.lab. h. 1 2 3 4 60")}
	got := withProofs([]*rrset{soa}, []*rrset{cn})
	if len(got) != 2 || got[0] != soa || got[1] != nsec {
		t.Errorf("withProofs: %d sets", len(got))
	}
	if again := withProofs(got, []*rrset{cn}); len(again) != 2 {
		t.Errorf("the proof added twice: %d sets", len(again))
	}
}

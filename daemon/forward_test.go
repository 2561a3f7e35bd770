package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"ljdns/dnsclient"
	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

const fwdZone = `$ORIGIN example.test.
$TTL 3600
@	SOA	ns1 hostmaster 1 7200 3600 1209600 300
@	NS	ns1
ns1	A	127.0.0.2
www	A	192.0.2.1
www	AAAA	2001:db8::1
alias	CNAME	www
txt	TXT	"hello" "world"
`

// TestForwardToKnot forwards through dnsclient to a loopback knotd and
// compares the answers with knotd's own (the rig's comparator; AA is
// cleared by forwarding as kresd does); a large answer is truncated to the
// client over UDP and whole over TCP.
func TestForwardToKnot(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd")
	dir := t.TempDir()
	var zone strings.Builder
	zone.WriteString(fwdZone)
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&zone, "big\tA\t198.51.100.%d\n", i)
	}
	zf := filepath.Join(dir, "example.test.zone")
	os.WriteFile(zf, []byte(zone.String()), 0o644)
	knot := testnet.StartKnot(t, testnet.KnotConfig{Zones: []testnet.Zone{{Name: "example.test.", File: zf}}})
	up, err := dnsclient.NewDgramStream(knot.Addr().String(), dnsclient.DgramStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	fwd := layerFunc{name: "policy", begin: func(r *Request, s State) State {
		r.Upstream = up
		return s
	}}
	s := startServer(t, &Config{Layers: []Layer{fwd}})
	addr := s.Addrs(KindDNS)[0]
	corpus, err := testnet.ParseCorpus(`
www.example.test A
www.example.test AAAA
alias.example.test A
txt.example.test TXT
nonexistent.example.test A
www.example.test MX
example.test SOA
example.test NS
www.example.test A +do
www.example.test A +tcp
big.example.test A +tcp
`)
	if err != nil {
		t.Fatal(err)
	}
	if diffs := testnet.Compare(knot.Addr(), addr, corpus, testnet.CompareOptions{IgnoreFlags: []string{"aa", "ra"}}); len(diffs) > 0 {
		t.Fatalf("forwarded answers differ from knotd's:\n%s", testnet.Report(diffs))
	}
	m := exchange(t, "udp", addr, query("big.example.test", dns.TypeA))
	if !m.Truncated || len(m.Answer) != 0 {
		t.Fatalf("big answer over UDP without EDNS: TC=%v, %d records", m.Truncated, len(m.Answer))
	}
	m = exchange(t, "tcp", addr, query("big.example.test", dns.TypeA))
	if m.Truncated || len(m.Answer) != 60 {
		t.Fatalf("big answer over TCP: TC=%v, %d records", m.Truncated, len(m.Answer))
	}
	if m.Authoritative {
		t.Error("AA passed through forwarding")
	}
	// an upstream outside the outgoing allow list: refused by dnsclient at construction
	if _, err := dnsclient.NewDgram("192.0.2.53", dnsclient.DgramOptions{}); err == nil {
		t.Error("an upstream outside LJDNS_OUTGOING_ALLOW accepted")
	}
	_ = netip.AddrPort{}
}

// TestOutgoingAllowConfig: net.outgoing_allow narrows LJDNS_OUTGOING_ALLOW
// for every dnsclient transport of the process; it never widens it.
func TestOutgoingAllowConfig(t *testing.T) {
	testnet.Isolate(t) // LJDNS_OUTGOING_ALLOW=127.0.0.0/8,::1/128 here
	startServer(t, &Config{OutgoingAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("192.0.2.0/24")}})
	for a, want := range map[string]bool{"127.0.0.1": true, "127.0.0.2": false, "192.0.2.1": false, "::1": false} {
		if got := dnsclient.Allowed(netip.MustParseAddr(a)); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", a, got, want)
		}
	}
	if _, err := dnsclient.NewDgram("127.0.0.2", dnsclient.DgramOptions{}); err == nil {
		t.Error("a transport to 127.0.0.2 was made outside net.outgoing_allow")
	}
}

// TestCNAMEChainLimit: a forwarded answer whose CNAME chain (DNAME
// synthesis included) is longer than Limits.CNAMEChain fails with SERVFAIL
// and an extended error and is not consumed (nothing caches it); a chain
// at the limit is answered; a chain assembled by a cache layer is held to
// the same limit.
func TestCNAMEChainLimit(t *testing.T) {
	testnet.Isolate(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// chainN.example: N CNAME links c1.example -> c2 -> ... -> cN, then an A;
	// dname.example: a DNAME link and its synthesized CNAME, then 13 CNAMEs
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil || len(q.Question) != 1 {
				continue
			}
			a := new(dns.Msg)
			a.SetReply(q)
			qn := q.Question[0].Name
			var links int
			name := qn
			if strings.HasPrefix(qn, "x.dname.") {
				d, _ := dns.NewRR("dname.example. 60 IN DNAME target.example.")
				c, _ := dns.NewRR("x.dname.example. 60 IN CNAME x.target.example.")
				a.Answer = append(a.Answer, d, c)
				name = "x.target.example."
				links = 13
			} else {
				fmt.Sscanf(qn, "chain%d.", &links)
			}
			for i := 1; i <= links; i++ {
				next := fmt.Sprintf("c%d.%s", i, qn)
				rr, _ := dns.NewRR(fmt.Sprintf("%s 60 IN CNAME %s", name, next))
				a.Answer = append(a.Answer, rr)
				name = next
			}
			rr, _ := dns.NewRR(name + " 60 IN A 192.0.2.1")
			a.Answer = append(a.Answer, rr)
			out, _ := a.Pack()
			pc.WriteTo(out, from)
		}
	}()
	up, err := dnsclient.NewDgramStream(pc.LocalAddr().String(), dnsclient.DgramStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	var consumed int
	var mu sync.Mutex
	fwd := layerFunc{name: "policy", begin: func(r *Request, s State) State {
		r.Upstream = up
		return s
	}, consume: func(r *Request, s State, a *dnsmsg.Packet) State {
		mu.Lock()
		consumed++
		mu.Unlock()
		return s
	}}
	s := startServer(t, &Config{Layers: []Layer{fwd}})
	addr := s.Addrs(KindDNS)[0]
	for _, c := range []struct {
		name  string
		limit int
		rcode int
	}{
		{"chain13.example", 0, dns.RcodeSuccess}, // the default limit, 13 (kresd)
		{"chain14.example", 0, dns.RcodeServerFailure},
		{"x.dname.example", 0, dns.RcodeServerFailure}, // 1 synthesized + 13
		{"chain3.example", 3, dns.RcodeSuccess},
		{"chain4.example", 3, dns.RcodeServerFailure},
	} {
		if c.limit > 0 {
			cfg := *s.Config()
			cfg.Limits.CNAMEChain = c.limit
			if err := s.Reload(&cfg); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		before := consumed
		mu.Unlock()
		q := query(c.name, dns.TypeA)
		q.SetEdns0(1232, false)
		m := exchange(t, "udp", addr, q)
		mu.Lock()
		after := consumed
		mu.Unlock()
		if m.Rcode != c.rcode {
			t.Errorf("%s (limit %d): %s, want %s", c.name, c.limit, dns.RcodeToString[m.Rcode], dns.RcodeToString[c.rcode])
		}
		if c.rcode == dns.RcodeServerFailure {
			if code, _, ok := edeOf(m); !ok || int(code) != EDEOther || after != before {
				t.Errorf("%s: EDE %d %v, consumed %d times", c.name, code, ok, after-before)
			}
		}
	}
	// a cache layer's answer with a chain over the limit fails too
	cached := layerFunc{name: "cache", begin: func(r *Request, s State) State {
		name := r.QName()
		for i := 0; i < 5; i++ {
			next := append([]byte{2, 'c', byte('0' + i)}, name...)
			r.Answer.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: name}, Type: dnsmsg.TypeCNAME, Class: 1, TTL: 60,
				RData: [][]byte{next}}, true)
			name = next
		}
		r.Cached = true
		return Done
	}}
	cfg := *s.Config()
	cfg.Layers = []Layer{cached}
	if err := s.Reload(&cfg); err != nil {
		t.Fatal(err)
	}
	if m := exchange(t, "udp", addr, query("cached.example", dns.TypeA)); m.Rcode != dns.RcodeServerFailure {
		t.Errorf("cached chain of 5 over limit 3: %s", dns.RcodeToString[m.Rcode])
	}
}

// vouching is a forwarding transport that says it validated its answers
// (as dnsclient.Validating does): the daemon keeps their AD bit.
type vouching struct{ dnsclient.Transport }

func (vouching) ValidatesAnswers() bool { return true }

// TestForwardValidatedAD: a forwarded answer's AD bit is cleared unless
// the transport is a ValidatingTransport, and then kept only for a client
// that set DO or AD and not CD (RFC 6840 §5.8); an answer without AD stays
// without it.
func TestForwardValidatedAD(t *testing.T) {
	testnet.Isolate(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// the upstream: AD on every answer but those for insecure.example
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil || len(q.Question) != 1 {
				continue
			}
			a := new(dns.Msg)
			a.SetReply(q)
			a.AuthenticatedData = q.Question[0].Name != "insecure.example."
			rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN A 192.0.2.1")
			a.Answer = append(a.Answer, rr)
			out, _ := a.Pack()
			pc.WriteTo(out, from)
		}
	}()
	up, err := dnsclient.NewDgramStream(pc.LocalAddr().String(), dnsclient.DgramStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	var validating atomic.Bool // the layer runs on the server's goroutine
	fwd := layerFunc{name: "policy", begin: func(r *Request, s State) State {
		r.Upstream = up
		if validating.Load() {
			r.Upstream = vouching{up}
		}
		return s
	}}
	s := startServer(t, &Config{Layers: []Layer{fwd}})
	addr := s.Addrs(KindDNS)[0]
	for _, c := range []struct {
		validating bool
		name       string
		do, ad, cd bool
		want       bool
	}{
		{false, "secure.example", true, false, false, false},
		{true, "secure.example", true, false, false, true},
		{true, "secure.example", false, true, false, true},
		{true, "secure.example", false, false, false, false},
		{true, "secure.example", true, false, true, false},
		{true, "insecure.example", true, false, false, false},
	} {
		validating.Store(c.validating)
		q := query(c.name, dns.TypeA)
		q.SetEdns0(1232, c.do)
		q.AuthenticatedData, q.CheckingDisabled = c.ad, c.cd
		m := exchange(t, "udp", addr, q)
		if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 || m.AuthenticatedData != c.want {
			t.Errorf("%+v: rcode %s, %d records, AD %v", c, dns.RcodeToString[m.Rcode], len(m.Answer), m.AuthenticatedData)
		}
	}
}

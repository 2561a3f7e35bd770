package testnet

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/clock"
)

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func reply(t *testing.T, answer ...string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion("www.example.test.", dns.TypeA)
	m.Response, m.Authoritative = true, true
	for _, s := range answer {
		m.Answer = append(m.Answer, mustRR(t, s))
	}
	return m
}

func TestParseCorpus(t *testing.T) {
	qs, err := ParseCorpus("# c\nwww.example.test A +do +tcp\n\nexample.test TYPE65 +cd +nord\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].String() != "www.example.test. A +do +tcp" || qs[1].String() != "example.test. HTTPS +cd +nord" {
		t.Fatalf("%v", qs)
	}
	for _, bad := range []string{"www.example.test", "x A +bogus", "x NOSUCHTYPE"} {
		if _, err := ParseCorpus(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	b, err := os.ReadFile("testdata/corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCorpus(string(b)); err != nil {
		t.Fatal(err)
	}
}

func TestCompareMsgsOrderAndCase(t *testing.T) {
	q := Query{Name: "www.example.test.", Type: dns.TypeA}
	a := reply(t, "www.example.test. 60 IN A 192.0.2.1", "www.example.test. 60 IN A 192.0.2.2",
		"alias.example.test. 60 IN CNAME www.example.test.")
	b := reply(t, "ALIAS.example.test. 60 IN CNAME WWW.example.TEST.", "www.example.test. 60 IN A 192.0.2.2",
		"WWW.example.test. 60 IN A 192.0.2.1")
	if d := CompareMsgs(q, a, b, CompareOptions{}); len(d) != 0 {
		t.Fatal(Report(d))
	}
}

func TestCompareMsgsPlanted(t *testing.T) {
	q := Query{Name: "www.example.test.", Type: dns.TypeA}
	base := func() *dns.Msg {
		return reply(t, "www.example.test. 60 IN A 192.0.2.1", "www.example.test. 60 IN A 192.0.2.2")
	}
	cases := []struct {
		name, what, mention string
		change              func(m *dns.Msg)
		opt                 CompareOptions
	}{
		{"rcode", "rcode", "NXDOMAIN", func(m *dns.Msg) { m.Rcode = dns.RcodeNameError }, CompareOptions{}},
		{"flag", "flags", "ad", func(m *dns.Msg) { m.AuthenticatedData = true }, CompareOptions{}},
		{"edns", "edns", "do", func(m *dns.Msg) { m.SetEdns0(1232, true) }, CompareOptions{}},
		{"record", "answer", "192.0.2.3", func(m *dns.Msg) { m.Answer[1].(*dns.A).A = net.ParseIP("192.0.2.3") }, CompareOptions{}},
		{"missing", "answer", "192.0.2.2", func(m *dns.Msg) { m.Answer = m.Answer[:1] }, CompareOptions{}},
		{"extra set", "authority", "(none)", func(m *dns.Msg) {
			m.Ns = append(m.Ns, mustRR(t, "example.test. 60 IN NS ns1.example.test."))
		}, CompareOptions{}},
		{"ttl", "answer TTL", "50", func(m *dns.Msg) { m.Answer[0].Header().Ttl = 50 }, CompareOptions{TTLTolerance: 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := base()
			c.change(b)
			d := CompareMsgs(q, base(), b, c.opt)
			if len(d) != 1 || d[0].What != c.what || !strings.Contains(d[0].String(), c.mention) {
				t.Fatalf("want one %s difference naming %s, got %s", c.what, c.mention, Report(d))
			}
		})
	}
	// Within the tolerance, and with an ignored flag: equal.
	b := base()
	b.Answer[0].Header().Ttl, b.Answer[1].Header().Ttl = 57, 57
	b.RecursionAvailable = true
	if d := CompareMsgs(q, base(), b, CompareOptions{TTLTolerance: 5, IgnoreFlags: []string{"ra"}}); len(d) != 0 {
		t.Fatal(Report(d))
	}
}

func TestCompareRRSIGByValidity(t *testing.T) {
	q := Query{Name: "www.example.test.", Type: dns.TypeA, DO: true}
	// Inception 2026-12-01, expiration 2026-12-31.
	sig := func(sigText string) string {
		return "www.example.test. 60 IN RRSIG A 13 3 60 20261231000000 20261201000000 12345 example.test. " + sigText
	}
	a := reply(t, "www.example.test. 60 IN A 192.0.2.1", sig("AAAA"))
	b := reply(t, "www.example.test. 60 IN A 192.0.2.1", sig("BBBB"))
	during := CompareOptions{Clock: clock.NewFake(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC))}
	if d := CompareMsgs(q, a, b, during); len(d) != 0 {
		t.Fatalf("two valid signatures with other bytes differ: %s", Report(d))
	}
	bytes := during
	bytes.RRSIGBytes = true
	if d := CompareMsgs(q, a, b, bytes); len(d) != 1 {
		t.Fatalf("RRSIGBytes: %s", Report(d))
	}
	// One signature expired against one valid: a difference.
	c := reply(t, "www.example.test. 60 IN A 192.0.2.1",
		"www.example.test. 60 IN RRSIG A 13 3 60 20261202000000 20261101000000 12345 example.test. AAAA")
	d := CompareMsgs(q, a, c, during)
	if len(d) != 1 || !strings.Contains(d[0].String(), "RRSIG") {
		t.Fatalf("expired against valid: %s", Report(d))
	}
	// Another key tag: a difference.
	e := reply(t, "www.example.test. 60 IN A 192.0.2.1",
		"www.example.test. 60 IN RRSIG A 13 3 60 20261231000000 20261201000000 54321 example.test. AAAA")
	if d := CompareMsgs(q, a, e, during); len(d) != 1 {
		t.Fatalf("key tag: %s", Report(d))
	}
	if got := validityState(c.Answer[1].(*dns.RRSIG), during.Clock.Now()); got != "expired" {
		t.Fatal(got)
	}
	if got := validityState(a.Answer[1].(*dns.RRSIG), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)); got != "not yet valid" {
		t.Fatal(got)
	}
}

func loadCorpus(t *testing.T) []Query {
	t.Helper()
	b, err := os.ReadFile("testdata/corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	qs, err := ParseCorpus(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

// TestCompareKnotKnot: two knotd serving the same zone answer the corpus
// alike; a third with one planted change is reported, naming the record.
func TestCompareKnotKnot(t *testing.T) {
	Isolate(t)
	corpus := loadCorpus(t)
	a := StartKnot(t, KnotConfig{Zones: []Zone{exampleZone}})
	b := StartKnot(t, KnotConfig{Zones: []Zone{exampleZone}})
	if d := Compare(a.Addr(), b.Addr(), corpus, CompareOptions{}); len(d) != 0 {
		t.Fatalf("knotd against knotd: %s", Report(d))
	}
	text, err := os.ReadFile(exampleZone.File)
	if err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(t.TempDir(), "example.test.zone")
	writeFile(t, planted, strings.Replace(string(text), "192.0.2.2", "192.0.2.99", 1))
	c := StartKnot(t, KnotConfig{Zones: []Zone{{"example.test.", planted}}})
	d := Compare(a.Addr(), c.Addr(), corpus, CompareOptions{})
	t.Log(Report(d))
	if len(d) == 0 {
		t.Fatal("the planted difference was not reported")
	}
	for _, x := range d {
		if x.What != "answer" || !strings.Contains(x.B, "192.0.2.99") || !strings.Contains(x.A, "192.0.2.2") {
			t.Errorf("unexpected difference: %s", x)
		}
	}
}

// TestComparePDNSPDNS: two pdns_server+lua2 running the same script answer
// the corpus alike; a stopped one is reported (every query an error).
func TestComparePDNSPDNS(t *testing.T) {
	Isolate(t)
	corpus := loadCorpus(t)
	a := StartPDNS(t, PDNSConfig{LuaScript: "testdata/example.lua"})
	b := StartPDNS(t, PDNSConfig{LuaScript: "testdata/example.lua", Settings: map[string]string{"cache-ttl": "0", "query-cache-ttl": "0"}})
	if d := Compare(a.Addr(), b.Addr(), corpus, CompareOptions{}); len(d) != 0 {
		t.Fatalf("pdns against pdns: %s", Report(d))
	}
	script, err := os.ReadFile("testdata/example.lua")
	if err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(t.TempDir(), "planted.lua")
	writeFile(t, planted, strings.Replace(string(script), `"10 mail.example.test."`, `"20 mail.example.test."`, 1))
	c := StartPDNS(t, PDNSConfig{LuaScript: planted})
	d := Compare(a.Addr(), c.Addr(), corpus, CompareOptions{})
	t.Log(Report(d))
	if len(d) == 0 || !strings.Contains(Report(d), "MX\t20 mail") {
		t.Fatalf("the planted MX was not reported: %s", Report(d))
	}
	c.Stop()
	one := []Query{{Name: "example.test.", Type: dns.TypeSOA}}
	if d := Compare(a.Addr(), c.Addr(), one, CompareOptions{Timeout: 200 * time.Millisecond}); len(d) != 1 || d[0].What != "error" {
		t.Fatalf("stopped server: %s", Report(d))
	}
}

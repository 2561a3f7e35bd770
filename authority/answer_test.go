package authority

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func testEngine(t testing.TB, opt Options) *Engine {
	t.Helper()
	e := New(opt)
	for _, z := range [][2]string{{"example.test.", "testdata/example.test.zone"}, {"other.test.", "testdata/other.test.zone"}} {
		if err := e.Load(z[0], z[1]); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// ask sends one query through Answer and parses the reply.
func ask(t testing.TB, e *Engine, name string, qt uint16, do, tcp bool) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, qt)
	if do {
		q.SetEdns0(1232, true)
	}
	wire, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out := e.Answer(wire, tcp)
	if out == nil {
		t.Fatalf("%s %s: dropped", name, dns.TypeToString[qt])
	}
	m := new(dns.Msg)
	if err := m.Unpack(out); err != nil {
		t.Fatalf("%s %s: unpack: %v", name, dns.TypeToString[qt], err)
	}
	if m.Id != q.Id || !m.Response {
		t.Fatalf("%s: id %d qr %v", name, m.Id, m.Response)
	}
	return m
}

func rrs(sec []dns.RR) string {
	var b []string
	for _, rr := range sec {
		b = append(b, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	return strings.Join(b, "\n")
}

func TestAnswers(t *testing.T) {
	e := testEngine(t, Options{})
	for _, c := range []struct {
		name     string
		qt       uint16
		rcode    int
		aa       bool
		an, ns   int
		contains string // in the answer or authority text
	}{
		{"www.example.test.", dns.TypeA, 0, true, 1, 0, "192.0.2.80"},
		{"WWW.EXAMPLE.TEST.", dns.TypeAAAA, 0, true, 1, 0, "2001:db8::80"},
		{"www.example.test.", dns.TypeMX, 0, true, 0, 1, "SOA"},                                 // NODATA
		{"nx.example.test.", dns.TypeA, dns.RcodeNameError, true, 0, 1, "300 IN SOA"},           // min(3600, 300)
		{"nx.other.test.", dns.TypeA, dns.RcodeNameError, true, 0, 1, "other.test. 600 IN SOA"}, // min(600, 86400)
		{"chain1.example.test.", dns.TypeA, 0, true, 4, 0, "192.0.2.80"},
		{"loop1.example.test.", dns.TypeA, 0, true, 2, 0, "loop2"},
		{"dangling.example.test.", dns.TypeA, dns.RcodeNameError, true, 1, 1, "SOA"},
		{"outside.example.test.", dns.TypeA, 0, true, 1, 0, "www.other.test."}, // knotd stops at the zone's edge
		{"x.wild.example.test.", dns.TypeA, 0, true, 1, 0, "x.wild.example.test. 3600 IN A 192.0.2.99"},
		{"a.b.wild.example.test.", dns.TypeTXT, 0, true, 1, 0, "wild"},
		{"wild.example.test.", dns.TypeA, 0, true, 0, 1, "SOA"}, // empty non-terminal
		{"b.c.ent.example.test.", dns.TypeA, 0, true, 0, 1, "SOA"},
		{"zz.b.c.ent.example.test.", dns.TypeA, dns.RcodeNameError, true, 0, 1, "SOA"}, // *.ent blocked by the ENT
		{"x.ent.example.test.", dns.TypeA, 0, true, 1, 0, "192.0.2.8"},
		{"q.wcname.example.test.", dns.TypeA, 0, true, 2, 0, "q.wcname.example.test. 3600 IN CNAME www.example.test."},
		{"x.dn.example.test.", dns.TypeA, 0, true, 3, 0, "x.dn.example.test. 3600 IN CNAME x.target.example.test."},
		{"y.x.dn.example.test.", dns.TypeA, dns.RcodeNameError, true, 2, 1, "DNAME"},
		{"www.sub.example.test.", dns.TypeA, 0, false, 0, 2, "sub.example.test. 3600 IN NS"},
		{"sub.example.test.", dns.TypeDS, 0, true, 0, 1, "SOA"},
		{"example.org.", dns.TypeA, dns.RcodeRefused, false, 0, 0, ""},
		{"example.test.", dns.TypeANY, 0, true, 1, 0, "192.0.2.1"}, // one set, as knotd
		{"_sip._udp.example.test.", dns.TypeSRV, 0, true, 1, 0, "5060"},
	} {
		m := ask(t, e, c.name, c.qt, false, false)
		text := rrs(m.Answer) + "\n" + rrs(m.Ns)
		if m.Rcode != c.rcode || m.Authoritative != c.aa || len(m.Answer) != c.an || len(m.Ns) != c.ns ||
			!strings.Contains(text, c.contains) {
			t.Errorf("%s %s: rcode %d aa %v an %d ns %d, want %d %v %d %d with %q\n%s", c.name, dns.TypeToString[c.qt],
				m.Rcode, m.Authoritative, len(m.Answer), len(m.Ns), c.rcode, c.aa, c.an, c.ns, c.contains, m)
		}
	}
}

func TestAdditional(t *testing.T) {
	e := testEngine(t, Options{})
	m := ask(t, e, "example.test.", dns.TypeMX, false, false)
	if !strings.Contains(rrs(m.Extra), "mail.example.test. 3600 IN A 192.0.2.25") {
		t.Errorf("MX without the address of its exchange:\n%s", m)
	}
	m = ask(t, e, "www.sub.example.test.", dns.TypeA, false, false)
	if !strings.Contains(rrs(m.Extra), "ns.sub.example.test. 3600 IN A 192.0.2.54") || m.Truncated {
		t.Errorf("referral without its glue:\n%s", m)
	}
}

// TestReferralGlueTC checks RFC 9471: in-domain glue that does not fit
// sets TC; the referral still has its NS set.
func TestReferralGlueTC(t *testing.T) {
	e := testEngine(t, Options{})
	m := ask(t, e, "www.big.example.test.", dns.TypeA, false, false)
	if !m.Truncated || len(m.Ns) != 4 || m.Authoritative {
		t.Errorf("want TC, 4 NS, no AA:\n%s", m)
	}
	m = ask(t, e, "www.big.example.test.", dns.TypeA, false, true)
	if m.Truncated || len(m.Extra) != 36 {
		t.Errorf("over TCP, want every glue record (36), no TC: %d\n%s", len(m.Extra), m)
	}
	m = ask(t, e, "longtxt.example.test.", dns.TypeTXT, false, false)
	if !m.Truncated || len(m.Answer) != 0 {
		t.Errorf("a 600-byte TXT over 512-byte UDP: want TC and an empty answer\n%s", m)
	}
}

func TestOptions(t *testing.T) {
	e := testEngine(t, Options{FullANY: true, CrossZoneCNAME: true})
	if m := ask(t, e, "example.test.", dns.TypeANY, false, true); len(m.Answer) != 6 {
		t.Errorf("FullANY: %d records\n%s", len(m.Answer), m)
	}
	if m := ask(t, e, "outside.example.test.", dns.TypeA, false, false); len(m.Answer) != 2 ||
		!strings.Contains(rrs(m.Answer), "192.0.2.201") {
		t.Errorf("CrossZoneCNAME:\n%s", m)
	}
	if m := ask(t, e, "back.other.test.", dns.TypeA, false, false); len(m.Answer) != 2 {
		t.Errorf("CrossZoneCNAME back:\n%s", m)
	}
}

func TestMalformed(t *testing.T) {
	e := testEngine(t, Options{})
	if e.Answer([]byte{1, 2, 3}, false) != nil {
		t.Error("a short message is answered")
	}
	q := new(dns.Msg)
	q.SetQuestion("www.example.test.", dns.TypeA)
	q.Response = true
	w, _ := q.Pack()
	if e.Answer(w, false) != nil {
		t.Error("a response is answered")
	}
	q.Response = false
	q.Opcode = dns.OpcodeNotify
	w, _ = q.Pack()
	m := new(dns.Msg)
	if err := m.Unpack(e.Answer(w, false)); err != nil || m.Rcode != dns.RcodeNotImplemented {
		t.Errorf("NOTIFY: %v %v", err, m)
	}
	q.Opcode = dns.OpcodeQuery
	q.SetEdns0(1232, false)
	q.IsEdns0().SetVersion(1)
	w, _ = q.Pack()
	if err := m.Unpack(e.Answer(w, false)); err != nil || m.Rcode != dns.RcodeBadVers {
		t.Errorf("EDNS version 1: %v %v", err, m)
	}
	w, _ = q.Pack()
	if out := e.Answer(w[:len(w)-3], false); out == nil || out[3]&0xf != dns.RcodeFormatError {
		t.Errorf("truncated question: %v", out)
	}
}

func TestAXFR(t *testing.T) {
	e := testEngine(t, Options{})
	q := new(dns.Msg)
	q.SetAxfr("example.test.")
	w, _ := q.Pack()
	msgs, err := e.Transfer(w)
	if err != nil {
		t.Fatal(err)
	}
	var all []dns.RR
	for _, b := range msgs {
		m := new(dns.Msg)
		if err := m.Unpack(b); err != nil {
			t.Fatal(err)
		}
		all = append(all, m.Answer...)
	}
	if len(all) < 60 || all[0].Header().Rrtype != dns.TypeSOA || all[len(all)-1].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("AXFR: %d records, first %v last %v", len(all), all[0], all[len(all)-1])
	}
	q.SetAxfr("example.org.")
	w, _ = q.Pack()
	msgs, err = e.Transfer(w)
	if err != nil || len(msgs) != 1 || msgs[0][3]&0xf != dns.RcodeNotAuth {
		t.Errorf("AXFR of a zone not served: %v %v", msgs, err)
	}
}

// TestAXFRStream checks a zone larger than one message goes out in
// several, each under 64 KiB.
func TestAXFRStream(t *testing.T) {
	var b strings.Builder
	b.WriteString("@ SOA ns hm 1 2 3 4 5\n@ NS ns\n")
	for i := 0; i < 3000; i++ {
		b.WriteString("h" + strings.Repeat("x", 40) + string(rune('a'+i%26)) + itoa(i) + " A 192.0.2.1\n")
	}
	z, err := ParseZone("big.test.", strings.NewReader(b.String()), "big")
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{})
	e.Add(z)
	q := new(dns.Msg)
	q.SetAxfr("big.test.")
	w, _ := q.Pack()
	msgs, err := e.Transfer(w)
	if err != nil || len(msgs) < 2 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	n := 0
	for _, m := range msgs {
		var d dns.Msg
		if err := d.Unpack(m); err != nil {
			t.Fatal(err)
		}
		n += len(d.Answer)
	}
	if n != 3003 {
		t.Errorf("%d records, want 3003", n)
	}
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return fmtInt(i/10) + string(rune('0'+i%10))
}

func TestZoneErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"@ SOA ns hm 1 2 3 4 5\nwww A 1.2.3\n", "bad:2"},
		{"www A 192.0.2.1\n", "no SOA"},
		{"@ SOA ns hm 1 2 3 4 5\nwww CNAME a\nwww A 192.0.2.1\n", "CNAME and other data"},
		{"@ SOA ns hm 1 2 3 4 5\nwww.example.org. A 192.0.2.1\n", "bad:2: owner www.example.org. is outside"},
	} {
		_, err := ParseZone("example.test.", strings.NewReader(c.text), "bad")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
}

// TestReload checks a changed file is picked up, and a broken one keeps
// the last good version with the error at file:line.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "r.test.zone")
	write := func(s string) {
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("@ 60 SOA ns hm 1 2 3 4 5\n@ NS ns\nwww A 192.0.2.1\n")
	e := New(Options{})
	if err := e.Load("r.test.", f); err != nil {
		t.Fatal(err)
	}
	if errs := e.Reload(false); len(errs) != 0 {
		t.Fatal(errs)
	}
	write("@ 60 SOA ns hm 2 2 3 4 5\n@ NS ns\nwww A 192.0.2.2\nbad A 999.1.1.1\n")
	errs := e.Reload(false)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), f+":4") {
		t.Fatalf("broken file: %v, want %s:4", errs, f)
	}
	if m := ask(t, e, "www.r.test.", dns.TypeA, false, false); !strings.Contains(rrs(m.Answer), "192.0.2.1") {
		t.Errorf("last good version not kept:\n%s", m)
	}
	if errs := e.Reload(false); len(errs) != 0 {
		t.Errorf("an unchanged broken file reported again: %v", errs)
	}
	write("@ 60 SOA ns hm 3 2 3 4 5\n@ NS ns\nwww A 192.0.2.3\n")
	if errs := e.Reload(true); len(errs) != 0 {
		t.Fatal(errs)
	}
	if m := ask(t, e, "www.r.test.", dns.TypeA, false, false); !strings.Contains(rrs(m.Answer), "192.0.2.3") {
		t.Errorf("new version not served:\n%s", m)
	}
	if s := e.Zone([]byte("\x01r\x04test\x00")).Serial(); s != 3 {
		t.Errorf("serial %d", s)
	}
}

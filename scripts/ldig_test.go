package scripts

// ldig_test.go: the command-line features of issue 11 item 14 — every
// type by name and as TYPEnnn, several queries on one command line,
// +short, the display flags, +multiline, -4/-6, +json, failed zone
// transfers and TSIG errors — each against knotd or a Go server on
// loopback.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// typesZone is the zone file of modern and DNSSEC record types.
func typesZone() string { return filepath.Join(repoRoot, "scripts", "testdata", "types.example.zone") }

// startTypesKnot serves types.example (and example.com) from knotd,
// transfers allowed with testKey only; returns the port as text.
func startTypesKnot(t *testing.T) string {
	t.Helper()
	needBins(t, "knotd", "kdig")
	dir := t.TempDir()
	for _, z := range []string{typesZone(), filepath.Join(zonesDir(), "example.com.zone")} {
		if err := copyFile(z, filepath.Join(dir, filepath.Base(z))); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	startKnot(t, knotConfig{port: port, zonesDir: dir, primaries: []string{"types.example", "example.com"}, key: testKey})
	return strconv.Itoa(port)
}

// unquote drops the double quotes of SVCB/HTTPS parameter values, which
// ldig writes (alpn="h2,h3") and kdig does not (alpn=h2,h3).
func unquote(s string) string { return strings.ReplaceAll(s, `"`, "") }

// answerRDATA returns the RDATA texts of the ANSWER lines of dig-like
// output, sorted, with runs of blanks made one space.
func answerRDATA(out string) []string {
	var rd []string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, ";; ANSWER"):
			in = true
		case strings.HasPrefix(line, ";"), strings.TrimSpace(line) == "":
			in = false
		case in:
			f := strings.Fields(line)
			// owner TTL [class] TYPE RDATA...
			i := 2
			if f[i] == "IN" {
				i++
			}
			rd = append(rd, strings.Join(f[i+1:], " "))
		}
	}
	sort.Strings(rd)
	return rd
}

// TestLdigEveryType: ldig asks for every type miekg/dns knows by name (in
// any case) and as TYPEnnn, and gets what kdig gets; unknown type words
// are a usage error instead of a query for a name.
func TestLdigEveryType(t *testing.T) {
	p := startTypesKnot(t)
	cases := []struct{ name, typ, number string }{
		{"types.example", "CAA", "257"},
		{"types.example", "HTTPS", "65"},
		{"svc.types.example", "SVCB", "64"},
		{"_443._tcp.www.types.example", "TLSA", "52"},
		{"types.example", "DNSKEY", "48"},
		{"types.example", "URI", "256"},
		{"types.example", "TYPE65534", "65534"},
		{"sub.types.example", "DS", "43"},
	}
	for _, c := range cases {
		kr := run(t, "", "kdig", "@127.0.0.1", "-p", p, c.name, c.typ)
		mustOK(t, kr, "kdig "+c.typ)
		want := answerRDATA(kr.stdout)
		if len(want) == 0 {
			t.Fatalf("kdig %s %s: no answer\n%s", c.name, c.typ, kr.stdout)
		}
		for _, word := range []string{c.typ, strings.ToLower(c.typ), "TYPE" + c.number, "-t" + c.typ} {
			args := []string{"ldig", "@127.0.0.1", "-p", p, c.name, word}
			if strings.HasPrefix(word, "-t") {
				args = []string{"ldig", "@127.0.0.1", "-p", p, "-t", word[2:], c.name}
			}
			r := ljdns(t, args...)
			mustOK(t, r, strings.Join(args, " "))
			qline := fmt.Sprintf(";%s.\t%s\tIN", c.name, c.typ)
			if !strings.Contains(r.stdout, qline) {
				t.Errorf("%v: question %q not asked:\n%s", args, qline, r.stdout)
			}
			got := answerRDATA(r.stdout)
			if unquote(strings.Join(got, "\n")) != unquote(strings.Join(want, "\n")) {
				t.Errorf("%v: answer\n%s\nkdig:\n%s", args, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
	// Words that look like types but name none: one line, status 1.
	for _, args := range [][]string{
		{"types.example", "FOO"}, {"types.example", "TYPE65536"}, {"-t", "FOO", "types.example"},
		{"-t", "TYPE99999", "types.example"}, {"types.example", "CAAA"}, {"types.example", "IXFR=x"},
	} {
		r := ljdns(t, append([]string{"ldig", "@127.0.0.1", "-p", p}, args...)...)
		oneLine(t, r, "ldig: ")
		if r.code != 1 || !strings.Contains(r.stderr, "type") && !strings.Contains(r.stderr, "serial") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	// A capitalised word with a dot, or given with -q, is still a name.
	r := ljdns(t, "ldig", "@127.0.0.1", "-p", p, "+short", "NS1.TYPES.EXAMPLE", "A")
	if r.code != 0 || r.stdout != "192.0.2.53\n" {
		t.Errorf("NS1.TYPES.EXAMPLE A: exit %d %q", r.code, r.stdout)
	}
}

// questionServer answers every query with one TXT record naming the
// question, and records the questions it was asked.
type questionServer struct {
	mu   sync.Mutex
	seen []string
}

func (s *questionServer) questions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func (s *questionServer) reset() {
	s.mu.Lock()
	s.seen = nil
	s.mu.Unlock()
}

// startQuestionServer serves UDP (and TCP) on 127.0.0.1 and, when it is
// up, ::1, on one port; the answer's TXT says the client's family.
func startQuestionServer(t *testing.T) (*questionServer, string, bool) {
	t.Helper()
	qs := &questionServer{}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		q := r.Question[0]
		qs.mu.Lock()
		qs.seen = append(qs.seen, fmt.Sprintf("%s %s %s", q.Name, dns.Type(q.Qtype), dns.Class(q.Qclass)))
		qs.mu.Unlock()
		fam := "v4"
		if a, ok := w.RemoteAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
			fam = "v6"
		}
		m := new(dns.Msg)
		m.SetReply(r)
		rr, _ := dns.NewRR(fmt.Sprintf(`%s 60 IN TXT "%s %s"`, q.Name, dns.TypeToString[q.Qtype], fam))
		m.Answer = append(m.Answer, rr)
		w.WriteMsg(m)
	})
	port := freePort(t)
	p := strconv.Itoa(port)
	serve := func(network, addr string) bool {
		pc, err := net.ListenPacket(network, addr)
		if err != nil {
			return false
		}
		srv := &dns.Server{PacketConn: pc, Handler: handler}
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
		return true
	}
	if !serve("udp4", "127.0.0.1:"+p) {
		t.Fatal("cannot listen on 127.0.0.1")
	}
	return qs, p, serve("udp6", "[::1]:"+p)
}

// TestLdigSeveralQueries: each name on the command line is another query,
// with the type and class words that follow it, as dig does.
func TestLdigSeveralQueries(t *testing.T) {
	qs, p, _ := startQuestionServer(t)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"a.example", "MX", "b.example", "AAAA", "c.example"},
			[]string{"a.example. MX IN", "b.example. AAAA IN", "c.example. NS IN"}},
		{[]string{"CAA", "a.example", "version.bind", "CH", "TXT"},
			[]string{"a.example. CAA IN", "version.bind. TXT CH"}},
		{[]string{"a.example", "CH", "TXT", "b.example"},
			[]string{"a.example. TXT CH", "b.example. NS IN"}},
		{[]string{"-x", "192.0.2.1", "-x", "192.0.2.2", "-q", "MX", "-t", "A"},
			[]string{"1.2.0.192.in-addr.arpa. PTR IN", "2.2.0.192.in-addr.arpa. PTR IN", "MX. A IN"}},
		{[]string{"a.example", "TYPE65534", "b.example", "https"},
			[]string{"a.example. TYPE65534 IN", "b.example. HTTPS IN"}},
	}
	for _, c := range cases {
		qs.reset()
		r := ljdns(t, append([]string{"ldig", "@127.0.0.1", "-p", p}, c.args...)...)
		mustOK(t, r, fmt.Sprint(c.args))
		if got := qs.questions(); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%v: asked\n%s\nwant\n%s", c.args, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
		if n := strings.Count(r.stdout, ";; Query time:"); n != len(c.want) {
			t.Errorf("%v: %d footers for %d queries", c.args, n, len(c.want))
		}
	}
	// A failing query is reported and the others still run; the status
	// is that of the failure.
	qs.reset()
	r := ljdns(t, "ldig", "@127.0.0.1", "-p", p, "+short", "a.example", "TXT", "b.example", "AXFR", "c.example", "TXT")
	if r.code != 9 || r.stdout != "\"TXT v4\"\n\"TXT v4\"\n" || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("a query failing among others: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestLdigFamily: -4 and -6 pick the transport family and refuse a server
// of the other one.
func TestLdigFamily(t *testing.T) {
	_, p, v6 := startQuestionServer(t)
	r := ljdns(t, "ldig", "-4", "@127.0.0.1", "-p", p, "+short", "a.example", "TXT")
	if r.code != 0 || r.stdout != "\"TXT v4\"\n" {
		t.Errorf("-4: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"-6", "@127.0.0.1"}, {"-4", "@::1"}, {"-4", "-6", "@127.0.0.1"}} {
		r := ljdns(t, append(append([]string{"ldig"}, args...), "-p", p, "a.example")...)
		oneLine(t, r, "ldig: ")
		if r.code != 1 {
			t.Errorf("%v: exit %d", args, r.code)
		}
	}
	if !v6 {
		t.Skip("::1 not available: -6 against a server not tested")
	}
	r = ljdns(t, "ldig", "-6", "@::1", "-p", p, "+short", "a.example", "TXT")
	if r.code != 0 || r.stdout != "\"TXT v6\"\n" {
		t.Errorf("-6: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
}

// TestLdigDisplay: +short prints RDATA only; +noall +answer the answer
// records only; +multiline records that still parse as zone text; +json
// is -f json.
func TestLdigDisplay(t *testing.T) {
	p := startTypesKnot(t)
	ask := func(args ...string) result {
		t.Helper()
		r := ljdns(t, append([]string{"ldig", "@127.0.0.1", "-p", p}, args...)...)
		mustOK(t, r, strings.Join(args, " "))
		return r
	}
	// +short: exactly kdig's +short lines (order aside).
	for _, q := range [][]string{{"example.com", "MX"}, {"www.example.com", "A"}, {"types.example", "CAA"},
		{"types.example", "SOA"}, {"ftp.example.com", "A"}} {
		kr := run(t, "", "kdig", append([]string{"@127.0.0.1", "-p", p, "+short"}, q...)...)
		mustOK(t, kr, "kdig +short")
		r := ask(append([]string{"+short"}, q...)...)
		lines := func(s string) []string {
			l := strings.Split(strings.TrimSpace(s), "\n")
			for i := range l {
				l[i] = strings.TrimSpace(l[i]) // kdig ends some with a blank
			}
			sort.Strings(l)
			return l
		}
		got, want := lines(r.stdout), lines(kr.stdout)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("+short %v:\n%s\nkdig:\n%s", q, r.stdout, kr.stdout)
		}
	}
	// +noall +answer: only RR lines, the answer's; sections on demand.
	r := ask("+noall", "+answer", "ftp.example.com", "A")
	if strings.Contains(r.stdout, ";") || len(zoneRecords(t, r.stdout)) != 3 {
		t.Errorf("+noall +answer:\n%s", r.stdout)
	}
	r = ask("+noall", "+authority", "nonexistent.example.com", "A")
	if strings.Contains(r.stdout, ";") || !strings.Contains(r.stdout, "\tSOA\t") || len(zoneRecords(t, r.stdout)) != 1 {
		t.Errorf("+noall +authority:\n%s", r.stdout)
	}
	r = ask("+nocomments", "+nostats", "example.com", "MX")
	if strings.Contains(r.stdout, ";;") || !strings.Contains(r.stdout, ";example.com.\tMX\tIN") ||
		!strings.Contains(r.stdout, "mail.example.com.") {
		t.Errorf("+nocomments +nostats:\n%s", r.stdout)
	}
	r = ask("+noquestion", "example.com", "MX")
	if strings.Contains(r.stdout, ";example.com.\tMX") || !strings.Contains(r.stdout, ";; Query time:") {
		t.Errorf("+noquestion:\n%s", r.stdout)
	}
	// +multiline: SOA timers commented, long keys and signatures split,
	// and every record parses back to what the one-line form says.
	for _, q := range [][]string{{"types.example", "SOA"}, {"types.example", "DNSKEY"}, {"types.example", "RRSIG"},
		{"sub.types.example", "DS"}, {"_443._tcp.www.types.example", "TLSA"}, {"example.com", "MX"}} {
		one := ask(append([]string{"+noall", "+answer"}, q...)...)
		multi := ask(append([]string{"+noall", "+answer", "+multiline"}, q...)...)
		want := zoneRecords(t, one.stdout)
		got := zoneFileText(t, multi.stdout)
		sameRecords(t, "+multiline "+q[1], want, got)
		if q[1] != "MX" && strings.Count(multi.stdout, "\n") <= len(want) {
			t.Errorf("+multiline %v: not split:\n%s", q, multi.stdout)
		}
	}
	r = ask("+noall", "+answer", "+multiline", "types.example", "SOA")
	for _, w := range []string{"2024020201 ; serial", "; refresh (2 hours)", "; retry (1 hour)", "; expire (2 weeks)", "; minimum (10 minutes)"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("+multiline SOA lacks %q:\n%s", w, r.stdout)
		}
	}
	// +json is -f json: one JSON object per message.
	a, b := ask("+json", "example.com", "MX"), ask("-f", "json", "example.com", "MX")
	var ma, mb map[string]any
	if json.Unmarshal([]byte(a.stdout), &ma) != nil || json.Unmarshal([]byte(b.stdout), &mb) != nil {
		t.Fatalf("+json / -f json not JSON:\n%s\n%s", a.stdout, b.stdout)
	}
	if fmt.Sprint(ma["Answer"]) != fmt.Sprint(mb["Answer"]) || len(ma["Answer"].([]any)) != 2 {
		t.Errorf("+json %v, -f json %v", ma["Answer"], mb["Answer"])
	}
}

// zoneFileText parses multi-line zone text (parentheses, comments) with
// miekg/dns into normalised record keys.
func zoneFileText(t *testing.T, text string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "multi.zone")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return zoneFileRecords(t, path)
}

// TestLdigTransferAndTSIGErrors: a refused transfer exits non-zero, and a
// TSIG failure prints the server's reply and names its TSIG error.
func TestLdigTransferAndTSIGErrors(t *testing.T) {
	p := startTypesKnot(t)
	// knotd answers an unsigned AXFR with NOTAUTH.
	r := ljdns(t, "ldig", "@127.0.0.1", "-p", p, "types.example", "AXFR")
	oneLine(t, r, "ldig: ")
	if r.code != 9 || !strings.Contains(r.stdout, "status: NOTAUTH") || !strings.Contains(r.stderr, "NOTAUTH") {
		t.Errorf("unsigned AXFR: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	cases := []struct{ key, want string }{
		{"nokey.:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "BADKEY"},  // unknown key name
		{"xfrkey.:hmac-sha256:d3JvbmdrZXl3cm9uZ2tleQ==", "BADSIG"},         // wrong secret
		{"hmac-sha256:xfrkey.:d3JvbmdrZXl3cm9uZ2tleQ==", "BADSIG"},         // dig's key order
		{"xfrkey.:hmac-sha512:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "BADKEY"}, // wrong algorithm
	}
	for _, c := range cases {
		for _, q := range [][]string{{"types.example", "AXFR"}, {"types.example", "SOA"}} {
			r := ljdns(t, append([]string{"ldig", "@127.0.0.1", "-p", p, "-y", c.key}, q...)...)
			oneLine(t, r, "ldig: ")
			if r.code != 9 || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "NOTAUTH") {
				t.Errorf("%s %v: exit %d, stderr %q", c.key, q, r.code, r.stderr)
			}
			// The reply is printed: header, TSIG pseudosection, its error.
			if !strings.Contains(r.stdout, "status: NOTAUTH") || !strings.Contains(r.stdout, "TSIG PSEUDOSECTION") ||
				!strings.Contains(r.stdout, "; TSIG error: "+c.want) {
				t.Errorf("%s %v: reply not printed:\n%s", c.key, q, r.stdout)
			}
		}
	}
	// The right key still works.
	r = ljdns(t, "ldig", "@127.0.0.1", "-p", p, "-y", testKey, "+noall", "+answer", "types.example", "AXFR")
	mustOK(t, r, "signed AXFR")
	if n := len(strings.Split(strings.TrimSpace(r.stdout), "\n")); n < 15 {
		t.Errorf("signed AXFR: %d lines", n)
	}
}

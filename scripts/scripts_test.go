package scripts

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const testKey = "xfrkey.:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"

// kdigKey is testKey in dig's ALG:NAME:SECRET order.
const kdigKey = "hmac-sha256:xfrkey.:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"

func zonesDir() string { return filepath.Join(repoRoot, "examples", "zones") }

// TestHelp: every tool documents its options with --help, from the binary
// and from its file.
func TestHelp(t *testing.T) {
	want := map[string][]string{
		"ldig": {"Usage:", "Options:", "Examples:", "@SERVER", "-p PORT", "-x ADDR", "-y ",
			"-f FORMAT", "+[no]tcp", "+[no]tls", "+[no]https[=PATH]", "+[no]short", "+[no]cd", "+[no]do",
			"+[no]cookie", "+bufsize", "+[no]recurse", "+[no]nsid", "+timeout", "+tries", "Exit status",
			"-4, -6", "+[no]all", "+[no]answer", "+[no]stats", "+[no]multiline", "+[no]json", "CAA"},
		"zq":       {"Usage:", "Options:", "-h, --help", "-s ", "-1 ", "-f text|json", "-t ", "--progress", "Example filters:", "ttl<=3600"},
		"namepile": {"Usage:", "Options:", "-y ", "@HOST[#PORT]", "-q, --quiet"},
	}
	for tool, words := range want {
		for _, args := range [][]string{{tool, "--help"}, {"scripts/" + tool + ".lua", "--help"}, {tool, "-h"}} {
			r := ljdns(t, args...)
			mustOK(t, r, strings.Join(args, " "))
			for _, w := range words {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("%v: help lacks %q", args, w)
				}
			}
		}
	}
	for _, ex := range []string{"server.lua", "forwarder.lua", "dnsperf.lua"} {
		r := ljdns(t, "examples/"+ex, "--help")
		mustOK(t, r, ex+" --help")
		if !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%s --help: no usage", ex)
		}
	}
}

// TestBadInput: user mistakes give one line on stderr and a non-zero exit.
func TestBadInput(t *testing.T) {
	cases := []struct {
		args   []string
		prefix string
		code   int
	}{
		{[]string{"ldig", "+bogus", "example.com"}, "ldig: ", 1},
		{[]string{"ldig", "-Z", "example.com"}, "ldig: ", 1},
		{[]string{"ldig", "-p"}, "ldig: ", 1},
		{[]string{"ldig", "-p", "99999", "example.com"}, "ldig: ", 1},
		{[]string{"ldig", "-x", "300.1.2.3"}, "ldig: ", 1},
		{[]string{"ldig", "-x", "1:2:3"}, "ldig: ", 1},
		{[]string{"ldig", "@not..a.name", "example.com"}, "ldig: ", 1},
		{[]string{"ldig", "@", "example.com"}, "ldig: ", 1},
		{[]string{"ldig", "+https=dns-query", "example.com"}, "ldig: ", 1},
		{[]string{"ldig", "+cookie=xyz", "example.com"}, "ldig: ", 1},
		{[]string{"ldig", "+bufsize=70000", "example.com"}, "ldig: ", 1},
		{[]string{"ldig", "-y", "key:nosuchalg:c2VjcmV0", "@127.0.0.1", "example.com"}, "ldig: ", 1},
		{[]string{"ldig", "-f", "xml", "example.com"}, "ldig: ", 1},
		{[]string{"ldig", "@127.0.0.1", "exa..mple.com"}, "ldig: ", 1},
		{[]string{"zq", "-x", "zone"}, "zq: ", 1},
		{[]string{"zq", "/nonexistent/file.zone"}, "zq: ", 1},
		{[]string{"zq", "-f", "yaml", "examples/zones/example.com.zone"}, "zq: ", 1},
		{[]string{"zq", "-s", "-f", "json", "examples/zones/example.com.zone"}, "zq: ", 1},
		{[]string{"zq", "bogus~~filter=1=2", "examples/zones/example.com.zone"}, "zq: ", 1},
		{[]string{"zq", "scripts/testdata"}, "zq: ", 1},
		{[]string{"zq", "scripts/testdata/broken.zone"}, "zq: ", 1},
		{[]string{"zq", "-s", "scripts/testdata/broken.zone"}, "zq: ", 1},
		{[]string{"namepile"}, "namepile: ", 1},
		{[]string{"namepile", "-k", "dir"}, "namepile: ", 1},
		{[]string{"namepile", "/nonexistent/dir", "@127.0.0.1#0"}, "namepile: ", 1},
	}
	for _, c := range cases {
		r := ljdns(t, c.args...)
		oneLine(t, r, c.prefix)
		if r.code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, r.code, c.code, r.stderr)
		}
	}
}

// TestLdigNoServer: nobody listening → exit 9 with one line.
func TestLdigNoServer(t *testing.T) {
	port := strconv.Itoa(freePort(t))
	for _, extra := range [][]string{{}, {"+tcp"}} {
		args := append([]string{"ldig", "@127.0.0.1", "-p", port, "+timeout=1", "+tries=2", "example.com"}, extra...)
		r := ljdns(t, args...)
		oneLine(t, r, "ldig: ")
		if r.code != 9 {
			t.Errorf("%v: exit %d, want 9", args, r.code)
		}
	}
}

// garbageServer answers every UDP datagram and TCP query with junk.
func garbageServer(t *testing.T, reply func(q []byte) []byte) int {
	t.Helper()
	port := freePort(t)
	pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(); l.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(reply(buf[:n]), addr)
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var hdr [2]byte
				if _, err := c.Read(hdr[:]); err != nil {
					return
				}
				q := make([]byte, int(hdr[0])<<8|int(hdr[1]))
				if _, err := c.Read(q); err != nil {
					return
				}
				r := reply(q)
				c.Write(append([]byte{byte(len(r) >> 8), byte(len(r))}, r...))
			}()
		}
	}()
	return port
}

// TestLdigGarbage: a server answering junk gives one line and exit 9.
func TestLdigGarbage(t *testing.T) {
	replies := map[string]func(q []byte) []byte{
		"short": func(q []byte) []byte { return []byte("junk") },
		"bad-sections": func(q []byte) []byte {
			r := append([]byte{}, q[:2]...)
			// QR set, QDCOUNT 1, ANCOUNT 7, but nothing follows.
			return append(r, 0x81, 0x80, 0, 1, 0, 7, 0, 0, 0, 0, 3, 'f', 'o')
		},
	}
	for name, fn := range replies {
		port := strconv.Itoa(garbageServer(t, fn))
		for _, extra := range []string{"+notcp", "+tcp"} {
			r := ljdns(t, "ldig", "@127.0.0.1", "-p", port, "+timeout=1", "+tries=1", extra, "example.com")
			oneLine(t, r, "ldig: ")
			if r.code != 9 {
				t.Errorf("%s %s: exit %d, want 9: %s", name, extra, r.code, r.stderr)
			}
		}
	}
}

// ldigQuery pairs ldig arguments with the kdig arguments for the same query.
type ldigQuery struct {
	ldig, kdig []string
}

// TestLdigAgainstKnot: ldig's sections match kdig's for the same queries
// to knotd serving the example zones.
func TestLdigAgainstKnot(t *testing.T) {
	needBins(t, "knotd", "kdig")
	port := freePort(t)
	startKnot(t, knotConfig{port: port, zonesDir: zonesDir(),
		primaries: []string{"example.com", "2.0.192.in-addr.arpa"}})
	p := strconv.Itoa(port)
	queries := []ldigQuery{
		{[]string{"example.com", "A"}, []string{"example.com", "A"}},
		{[]string{"www.example.com", "A"}, []string{"www.example.com", "A"}},
		{[]string{"AAAA", "example.com"}, []string{"example.com", "AAAA"}},
		{[]string{"example.com", "MX"}, []string{"example.com", "MX"}},
		{[]string{"example.com", "NS"}, []string{"example.com", "NS"}},
		{[]string{"example.com", "SOA", "IN"}, []string{"example.com", "SOA"}},
		{[]string{"txt.example.com", "TXT"}, []string{"txt.example.com", "TXT"}},
		{[]string{"ftp.example.com", "A"}, []string{"ftp.example.com", "A"}},
		{[]string{"x.wild.example.com", "A"}, []string{"x.wild.example.com", "A"}},
		{[]string{"_sip._udp.example.com", "SRV"}, []string{"_sip._udp.example.com", "SRV"}},
		{[]string{"nonexistent.example.com", "A"}, []string{"nonexistent.example.com", "A"}},
		{[]string{"mail.example.com", "AAAA"}, []string{"mail.example.com", "AAAA"}},
		{[]string{"host.sub.example.com", "A"}, []string{"host.sub.example.com", "A"}},
		{[]string{"+do", "www.example.com", "AAAA"}, []string{"+dnssec", "www.example.com", "AAAA"}},
		{[]string{"+do", "+cd", "+bufsize=1232", "example.com", "MX"}, []string{"+dnssec", "+cdflag", "+bufsize=1232", "example.com", "MX"}},
		{[]string{"+tcp", "example.com", "MX"}, []string{"+tcp", "example.com", "MX"}},
		{[]string{"+tcp", "+norecurse", "www.example.com", "ANY"}, []string{"+tcp", "+norec", "www.example.com", "ANY"}},
		{[]string{"+cookie", "+nsid", "example.com", "NS"}, []string{"+cookie", "+nsid", "example.com", "NS"}},
		{[]string{"-x", "192.0.2.53"}, []string{"-x", "192.0.2.53"}},
		{[]string{"-x", "192.0.2.80", "+tcp"}, []string{"-x", "192.0.2.80", "+tcp"}},
		{[]string{"-x", "2001:db8::1"}, []string{"-x", "2001:db8::1"}},
		{[]string{"-q", "A", "-t", "A"}, []string{"-q", "A", "-t", "A"}},
	}
	for _, q := range queries {
		largs := append([]string{"ldig", "@127.0.0.1", "-p", p}, q.ldig...)
		lr := ljdns(t, largs...)
		mustOK(t, lr, strings.Join(largs, " "))
		kargs := append([]string{"@127.0.0.1", "-p", p}, q.kdig...)
		kr := run(t, "", "kdig", kargs...)
		mustOK(t, kr, "kdig "+strings.Join(kargs, " "))
		ls, lsec := digSections(t, lr.stdout)
		ks, ksec := digSections(t, kr.stdout)
		if ls != ks || ls == "" {
			t.Errorf("%v: status %q, kdig says %q", q.ldig, ls, ks)
		}
		for _, sec := range []string{"ANSWER", "AUTHORITY"} {
			if strings.Join(lsec[sec], "\n") != strings.Join(ksec[sec], "\n") {
				t.Errorf("%v: %s section differs\nldig:\n%s\nkdig:\n%s", q.ldig, sec,
					strings.Join(lsec[sec], "\n"), strings.Join(ksec[sec], "\n"))
			}
		}
		if !strings.Contains(lr.stdout, ";; SERVER: 127.0.0.1#"+p) || !strings.Contains(lr.stdout, ";; Query time:") {
			t.Errorf("%v: footer missing:\n%s", q.ldig, lr.stdout)
		}
	}
	// The NXDOMAIN case really is one, and the -x name is reversed.
	r := ljdns(t, "ldig", "@127.0.0.1", "-p", p, "nonexistent.example.com")
	if !strings.Contains(r.stdout, "status: NXDOMAIN") {
		t.Errorf("no NXDOMAIN:\n%s", r.stdout)
	}
	// +short prints the RDATA only, as dig does.
	r = ljdns(t, "ldig", "@127.0.0.1", "-p", p, "+short", "-x", "192.0.2.53")
	mustOK(t, r, "ldig +short -x")
	if r.stdout != "ns1.example.com.\n" {
		t.Errorf("+short -x output:\n%s", r.stdout)
	}
	// JSON output is valid JSON per message.
	r = ljdns(t, "ldig", "@127.0.0.1", "-p", p, "-f", "json", "txt.example.com", "TXT")
	mustOK(t, r, "ldig -f json")
	var msg struct {
		Status int
		Answer []struct {
			Name string `json:"name"`
			Type int    `json:"type"`
			TTL  int    `json:"TTL"`
			Data string `json:"data"`
		}
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &msg); err != nil {
		t.Fatalf("-f json: %v\n%s", err, r.stdout)
	}
	if msg.Status != 0 || len(msg.Answer) != 1 || msg.Answer[0].Type != 16 ||
		!strings.Contains(msg.Answer[0].Data, `quoted`) {
		t.Errorf("-f json: unexpected %+v", msg)
	}
	// Queries from standard input, each with its own answer.
	sr := run(t, "www.example.com A\nexample.com MX\n; comment\nnonexistent.example.com\n", ljdnsBin,
		"ldig", "@127.0.0.1", "-p", p, "+short", "-")
	mustOK(t, sr, "ldig -")
	if !strings.Contains(sr.stdout, "192.0.2.80") || !strings.Contains(sr.stdout, "mail.example.com.") {
		t.Errorf("ldig -: output\n%s", sr.stdout)
	}
	// A bad line is reported and skipped; the exit status tells.
	sr = run(t, "bad..name A\nwww.example.com A\n", ljdnsBin, "ldig", "@127.0.0.1", "-p", p, "+short", "-")
	if sr.code != 1 || !strings.Contains(sr.stdout, "192.0.2.81") || !strings.Contains(sr.stderr, "bad..name") {
		t.Errorf("ldig - with a bad line: exit %d\n%s\n%s", sr.code, sr.stdout, sr.stderr)
	}
}

// TestLdigTruncation: a UDP answer with TC set is retried over TCP.
func TestLdigTruncation(t *testing.T) {
	port := freePort(t)
	p := strconv.Itoa(port)
	pc, err := net.ListenPacket("udp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatal(err)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			m.Truncated = true
		} else {
			for i := 0; i < 60; i++ {
				rr, _ := dns.NewRR(fmt.Sprintf("%s 60 IN A 10.0.%d.%d", r.Question[0].Name, i/250, i%250+1))
				m.Answer = append(m.Answer, rr)
			}
		}
		w.WriteMsg(m)
	})
	// A dns.Server serves either its PacketConn or its Listener.
	usrv := &dns.Server{PacketConn: pc, Handler: handler}
	tsrv := &dns.Server{Listener: l, Handler: handler}
	go usrv.ActivateAndServe()
	go tsrv.ActivateAndServe()
	t.Cleanup(func() { usrv.Shutdown(); tsrv.Shutdown() })
	r := ljdns(t, "ldig", "@127.0.0.1", "-p", p, "big.example", "A")
	mustOK(t, r, "ldig truncated")
	_, secs := digSections(t, r.stdout)
	if len(secs["ANSWER"]) != 60 || !strings.Contains(r.stdout, "Truncated, retrying in TCP mode") {
		t.Errorf("want 60 answers over TCP, got %d:\n%s", len(secs["ANSWER"]), r.stdout)
	}
	// +ignore keeps the truncated answer.
	r = ljdns(t, "ldig", "@127.0.0.1", "-p", p, "+ignore", "big.example", "A")
	mustOK(t, r, "ldig +ignore")
	if !strings.Contains(r.stdout, "Flags: tc qr") && !strings.Contains(r.stdout, " tc ") {
		t.Errorf("+ignore: want the truncated answer:\n%s", r.stdout)
	}
}

// TestLdigAXFRWithTSIG: a TSIG-signed AXFR from knotd matches kdig's,
// and a wrong key is rejected.
func TestLdigAXFRWithTSIG(t *testing.T) {
	needBins(t, "knotd", "kdig")
	dir := t.TempDir()
	genZone(t, dir, 3000, "big.example.")
	if err := copyFile(filepath.Join(zonesDir(), "example.com.zone"), filepath.Join(dir, "example.com.zone")); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	startKnot(t, knotConfig{port: port, zonesDir: dir, primaries: []string{"example.com", "big.example"}, key: testKey})
	p := strconv.Itoa(port)
	for _, zone := range []string{"example.com", "big.example"} {
		for _, key := range []string{testKey, kdigKey} {
			r := ljdns(t, "ldig", "@127.0.0.1", "-p", p, "-y", key, zone, "AXFR")
			mustOK(t, r, "ldig AXFR "+zone)
			kr := run(t, "", "kdig", "@127.0.0.1", "-p", p, "-y", kdigKey, zone, "AXFR", "+nocomments", "+nostats")
			mustOK(t, kr, "kdig AXFR")
			got := zoneRecords(t, onlyRecords(r.stdout))
			want := zoneRecords(t, kr.stdout)
			sameRecords(t, "AXFR "+zone, want, got)
			if len(got) < 20 {
				t.Errorf("AXFR %s: only %d records", zone, len(got))
			}
			if !regexp.MustCompile(`count: [0-9]+`).MatchString(r.stdout) {
				t.Errorf("AXFR footer missing:\n%s", r.stdout[len(r.stdout)-300:])
			}
		}
	}
	// Every message is printed: ldig counts as many as kdig.
	lr := ljdns(t, "ldig", "@127.0.0.1", "-p", p, "-y", testKey, "big.example", "AXFR")
	kr := run(t, "", "kdig", "@127.0.0.1", "-p", p, "-y", kdigKey, "big.example", "AXFR")
	lm := regexp.MustCompile(`count: ([0-9]+)`).FindStringSubmatch(lr.stdout)
	km := regexp.MustCompile(`\(([0-9]+) messages`).FindStringSubmatch(kr.stdout)
	if lm == nil || km == nil || lm[1] != km[1] || lm[1] == "1" {
		t.Errorf("message counts: ldig %v, kdig %v", lm, km)
	}
	// Zone file content equals the transfer (plus the closing SOA).
	r := ljdns(t, "ldig", "@127.0.0.1", "-p", p, "-y", testKey, "+noall", "+answer", "big.example", "AXFR")
	mustOK(t, r, "ldig +noall +answer AXFR")
	got := zoneRecords(t, r.stdout)
	want := zoneFileRecords(t, filepath.Join(dir, "big.example.zone"))
	if len(got) != len(want)+1 {
		t.Errorf("AXFR big.example: %d records, zone has %d (+1 closing SOA)", len(got), len(want))
	}
	// No key or a wrong key: refused/unverifiable → non-zero exit.
	r = ljdns(t, "ldig", "@127.0.0.1", "-p", p, "-y", "xfrkey.:hmac-sha256:d3JvbmdrZXl3cm9uZ2tleQ==", "example.com", "AXFR")
	oneLine(t, r, "ldig: ")
	r = ljdns(t, "ldig", "@127.0.0.1", "-p", p, "+short", "example.com", "AXFR")
	if r.code == 0 && strings.Contains(r.stdout, "SOA") {
		t.Errorf("AXFR without key succeeded:\n%s", r.stdout)
	}
}

// onlyRecords drops ldig's comment lines, keeping RR lines.
func onlyRecords(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, ";") || strings.TrimSpace(line) == "" {
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// startServer runs examples/server.lua on fresh ports; returns the
// UDP/TCP port and the TLS port.
func startServer(t *testing.T, zone string) (int, int) {
	t.Helper()
	port, tlsPort := freePort(t), freePort(t)
	log := background(t, ljdnsBin, "examples/server.lua", "-q",
		"-l", fmt.Sprintf("127.0.0.1#%d", port), "-T", fmt.Sprintf("127.0.0.1#%d", tlsPort), zone)
	waitTCP(t, port, log)
	waitTCP(t, tlsPort, log)
	return port, tlsPort
}

// TestServerAndTLS: ldig over UDP, TCP and TLS against examples/server.lua
// gives the answers knotd gives for the same zone.
func TestServerAndTLS(t *testing.T) {
	port, tlsPort := startServer(t, filepath.Join(zonesDir(), "example.com.zone"))
	p, tp := strconv.Itoa(port), strconv.Itoa(tlsPort)
	want := map[string]string{
		"www.example.com A":         "www.example.com. 300 IN A 192.0.2.80\nwww.example.com. 300 IN A 192.0.2.81",
		"example.com MX":            "example.com. 3600 IN MX 10 mail.example.com.\nexample.com. 3600 IN MX 20 mail2.example.net.",
		"ftp.example.com A":         "ftp.example.com. 3600 IN CNAME www.example.com.\nwww.example.com. 300 IN A 192.0.2.80\nwww.example.com. 300 IN A 192.0.2.81",
		"x.wild.example.com A":      "x.wild.example.com. 3600 IN A 192.0.2.99",
		"nonexistent.example.com A": "",
	}
	for q, records := range want {
		wantKeys := zoneRecords(t, records)
		for _, transport := range [][]string{{"-p", p}, {"-p", p, "+tcp"}, {"-p", tp, "+tls"}} {
			args := append(append([]string{"ldig", "@127.0.0.1"}, transport...), strings.Fields(q)...)
			r := ljdns(t, args...)
			mustOK(t, r, strings.Join(args, " "))
			_, secs := digSections(t, r.stdout)
			if strings.Join(secs["ANSWER"], "\n") != strings.Join(wantKeys, "\n") {
				t.Errorf("%v: answer\n%s\nwant\n%s", args, strings.Join(secs["ANSWER"], "\n"), strings.Join(wantKeys, "\n"))
			}
		}
	}
	// kdig agrees over TLS, and AXFR over TLS carries the whole zone.
	if _, err := exec.LookPath("kdig"); err == nil {
		kr := run(t, "", "kdig", "@127.0.0.1", "-p", tp, "+tls", "example.com", "AXFR", "+nocomments", "+nostats")
		mustOK(t, kr, "kdig +tls AXFR")
		got := zoneRecords(t, kr.stdout)
		want := zoneFileRecords(t, filepath.Join(zonesDir(), "example.com.zone"))
		if len(got) != len(want)+1 {
			t.Errorf("kdig +tls AXFR: %d records, zone has %d", len(got), len(want))
		}
	}
	r := ljdns(t, "ldig", "@127.0.0.1", "-p", tp, "+tls", "example.com", "AXFR")
	mustOK(t, r, "ldig +tls AXFR")
	sameRecords(t, "ldig +tls AXFR", dedupSOA(zoneFileRecords(t, filepath.Join(zonesDir(), "example.com.zone"))),
		dedupSOA(zoneRecords(t, onlyRecords(r.stdout))))
	// Strict authentication of the self-signed certificate fails cleanly.
	r = ljdns(t, "ldig", "@127.0.0.1", "-p", tp, "+tls-ca", "example.com", "A")
	oneLine(t, r, "ldig: ")
	// An answer too big for UDP is truncated; ldig retries over TCP.
	var zb strings.Builder
	zb.WriteString("$ORIGIN many.test.\n$TTL 60\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\nns IN A 192.0.2.1\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&zb, "txt IN TXT \"record %02d %s\"\n", i, strings.Repeat("x", 50))
	}
	zpath := filepath.Join(t.TempDir(), "many.test.zone")
	if err := os.WriteFile(zpath, []byte(zb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	mport, _ := startServer(t, zpath)
	r = ljdns(t, "ldig", "@127.0.0.1", "-p", strconv.Itoa(mport), "+bufsize=1232", "txt.many.test", "TXT")
	mustOK(t, r, "ldig big answer")
	_, secs := digSections(t, r.stdout)
	if len(secs["ANSWER"]) != 40 || !strings.Contains(r.stdout, "Truncated, retrying in TCP mode") {
		t.Errorf("big answer: %d records:\n%s", len(secs["ANSWER"]), r.stdout)
	}
}

// dedupSOA removes duplicate keys (the closing SOA of a transfer).
func dedupSOA(keys []string) []string {
	var out []string
	for i, k := range keys {
		if i > 0 && keys[i-1] == k {
			continue
		}
		out = append(out, k)
	}
	return out
}

// TestForwarder: queries through examples/forwarder.lua get the answers
// of the server behind it.
func TestForwarder(t *testing.T) {
	port, _ := startServer(t, filepath.Join(zonesDir(), "example.com.zone"))
	fport := freePort(t)
	log := background(t, ljdnsBin, "examples/forwarder.lua", "-q", "-l", fmt.Sprintf("127.0.0.1#%d", fport),
		fmt.Sprintf("127.0.0.1#%d", port))
	waitTCP(t, fport, log)
	for _, extra := range []string{"+notcp", "+tcp"} {
		direct := ljdns(t, "ldig", "@127.0.0.1", "-p", strconv.Itoa(port), extra, "example.com", "MX")
		via := ljdns(t, "ldig", "@127.0.0.1", "-p", strconv.Itoa(fport), extra, "example.com", "MX")
		mustOK(t, direct, "direct")
		mustOK(t, via, "via forwarder")
		_, d := digSections(t, direct.stdout)
		_, v := digSections(t, via.stdout)
		if len(d["ANSWER"]) != 2 || strings.Join(d["ANSWER"], "\n") != strings.Join(v["ANSWER"], "\n") {
			t.Errorf("%s: forwarded answer differs:\n%s\n---\n%s", extra, direct.stdout, via.stdout)
		}
	}
}

// ldnsRecords reads a zone with ldns-read-zone (extra flags allowed).
func ldnsRecords(t *testing.T, path string, flags ...string) string {
	t.Helper()
	r := run(t, "", "ldns-read-zone", append(flags, path)...)
	mustOK(t, r, "ldns-read-zone")
	return r.stdout
}

// ownerTypeSequence lists "owner type" of each record in output order,
// collapsing runs and leaving out SOA (ldns prints it first).
func ownerTypeSequence(t *testing.T, text string) []string {
	t.Helper()
	var seq []string
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, ";") {
			continue
		}
		rr, err := parseRRLine(line)
		if err != nil {
			t.Fatalf("cannot parse %q: %v", line, err)
		}
		if rr.Header().Rrtype == dns.TypeSOA {
			continue
		}
		k := strings.ToLower(rr.Header().Name) + " " + strconv.Itoa(int(rr.Header().Rrtype))
		if len(seq) == 0 || seq[len(seq)-1] != k {
			seq = append(seq, k)
		}
	}
	return seq
}

// TestZqMatchesLdns: zq prints the same records as ldns-read-zone, sorts
// them canonically with -s, and its JSON carries the same records.
func TestZqMatchesLdns(t *testing.T) {
	needBins(t, "ldns-read-zone")
	dir := t.TempDir()
	zones := []string{
		genZone(t, dir, 2000, "example.com."),
		filepath.Join(repoRoot, "scripts", "testdata", "realworld.zone"),
		filepath.Join(zonesDir(), "example.com.zone"),
	}
	origins := []string{"example.com", "example.org", "example.com"}
	_, bindErr := exec.LookPath("named-compilezone")
	for i, zone := range zones {
		want := zoneRecords(t, ldnsRecords(t, zone))
		r := ljdns(t, "zq", zone)
		mustOK(t, r, "zq "+zone)
		sameRecords(t, "zq "+filepath.Base(zone), want, zoneRecords(t, r.stdout))
		if bindErr == nil {
			br := run(t, "", "named-compilezone", "-q", "-i", "none", "-k", "ignore", "-n", "ignore",
				"-s", "full", "-o", "-", origins[i], zone)
			mustOK(t, br, "named-compilezone")
			sameRecords(t, "zq vs named-compilezone "+filepath.Base(zone), zoneRecords(t, br.stdout),
				zoneRecords(t, r.stdout))
		}

		// -s: same records, canonical order as ldns-read-zone -z.
		r = ljdns(t, "zq", "-s", zone)
		mustOK(t, r, "zq -s")
		sameRecords(t, "zq -s "+filepath.Base(zone), want, zoneRecords(t, r.stdout))
		gotSeq := ownerTypeSequence(t, r.stdout)
		wantSeq := ownerTypeSequence(t, ldnsRecords(t, zone, "-z"))
		if strings.Join(gotSeq, "\n") != strings.Join(wantSeq, "\n") {
			for i := range wantSeq {
				if i >= len(gotSeq) || gotSeq[i] != wantSeq[i] {
					t.Fatalf("zq -s %s: order differs at %d: got %v, want %q", filepath.Base(zone), i,
						gotSeq[i:min(i+3, len(gotSeq))], wantSeq[i:min(i+3, len(wantSeq))])
				}
			}
			t.Fatalf("zq -s %s: %d groups, want %d", filepath.Base(zone), len(gotSeq), len(wantSeq))
		}

		// -f json: every record, as objects with name/type/TTL/data.
		r = ljdns(t, "zq", "-f", "json", zone)
		mustOK(t, r, "zq -f json")
		var recs []struct {
			Name string `json:"name"`
			Type int    `json:"type"`
			TTL  int    `json:"TTL"`
			Data string `json:"data"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil {
			t.Fatalf("zq -f json %s: %v\n%.500s", zone, err, r.stdout)
		}
		var lines []string
		for _, rec := range recs {
			data := rec.Data
			lines = append(lines, fmt.Sprintf("%s %d %s %s", rec.Name, rec.TTL, dns.Type(rec.Type).String(), data))
		}
		sameRecords(t, "zq -f json "+filepath.Base(zone), want, zoneRecords(t, strings.Join(lines, "\n")))
	}
}

// TestZqFilters: filters select the records the grammar says, -1 and -t.
func TestZqFilters(t *testing.T) {
	zone := filepath.Join(zonesDir(), "example.com.zone")
	count := func(args ...string) int {
		r := ljdns(t, append(append([]string{"zq"}, args...), zone)...)
		mustOK(t, r, fmt.Sprint(args))
		return len(zoneRecords(t, r.stdout))
	}
	cases := []struct {
		args []string
		want int
	}{
		{nil, 22},
		{[]string{"SOA"}, 1},
		{[]string{"type~=SOA"}, 21},
		{[]string{"www.example.com"}, 3},
		{[]string{"owner=www.example.com", "A"}, 2},
		{[]string{"*.example.com", "type=NS"}, 3},
		{[]string{"A(192.0.2.80)"}, 1},
		{[]string{"ttl<=300"}, 3},
		{[]string{"ttl>300", "type=A"}, 7},
		{[]string{"-1", "type=A"}, 1},
		{[]string{"-1", "*.www.example.com"}, 3},
		{[]string{"nothing.example.com"}, 0},
		{[]string{"--progress", "SOA"}, 1},
		{[]string{"--no-progress", "-1", "www.example.com"}, 3},
	}
	for _, c := range cases {
		if got := count(c.args...); got != c.want {
			t.Errorf("zq %v: %d records, want %d", c.args, got, c.want)
		}
	}
	r := ljdns(t, "zq", "-t", "type=MX", zone)
	mustOK(t, r, "zq -t")
	if !regexp.MustCompile(`^; parsed in [0-9]+\.[0-9]{2} msec \(2 records\)\n$`).MatchString(r.stderr) {
		t.Errorf("zq -t: stderr %q", r.stderr)
	}
	// No arguments: usage, status 0.
	r = ljdns(t, "zq")
	mustOK(t, r, "zq")
	if !strings.Contains(r.stdout, "Usage:") {
		t.Errorf("zq without arguments: %q", r.stdout)
	}
}

// pileDir makes a directory of zones for namepile: the examples and a
// generated zone large enough for several messages.
func pileDir(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	for _, z := range []string{"example.com", "2.0.192.in-addr.arpa"} {
		if err := copyFile(filepath.Join(zonesDir(), z+".zone"), filepath.Join(dir, z+".zone")); err != nil {
			t.Fatal(err)
		}
	}
	genZone(t, dir, 5000, "big.example.")
	// Zone "example.com." lives in "example.com.zone" (name + "zone").
	names := []string{"example.com", "2.0.192.in-addr.arpa", "big.example"}
	return dir, names
}

// TestNamepileKdig: kdig AXFR from namepile returns every record of each
// zone file (plus the closing SOA), also many transfers at once.
func TestNamepileKdig(t *testing.T) {
	needBins(t, "kdig")
	dir, zones := pileDir(t)
	port := freePort(t)
	log := background(t, ljdnsBin, "namepile", dir, fmt.Sprintf("@127.0.0.1#%d", port))
	waitTCP(t, port, log)
	p := strconv.Itoa(port)
	for _, z := range zones {
		want := zoneFileRecords(t, filepath.Join(dir, z+".zone"))
		kr := run(t, "", "kdig", "@127.0.0.1", "-p", p, z, "AXFR", "+nocomments", "+nostats")
		mustOK(t, kr, "kdig AXFR "+z)
		got := zoneRecords(t, kr.stdout)
		sameRecords(t, "namepile AXFR "+z, want, dedupSOA(got))
		if len(got) != len(want)+1 {
			t.Errorf("%s: %d records, want %d + closing SOA", z, len(got), len(want))
		}
	}
	// The big zone needs several messages.
	kr := run(t, "", "kdig", "@127.0.0.1", "-p", p, "big.example", "AXFR")
	if m := regexp.MustCompile(`\(([0-9]+) messages`).FindStringSubmatch(kr.stdout); m == nil || m[1] == "1" {
		t.Errorf("big zone transfer: want several messages:\n%s", kr.stdout[max(0, len(kr.stdout)-300):])
	}
	// Unknown zone: REFUSED; SOA over UDP works; other types SERVFAIL.
	lr := ljdns(t, "ldig", "@127.0.0.1", "-p", p, "nosuch.example", "AXFR")
	oneLine(t, lr, "ldig: ")
	if lr.code != 9 || !strings.Contains(lr.stdout, "status: REFUSED") || !strings.Contains(lr.stderr, "REFUSED") {
		t.Errorf("unknown zone: exit %d\n%s%s", lr.code, lr.stdout, lr.stderr)
	}
	lr = ljdns(t, "ldig", "@127.0.0.1", "-p", p, "+tcp", "example.com", "MX")
	if !strings.Contains(lr.stdout, "status: SERVFAIL") {
		t.Errorf("MX query: %s", lr.stdout)
	}
	// IXFR is answered with the whole zone (AXFR-style).
	lr = ljdns(t, "ldig", "@127.0.0.1", "-p", p, "+noall", "+answer", "example.com", "IXFR=1")
	mustOK(t, lr, "ldig IXFR from namepile")
	sameRecords(t, "IXFR from namepile", zoneFileRecords(t, filepath.Join(dir, "example.com.zone")),
		dedupSOA(zoneRecords(t, lr.stdout)))
	lr = ljdns(t, "ldig", "@127.0.0.1", "-p", p, "+short", "example.com", "SOA")
	mustOK(t, lr, "ldig SOA from namepile")
	if !strings.Contains(lr.stdout, "2024010101") {
		t.Errorf("SOA from namepile: %s", lr.stdout)
	}
	// A zone with a syntax error: the transfer is cut short, namepile
	// logs the error and keeps serving.
	if err := copyFile(filepath.Join(repoRoot, "scripts", "testdata", "broken.zone"), filepath.Join(dir, "broken.example.zone")); err != nil {
		t.Fatal(err)
	}
	lr = ljdns(t, "ldig", "@127.0.0.1", "-p", p, "broken.example", "AXFR")
	oneLine(t, lr, "ldig: ")
	lr = ljdns(t, "ldig", "@127.0.0.1", "-p", p, "+short", "example.com", "AXFR")
	mustOK(t, lr, "AXFR after a broken zone")
	if !strings.Contains(log.String(), "broken.example.zone:5") {
		t.Errorf("namepile did not log the zone error:\n%s", log.String())
	}
	// Concurrent transfers: start several at once, all complete.
	type res struct {
		n   int
		err string
	}
	ch := make(chan res, 8)
	for i := 0; i < 8; i++ {
		go func() {
			c := &dns.Transfer{DialTimeout: safetyTimeout, ReadTimeout: safetyTimeout, WriteTimeout: safetyTimeout}
			m := new(dns.Msg)
			m.SetAxfr("big.example.")
			env, err := c.In(m, "127.0.0.1:"+p)
			if err != nil {
				ch <- res{err: err.Error()}
				return
			}
			n := 0
			for e := range env {
				if e.Error != nil {
					ch <- res{err: e.Error.Error()}
					return
				}
				n += len(e.RR)
			}
			ch <- res{n: n}
		}()
	}
	want := len(zoneFileRecords(t, filepath.Join(dir, "big.example.zone"))) + 1
	for i := 0; i < 8; i++ {
		select {
		case r := <-ch:
			if r.err != "" || r.n != want {
				t.Errorf("concurrent AXFR: %d records (want %d) %s", r.n, want, r.err)
			}
		case <-time.After(safetyTimeout):
			t.Fatal("concurrent transfers did not finish")
		}
	}
}

// TestNamepileSecondary: knotd as a secondary of namepile (with TSIG)
// loads every zone completely.
func TestNamepileSecondary(t *testing.T) {
	needBins(t, "knotd", "kdig")
	dir, zones := pileDir(t)
	port := freePort(t)
	log := background(t, ljdnsBin, "namepile", "-y", testKey, dir, fmt.Sprintf("@127.0.0.1#%d", port))
	waitTCP(t, port, log)
	// Unsigned requests are refused when a key is configured.
	kr := run(t, "", "kdig", "@127.0.0.1", "-p", strconv.Itoa(port), "example.com", "AXFR")
	if strings.Contains(kr.stdout, "hostmaster") {
		t.Errorf("unsigned AXFR accepted:\n%s", kr.stdout)
	}
	kport := freePort(t)
	startKnot(t, knotConfig{port: kport, zonesDir: t.TempDir(), secondaries: zones,
		primaryAddr: fmt.Sprintf("127.0.0.1@%d", port), key: testKey})
	kp := strconv.Itoa(kport)
	for _, z := range zones {
		want := zoneFileRecords(t, filepath.Join(dir, z+".zone"))
		var got []string
		for i := 0; i < 300; i++ {
			r := run(t, "", "kdig", "@127.0.0.1", "-p", kp, "-y", kdigKey, z, "AXFR", "+nocomments", "+nostats")
			if r.code == 0 && strings.Contains(r.stdout, "SOA") {
				got = dedupSOA(zoneRecords(t, r.stdout))
				if len(got) == len(want) {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		sameRecords(t, "secondary "+z, want, got)
	}
}

// TestDnsperf: dnsperf.lua's sender against its receiver (UDP and TCP),
// our example server and knotd; every query gets an answer.
func TestDnsperf(t *testing.T) {
	line := regexp.MustCompile(`^rx: ([0-9]+), tx: ([0-9]+), elapsed: [0-9]+\.[0-9]{2}s, rate: [0-9]+\.[0-9]{2} req/s\n$`)
	check := func(what string, r result) {
		t.Helper()
		mustOK(t, r, what)
		m := line.FindStringSubmatch(r.stdout)
		if m == nil || m[2] != "65536" {
			t.Fatalf("%s: output %q", what, r.stdout)
		}
		rx, _ := strconv.Atoi(m[1])
		// Loopback UDP may drop a few datagrams under load; TCP may not.
		if rx != 65536 && (!strings.Contains(what, "udp") || rx < 65536*95/100) {
			t.Errorf("%s: %d answers for 65536 queries", what, rx)
		}
	}
	for _, udp := range []bool{true, false} {
		port := freePort(t)
		args := []string{"examples/dnsperf.lua", "-r", "-p", strconv.Itoa(port)}
		sender := []string{"examples/dnsperf.lua", "-n", "1", "-p", strconv.Itoa(port)}
		if udp {
			args = append(args, "-u")
			sender = append(sender, "-u")
		}
		log := background(t, ljdnsBin, args...)
		waitReceiver(t, log)
		check(fmt.Sprintf("dnsperf (udp=%v)", udp), ljdns(t, sender...))
	}
	port, _ := startServer(t, filepath.Join(zonesDir(), "example.com.zone"))
	check("dnsperf → server.lua (tcp)", ljdns(t, "examples/dnsperf.lua", "-p", strconv.Itoa(port)))
	if _, err := exec.LookPath("knotd"); err == nil {
		kport := freePort(t)
		startKnot(t, knotConfig{port: kport, zonesDir: zonesDir(), primaries: []string{"example.com"}})
		check("dnsperf → knotd (udp)", ljdns(t, "examples/dnsperf.lua", "-u", "-p", strconv.Itoa(kport)))
	}
}

// waitReceiver waits for dnsperf's "receiving on" line.
func waitReceiver(t *testing.T, log *syncBuffer) {
	t.Helper()
	for i := 0; i < 600; i++ {
		if strings.Contains(log.String(), "receiving on") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("dnsperf receiver did not start:\n%s", log.String())
}

// TestLdigQueryOptions: the flags and EDNS options ldig puts on the wire,
// as seen by a server, and the NSID it prints.
func TestLdigQueryOptions(t *testing.T) {
	port := freePort(t)
	p := strconv.Itoa(port)
	pc, err := net.ListenPacket("udp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *dns.Msg, 1)
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		select {
		case got <- r.Copy():
		default:
		}
		m := new(dns.Msg)
		m.SetReply(r)
		if o := r.IsEdns0(); o != nil {
			opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 1232}}
			opt.Option = append(opt.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: hex.EncodeToString([]byte("ns-test"))})
			m.Extra = append(m.Extra, opt)
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	query := func(args ...string) (*dns.Msg, string) {
		t.Helper()
		for len(got) > 0 {
			<-got
		}
		r := ljdns(t, append([]string{"ldig", "@127.0.0.1", "-p", p}, args...)...)
		mustOK(t, r, fmt.Sprint(args))
		select {
		case m := <-got:
			return m, r.stdout
		case <-time.After(safetyTimeout):
			t.Fatal("no query seen")
		}
		return nil, ""
	}
	m, _ := query("example.com", "MX")
	if !m.RecursionDesired || m.CheckingDisabled || m.IsEdns0() != nil || m.Question[0].Qtype != dns.TypeMX ||
		m.Question[0].Name != "example.com." {
		t.Errorf("plain query: %v", m)
	}
	m, _ = query("+norecurse", "+cd", "example.com")
	if m.RecursionDesired || !m.CheckingDisabled || m.Question[0].Qtype != dns.TypeNS {
		t.Errorf("+norecurse +cd: %v", m)
	}
	m, out := query("+do", "+bufsize=1400", "+nsid", "+cookie=0102030405060708", "CH", "TXT", "version.bind")
	o := m.IsEdns0()
	if o == nil || !o.Do() || o.UDPSize() != 1400 || m.Question[0].Qclass != dns.ClassCHAOS {
		t.Fatalf("EDNS query: %v", m)
	}
	var cookie, nsid bool
	for _, e := range o.Option {
		switch e := e.(type) {
		case *dns.EDNS0_COOKIE:
			cookie = e.Cookie == "0102030405060708"
		case *dns.EDNS0_NSID:
			nsid = e.Nsid == ""
		}
	}
	if !cookie || !nsid {
		t.Errorf("options: %v", o)
	}
	if !strings.Contains(out, `NSID: 6E732D74657374 ("ns-test")`) {
		t.Errorf("NSID not printed:\n%s", out)
	}
	// -x: the reverse name of IPv4 (octets reversed) and IPv6 addresses.
	for _, addr := range []string{"192.0.2.1", "10.20.30.40", "2001:db8::1", "::1", "::",
		"2001:db8:0:0:1::", "fe80::1:2:3:4", "2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:FFFF"} {
		m, _ = query("-x", addr)
		want, err := dns.ReverseAddr(addr)
		if err != nil {
			t.Fatal(err)
		}
		if m.Question[0].Name != strings.ToLower(want) || m.Question[0].Qtype != dns.TypePTR {
			t.Errorf("-x %s: asked %s %s, want %s PTR", addr, m.Question[0].Name,
				dns.TypeToString[m.Question[0].Qtype], want)
		}
	}
	// An IPv4-mapped address stays an ip6.arpa name, as with dig.
	m, _ = query("-x", "::ffff:192.0.2.1")
	if want := "1.0.2.0.0.0.0.c.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."; m.Question[0].Name != want {
		t.Errorf("-x ::ffff:192.0.2.1: asked %s", m.Question[0].Name)
	}
	m, _ = query("+cookie", "example.com")
	o = m.IsEdns0()
	if o == nil || len(o.Option) != 1 || len(o.Option[0].(*dns.EDNS0_COOKIE).Cookie) != 16 {
		t.Errorf("+cookie: %v", m)
	}
}

// TestLdigIXFR: an incremental transfer split over several messages is
// printed completely, ends at the closing SOA, and carries the serial.
func TestLdigIXFR(t *testing.T) {
	port := freePort(t)
	p := strconv.Itoa(port)
	l, err := net.Listen("tcp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatal(err)
	}
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	soa := func(serial int) dns.RR {
		return rr(fmt.Sprintf("ixfr.example. 300 IN SOA ns.ixfr.example. h.ixfr.example. %d 1 1 1 1", serial))
	}
	// 3 → current; changes 1→2 and 2→3, each message holding a few RRs.
	stream := [][]dns.RR{
		{soa(3), soa(1), rr("a.ixfr.example. 300 IN A 192.0.2.1")},
		{soa(2), rr("a.ixfr.example. 300 IN A 192.0.2.2"), soa(2)},
		{rr("b.ixfr.example. 300 IN A 192.0.2.3"), soa(3)},
		{rr("c.ixfr.example. 300 IN A 192.0.2.4")},
		{soa(3)},
	}
	gotSerial := make(chan uint32, 1)
	srv := &dns.Server{Listener: l, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		if len(r.Ns) == 1 {
			if s, ok := r.Ns[0].(*dns.SOA); ok {
				gotSerial <- s.Serial
			}
		}
		for _, rrs := range stream {
			m := new(dns.Msg)
			m.SetReply(r)
			m.Answer = rrs
			w.WriteMsg(m)
		}
		// Trailing junk after the closing SOA must not be read.
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{rr("junk.ixfr.example. 300 IN A 192.0.2.99")}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	r := ljdns(t, "ldig", "@127.0.0.1", "-p", p, "ixfr.example", "IXFR=1")
	mustOK(t, r, "ldig IXFR")
	select {
	case s := <-gotSerial:
		if s != 1 {
			t.Errorf("IXFR query carried serial %d, want 1", s)
		}
	default:
		t.Errorf("IXFR query had no SOA in its authority section")
	}
	got := zoneRecords(t, onlyRecords(r.stdout))
	var want []string
	for _, rrs := range stream {
		for _, x := range rrs {
			want = append(want, rrKey(x))
		}
	}
	sort.Strings(want)
	sameRecords(t, "IXFR", want, got)
	if !strings.Contains(r.stdout, "count: 5") {
		t.Errorf("want 5 messages in the footer:\n%s", r.stdout)
	}
}

// TestLdigRetry: a lost UDP answer is retried (+tries), and with a
// single try ldig gives up with status 9.
func TestLdigRetry(t *testing.T) {
	port := freePort(t)
	p := strconv.Itoa(port)
	pc, err := net.ListenPacket("udp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		mu.Lock()
		seen[r.Question[0].Name]++
		n := seen[r.Question[0].Name]
		mu.Unlock()
		if n == 1 {
			return // drop the first query for each name
		}
		m := new(dns.Msg)
		m.SetReply(r)
		rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A 192.0.2.7")
		m.Answer = append(m.Answer, rr)
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	r := ljdns(t, "ldig", "@127.0.0.1", "-p", p, "+timeout=1", "+tries=2", "+short", "retry.example", "A")
	mustOK(t, r, "ldig +tries=2")
	if !strings.Contains(r.stdout, "192.0.2.7") {
		t.Errorf("+tries=2: %q", r.stdout)
	}
	r = ljdns(t, "ldig", "@127.0.0.1", "-p", p, "+timeout=1", "+tries=1", "once.example", "A")
	oneLine(t, r, "ldig: ")
	if r.code != 9 {
		t.Errorf("+tries=1: exit %d, want 9", r.code)
	}
}

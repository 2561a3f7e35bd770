package zonefile

import (
	"crypto/tls"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

const testSecret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="

func mustKey(t *testing.T, s string) *dnsmsg.TSIG {
	t.Helper()
	k, err := dnsmsg.ParseTSIGKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// kdig runs kdig with args and returns its output (kdig exits 1 when the
// server answers an error: the output says which).
func kdig(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("kdig", args...).CombinedOutput()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("kdig %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func at(a netip.AddrPort) []string {
	return []string{"@" + a.Addr().String(), "-p", itoa(int(a.Port()))}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestTransfer: AXFR over TCP from the ACL, read by kdig; refused
// (NOTAUTH) outside the ACL and for a name that is not a zone apex; NOTIMP
// over UDP; IXFR answered AXFR-style, with the SOA alone when the client is
// current or asks over UDP; TSIG-keyed AXFR from outside the address ACL,
// every message signed, and BADKEY/BADSIG for a wrong key.
func TestTransfer(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "kdig")
	zs := testZones(t)
	key := mustKey(t, "xfr-key:hmac-sha256:"+testSecret)
	_, addr := serveZones(t, []Zone{
		{Name: zs[0].Name, File: zs[0].File},
		{Name: zs[1].Name, File: zs[1].File, ACL: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, Keys: []*dnsmsg.TSIG{key}},
	})
	out := kdig(t, append(at(addr), "example.test.", "AXFR", "+noall", "+answer")...)
	if n := strings.Count(out, "\tSOA\t"); n != 2 || !strings.Contains(out, "www.example.test.") {
		t.Fatalf("kdig AXFR: %d SOA\n%s", n, out)
	}
	if got := axfr(t, addr, "example.test.", nil); len(got) < 20 {
		t.Fatalf("AXFR of example.test.: %d records", len(got))
	}
	// outside the ACL: other.test. lets only 192.0.2.0/24 (or the key) transfer
	if _, err := axfrErr(addr, "other.test.", nil); err == nil || !strings.Contains(err.Error(), "rcode: 9") {
		t.Fatalf("AXFR outside the ACL: %v", err)
	}
	out = kdig(t, append(at(addr), "other.test.", "AXFR", "+noall", "+comments")...)
	if !strings.Contains(out, "NOTAUTH") {
		t.Fatalf("kdig AXFR outside the ACL:\n%s", out)
	}
	// with the key: allowed, signed (miekg checks each message's TSIG)
	got := axfr(t, addr, "other.test.", &tsigKey{"xfr-key.", testSecret})
	if len(got) != 5 {
		t.Fatalf("TSIG AXFR of other.test.: %v", got)
	}
	out = kdig(t, append(at(addr), "-y", "hmac-sha256:xfr-key:"+testSecret, "other.test.", "AXFR", "+noall", "+answer", "+comments")...)
	if strings.Count(out, "\tSOA\t") != 2 || strings.Contains(out, "ERROR") {
		t.Fatalf("kdig -y AXFR:\n%s", out)
	}
	// a wrong key name, a wrong secret
	if _, err := axfrErr(addr, "other.test.", &tsigKey{"other-key.", testSecret}); err == nil {
		t.Fatal("AXFR with an unknown key allowed")
	}
	out = kdig(t, append(at(addr), "-y", "hmac-sha256:other-key:"+testSecret, "other.test.", "AXFR", "+noall", "+comments")...)
	if !strings.Contains(out, "BADKEY") {
		t.Fatalf("kdig AXFR with an unknown key:\n%s", out)
	}
	out = kdig(t, append(at(addr), "-y", "hmac-sha256:xfr-key:"+strings.Repeat("A", 43)+"=", "other.test.", "AXFR", "+noall", "+comments")...)
	if !strings.Contains(out, "BADSIG") {
		t.Fatalf("kdig AXFR with a wrong secret:\n%s", out)
	}
	// not an apex, not ours
	for _, c := range []struct{ name, want string }{{"www.example.test.", "NOTAUTH"}, {"example.org.", "REFUSED"}} {
		out = kdig(t, append(at(addr), c.name, "AXFR", "+noall", "+comments")...)
		if !strings.Contains(out, c.want) {
			t.Fatalf("AXFR %s: want %s\n%s", c.name, c.want, out)
		}
	}
	// over UDP
	out = kdig(t, append(at(addr), "example.test.", "AXFR", "+notcp", "+noall", "+comments")...)
	if !strings.Contains(out, "NOTIMPL") {
		t.Fatalf("AXFR over UDP:\n%s", out)
	}
	out = kdig(t, append(at(addr), "example.test.", "IXFR=1", "+notcp", "+noall", "+answer")...)
	if strings.Count(out, "\tSOA\t") != 1 || strings.Contains(out, "www.example.test.") {
		t.Fatalf("IXFR over UDP:\n%s", out)
	}
	// IXFR over TCP: AXFR-style, or the SOA when current
	out = kdig(t, append(at(addr), "example.test.", "IXFR=1", "+noall", "+answer")...)
	if strings.Count(out, "\tSOA\t") != 2 || !strings.Contains(out, "www.example.test.") {
		t.Fatalf("IXFR=1:\n%s", out)
	}
	out = kdig(t, append(at(addr), "example.test.", "IXFR=2024010101", "+noall", "+answer")...)
	if strings.Count(out, "\tSOA\t") != 1 || strings.Contains(out, "www.example.test.") {
		t.Fatalf("IXFR, client current:\n%s", out)
	}
}

// TestSecondary: a knotd secondary transfers the zones from the daemon,
// one of them with a TSIG key (the address alone is not in its ACL), and
// answers from them as the primary does.
func TestSecondary(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd")
	zs := testZones(t)
	key := mustKey(t, "sec-key:hmac-sha256:"+testSecret)
	_, addr := serveZones(t, []Zone{
		{Name: zs[0].Name, File: zs[0].File},
		{Name: zs[1].Name, File: zs[1].File, ACL: []netip.Prefix{}, Keys: []*dnsmsg.TSIG{key}},
	})
	dir := t.TempDir()
	var sec []testnet.Zone
	for _, z := range zs[:2] {
		f := filepath.Join(dir, z.Name+"zone")
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		sec = append(sec, testnet.Zone{Name: z.Name, File: f})
	}
	extra := "key:\n  - id: sec-key\n    algorithm: hmac-sha256\n    secret: " + testSecret + "\n" +
		"remote:\n  - id: primary\n    address: " + addr.Addr().String() + "@" + itoa(int(addr.Port())) + "\n" +
		"  - id: primary-key\n    address: " + addr.Addr().String() + "@" + itoa(int(addr.Port())) + "\n    key: sec-key\n"
	// the first zone by address, the second with the key: knotd's zone
	// items differ, so two secondaries
	k1 := testnet.StartKnot(t, testnet.KnotConfig{Zones: sec[:1], Extra: extra, ZoneExtra: "master: primary"})
	k2 := testnet.StartKnot(t, testnet.KnotConfig{Zones: sec[1:], Extra: extra, ZoneExtra: "master: primary-key"})
	var qs []testnet.Query
	for _, n := range []string{"example.test. SOA", "www.example.test. A", "x.wild.example.test. TXT", "nx.example.test. A +do",
		"sub.example.test. NS", "other.test. SOA", "www.other.test. A", "nx.other.test. MX"} {
		q, err := testnet.ParseCorpus(n)
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, q...)
	}
	for _, k := range []*testnet.Peer{k1, k2} {
		var mine []testnet.Query
		for _, q := range qs {
			if (k == k1) == strings.HasSuffix(q.Name, "example.test.") {
				mine = append(mine, q)
			}
		}
		if d := testnet.Compare(addr, k.Addr(), mine, testnet.CompareOptions{}); len(d) > 0 {
			t.Errorf("the secondary answers differently:\n%s", testnet.Report(d))
		}
	}
}

// TestSignedTransferVerifies: the AXFR of a pre-signed zone, read by
// kdig, passes ldns-verify-zone.
func TestSignedTransferVerifies(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "kdig", "ldns-verify-zone")
	zs := signedZones(t)
	_, addr := serveZones(t, moduleZones(zs))
	for _, z := range zs[:2] {
		out := kdig(t, append(at(addr), z.Name, "AXFR", "+noall", "+answer")...)
		// the closing SOA repeats the first: drop it
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 10 {
			t.Fatalf("AXFR of %s:\n%s", z.Name, out)
		}
		f := filepath.Join(t.TempDir(), z.Name+"axfr")
		if err := os.WriteFile(f, []byte(strings.Join(lines[:len(lines)-1], "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := testnet.VerifyZone(f); err != nil {
			t.Error(err)
		}
	}
}

// TestTransferTransports: AXFR over DNS-over-TLS is served; over DoH and
// through Exchange (one message per query) it is NOTIMP, as over UDP.
func TestTransferTransports(t *testing.T) {
	testnet.Isolate(t)
	zs := testZones(t)
	m := New(Options{Poll: -1})
	if err := m.Configure(moduleZones(zs[:1])); err != nil {
		t.Fatal(err)
	}
	addr := testnet.FreeAddr(t)
	tlsAddr := netip.AddrPortFrom(addr.Addr(), 853)
	s, err := daemon.New(&daemon.Config{Listen: []daemon.Listen{{Addr: tlsAddr, Kind: daemon.KindTLS}}, Layers: []daemon.Layer{m},
		Log: daemon.NewLogger(testWriter{t})})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	c, err := tls.Dial("tcp", tlsAddr.String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := new(dns.Msg)
	q.SetAxfr("example.test.")
	ch, err := (&dns.Transfer{Conn: &dns.Conn{Conn: c}}).In(q, tlsAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for env := range ch {
		if env.Error != nil {
			t.Fatal(env.Error)
		}
		n += len(env.RR)
	}
	if n < 20 {
		t.Fatalf("AXFR over TLS: %d records", n)
	}
	wire, _ := q.Pack()
	for _, p := range []daemon.Proto{daemon.DoH, daemon.TCP, daemon.UDP} {
		out, ok := s.Exchange(wire, netip.MustParseAddrPort("127.0.0.1:5300"), tlsAddr, p, 0)
		a := new(dns.Msg)
		if !ok || a.Unpack(out) != nil || a.Rcode != dns.RcodeNotImplemented {
			t.Errorf("AXFR through Exchange over %v: %v", p, a)
		}
	}
}

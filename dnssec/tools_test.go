package dnssec

// Interoperability with real DNSSEC tools (Debian packages ldnsutils,
// bind9-utils / bind9-dnsutils, knot / knot-dnsutils). Each test skips when
// its tool is missing.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"ljdns/dnsmsg"
)

// needTool skips the test unless every named program is installed.
func needTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not installed", n)
		}
	}
}

// run runs a program in dir and returns its standard output.
func run(t *testing.T, dir, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), err
}

// parseRRs parses zone text lines, skipping comments and blanks.
func parseRRs(t *testing.T, text string) []mdns.RR {
	t.Helper()
	zp := mdns.NewZoneParser(strings.NewReader("$TTL 3600\n"+text), ".", "")
	var rrs []mdns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return rrs
}

// rdataOf returns the uncompressed wire RDATA of rr.
func rdataOf(t *testing.T, rr mdns.RR) []byte {
	t.Helper()
	buf := make([]byte, 65536)
	off, err := mdns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	own, err := dnsmsg.NameFromText(rr.Header().Name)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(buf[len(own.Wire)+10 : off])
}

// checkAgainst loads a tool's key (DNSKEY text and private key data) and
// compares key tag and DS digests with the tool's DS records.
func checkAgainst(t *testing.T, dnskey string, private []byte, dsText string) {
	t.Helper()
	var pub *mdns.DNSKEY
	for _, rr := range parseRRs(t, dnskey) {
		if k, ok := rr.(*mdns.DNSKEY); ok {
			pub = k
		}
	}
	if pub == nil {
		t.Fatalf("no DNSKEY in %q", dnskey)
	}
	k := NewKey()
	if err := k.SetRData(rdataOf(t, pub)); err != nil {
		t.Fatal(err)
	}
	k.Owner = wireOf(t, pub.Hdr.Name)
	// The private key loads onto the public key (so they match).
	if err := k.SetPrivateKey(private); err != nil {
		t.Fatalf("private key: %v", err)
	}
	n := 0
	for _, rr := range parseRRs(t, dsText) {
		ds, ok := rr.(*mdns.DS)
		if !ok {
			continue
		}
		n++
		if ds.KeyTag != k.Tag() {
			t.Errorf("tag %d, tool %d", k.Tag(), ds.KeyTag)
		}
		ours, err := k.DS(ds.DigestType)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%X", ours[4:]); got != strings.ToUpper(ds.Digest) {
			t.Errorf("DS %d: %s, tool %s", ds.DigestType, got, ds.Digest)
		}
	}
	if n == 0 {
		t.Fatalf("no DS in %q", dsText)
	}
	// The loaded key signs and verifies.
	rr := rrsetOf(t, "www."+pub.Hdr.Name+" 300 IN A 192.0.2.1")
	rd, err := k.SignRRSet(rr, 1000, 2000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.VerifyRRSet(rr, rd, 1500); err != nil {
		t.Fatal(err)
	}
}

func wireOf(t *testing.T, s string) []byte { return wire(t, s) }

// readKeyPair reads base.key and base.private from dir.
func readKeyPair(t *testing.T, dir, base string) (string, []byte) {
	t.Helper()
	pub, err := os.ReadFile(filepath.Join(dir, base+".key"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := os.ReadFile(filepath.Join(dir, base+".private"))
	if err != nil {
		t.Fatal(err)
	}
	return string(pub), priv
}

func TestLdnsKeygen(t *testing.T) {
	needTool(t, "ldns-keygen", "ldns-key2ds")
	for _, c := range []struct{ alg, bits string }{
		{"RSASHA1", "1024"}, {"RSASHA1-NSEC3-SHA1", "1024"}, {"RSASHA256", "512"}, {"RSASHA256", "2048"},
		{"RSASHA512", "1024"}, {"ECDSAP256SHA256", "256"}, {"ECDSAP384SHA384", "384"}, {"ED25519", "256"},
	} {
		t.Run(c.alg+"-"+c.bits, func(t *testing.T) {
			dir := t.TempDir()
			out, err := run(t, dir, "ldns-keygen", "-a", c.alg, "-b", c.bits, "-k", "example.com")
			if err != nil {
				t.Skipf("ldns-keygen refuses: %v", err)
			}
			base := strings.TrimSpace(out)
			pub, priv := readKeyPair(t, dir, base)
			var ds strings.Builder
			for _, d := range []string{"-1", "-2", "-4"} {
				o, err := run(t, dir, "ldns-key2ds", "-f", "-n", d, base+".key")
				if err != nil {
					t.Fatal(err)
				}
				ds.WriteString(o + "\n")
			}
			checkAgainst(t, pub, priv, ds.String())
		})
	}
}

func TestBindKeygen(t *testing.T) {
	needTool(t, "dnssec-keygen", "dnssec-dsfromkey")
	for _, c := range []struct{ alg, bits string }{
		{"RSASHA256", "1024"}, {"RSASHA512", "1024"}, {"ECDSAP256SHA256", ""}, {"ECDSAP384SHA384", ""}, {"ED25519", ""},
	} {
		t.Run(c.alg, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"-q", "-K", dir, "-a", c.alg, "-f", "KSK"}
			if c.bits != "" {
				args = append(args, "-b", c.bits)
			}
			out, err := run(t, dir, "dnssec-keygen", append(args, "example.com")...)
			if err != nil {
				t.Skipf("dnssec-keygen refuses: %v", err)
			}
			base := strings.TrimSpace(out)
			pub, priv := readKeyPair(t, dir, base)
			var ds strings.Builder
			for _, d := range [][]string{{"-1"}, {"-2"}, {"-a", "SHA-384"}} {
				o, err := run(t, dir, "dnssec-dsfromkey", append(d, base+".key")...)
				if err != nil {
					t.Logf("dnssec-dsfromkey %v: %v", d, err) // SHA-384 needs BIND 9.16+
					continue
				}
				ds.WriteString(o + "\n")
			}
			checkAgainst(t, pub, priv, ds.String())
		})
	}
}

func TestKnotKeymgr(t *testing.T) {
	needTool(t, "keymgr")
	for _, alg := range []string{"8", "13", "14", "15"} {
		t.Run("alg"+alg, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"-D", dir, "example.com.", "generate", "algorithm=" + alg, "ksk=yes"}
			if alg == "8" {
				args = append(args, "size=1024")
			}
			out, err := run(t, dir, "keymgr", args...)
			if err != nil {
				t.Skipf("keymgr refuses: %v", err)
			}
			id := strings.TrimSpace(out)
			pemData, err := os.ReadFile(filepath.Join(dir, "keys", id+".pem"))
			if err != nil {
				t.Fatal(err)
			}
			dnskey, err := run(t, dir, "keymgr", "-D", dir, "example.com.", "dnskey", id)
			if err != nil {
				t.Fatal(err)
			}
			ds, err := run(t, dir, "keymgr", "-D", dir, "example.com.", "ds", id)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainst(t, dnskey, pemData, ds)
			// The key ID is the SHA-1 of the public key, as Knot computes it.
			k := NewKey()
			for _, rr := range parseRRs(t, dnskey) {
				k.SetRData(rdataOf(t, rr))
			}
			if got, _ := k.ID(); got != id {
				t.Errorf("key id %s, keymgr %s", got, id)
			}
		})
	}
}

// testZone is a small zone for the signing tools.
const testZone = `$ORIGIN example.com.
$TTL 3600
@	IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 3600
@	IN NS ns1
@	IN NS ns2.example.net.
@	IN MX 10 Mail
ns1	IN A 192.0.2.1
ns1	IN AAAA 2001:db8::1
Mail	IN A 192.0.2.2
www	IN CNAME @
*.wild	IN TXT "wildcard"
sub	IN NS ns.sub
ns.sub	IN A 192.0.2.3
`

// verifySigned checks every RRSIG of a signed zone made by a tool with the
// zone's DNSKEYs, and returns how many verified.
func verifySigned(t *testing.T, signed string) int {
	t.Helper()
	rrs := parseRRs(t, signed)
	sets := map[string]*dnsmsg.RRSet{}
	var keys []*Key
	var sigs []*mdns.RRSIG
	for _, rr := range rrs {
		h := rr.Header()
		switch r := rr.(type) {
		case *mdns.RRSIG:
			sigs = append(sigs, r)
			continue
		case *mdns.DNSKEY:
			k := NewKey()
			if err := k.SetRData(rdataOf(t, r)); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		id := fmt.Sprintf("%s/%d", strings.ToLower(h.Name), h.Rrtype)
		if sets[id] == nil {
			sets[id] = &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: wireOf(t, h.Name)}, Type: h.Rrtype, Class: h.Class, TTL: h.Ttl}
		}
		sets[id].Add(rdataOf(t, rr))
	}
	n := 0
	for _, s := range sigs {
		set := sets[fmt.Sprintf("%s/%d", strings.ToLower(s.Hdr.Name), s.TypeCovered)]
		if set == nil {
			t.Fatalf("RRSIG without RRset: %s", s)
		}
		var key *Key
		for _, k := range keys {
			if k.Tag() == s.KeyTag && k.Algo == s.Algorithm {
				key = k
			}
		}
		if key == nil {
			t.Fatalf("no key for %s", s)
		}
		if err := key.VerifyRRSet(set, rdataOf(t, s), s.Inception+60); err != nil {
			t.Errorf("%s: %v", s, err)
		} else {
			n++
		}
		// A changed TTL-independent field (a flipped signature bit) fails.
		bad := rdataOf(t, s)
		bad[len(bad)-5] ^= 1
		if err := key.VerifyRRSet(set, bad, s.Inception+60); err == nil {
			t.Errorf("%s: corrupted signature verified", s)
		}
	}
	return n
}

func TestDnssecSignzone(t *testing.T) {
	needTool(t, "dnssec-keygen", "dnssec-signzone")
	for _, alg := range []string{"ECDSAP256SHA256", "RSASHA256", "ED25519", "ECDSAP384SHA384"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			zone := filepath.Join(dir, "example.com.zone")
			os.WriteFile(zone, []byte(testZone), 0o644)
			for _, extra := range [][]string{{"-f", "KSK"}, nil} {
				args := append([]string{"-q", "-K", dir, "-a", alg}, extra...)
				if strings.HasPrefix(alg, "RSA") {
					args = append(args, "-b", "1024")
				}
				if _, err := run(t, dir, "dnssec-keygen", append(args, "example.com")...); err != nil {
					t.Skip(err)
				}
			}
			if _, err := run(t, dir, "dnssec-signzone", "-q", "-K", dir, "-S", "-o", "example.com", "-f", zone+".signed", zone); err != nil {
				t.Fatal(err)
			}
			signed, _ := os.ReadFile(zone + ".signed")
			if n := verifySigned(t, string(signed)); n < 10 {
				t.Errorf("only %d RRSIGs verified", n)
			}
		})
	}
}

func TestLdnsSignzone(t *testing.T) {
	needTool(t, "ldns-keygen", "ldns-signzone")
	for _, alg := range []string{"ECDSAP256SHA256", "RSASHA1", "RSASHA512", "ED25519"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			zone := filepath.Join(dir, "example.com.zone")
			os.WriteFile(zone, []byte(testZone), 0o644)
			out, err := run(t, dir, "ldns-keygen", "-a", alg, "-b", "1024", "example.com")
			if err != nil {
				t.Skip(err)
			}
			base := strings.TrimSpace(out)
			if _, err := run(t, dir, "ldns-signzone", "-o", "example.com", "-f", zone+".signed", zone, base); err != nil {
				t.Fatal(err)
			}
			signed, _ := os.ReadFile(zone + ".signed")
			if n := verifySigned(t, string(signed)); n < 10 {
				t.Errorf("only %d RRSIGs verified", n)
			}
		})
	}
}

package testnet

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Algorithm is a DNSSEC algorithm mnemonic as ldns-keygen -a takes it (RFC 8624).
type Algorithm string

// The algorithms the hierarchy signs with.
const (
	RSASHA256       Algorithm = "RSASHA256"       // algorithm 8, RFC 5702
	ECDSAP256SHA256 Algorithm = "ECDSAP256SHA256" // algorithm 13, RFC 6605
)

// Key is a DNSSEC key pair made by ldns-keygen: Base.key holds the DNSKEY RR, Base.private
// the private key, and for a key-signing key Base.ds its SHA-256 DS RR.
type Key struct {
	Zone   string    // owner, fully qualified ("example.")
	Alg    Algorithm // signing algorithm
	KSK    bool      // flags 257 (SEP bit) rather than 256
	Base   string    // path without extension, as ldns-signzone takes it
	Tag    uint16    // key tag (RFC 4034 appendix B)
	DNSKEY string    // the DNSKEY RR, one line, no comment
	DS     string    // the SHA-256 DS RR, one line ("" unless KSK)
}

// GenerateKey makes a key pair for zone in dir with ldns-keygen (RSA keys are 2048 bits).
// A key-signing key gets its DS from ldns-keygen's .ds file.
func GenerateKey(t testing.TB, dir, zone string, alg Algorithm, ksk bool) Key {
	t.Helper()
	args := []string{"-r", "/dev/urandom", "-a", string(alg)}
	if alg == RSASHA256 {
		args = append(args, "-b", "2048")
	}
	if ksk {
		args = append(args, "-k")
	}
	out := runTool(t, dir, "ldns-keygen", append(args, zone)...)
	name := strings.TrimSpace(out)
	k := Key{Zone: zone, Alg: alg, KSK: ksk, Base: filepath.Join(dir, name)}
	// The name is K<zone>+<alg>+<tag> (RFC 4034 leaves the file name to tools; ldns and BIND agree).
	tag, err := strconv.ParseUint(name[strings.LastIndexByte(name, '+')+1:], 10, 16)
	if err != nil {
		t.Fatalf("testnet: ldns-keygen printed %q, not K<zone>+<alg>+<tag>", name)
	}
	k.Tag = uint16(tag)
	k.DNSKEY = firstRR(t, k.Base+".key")
	if ksk {
		k.DS = firstRR(t, k.Base+".ds")
	}
	return k
}

// firstRR returns the first resource record line of a file ldns wrote, its comment removed.
func firstRR(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("testnet: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if i := strings.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	t.Fatalf("testnet: no record in %s", path)
	return ""
}

// SignOptions says how SignZone signs. The zero value signs with NSEC, valid from an hour
// ago for 30 days.
type SignOptions struct {
	Inception  time.Time // start of the RRSIG validity window; zero: an hour before now
	Expiration time.Time // end of the window; zero: 30 days after the inception
	NSEC3      bool      // NSEC3 (RFC 5155) instead of NSEC
	OptOut     bool      // NSEC3 opt-out flag on every NSEC3 (ldns-signzone -p)
	Salt       string    // NSEC3 salt in hex, "" for none
	Iterations int       // NSEC3 extra iterations (RFC 9276 recommends 0)
}

// ldnsTime formats t as ldns-signzone's -i and -e take it.
func ldnsTime(t time.Time) string { return t.UTC().Format("20060102150405") }

// SignZone signs the zone file unsigned (origin zone) into signed with ldns-signzone and keys.
// Every key's DNSKEY is added to the zone; key-signing keys sign only the DNSKEY RRset when
// zone-signing keys are given too.
func SignZone(t testing.TB, unsigned, signed, zone string, o SignOptions, keys ...Key) {
	t.Helper()
	if o.Inception.IsZero() {
		o.Inception = time.Now().Add(-time.Hour)
	}
	if o.Expiration.IsZero() {
		o.Expiration = o.Inception.Add(30 * 24 * time.Hour)
	}
	args := []string{"-o", zone, "-f", signed, "-i", ldnsTime(o.Inception), "-e", ldnsTime(o.Expiration)}
	if o.NSEC3 {
		args = append(args, "-n", "-t", strconv.Itoa(o.Iterations))
		if o.Salt != "" {
			args = append(args, "-s", o.Salt)
		}
		if o.OptOut {
			args = append(args, "-p")
		}
	}
	args = append(args, unsigned)
	for _, k := range keys {
		args = append(args, k.Base)
	}
	runTool(t, filepath.Dir(signed), "ldns-signzone", args...)
}

// StripRRSIG copies the zone file in to out without its RRSIG records, leaving DNSKEY, NSEC and
// NSEC3 in place: a zone that claims to be signed but has no signatures. It expects ldns's
// one-record-per-line output (owner TTL class type rdata).
func StripRRSIG(t testing.TB, in, out string) {
	t.Helper()
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatalf("testnet: %v", err)
	}
	var w bytes.Buffer
	removed := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 4 && strings.EqualFold(f[3], "RRSIG") {
			removed++
			continue
		}
		w.WriteString(sc.Text())
		w.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("testnet: %s: %v", in, err)
	}
	if removed == 0 {
		t.Fatalf("testnet: %s has no RRSIG to strip", in)
	}
	if err := os.WriteFile(out, w.Bytes(), 0o644); err != nil {
		t.Fatalf("testnet: %v", err)
	}
}

// VerifyZone runs ldns-verify-zone on a signed zone file and returns its error, if any, with
// the tool's output.
func VerifyZone(file string) error {
	out, err := exec.Command("ldns-verify-zone", file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("testnet: ldns-verify-zone %s: %w\n%s", file, err, out)
	}
	return nil
}

// runTool runs an ldns tool in dir and returns its standard output; it fails t with the
// tool's messages if the tool fails.
func runTool(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("testnet: %s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}

// ForgeNSEC copies the NSEC-signed zone file in to out without the records of victim (its
// NSEC and RRSIGs included), and with the NSEC that pointed at victim pointing at victim's
// successor instead, its RRSIG unchanged: a span forged to deny a name that exists. It
// expects ldns's one-record-per-line output (owner TTL class type rdata).
func ForgeNSEC(t testing.TB, in, out, victim string) {
	t.Helper()
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatalf("testnet: %v", err)
	}
	var lines [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, strings.Fields(sc.Text()))
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("testnet: %s: %v", in, err)
	}
	isNSEC := func(f []string) bool { return len(f) >= 5 && strings.EqualFold(f[3], "NSEC") }
	next := ""
	for _, f := range lines {
		if isNSEC(f) && strings.EqualFold(f[0], victim) {
			next = f[4]
		}
	}
	if next == "" {
		t.Fatalf("testnet: %s has no NSEC at %s", in, victim)
	}
	var w bytes.Buffer
	forged := 0
	for _, f := range lines {
		if len(f) > 0 && strings.EqualFold(f[0], victim) {
			continue
		}
		if isNSEC(f) && strings.EqualFold(f[4], victim) {
			f[4] = next
			forged++
		}
		w.WriteString(strings.Join(f, "\t"))
		w.WriteByte('\n')
	}
	if forged != 1 {
		t.Fatalf("testnet: %s: %d NSEC records point at %s, want 1", in, forged, victim)
	}
	if err := os.WriteFile(out, w.Bytes(), 0o644); err != nil {
		t.Fatalf("testnet: %v", err)
	}
}

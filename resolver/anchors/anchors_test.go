package anchors

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ljdns/clock"
	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// testKey returns a new Ed25519 key of the root with the given flags.
func testKey(t *testing.T, flags uint16) *dnssec.Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	k := dnssec.NewKey()
	if err := k.SetAlgorithm(15); err != nil {
		t.Fatal(err)
	}
	if err := k.SetPrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		t.Fatal(err)
	}
	k.Flags = flags
	k.Owner = []byte{0}
	return k
}

// revoked returns a copy of k with the REVOKE flag set (same key).
func revoked(t *testing.T, k *dnssec.Key) *dnssec.Key {
	t.Helper()
	r := *k
	r.Flags |= flagRevoke
	return &r
}

// rootSet is the root's DNSKEY set of keys, signed by signers at now.
func rootSet(t *testing.T, now time.Time, keys []*dnssec.Key, signers ...*dnssec.Key) (*dnsmsg.RRSet, *dnsmsg.RRSet) {
	t.Helper()
	set := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: []byte{0}}, Type: typeDNSKEY, Class: 1, TTL: 172800}
	for _, k := range keys {
		set.Add(k.RData())
	}
	sigs := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: []byte{0}}, Type: 46, Class: 1, TTL: 172800}
	for _, k := range signers {
		rd, err := k.SignRRSet(set, uint32(now.Add(-time.Hour).Unix()), uint32(now.Add(20*24*time.Hour).Unix()), nil)
		if err != nil {
			t.Fatal(err)
		}
		sigs.Add(rd)
	}
	return set, sigs
}

// state returns the state of the key with tag in the store's root keyset
// ("" when absent).
func state(s *Store, tag uint16) State {
	for _, ks := range s.Keysets() {
		if string(ks.Owner) != "\x00" {
			continue
		}
		for _, k := range ks.Keys {
			if k.Tag == tag {
				return k.State
			}
		}
	}
	return ""
}

// fileLine returns the key file's line of the key with tag ("" if none).
func fileLine(t *testing.T, path string, tag uint16) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasSuffix(l, " ; KeyTag:"+itoa(int(tag))) {
			return l
		}
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

// anchored reports whether the store's anchors include the key with tag.
func anchored(s *Store, k *dnssec.Key) bool {
	want := dnsmsg.RDataText(typeDNSKEY, k.RData())
	ds, _ := k.DS(2)
	wantDS := dnsmsg.RDataText(typeDS, ds)
	for _, a := range s.Anchors() {
		if strings.HasSuffix(a, want) || strings.HasSuffix(a, wantDS) {
			return true
		}
	}
	return false
}

// TestRFC5011Roll rolls the KSK of a test root on a fake clock: the new
// key is AddPend until the hold-down has passed, then Valid; the old one,
// revoked, is Revoked, then Removed; the key file shows every state and
// reads back the same.
func TestRFC5011Roll(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	old, zsk := testKey(t, 257), testKey(t, 256)
	ds, err := old.DS(2)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "root.keys")
	// the key file starts as the root's DS, as IANA publishes it
	if err := os.WriteFile(path, []byte(". 0 IN DS "+dnsmsg.RDataText(typeDS, ds)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(clk)
	var logs []string
	s.SetLogger(func(f string, a ...any) { logs = append(logs, f) })
	if err := s.AddFile(path, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if state(s, old.Tag()) != Valid || !anchored(s, old) {
		t.Fatalf("the file's DS is not a Valid anchor: %v", s.Anchors())
	}
	for _, b := range BuiltinRoot() {
		if strings.Contains(strings.Join(s.Anchors(), "\n"), b[strings.Index(b, "DS"):]) {
			t.Fatal("the key file did not replace the built-in root anchors")
		}
	}
	observe := func(keys []*dnssec.Key, signers ...*dnssec.Key) {
		t.Helper()
		set, sigs := rootSet(t, clk.Now(), keys, signers...)
		s.Observe([]byte{0}, set, sigs, clk.Now())
	}
	reread := func() {
		t.Helper()
		r := New(clk)
		if err := r.AddFile(path, false); err != nil {
			t.Fatal(err)
		}
		a, b := s.Anchors(), r.Anchors()
		if strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Fatalf("key file read back:\n%v\nwant\n%v", b, a)
		}
		for _, ks := range s.Keysets() {
			for _, k := range ks.Keys {
				if k.State != Removed && state(r, k.Tag) != k.State {
					t.Fatalf("key %d read back as %q, want %q", k.Tag, state(r, k.Tag), k.State)
				}
			}
		}
	}

	// day 0: the published set; the DS anchor becomes its DNSKEY
	observe([]*dnssec.Key{old, zsk}, old)
	if l := fileLine(t, path, old.Tag()); !strings.Contains(l, " DNSKEY 257 3 15 ") || !strings.Contains(l, "; Valid: ;") || strings.HasPrefix(l, ";") {
		t.Fatalf("day 0: key file line %q", l)
	}
	reread()

	// day 1: a new KSK is published
	clk.Advance(24 * time.Hour)
	added := clk.Now()
	neu := testKey(t, 257)
	observe([]*dnssec.Key{old, neu, zsk}, old)
	if state(s, neu.Tag()) != AddPend || anchored(s, neu) {
		t.Fatalf("day 1: new key %q, anchors %v", state(s, neu.Tag()), s.Anchors())
	}
	wantTimer := itoa(int(added.Add(DefaultHoldDown).Unix()))
	if l := fileLine(t, path, neu.Tag()); !strings.HasPrefix(l, "; . ") || !strings.Contains(l, "; AddPend:"+wantTimer+" ;") {
		t.Fatalf("day 1: key file line %q", l)
	}
	reread()

	// day 20: still in the hold-down
	clk.Advance(19 * 24 * time.Hour)
	observe([]*dnssec.Key{old, neu, zsk}, old)
	if state(s, neu.Tag()) != AddPend {
		t.Fatalf("day 20: new key %q", state(s, neu.Tag()))
	}
	// a set signed only by the new key does not validate yet: ignored
	observe([]*dnssec.Key{neu, zsk}, neu)
	if state(s, old.Tag()) != Valid {
		t.Fatalf("day 20: an unvalidated set moved the old key to %q", state(s, old.Tag()))
	}

	// day 32: the hold-down has passed
	clk.Advance(12 * 24 * time.Hour)
	observe([]*dnssec.Key{old, neu, zsk}, old)
	if state(s, neu.Tag()) != Valid || !anchored(s, neu) || !anchored(s, old) {
		t.Fatalf("day 32: new key %q, anchors %v", state(s, neu.Tag()), s.Anchors())
	}
	if l := fileLine(t, path, neu.Tag()); strings.HasPrefix(l, ";") || !strings.Contains(l, "; Valid: ;") {
		t.Fatalf("day 32: key file line %q", l)
	}
	reread()

	// day 40: the old key is revoked; a revocation not signed by the
	// revoked key itself does not count
	clk.Advance(8 * 24 * time.Hour)
	rev := revoked(t, old)
	observe([]*dnssec.Key{rev, neu, zsk}, neu)
	if state(s, old.Tag()) != Valid {
		t.Fatalf("day 40: a revocation the revoked key did not sign moved the old key to %q", state(s, old.Tag()))
	}
	observe([]*dnssec.Key{rev, neu, zsk}, neu, rev)
	if state(s, old.Tag()) != Revoked || anchored(s, old) || !anchored(s, neu) {
		t.Fatalf("day 40: old key %q, anchors %v", state(s, old.Tag()), s.Anchors())
	}
	if l := fileLine(t, path, old.Tag()); !strings.HasPrefix(l, "; . ") || !strings.Contains(l, "; Revoked:") {
		t.Fatalf("day 40: key file line %q", l)
	}
	reread()

	// day 71: the remove hold-down has passed; one Removed key is kept
	s.SetKeepRemoved(1)
	clk.Advance(31 * 24 * time.Hour)
	observe([]*dnssec.Key{neu, zsk}, neu)
	if state(s, old.Tag()) != Removed || anchored(s, old) {
		t.Fatalf("day 71: old key %q", state(s, old.Tag()))
	}
	if l := fileLine(t, path, old.Tag()); !strings.HasPrefix(l, "; . ") || !strings.Contains(l, "; Removed:") {
		t.Fatalf("day 71: key file line %q", l)
	}
	reread()

	// keep_removed 0: the history goes at the next update
	s.SetKeepRemoved(0)
	clk.Advance(24 * time.Hour)
	observe([]*dnssec.Key{neu, zsk}, neu)
	if state(s, old.Tag()) != "" || fileLine(t, path, old.Tag()) != "" {
		t.Fatalf("day 72: old key still %q / %q", state(s, old.Tag()), fileLine(t, path, old.Tag()))
	}
	if got := s.Anchors(); len(got) != 1 || !anchored(s, neu) {
		t.Fatalf("day 72: anchors %v", got)
	}
	if len(logs) == 0 {
		t.Fatal("no state change was logged")
	}
}

// TestMissingKey: a trusted key gone from the set is Missing (still an
// anchor), comes back Valid, and is Removed after four hold-down times.
func TestMissingKey(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a, b := testKey(t, 257), testKey(t, 257)
	path := filepath.Join(t.TempDir(), "root.keys")
	text := ". 3600 IN DNSKEY " + dnsmsg.RDataText(typeDNSKEY, a.RData()) + "\n. 3600 IN DNSKEY " + dnsmsg.RDataText(typeDNSKEY, b.RData()) + "\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(clk)
	s.SetHoldDown(time.Hour)
	if err := s.AddFile(path, false); err != nil {
		t.Fatal(err)
	}
	set, sigs := rootSet(t, clk.Now(), []*dnssec.Key{a}, a)
	s.Observe([]byte{0}, set, sigs, clk.Now())
	if state(s, b.Tag()) != Missing || !anchored(s, b) {
		t.Fatalf("b %q", state(s, b.Tag()))
	}
	if l := fileLine(t, path, b.Tag()); strings.HasPrefix(l, ";") || !strings.Contains(l, "; Missing:") {
		t.Fatalf("key file line %q", l)
	}
	set, sigs = rootSet(t, clk.Now(), []*dnssec.Key{a, b}, a)
	s.Observe([]byte{0}, set, sigs, clk.Now())
	if state(s, b.Tag()) != Valid {
		t.Fatalf("b back: %q", state(s, b.Tag()))
	}
	set, sigs = rootSet(t, clk.Now(), []*dnssec.Key{a}, a)
	s.Observe([]byte{0}, set, sigs, clk.Now())
	clk.Advance(4*time.Hour + time.Second)
	s.Observe([]byte{0}, set, sigs, clk.Now())
	if state(s, b.Tag()) != "" || anchored(s, b) {
		t.Fatalf("b after 4 hold-downs: %q", state(s, b.Tag()))
	}
}

// TestKeyFileMissing: no bootstrap over the internet. A key file that
// does not exist is an error, unless the configuration adds anchors of
// the root, which then seed the file.
func TestKeyFileMissing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "root.keys")
	s := New(nil)
	if err := s.AddFile(path, false); err != nil {
		t.Fatal(err)
	}
	err := s.Check()
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "trust_anchors.add") {
		t.Fatalf("missing key file: %v", err)
	}
	if err := New(nil).AddFile(path, true); err == nil {
		t.Fatal("a missing read-only key file was accepted")
	}

	s = New(nil)
	if err := s.AddFile(path, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(strings.Join(BuiltinRoot(), "\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "DS 20326 8 2 E06D44B8") || !strings.Contains(string(data), "; Valid: ; KeyTag:38696") {
		t.Fatalf("seeded key file:\n%s", data)
	}
	if ks := s.Keysets(); len(ks) != 1 || ks[0].File != path {
		t.Fatalf("keysets %+v", ks)
	}
}

// TestBuiltinAndText: the built-in root anchors (KSK-2017 and KSK-2024),
// replaced by anchors added for the root; add, remove, NTAs, summary.
func TestBuiltinAndText(t *testing.T) {
	s := New(nil)
	got := strings.Join(s.Anchors(), "\n")
	for _, want := range []string{
		". 0 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
		". 0 IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("built-in anchors %q lack %q", got, want)
		}
	}
	if sum := s.Summary(); !strings.Contains(sum, "built-in") || !strings.Contains(sum, "KeyTag:38696") {
		t.Fatalf("summary %q", sum)
	}
	k := testKey(t, 257)
	test := ". 3600 IN DNSKEY " + dnsmsg.RDataText(typeDNSKEY, k.RData())
	if err := s.Add(test); err != nil {
		t.Fatal(err)
	}
	if a := s.Anchors(); len(a) != 1 || a[0] != test {
		t.Fatalf("after add: %v", a)
	}
	if err := s.Add("example. 3600 IN DS 1 8 2 " + strings.Repeat("AB", 32)); err != nil {
		t.Fatal(err)
	}
	if a := s.Anchors(); len(a) != 2 {
		t.Fatalf("two zones: %v", a)
	}
	for _, bad := range []string{"", "example. A 1.2.3.4", ". DS 1 8 2 AB\nexample. DS 1 8 2 AB", "x y z"} {
		if err := s.Add(bad); err == nil {
			t.Errorf("Add(%q) accepted", bad)
		}
	}
	if err := s.SetInsecure([]string{"bad.boy", "example.com"}); err != nil {
		t.Fatal(err)
	}
	if sum := s.Summary(); !strings.Contains(sum, "; negative trust anchor bad.boy") {
		t.Fatalf("summary %q", sum)
	}
	if !s.Remove("EXAMPLE.") || s.Remove("example.") {
		t.Fatal("remove")
	}
	if !s.Remove(".") || len(s.Anchors()) != 0 {
		t.Fatalf("after removing the root: %v", s.Anchors())
	}
}

// TestRefresh: the active refresh happens when due (RFC 5011 §2.3's
// interval, or refresh_time), through the fetcher, on the fake clock.
func TestRefresh(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a := testKey(t, 257)
	path := filepath.Join(t.TempDir(), "root.keys")
	if err := os.WriteFile(path, []byte(". 3600 IN DNSKEY "+dnsmsg.RDataText(typeDNSKEY, a.RData())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(clk)
	if err := s.AddFile(path, false); err != nil {
		t.Fatal(err)
	}
	fetches := 0
	fetch := func(ctx context.Context, z []byte) (*dnsmsg.RRSet, *dnsmsg.RRSet, error) {
		fetches++
		set, sigs := rootSet(t, clk.Now(), []*dnssec.Key{a}, a)
		return set, sigs, nil
	}
	next := s.Refresh(context.Background(), fetch)
	// TTL 172800: half is a day; the signatures expire in 20 days
	if fetches != 1 || next.Sub(clk.Now()) != 24*time.Hour {
		t.Fatalf("fetches %d, next in %v", fetches, next.Sub(clk.Now()))
	}
	s.Refresh(context.Background(), fetch)
	if fetches != 1 {
		t.Fatal("refreshed before it was due")
	}
	s.SetRefreshTime(10 * time.Second)
	next = s.Refresh(context.Background(), fetch)
	if fetches != 2 || next.Sub(clk.Now()) != 10*time.Second {
		t.Fatalf("refresh_time: fetches %d, next in %v", fetches, next.Sub(clk.Now()))
	}
	if len(s.Due(clk.Now().Add(10*time.Second))) != 1 {
		t.Fatal("not due after refresh_time")
	}
}

// TestKeyFileFormats reads the key files anchors meet: kresd's (states
// and timers in comments, untrusted keys commented out), a BIND/unbound
// style file with ( ) and comments, and Debian's /usr/share/dns/root.key.
func TestKeyFileFormats(t *testing.T) {
	k1, k2, k3 := testKey(t, 257), testKey(t, 257), testKey(t, 257)
	rd := func(k *dnssec.Key) string { return dnsmsg.RDataText(typeDNSKEY, k.RData()) }
	dir := t.TempDir()
	kresd := filepath.Join(dir, "kresd.keys")
	text := ". 172800 DNSKEY " + rd(k1) + " ; Valid: ; KeyTag:" + itoa(int(k1.Tag())) + "\n" +
		"; . 172800 DNSKEY " + rd(k2) + " ; AddPend:1767225600 ; KeyTag:" + itoa(int(k2.Tag())) + "\n" +
		". 172800 DNSKEY " + rd(k3) + " ; Missing:1767225601 ; KeyTag:" + itoa(int(k3.Tag())) + "\n" +
		"; a comment that is not a key\n"
	if err := os.WriteFile(kresd, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(nil)
	if err := s.AddFile(kresd, false); err != nil {
		t.Fatal(err)
	}
	timers := map[uint16]int64{}
	for _, k := range s.Keysets()[0].Keys {
		timers[k.Tag] = k.Timer
	}
	if len(timers) != 3 || state(s, k1.Tag()) != Valid || state(s, k2.Tag()) != AddPend || timers[k2.Tag()] != 1767225600 ||
		state(s, k3.Tag()) != Missing || timers[k3.Tag()] != 1767225601 {
		t.Fatalf("kresd key file read as %+v", s.Keysets()[0].Keys)
	}
	if !anchored(s, k1) || anchored(s, k2) || !anchored(s, k3) {
		t.Fatalf("anchors %v", s.Anchors())
	}

	bind := filepath.Join(dir, "bind.keys")
	b64 := strings.Fields(rd(k1))[3]
	text = "; root anchors\n.  IN DNSKEY ( 257 3 15 ; KSK\n  " + b64 + " ) ; key id " + itoa(int(k1.Tag())) + "\n"
	if err := os.WriteFile(bind, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s = New(nil)
	if err := s.AddFile(bind, true); err != nil {
		t.Fatal(err)
	}
	if a := s.Anchors(); len(a) != 1 || !anchored(s, k1) {
		t.Fatalf("BIND-style file: %v", a)
	}

	const debian = "/usr/share/dns/root.key"
	if _, err := os.Stat(debian); err != nil {
		t.Logf("%s not installed: not read", debian)
		return
	}
	s = New(nil)
	if err := s.AddFile(debian, true); err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, k := range s.Keysets()[0].Keys {
		tags = append(tags, itoa(int(k.Tag))+":"+string(k.State))
	}
	if got := strings.Join(tags, " "); !strings.Contains(got, "20326:Valid") {
		t.Fatalf("%s read as %s", debian, got)
	}
}

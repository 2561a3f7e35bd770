package authority

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/clock"
	"ljdns/dnsmsg"
	"ljdns/dnssec"
	"ljdns/validator"
)

const onlineKSK = "online.test. 3600 IN DNSKEY 257 3 13 8GCji7h4b/PWI7VB1Jg1sb7sSYqyDEvdW41nLIvlZEtyNEmGRL7KD0KwdlQojrCxpTKqxQ9HqXs8+UrSm44dvQ=="

// onlineZone loads testdata/online.test.zone signed on line with the keys
// of testdata/keys/<dir>.
func onlineZone(t testing.TB, dir string, opt SignOptions) (*Zone, *Signer) {
	t.Helper()
	z, err := LoadZone("online.test.", "testdata/online.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadKeys("online.test.", nil, filepath.Join("testdata/keys", dir), z.DNSKEY())
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner("online.test.", keys, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := z.Sign(s); err != nil {
		t.Fatal(err)
	}
	return z, s
}

func onlineEngine(t testing.TB, opt SignOptions) (*Engine, *Signer) {
	t.Helper()
	z, s := onlineZone(t, "ecdsa", opt)
	e := New(Options{})
	e.Add(z)
	return e, s
}

// exchange asks e name/qtype with DO and CD over TCP (no truncation).
func exchange(t testing.TB, e *Engine, name string, qt uint16) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, qt)
	q.SetEdns0(4096, true)
	q.CheckingDisabled = true
	w, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(e.Answer(w, true)); err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qt], err)
	}
	return m
}

func toPacket(t testing.TB, m *dns.Msg) *dnsmsg.Packet {
	t.Helper()
	w, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	p := dnsmsg.NewPacketFrom(len(w), w)
	if code := p.Parse(false); code != 0 {
		t.Fatalf("answer does not parse: %s", dnsmsg.StrError(code))
	}
	return p
}

// engineFetcher asks e, as a validator's transport would.
func engineFetcher(t testing.TB, e *Engine) validator.Fetcher {
	return func(_ context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error) {
		return toPacket(t, exchange(t, e, nameText(name), qtype)), nil
	}
}

func newValidator(t testing.TB, clk clock.Clock) *validator.Validator {
	t.Helper()
	v, err := validator.New(validator.Config{Anchors: []string{onlineKSK}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// onlineCases are the questions every denial mode must answer securely,
// with the rcode of each (NXDOMAIN is NOERROR with compact denial).
var onlineCases = []struct {
	name  string
	qt    uint16
	rcode int // with white lies
	kind  string
}{
	{"www.online.test.", dns.TypeA, 0, "positive"},
	{"WWW.Online.Test.", dns.TypeAAAA, 0, "positive"},
	{"online.test.", dns.TypeMX, 0, "positive"},
	{"online.test.", dns.TypeDNSKEY, 0, "positive"},
	{"online.test.", dns.TypeSOA, 0, "positive"},
	{"alias.online.test.", dns.TypeA, 0, "positive"},
	{"secure.online.test.", dns.TypeDS, 0, "positive"},
	{"www.online.test.", dns.TypeMX, 0, "nodata"},
	{"online.test.", dns.TypeA, 0, "nodata"},
	{"b.ent.online.test.", dns.TypeA, 0, "nodata"},
	{"ent.online.test.", dns.TypeTXT, 0, "nodata"},
	{"sub.online.test.", dns.TypeDS, 0, "nodata"},
	{"alias.online.test.", dns.TypeMX, 0, "nodata"},
	{"nx.online.test.", dns.TypeA, dns.RcodeNameError, "nxdomain"},
	{"a.b.nx.online.test.", dns.TypeA, dns.RcodeNameError, "nxdomain"},
	{"zz.b.ent.online.test.", dns.TypeA, dns.RcodeNameError, "nxdomain"},
	{"\\000.www.online.test.", dns.TypeA, dns.RcodeNameError, "nxdomain"},
	{"a.*.wild.online.test.", dns.TypeA, dns.RcodeNameError, "nxdomain"},
	{"x.wild.online.test.", dns.TypeA, 0, "wildcard"},
	{"a.b.wild.online.test.", dns.TypeTXT, 0, "wildcard"},
	{"x.wild.online.test.", dns.TypeAAAA, 0, "wildcard nodata"},
}

// TestOnlineValidated asks every case of a zone signed on line (white lies
// and compact denial) and validates the answer with validator/, trust
// anchor the zone's KSK: each must be secure, with the expected rcode and
// the proof records of its kind.
func TestOnlineValidated(t *testing.T) {
	for _, d := range []Denial{WhiteLies, Compact} {
		t.Run(d.String(), func(t *testing.T) {
			e, _ := onlineEngine(t, SignOptions{Denial: d})
			v := newValidator(t, nil)
			fetch := engineFetcher(t, e)
			for _, c := range onlineCases {
				m := exchange(t, e, c.name, c.qt)
				res := v.Validate(context.Background(), nil, toPacket(t, m), fetch)
				want := c.rcode
				if d == Compact {
					want = 0
				}
				if res.Security != validator.Secure || m.Rcode != want {
					t.Errorf("%s %s: %s, rcode %s (want secure, %s)\n%v", c.name, dns.TypeToString[c.qt], res,
						dns.RcodeToString[m.Rcode], dns.RcodeToString[want], m)
					continue
				}
				checkProof(t, d, c.kind, c.name, m)
			}
		})
	}
}

// checkProof checks the shape of the denial records: white lies cover
// only names that do not exist; compact denial has one NSEC at the name.
func checkProof(t *testing.T, d Denial, kind, name string, m *dns.Msg) {
	t.Helper()
	var nsecs []*dns.NSEC
	for _, rr := range m.Ns {
		if n, ok := rr.(*dns.NSEC); ok {
			nsecs = append(nsecs, n)
		}
	}
	lname := strings.ToLower(name)
	switch {
	case kind == "positive" || (kind == "wildcard" && d == Compact):
		if len(nsecs) != 0 {
			t.Errorf("%s: %d NSEC in a positive answer", name, len(nsecs))
		}
	case d == Compact:
		if len(nsecs) != 1 || (strings.ToLower(nsecs[0].Hdr.Name) != lname && !strings.HasPrefix(lname, "alias.")) {
			t.Errorf("%s: compact denial wants one NSEC at the name, got %v", name, nsecs)
			return
		}
		nx := false
		for _, ty := range nsecs[0].TypeBitMap {
			nx = nx || ty == typeNXNAME
		}
		if nx != (kind == "nxdomain") {
			t.Errorf("%s: NXNAME %v in %v", name, nx, nsecs[0])
		}
	case kind == "nxdomain":
		if len(nsecs) != 2 {
			t.Errorf("%s: %d NSEC, want 2 (next closer, wildcard)", name, len(nsecs))
		}
	case kind == "wildcard":
		if len(nsecs) != 1 {
			t.Errorf("%s: %d NSEC, want 1 (next closer)", name, len(nsecs))
		}
	}
	for _, n := range nsecs {
		// a white lie never names a name of the zone as next name
		if zoneNames[strings.ToLower(n.NextDomain)] {
			t.Errorf("%s: NSEC reveals %s", name, n.NextDomain)
		}
	}
}

// zoneNames are the names of testdata/online.test.zone.
var zoneNames = map[string]bool{}

func init() {
	for _, n := range []string{"", "ns.", "mail.", "www.", "alias.", "*.wild.", "wild.", "a.b.ent.", "b.ent.", "ent.",
		"sub.", "ns.sub.", "secure.", "ns.secure.", "dn."} {
		zoneNames[n+"online.test."] = true
	}
}

// TestOnlineBogus breaks each kind of answer (a signature byte, a proof
// dropped, a proof moved) and checks that the validator says bogus: the
// secure verdicts of TestOnlineValidated rest on the signatures and
// proofs the engine makes.
func TestOnlineBogus(t *testing.T) {
	e, _ := onlineEngine(t, SignOptions{})
	v := newValidator(t, nil)
	fetch := engineFetcher(t, e)
	// flipSig changes the signature of the first RRSIG over an A set or
	// an NSEC
	flipSig := func(m *dns.Msg) {
		for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
			for _, rr := range sec {
				if s, ok := rr.(*dns.RRSIG); ok && (s.TypeCovered == dns.TypeA || s.TypeCovered == dns.TypeNSEC) {
					b := []byte(s.Signature)
					if b[3] == 'A' {
						b[3] = 'B'
					} else {
						b[3] = 'A'
					}
					s.Signature = string(b)
					return
				}
			}
		}
	}
	// dropNSEC removes the i-th NSEC of authority and its RRSIG
	dropNSEC := func(i int) func(m *dns.Msg) {
		return func(m *dns.Msg) {
			var owner string
			n := 0
			for _, rr := range m.Ns {
				if rr.Header().Rrtype == dns.TypeNSEC {
					if n == i {
						owner = rr.Header().Name
					}
					n++
				}
			}
			if owner == "" {
				t.Fatalf("no NSEC %d in\n%v", i, m)
			}
			var keep []dns.RR
			for _, rr := range m.Ns {
				sig, _ := rr.(*dns.RRSIG)
				if rr.Header().Name == owner && (rr.Header().Rrtype == dns.TypeNSEC || sig != nil && sig.TypeCovered == dns.TypeNSEC) {
					continue
				}
				keep = append(keep, rr)
			}
			m.Ns = keep
		}
	}
	for _, c := range []struct {
		name   string
		qt     uint16
		break_ string
		edit   func(*dns.Msg)
	}{
		{"www.online.test.", dns.TypeA, "signature", flipSig},
		{"nx.online.test.", dns.TypeA, "signature", flipSig},
		{"nx.online.test.", dns.TypeA, "next closer proof dropped", dropNSEC(0)},
		{"nx.online.test.", dns.TypeA, "wildcard proof dropped", dropNSEC(1)},
		{"www.online.test.", dns.TypeMX, "NODATA proof dropped", dropNSEC(0)},
		{"x.wild.online.test.", dns.TypeA, "wildcard expansion proof dropped", dropNSEC(0)},
		{"x.wild.online.test.", dns.TypeAAAA, "wildcard NODATA proof dropped", dropNSEC(0)},
	} {
		m := exchange(t, e, c.name, c.qt)
		c.edit(m)
		res := v.Validate(context.Background(), nil, toPacket(t, m), fetch)
		if res.Security != validator.Bogus {
			t.Errorf("%s %s, %s: %s, want bogus\n%v", c.name, dns.TypeToString[c.qt], c.break_, res, m)
		}
	}
	// A proof made for the question only, not for the next closer name:
	// the white lie of a.b.nx must cover nx.online.test (and its subtree),
	// or a validator finds the wrong closest encloser.
	s := e.Zone([]byte("\x06online\x04test\x00")).Signer()
	m := exchange(t, e, "a.b.nx.online.test.", dns.TypeA)
	wrong := s.CoverNSEC(mustWire(t, "a.b.nx.online.test."), 300)
	sig, err := s.Sign(wrong)
	if err != nil {
		t.Fatal(err)
	}
	dropNSEC(0)(m)
	m.Ns = append(m.Ns, rrOf(t, wrong), rrOf(t, sig))
	if res := v.Validate(context.Background(), nil, toPacket(t, m), fetch); res.Security != validator.Bogus {
		t.Errorf("a.b.nx covered by a white lie of the question itself: %s, want bogus\n%v", res, m)
	}
}

func mustWire(t testing.TB, s string) []byte {
	n, err := dnsmsg.NameFromText(s)
	if err != nil {
		t.Fatal(err)
	}
	return n.Wire
}

// rrOf converts the first record of set to a miekg/dns RR.
func rrOf(t testing.TB, set *dnsmsg.RRSet) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(strings.Split(set.String(), "\n")[0])
	if err != nil {
		t.Fatalf("%s: %v", set, err)
	}
	return rr
}

// TestOnlineAnswers checks what signing on line changes in answers: no
// RRSIG without DO, NXDOMAIN kept without DO in compact mode, glue and
// referral NS unsigned, the insecure delegation proved by an NSEC at the
// cut, qtype RRSIG and NSEC answered.
func TestOnlineAnswers(t *testing.T) {
	e, _ := onlineEngine(t, SignOptions{Denial: Compact})
	plain := ask(t, e, "nx.online.test.", dns.TypeA, false, false)
	if plain.Rcode != dns.RcodeNameError || strings.Contains(rrs(plain.Ns), "RRSIG") {
		t.Errorf("compact denial without DO:\n%v", plain)
	}
	if m := ask(t, e, "www.online.test.", dns.TypeA, false, false); len(m.Answer) != 1 {
		t.Errorf("without DO:\n%v", m)
	}
	if m := ask(t, e, "www.online.test.", typeNXNAME, true, false); m.Rcode != dns.RcodeFormatError {
		t.Errorf("qtype NXNAME with compact denial:\n%v", m)
	}
	e, _ = onlineEngine(t, SignOptions{})
	m := ask(t, e, "www.sub.online.test.", dns.TypeA, true, false)
	if m.Authoritative || strings.Contains(rrs(m.Ns), "RRSIG NS 13") || strings.Contains(rrs(m.Extra), "RRSIG") ||
		!strings.Contains(rrs(m.Ns), "sub.online.test. 300 IN NSEC \\000.sub.online.test. NS RRSIG NSEC") {
		t.Errorf("insecure referral:\n%v", m)
	}
	m = ask(t, e, "www.secure.online.test.", dns.TypeA, true, false)
	if !strings.Contains(rrs(m.Ns), "RRSIG DS 13 3 3600") || strings.Contains(rrs(m.Ns), "NSEC") {
		t.Errorf("secure referral:\n%v", m)
	}
	m = ask(t, e, "www.online.test.", dns.TypeRRSIG, false, false)
	if len(m.Answer) != 1 || !strings.Contains(rrs(m.Answer), "RRSIG A 13 3 3600") {
		t.Errorf("qtype RRSIG:\n%v", m)
	}
	m = ask(t, e, "www.online.test.", dns.TypeNSEC, true, false)
	if !strings.Contains(rrs(m.Answer), "www.online.test. 300 IN NSEC \\000.www.online.test. A TXT AAAA RRSIG NSEC") ||
		!strings.Contains(rrs(m.Answer), "RRSIG NSEC") {
		t.Errorf("qtype NSEC:\n%v", m)
	}
	m = ask(t, e, "online.test.", dns.TypeDNSKEY, true, false)
	if len(m.Answer) != 3 || !strings.Contains(rrs(m.Answer), "RRSIG DNSKEY 13 2 3600") ||
		!strings.Contains(rrs(m.Answer), " 46593 online.test.") {
		t.Errorf("DNSKEY (the ZSK added from its .key file, signed by the KSK 46593):\n%v", m)
	}
}

// TestOnlineCacheRefresh: a cached signature is made again once less than
// Refresh plus the TTL of its validity is left, and served until then.
func TestOnlineCacheRefresh(t *testing.T) {
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	e, s := onlineEngine(t, SignOptions{Clock: clk, Lifetime: 10 * 24 * time.Hour, Refresh: 2 * 24 * time.Hour})
	sigOf := func() *dns.RRSIG {
		m := exchange(t, e, "www.online.test.", dns.TypeA)
		for _, rr := range m.Answer {
			if s, ok := rr.(*dns.RRSIG); ok {
				return s
			}
		}
		t.Fatalf("no RRSIG:\n%v", m)
		return nil
	}
	first := sigOf()
	if got, want := first.Inception, uint32(start.Add(-time.Hour).Unix()); got != want {
		t.Errorf("inception %d, want %d (an hour back)", got, want)
	}
	if got, want := first.Expiration, uint32(start.Add(10*24*time.Hour).Unix()); got != want {
		t.Errorf("expiration %d, want %d", got, want)
	}
	signed := s.Stats().Signed
	// refresh at expiration - 2 days - 3600 s (the set's TTL)
	clk.Advance(8*24*time.Hour - time.Hour - time.Second)
	if sigOf().Inception != first.Inception || s.Stats().Signed != signed {
		t.Errorf("signature made again before its refresh time")
	}
	clk.Advance(time.Second)
	again := sigOf()
	if again.Inception == first.Inception || s.Stats().Signed != signed+1 {
		t.Errorf("signature not refreshed at its refresh time: inception %d", again.Inception)
	}
	v := newValidator(t, clk)
	if res := v.Validate(context.Background(), nil, toPacket(t, exchange(t, e, "www.online.test.", dns.TypeA)),
		engineFetcher(t, e)); res.Security != validator.Secure {
		t.Errorf("after the refresh: %s", res)
	}
}

// TestSignCacheLimit: the cache holds at most about CacheEntries sets.
func TestSignCacheLimit(t *testing.T) {
	_, s := onlineZone(t, "ecdsa", SignOptions{CacheEntries: 64})
	for i := range 1000 {
		rr := dnssec.NSEC(mustWire(t, "x.online.test."), mustWire(t, "y.online.test."), uint32(i), []uint16{1})
		if _, err := s.Sign(rr); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Stats().Cached; n > 64 || n < 32 {
		t.Errorf("%d sets cached, limit 64", n)
	}
	_, off := onlineZone(t, "ecdsa", SignOptions{CacheEntries: -1})
	rr := dnssec.NSEC(mustWire(t, "x.online.test."), mustWire(t, "y.online.test."), 1, []uint16{1})
	off.Sign(rr)
	off.Sign(rr)
	if st := off.Stats(); st.Signed != 2 || st.Cached != 0 {
		t.Errorf("cache off: %+v", st)
	}
}

// TestSignKeys: keys from files and a key_dir, flags from the .key file or
// the zone's DNSKEY, and the errors.
func TestSignKeys(t *testing.T) {
	z, err := LoadZone("online.test.", "testdata/online.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// the KSK without its .key file: flags from the zone's DNSKEY
	data, err := os.ReadFile("testdata/keys/ecdsa/Konline.test.+013+46593.private")
	if err != nil {
		t.Fatal(err)
	}
	ksk := filepath.Join(dir, "Konline.test.+013+46593.private")
	os.WriteFile(ksk, data, 0o600)
	keys, err := LoadKeys("online.test.", []string{strings.TrimSuffix(ksk, ".private"),
		"testdata/keys/ecdsa/Konline.test.+013+63410.private"}, "testdata/keys/ecdsa", z.DNSKEY())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Flags != 257 || keys[0].Tag() != 46593 || keys[1].Flags != 256 || keys[1].Tag() != 63410 {
		t.Errorf("keys: %d, flags %v", len(keys), keys)
	}
	// the ZSK without .key and not in the zone: its flags are unknown
	zsk, _ := os.ReadFile("testdata/keys/ecdsa/Konline.test.+013+63410.private")
	os.WriteFile(filepath.Join(dir, "Konline.test.+013+63410.private"), zsk, 0o600)
	if _, err := LoadKeys("online.test.", nil, dir, z.DNSKEY()); err == nil || !strings.Contains(err.Error(), "flags") {
		t.Errorf("a key of unknown flags: %v", err)
	}
	if _, err := LoadKeys("other.test.", nil, "testdata/keys/ecdsa", nil); err == nil {
		t.Error("no key of other.test in the directory: no error")
	}
	if _, err := NewSigner("other.test.", keys, SignOptions{}); err == nil {
		t.Error("keys of online.test for other.test: no error")
	}
	// a pre-signed zone refuses keys
	signed, err := LoadZone("example.test.", "testdata/example.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner("example.test.", []*dnssec.Key{keyCopy(t, keys[1])}, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := signed.Sign(s); err == nil && signed.Signed {
		t.Error("a zone with RRSIGs signed on line")
	}
	if _, err := ParseDenial("black"); err == nil {
		t.Error("ParseDenial(black): no error")
	}
}

func keyCopy(t testing.TB, k *dnssec.Key) *dnssec.Key {
	pem, err := k.PrivateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	c := dnssec.NewKey()
	if err := c.SetAlgorithm(k.Algo); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPrivateKey(pem); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOnlineReload: a Reload of the file keeps the zone signed on line.
func TestOnlineReload(t *testing.T) {
	dir := t.TempDir()
	src, _ := os.ReadFile("testdata/online.test.zone")
	path := filepath.Join(dir, "online.test.zone")
	os.WriteFile(path, src, 0o644)
	z, err := LoadZone("online.test.", path)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadKeys("online.test.", nil, "testdata/keys/ecdsa", z.DNSKEY())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewSigner("online.test.", keys, SignOptions{})
	if err := z.Sign(s); err != nil {
		t.Fatal(err)
	}
	e := New(Options{})
	e.Add(z)
	os.WriteFile(path, append(src, "new A 192.0.2.7\n"...), 0o644)
	if errs := e.Reload(true); len(errs) > 0 {
		t.Fatal(errs)
	}
	m := ask(t, e, "new.online.test.", dns.TypeA, true, false)
	if len(m.Answer) != 2 || e.Zone(z.Origin).Signer() != s {
		t.Errorf("after reload:\n%v", m)
	}
}

// TestWhiteLieOwner: a white lie is owned by a short name just before the
// next closer name ("nw\255" for "nx"), unless a name of the zone lies
// between the two: then by the RFC 4471 predecessor; both validate.
func TestWhiteLieOwner(t *testing.T) {
	src, err := os.ReadFile("testdata/online.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ extra, owner string }{
		{"", `nw\255.online.test.`},
		{`a.nw\255 A 192.0.2.1` + "\n", `\255`}, // a name between nw\255 and nx: the long predecessor
		{`mx A 192.0.2.1` + "\n", `nw\255.online.test.`},
	} {
		z, err := ParseZone("online.test.", strings.NewReader(string(src)+c.extra), "online")
		if err != nil {
			t.Fatal(err)
		}
		keys, err := LoadKeys("online.test.", nil, "testdata/keys/ecdsa", z.DNSKEY())
		if err != nil {
			t.Fatal(err)
		}
		s, _ := NewSigner("online.test.", keys, SignOptions{})
		if err := z.Sign(s); err != nil {
			t.Fatal(err)
		}
		e := New(Options{})
		e.Add(z)
		m := exchange(t, e, "nx.online.test.", dns.TypeA)
		var owner string
		for _, rr := range m.Ns {
			if n, ok := rr.(*dns.NSEC); ok && n.NextDomain == `nx\000.online.test.` {
				owner = n.Hdr.Name
			}
		}
		if !strings.HasPrefix(owner, c.owner) {
			t.Errorf("zone + %q: owner %q, want %q...", c.extra, owner, c.owner)
		}
		if res := newValidator(t, nil).Validate(context.Background(), nil, toPacket(t, m), engineFetcher(t, e)); res.Security != validator.Secure {
			t.Errorf("zone + %q: %s\n%v", c.extra, res, m)
		}
	}
}

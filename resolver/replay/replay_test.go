package replay

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ljdns/dnsmsg"
)

// stub is a resolver for the runner's tests: it asks the first root hint
// the question itself, without recursion, once.
type stub struct {
	st    *Settings
	times []time.Time
}

func (s *stub) Resolve(ctx context.Context, q Query) (*dnsmsg.Packet, error) {
	s.times = append(s.times, s.st.Clock.Now())
	p := dnsmsg.NewPacket(512)
	p.SetQuestion(q.Name, q.Type, q.Class)
	p.Begin(dnsmsg.SectionAR)
	opt := dnsmsg.NewOPT(0, 1232)
	dnsmsg.SetOPTDo(opt, q.DO)
	p.Put(opt, false)
	server := s.st.Roots[0].Addrs[0]
	return s.st.Exchange(ctx, netipPort(server), p.Copy(), false)
}

func stubRunner(t *testing.T, last **stub) *Runner {
	return &Runner{New: func(st *Settings) (Resolver, error) {
		s := &stub{st: st}
		*last = s
		return s, nil
	}}
}

func TestRunStub(t *testing.T) {
	var s *stub
	r := stubRunner(t, &s)
	res := r.RunFile("testdata/stub.rpl")
	if res.Status != Pass {
		t.Fatalf("%v", res)
	}
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if len(s.times) != 6 || !s.times[0].Equal(start) || !s.times[3].Equal(start.Add(time.Hour)) {
		t.Errorf("resolver saw times %v, want 6 queries from %v, the 4th an hour later", s.times, start)
	}
}

// TestRunStubFailures changes one expectation at a time: each must fail,
// naming the step.
func TestRunStubFailures(t *testing.T) {
	base, err := os.ReadFile("testdata/stub.rpl")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ old, new, want string }{
		{"WWW.example.com. IN A 10.0.0.2", "www.example.com. IN A 10.0.0.4", "step 11 (line"},
		{"REPLY QR RD RA NOERROR", "REPLY QR RD RA AD NOERROR", "step 11 (line 61): flags: expected QR RD RA AD, got QR RD RA"},
		{"example.com. IN NS NS.example.com.", "", "step 11 (line 61): authority"},
		{"REPLY QR RD RA NXDOMAIN", "REPLY QR RD RA NOERROR", "step 13 (line 81): rcode: expected NOERROR, got NXDOMAIN"},
		{"www.example.com. IN A 10.0.0.3\nENTRY_END\n\n;", "www.example.com. IN A 10.0.0.1\nENTRY_END\n\n;", "step 21"},
		{"ADJUST copy_id\nREPLY QR AA NOERROR\nSECTION QUESTION\nonce", "REPLY QR AA NOERROR\nSECTION QUESTION\nonce", "step 31"},
		{"MATCH opcode subdomain\nADJUST copy_id copy_query", "MATCH opcode subdomain\nADJUST copy_id", "step 13"},
		{"ENTRY_BEGIN\nMATCH opcode qtype qname\nREPLY QR AA NOERROR\nSECTION QUESTION\nnoid", "ENTRY_BEGIN\nMANDATORY\nMATCH opcode qtype qname\nREPLY QR AA NOERROR\nSECTION QUESTION\nnoidx", "MANDATORY entry at line 32"},
	} {
		text := strings.Replace(string(base), c.old, c.new, 1)
		if text == string(base) {
			t.Fatalf("%q not in the scenario", c.old)
		}
		sc, err := Parse("stub.rpl", strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		var s *stub
		res := stubRunner(t, &s).Run(sc)
		if res.Status != Fail || !strings.Contains(res.Reason, c.want) {
			t.Errorf("%q -> %q: got %v, want a failure with %q", c.old, c.new, res, c.want)
		}
	}
}

func TestRunSkipAndUnsupported(t *testing.T) {
	r := &Runner{New: func(st *Settings) (Resolver, error) { return nil, &Unsupported{"forwarding"} },
		Skip: map[string]string{"x.rpl": "no reason"}}
	if res := r.RunFile("dir/x.rpl"); res.Status != Skip || res.String() != "SKIP dir/x.rpl: no reason" {
		t.Errorf("skip list: %v", res)
	}
	if res := r.RunFile("testdata/stub.rpl"); res.Status != Skip || !strings.Contains(res.Reason, "forwarding") {
		t.Errorf("unsupported: %v", res)
	}
	r.New = func(st *Settings) (Resolver, error) { return nil, errors.New("boom") }
	if res := r.RunFile("testdata/stub.rpl"); res.Status != Fail {
		t.Errorf("factory error: %v", res)
	}
	if !strings.HasPrefix(skipText, "# ") {
		t.Error("skip.txt is not embedded") // the list itself may be empty
	}
	for name, why := range SkipList() {
		if !strings.HasSuffix(name, ".rpl") || why == "" {
			t.Errorf("skip.txt: %q %q: want 'file.rpl reason'", name, why)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good := "stub-addr: 1.2.3.4\nCONFIG_END\nSCENARIO_BEGIN t\nSTEP 1 QUERY\nENTRY_BEGIN\nREPLY RD\nSECTION QUESTION\n. IN NS\nENTRY_END\nSCENARIO_END\n"
	if _, err := Parse("g.rpl", strings.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ text, want string }{
		{"stub-addr 1.2.3.4\nCONFIG_END\n", "b.rpl:1: config line"},
		{"CONFIG_END\n", "b.rpl:1: SCENARIO_BEGIN expected"},
		{"CONFIG_END\nSCENARIO_BEGIN\n", "b.rpl:2: no SCENARIO_END"},
		{"CONFIG_END\nSCENARIO_BEGIN\nFOO\n", "b.rpl:3: unexpected \"FOO\""},
		{"CONFIG_END\nSCENARIO_BEGIN\nSTEP x QUERY\n", "b.rpl:3: bad STEP number"},
		{"CONFIG_END\nSCENARIO_BEGIN\nSTEP 1 JUMP\n", "b.rpl:3: unknown STEP type"},
		{"CONFIG_END\nSCENARIO_BEGIN\nSTEP 1 TIME_PASSES ELAPSE -3\n", "b.rpl:3: bad ELAPSE"},
		{"CONFIG_END\nSCENARIO_BEGIN\nSTEP 1 QUERY\nSTEP 2 QUERY\n", "b.rpl:4: STEP 1 QUERY needs an ENTRY"},
		{"CONFIG_END\nSCENARIO_BEGIN\nRANGE_BEGIN 0\n", "b.rpl:3: RANGE_BEGIN needs"},
		{"CONFIG_END\nSCENARIO_BEGIN\nRANGE_BEGIN 0 1\nADDRESS 1.2.3\n", "b.rpl:4: bad ADDRESS"},
		{"CONFIG_END\nSCENARIO_BEGIN\nRANGE_BEGIN 0 1\nENTRY_BEGIN\nMATCH qname bogus\n", "b.rpl:5: unknown MATCH element \"bogus\""},
		{"CONFIG_END\nSCENARIO_BEGIN\nRANGE_BEGIN 0 1\nENTRY_BEGIN\nADJUST copy_everything\n", "b.rpl:5: unknown ADJUST"},
		{"CONFIG_END\nSCENARIO_BEGIN\nRANGE_BEGIN 0 1\nENTRY_BEGIN\nREPLY QR XX\n", "b.rpl:5: unknown REPLY element \"XX\""},
		{"CONFIG_END\nSCENARIO_BEGIN\nRANGE_BEGIN 0 1\nENTRY_BEGIN\n\n; c\nSECTION ANSWER\nx. IN A 1.2.3.999\n", "b.rpl:8: bad record"},
		{"CONFIG_END\nSCENARIO_BEGIN\nRANGE_BEGIN 0 1\nENTRY_BEGIN\nSECTION QUESTION\nx. IN BOGUS\n", "b.rpl:6: bad question type"},
		{"CONFIG_END\nSCENARIO_BEGIN\nRANGE_BEGIN 0 1\nENTRY_BEGIN\nx. IN A 1.2.3.4\n", "b.rpl:5: unexpected \"x.\" in ENTRY (no SECTION yet)"},
		{"CONFIG_END\nSCENARIO_BEGIN\nRANGE_BEGIN 0 1\nENTRY_BEGIN\nRAW\nzz\n", "b.rpl:6: RAW data is not hexadecimal"},
		{"CONFIG_END\nSCENARIO_BEGIN\nRANGE_BEGIN 0 1\nENTRY_BEGIN\n", "b.rpl:4: no ENTRY_END"},
		{"CONFIG_END\nSCENARIO_BEGIN\nSCENARIO_END\nmore\n", "b.rpl:4: text after SCENARIO_END"},
		{good[:len(good)-13] + "STEP 1 QUERY\nENTRY_BEGIN\nENTRY_END\nSCENARIO_END\n", "b.rpl:10: STEP 1 already defined at line 4"},
	} {
		_, err := Parse("b.rpl", strings.NewReader(c.text))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.text, err, c.want)
		}
	}
}

func TestParseEntry(t *testing.T) {
	text := `CONFIG_END
SCENARIO_BEGIN t
RANGE_BEGIN 0 100 192.0.2.1 ; first address
	ADDRESS 2001:db8::1
ENTRY_BEGIN
MATCH all
ADJUST copy_id copy_query raw_id
REPLY QR AA TC RD RA AD CD DO NXDOMAIN
SECTION QUESTION
example. CH TYPE65535
SECTION ANSWER
relative TXT "a;b" ; comment
x.example. IN NSEC y.example. RRSIG NS A
SECTION ADDITIONAL
RAW
  00 01 02
ENTRY_END
RANGE_END
SCENARIO_END`
	s, err := Parse("t.rpl", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	rg := s.Ranges[0]
	if len(rg.Addrs) != 2 || rg.Addrs[0].String() != "192.0.2.1" || rg.Addrs[1].String() != "2001:db8::1" {
		t.Errorf("addresses %v", rg.Addrs)
	}
	e := rg.Entries[0]
	if len(e.Match) != len(matchAll) || !e.CopyID || !e.CopyQuery || !e.RawID || !e.DO || e.Rcode != 3 ||
		e.Flags != flagMask || e.Question[0].Class != 3 || e.Question[0].Type != 65535 || string(e.Raw) != "\x00\x01\x02" {
		t.Errorf("entry %+v", e)
	}
	an := e.Sections[0]
	if len(an) != 2 || string(an[0].Owner) != "\x08relative\x00" || string(an[0].RData) != "\x03a;b" || an[0].TTL != 3600 {
		t.Errorf("answer %+v", an)
	}
	// the NSEC type list was given out of order
	if _, rd, err := dnsmsg.ParseRData("NSEC y.example. A NS RRSIG"); err != nil || string(rd) != string(an[1].RData) {
		t.Errorf("NSEC %x, want %x (%v)", an[1].RData, rd, err)
	}
}

// TestParseDeckardSets parses every shared scenario.
func TestParseDeckardSets(t *testing.T) {
	files := deckardSets(t)
	for _, f := range files {
		s, err := ParseFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		if len(s.Steps) == 0 {
			t.Errorf("%s: no steps", f)
		}
		if _, err := MapConfig(s, time.Now()); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// deckardSets returns the shared Deckard scenarios: $LJDNS_DECKARD_SETS,
// or shared/deckard/sets in a parent folder of the package (the
// repository's sibling ../shared); it skips the test without them.
func deckardSets(t testing.TB) []string {
	dir := os.Getenv("LJDNS_DECKARD_SETS")
	if dir == "" {
		wd, _ := os.Getwd()
		for d := wd; filepath.Dir(d) != d; d = filepath.Dir(d) {
			if st, err := os.Stat(filepath.Join(d, "shared/deckard/sets")); err == nil && st.IsDir() {
				dir = filepath.Join(d, "shared/deckard/sets")
				break
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.rpl"))
	if len(files) == 0 {
		t.Skip("no Deckard scenarios (shared/deckard/sets above the package, or LJDNS_DECKARD_SETS)")
	}
	return files
}

func TestMapConfig(t *testing.T) {
	text := `harden-glue: "no"
query-minimization: off
do-not-query-localhost: off
stub-addr: 193.0.14.129 # K
stub-name: rootns.
domain-insecure: example.com
trust-anchor: ". IN DS 1 8 2 AB"
val-override-date: 20170201163631
do-ip6: no
features: min_ttl = 300; dns64_prefix = 64:ff9b::
feature-list: policy=policy.add(x)
forward-addr: 192.0.2.1
CONFIG_END
SCENARIO_BEGIN x
SCENARIO_END
`
	s, err := Parse("c.rpl", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	st, err := MapConfig(s, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.HardenGlue || !st.NoMinimize || !st.AllowLocal || !st.NoIPv6 || st.NoIPv4 ||
		len(st.Roots) != 1 || st.Roots[0].Name != "rootns." || st.Roots[0].Addrs[0].String() != "193.0.14.129" ||
		len(st.NTA) != 1 || st.Anchors[0] != ". IN DS 1 8 2 AB" ||
		!st.Start.Equal(time.Date(2017, 2, 1, 16, 36, 31, 0, time.UTC)) ||
		st.Features["min_ttl"] != "300" || st.Features["dns64_prefix"] != "64:ff9b::" ||
		st.FeatureList["policy"][0] != "policy.add(x)" || st.Forward[0].String() != "192.0.2.1:53" {
		t.Errorf("%+v", st)
	}
	s.Config = append(s.Config, ConfigEntry{Key: "target-fetch-policy", Value: "0", Line: 3})
	if _, err := MapConfig(s, time.Now()); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("unknown key: %v", err)
	}
	st, _ = MapConfig(&Scenario{}, time.Unix(5, 0))
	if !st.HardenGlue || st.NoMinimize || st.AllowLocal || st.Roots != nil || st.Start.Unix() != 5 {
		t.Errorf("defaults %+v", st)
	}
}

func netipPort(a netip.Addr) netip.AddrPort { return netip.AddrPortFrom(a, 53) }

// TestRootKeyTags: the key tags ta_sentinel compares come from the root's
// DS anchors as written and from its DNSKEY anchors hashed; other zones'
// anchors are left out.
func TestRootKeyTags(t *testing.T) {
	key := "AwEAAagAIKlVZrpC6Ia7gEzahOR+9W29euxhJhVVLOyQbSEW0O8gcCjFFVQUTf6v58fLjwBd0YI0EzrAcQqBGCzh/RStIoO8g0NfnfL2MTJRkxoXbfDaUeVPQuYEhg37NZWAJQ9VnMVDxP/VHL496M/QZxkjf5/Efucp2gaDX6RS6CXpoY68LsvPVjR0ZSwzz1apAzvN9dlzEheX7ICJBBtuA6G3LQpzW5hOA2hzCTMjJPJ8LbqF6dsV6DoBQzgul0sGIcGOYl7OyQdXfZ57relSQageu+ipAdTTJ25AsRTAoub8ONGcLmqrAmRLKBP1dfwhYB4N7knNnulqQxA+Uk1ihz0="
	got := rootKeyTags([]string{
		". IN DS 48409 8 2 3D63A0C25BCE86621DE63636F11B35B908EFE8E9381E0E3E9DEFD89EA952C27D",
		"example. IN DS 4759 8 2 3384CAE149834F17054DD9150E8C33D3979C4092F5C1B8D35E17A3C36A83810F",
		". 3600 IN DNSKEY 257 3 8 ( " + key + " )",
	})
	if len(got) != 2 || got[0] != 48409 || got[1] != 19036 {
		t.Errorf("root key tags %v, want [48409 19036] (KSK-2010)", got)
	}
}

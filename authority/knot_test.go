package authority

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// corpusFor builds the differential corpus: every owner × every type
// present plus absent types, names below each node, the special cases;
// each over UDP and TCP, with and without DO.
func corpusFor(t *testing.T, extra ...string) []testnet.Query {
	t.Helper()
	names := []string{
		"example.test.", "ns1.example.test.", "mail.example.test.", "www.example.test.", "WwW.ExAmPlE.TeSt.",
		"alias.example.test.", "chain1.example.test.", "loop1.example.test.", "dangling.example.test.",
		"outside.example.test.", "x.wild.example.test.", "a.b.wild.example.test.", "wild.example.test.",
		"*.wild.example.test.", "q.wcname.example.test.", "ent.example.test.", "c.ent.example.test.",
		"b.c.ent.example.test.", "a.b.c.ent.example.test.", "zz.b.c.ent.example.test.", "x.ent.example.test.",
		"y.x.ent.example.test.", "sub.example.test.", "ns.sub.example.test.", "www.sub.example.test.",
		"deep.ns.sub.example.test.", "dn.example.test.", "x.dn.example.test.", "y.x.dn.example.test.",
		"nope.dn.example.test.", "_sip._udp.example.test.", "big.example.test.", "www.big.example.test.",
		"longtxt.example.test.", "nx.example.test.", "a.nx.example.test.", "other.test.", "www.other.test.",
		"back.other.test.", "nx.other.test.", "example.org.", "test.", "x.target.example.test.", "target.example.test.",
	}
	names = append(names, extra...)
	types := []string{"A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "DNAME", "SRV", "DS", "ANY", "NSEC", "DNSKEY", "RRSIG", "PTR"}
	var b strings.Builder
	for _, n := range names {
		for _, ty := range types {
			for _, fl := range []string{"", " +do", " +tcp", " +do +tcp"} {
				fmt.Fprintf(&b, "%s %s%s\n", n, ty, fl)
			}
		}
	}
	qs, err := testnet.ParseCorpus(b.String())
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

func loadAll(t testing.TB, e *Engine, zones []testnet.Zone) {
	t.Helper()
	for _, z := range zones {
		zz, err := LoadZone(z.Name, z.File)
		if err != nil {
			t.Fatal(err)
		}
		e.Add(zz)
	}
}

func diffKnot(t *testing.T, zones []testnet.Zone, corpus []testnet.Query) {
	t.Helper()
	testnet.Need(t, "knotd")
	k := testnet.StartKnot(t, testnet.KnotConfig{Zones: zones,
		Extra:     "acl:\n  - id: xfr\n    address: 127.0.0.0/8\n    action: transfer\n",
		ZoneExtra: "acl: xfr"})
	e := New(Options{})
	loadAll(t, e, zones)
	addr := testnet.FreeAddr(t)
	serve(t, e, addr)
	diffs := testnet.Compare(k.Addr(), addr, corpus, testnet.CompareOptions{})
	if len(diffs) > 0 {
		t.Errorf("%d of %d queries differ from knotd:\n%s", len(diffs), len(corpus), testnet.Report(diffs))
	}
	if d := diffSizes(t, k.Addr(), addr, corpus); d != "" {
		t.Error(d)
	}
	for _, z := range zones {
		want, got := axfr(t, k.Addr(), z.Name), axfr(t, addr, z.Name)
		if len(want) < 3 || strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("AXFR of %s: knotd %d records, engine %d\n%s", z.Name, len(want), len(got), lineDiff(want, got))
		}
	}
}

// axfr transfers zone from addr and returns its records as sorted text
// lines, the closing SOA dropped.
func axfr(t *testing.T, addr netip.AddrPort, zone string) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetAxfr(zone)
	ch, err := (&dns.Transfer{}).In(m, addr.String())
	if err != nil {
		t.Fatalf("AXFR %s from %s: %v", zone, addr, err)
	}
	var out []string
	for env := range ch {
		if env.Error != nil {
			t.Fatalf("AXFR %s from %s: %v", zone, addr, env.Error)
		}
		for _, rr := range env.RR {
			out = append(out, strings.ToLower(rr.String()))
		}
	}
	if len(out) > 0 {
		out = out[:len(out)-1]
	}
	sort.Strings(out)
	return out
}

func lineDiff(a, b []string) string {
	in := map[string]int{}
	for _, s := range a {
		in[s]++
	}
	for _, s := range b {
		in[s]--
	}
	var d []string
	for s, n := range in {
		if n > 0 {
			d = append(d, "knotd only: "+s)
		} else if n < 0 {
			d = append(d, "engine only: "+s)
		}
	}
	sort.Strings(d)
	return strings.Join(d, "\n")
}

// TestKnotDifferential compares the engine with knotd 3.2 serving the
// same unsigned zones.
func TestKnotDifferential(t *testing.T) {
	testnet.Isolate(t)
	zones := []testnet.Zone{
		{Name: "example.test.", File: abs(t, "testdata/example.test.zone")},
		{Name: "other.test.", File: abs(t, "testdata/other.test.zone")},
		{Name: "child.example.test.", File: abs(t, "testdata/child.example.test.zone")},
	}
	diffKnot(t, zones, corpusFor(t, childNames...))
}

func abs(t testing.TB, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signedZones signs both test zones (NSEC, or NSEC3 with a salt and opt-out
// when nsec3) into dir and returns them.
func signedZones(t *testing.T, nsec3 bool) []testnet.Zone {
	t.Helper()
	testnet.Need(t, "ldns-signzone", "ldns-keygen")
	dir := t.TempDir()
	var out []testnet.Zone
	for _, z := range []testnet.Zone{
		{Name: "example.test.", File: abs(t, "testdata/example.test.zone")},
		{Name: "other.test.", File: abs(t, "testdata/other.test.zone")},
		{Name: "child.example.test.", File: abs(t, "testdata/child.example.test.zone")},
	} {
		ksk := testnet.GenerateKey(t, dir, z.Name, testnet.ECDSAP256SHA256, true)
		zsk := testnet.GenerateKey(t, dir, z.Name, testnet.ECDSAP256SHA256, false)
		signed := filepath.Join(dir, z.Name+"signed")
		o := testnet.SignOptions{}
		if nsec3 {
			o = testnet.SignOptions{NSEC3: true, Salt: "cafe", Iterations: 1, OptOut: z.Name == "example.test."}
		}
		testnet.SignZone(t, z.File, signed, z.Name, o, ksk, zsk)
		out = append(out, testnet.Zone{Name: z.Name, File: signed})
	}
	return out
}

// childNames are in child.example.test., a zone served next to its parent.
var childNames = []string{"child.example.test.", "www.child.example.test.", "up.child.example.test.",
	"ns.child.example.test.", "nx.child.example.test."}

// signedExtra are the names a signed zone adds to the corpus.
var signedExtra = []string{"zz.example.test.", "a.example.test.", "ns1.example.test.x.", "mail0.example.test.", "*.example.test."}

// TestKnotDifferentialNSEC compares pre-signed answers (NSEC) with knotd's.
func TestKnotDifferentialNSEC(t *testing.T) {
	testnet.Isolate(t)
	diffKnot(t, signedZones(t, false), corpusFor(t, append(signedExtra, childNames...)...))
}

// TestKnotDifferentialNSEC3 compares pre-signed answers (NSEC3, salted,
// opt-out in example.test.) with knotd's.
func TestKnotDifferentialNSEC3(t *testing.T) {
	testnet.Isolate(t)
	diffKnot(t, signedZones(t, true), corpusFor(t, append(signedExtra, childNames...)...))
}

// diffSizes asks both servers the DO queries of corpus over UDP with EDNS
// buffer sizes 512, 1232 and 4096 (truncation of signed answers and
// referrals) and reports the differences.
func diffSizes(t *testing.T, a, b netip.AddrPort, corpus []testnet.Query) string {
	t.Helper()
	var out []testnet.Diff
	n := 0
	c := &dns.Client{Net: "udp", UDPSize: 4096}
	for _, q := range corpus {
		if !q.DO || q.TCP {
			continue
		}
		for _, size := range []uint16{512, 1232, 4096} {
			m := q.Msg()
			if o := m.IsEdns0(); o != nil {
				o.SetUDPSize(size)
			} else {
				m.SetEdns0(size, true)
			}
			ra, _, errA := c.Exchange(m, a.String())
			rb, _, errB := c.Exchange(m, b.String())
			if errA != nil || errB != nil {
				out = append(out, testnet.Diff{Query: q, What: "error", A: fmt.Sprint(size, errA), B: fmt.Sprint(size, errB)})
				continue
			}
			n++
			for _, d := range testnet.CompareMsgs(q, ra, rb, testnet.CompareOptions{}) {
				d.What = fmt.Sprintf("bufsize %d: %s", size, d.What)
				out = append(out, d)
			}
		}
	}
	if len(out) > 0 {
		return fmt.Sprintf("%d differences over %d sized queries:\n%s", len(out), n, testnet.Report(out))
	}
	return ""
}

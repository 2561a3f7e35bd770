package zonefile

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/internal/testnet"
)

// The differential corpus of the authority package (authority/knot_test.go),
// asked of the daemon with this module: every owner × every type present plus
// absent types, names below each node, ENTs, wildcards, names below a
// delegation, CNAME/DNAME chains, ANY; over UDP and TCP, with and without DO.
var corpusNames = []string{
	"example.test.", "ns1.example.test.", "mail.example.test.", "www.example.test.", "WwW.ExAmPlE.TeSt.",
	"alias.example.test.", "chain1.example.test.", "loop1.example.test.", "dangling.example.test.",
	"outside.example.test.", "x.wild.example.test.", "a.b.wild.example.test.", "wild.example.test.",
	"*.wild.example.test.", "q.wcname.example.test.", "ent.example.test.", "c.ent.example.test.",
	"b.c.ent.example.test.", "a.b.c.ent.example.test.", "zz.b.c.ent.example.test.", "x.ent.example.test.",
	"y.x.ent.example.test.", "sub.example.test.", "ns.sub.example.test.", "www.sub.example.test.",
	"deep.ns.sub.example.test.", "dn.example.test.", "x.dn.example.test.", "y.x.dn.example.test.",
	"nope.dn.example.test.", "_sip._udp.example.test.", "big.example.test.", "www.big.example.test.",
	"longtxt.example.test.", "nx.example.test.", "a.nx.example.test.", "other.test.", "www.other.test.",
	"back.other.test.", "nx.other.test.", "x.target.example.test.", "target.example.test.",
	"child.example.test.", "www.child.example.test.", "up.child.example.test.",
	"ns.child.example.test.", "nx.child.example.test.",
}

// signedExtra are the names a signed zone adds (NSEC proofs around them).
var signedExtra = []string{"zz.example.test.", "a.example.test.", "mail0.example.test.", "*.example.test."}

var corpusTypes = []string{"A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "DNAME", "SRV", "DS", "ANY", "NSEC", "DNSKEY", "RRSIG", "PTR"}

func corpus(t *testing.T, extra ...string) []testnet.Query {
	t.Helper()
	var b strings.Builder
	for _, n := range append(corpusNames, extra...) {
		for _, ty := range corpusTypes {
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

func testZones(t testing.TB) []testnet.Zone {
	dir := "../../../authority/testdata/"
	var out []testnet.Zone
	for _, n := range []string{"example.test.", "other.test.", "child.example.test."} {
		f, err := filepath.Abs(dir + n + "zone")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testnet.Zone{Name: n, File: f})
	}
	return out
}

// signedZones signs the test zones with ldns-signzone (NSEC) into a
// temporary directory.
func signedZones(t *testing.T) []testnet.Zone {
	t.Helper()
	testnet.Need(t, "ldns-signzone", "ldns-keygen")
	dir := t.TempDir()
	var out []testnet.Zone
	for _, z := range testZones(t) {
		ksk := testnet.GenerateKey(t, dir, z.Name, testnet.ECDSAP256SHA256, true)
		zsk := testnet.GenerateKey(t, dir, z.Name, testnet.ECDSAP256SHA256, false)
		signed := filepath.Join(dir, z.Name+"signed")
		testnet.SignZone(t, z.File, signed, z.Name, testnet.SignOptions{}, ksk, zsk)
		out = append(out, testnet.Zone{Name: z.Name, File: signed})
	}
	return out
}

// serveZones starts the daemon in process with the module serving zones
// (and more layers after it) at a free address.
func serveZones(t *testing.T, zones []Zone, more ...daemon.Layer) (*Module, netip.AddrPort) {
	t.Helper()
	log := daemon.NewLogger(testWriter{t})
	m := New(Options{Log: log, Poll: -1})
	if err := m.Configure(zones); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	addr := testnet.FreeAddr(t)
	s, err := daemon.New(&daemon.Config{Listen: []daemon.Listen{{Addr: addr}}, Layers: append([]daemon.Layer{m}, more...), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return m, addr
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func moduleZones(zs []testnet.Zone) []Zone {
	var out []Zone
	for _, z := range zs {
		out = append(out, Zone{Name: z.Name, File: z.File})
	}
	return out
}

// diffKnot compares the daemon serving zones with knotd serving the same
// files: the corpus, the DO queries at UDP sizes 512/1232/4096, and the
// AXFR of each zone.
func diffKnot(t *testing.T, zones []testnet.Zone, qs []testnet.Query) {
	t.Helper()
	testnet.Need(t, "knotd")
	k := testnet.StartKnot(t, testnet.KnotConfig{Zones: zones,
		Extra:     "acl:\n  - id: xfr\n    address: 127.0.0.0/8\n    action: transfer\n",
		ZoneExtra: "acl: xfr"})
	_, addr := serveZones(t, moduleZones(zones))
	diffs := testnet.Compare(k.Addr(), addr, qs, testnet.CompareOptions{})
	if len(diffs) > 0 {
		t.Errorf("%d of %d queries differ from knotd:\n%s", len(diffs), len(qs), testnet.Report(diffs))
	}
	if d := diffSizes(t, k.Addr(), addr, qs); d != "" {
		t.Error(d)
	}
	for _, z := range zones {
		want, got := axfr(t, k.Addr(), z.Name, nil), axfr(t, addr, z.Name, nil)
		if len(want) < 3 || strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("AXFR of %s: knotd %d records, ljdns %d", z.Name, len(want), len(got))
		}
	}
	t.Logf("%d queries, %d sized queries and %d transfers compared with knotd", len(qs), 3*len(qs)/4, len(zones))
}

// diffSizes asks both servers the DO queries over UDP with EDNS sizes 512,
// 1232 and 4096 (truncation of signed answers and referrals).
func diffSizes(t *testing.T, a, b netip.AddrPort, qs []testnet.Query) string {
	t.Helper()
	var out []testnet.Diff
	c := &dns.Client{Net: "udp", UDPSize: 4096, Timeout: 2 * time.Second}
	for _, q := range qs {
		if !q.DO || q.TCP {
			continue
		}
		for _, size := range []uint16{512, 1232, 4096} {
			m := q.Msg()
			m.IsEdns0().SetUDPSize(size)
			ra, _, errA := c.Exchange(m, a.String())
			rb, _, errB := c.Exchange(m, b.String())
			if errA != nil || errB != nil {
				out = append(out, testnet.Diff{Query: q, What: "error", A: fmt.Sprint(size, errA), B: fmt.Sprint(size, errB)})
				continue
			}
			for _, d := range testnet.CompareMsgs(q, ra, rb, testnet.CompareOptions{}) {
				d.What = fmt.Sprintf("bufsize %d: %s", size, d.What)
				out = append(out, d)
			}
		}
	}
	if len(out) > 0 {
		return fmt.Sprintf("%d differences in sized queries:\n%s", len(out), testnet.Report(out))
	}
	return ""
}

// axfr transfers zone from addr (signed with key when given) and returns
// its records as sorted lowercased text lines, the closing SOA dropped.
func axfr(t *testing.T, addr netip.AddrPort, zone string, key *tsigKey) []string {
	t.Helper()
	out, err := axfrErr(addr, zone, key)
	if err != nil {
		t.Fatalf("AXFR %s from %s: %v", zone, addr, err)
	}
	return out
}

type tsigKey struct{ name, secret string }

func axfrErr(addr netip.AddrPort, zone string, key *tsigKey) ([]string, error) {
	m := new(dns.Msg)
	m.SetAxfr(zone)
	tr := &dns.Transfer{}
	if key != nil {
		m.SetTsig(key.name, dns.HmacSHA256, 300, time.Now().Unix())
		tr.TsigSecret = map[string]string{key.name: key.secret}
	}
	ch, err := tr.In(m, addr.String())
	if err != nil {
		return nil, err
	}
	var out []string
	for env := range ch {
		if env.Error != nil {
			return nil, env.Error
		}
		for _, rr := range env.RR {
			out = append(out, strings.ToLower(rr.String()))
		}
	}
	if len(out) > 0 {
		out = out[:len(out)-1]
	}
	sort.Strings(out)
	return out, nil
}

// TestKnotDifferential: the daemon with the zonefile module answers as
// knotd 3.2 on the same unsigned zone files.
func TestKnotDifferential(t *testing.T) {
	testnet.Isolate(t)
	diffKnot(t, testZones(t), corpus(t))
}

// TestKnotDifferentialSigned: the same with the zones pre-signed (NSEC).
func TestKnotDifferentialSigned(t *testing.T) {
	testnet.Isolate(t)
	diffKnot(t, signedZones(t), corpus(t, signedExtra...))
}

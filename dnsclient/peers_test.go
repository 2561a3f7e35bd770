package dnsclient

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

// The zone every peer test serves. big.example.test. has a TXT set too
// large for 1232 bytes (TC over UDP); fill-N names make AXFR span many
// TCP messages.
const testZoneHead = `$ORIGIN example.test.
$TTL 3600
@	IN SOA ns.example.test. hostmaster.example.test. 2024010101 3600 600 86400 300
@	IN NS ns
ns	IN A 127.0.0.1
www	IN A 192.0.2.1
www	IN AAAA 2001:db8::1
short	60 IN A 192.0.2.2
*.wild	IN A 192.0.2.3
`

// writeZone writes the test zone with fill filler records and returns its
// path.
func writeZone(t testing.TB, fill int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(testZoneHead)
	for i := range 20 {
		fmt.Fprintf(&b, "big\tIN TXT \"%s-%02d\"\n", strings.Repeat("x", 100), i)
	}
	for i := range fill {
		fmt.Fprintf(&b, "fill-%d\tIN TXT \"filler record number %d of the zone, long enough to fill messages\"\n", i, i)
	}
	p := filepath.Join(t.TempDir(), "example.test.zone")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// peer is one server under test.
type peer struct {
	name string
	p    *testnet.Peer
}

// startPeers starts a knotd and an nsd serving the test zone (knotExtra,
// nsdExtra appended to their configurations; zoneExtra to knot's zone).
func startPeers(t *testing.T, fill int, knotExtra, knotZoneExtra, nsdExtra string) []peer {
	t.Helper()
	zone := testnet.Zone{Name: "example.test.", File: writeZone(t, fill)}
	k := testnet.StartKnot(t, testnet.KnotConfig{Zones: []testnet.Zone{zone}, Extra: knotExtra, ZoneExtra: knotZoneExtra})
	n := testnet.StartNSD(t, testnet.NSDConfig{Zones: []testnet.Zone{zone}, Extra: nsdExtra})
	return []peer{{"knotd", k}, {"nsd", n}}
}

// q builds a query for name/qtype (RD and AD set), failing t on error.
func q(t testing.TB, name string, qtype uint16) *dnsmsg.Packet {
	t.Helper()
	p, err := NewQuery(name, qtype)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// checkA checks that a answers q with NOERROR and an A record 192.0.2.1.
func checkWWW(t testing.TB, q, a *dnsmsg.Packet) {
	t.Helper()
	if a == nil {
		t.Fatal("no answer")
	}
	if a.ID() != q.ID() {
		t.Errorf("answer ID %d, query ID %d", a.ID(), q.ID())
	}
	if a.Rcode() != 0 || !a.Flag("qr") || !a.Flag("aa") {
		t.Fatalf("answer:\n%s", a)
	}
	rrs := a.Records(dnsmsg.SectionAN)
	if len(rrs) != 1 || rrs[0].Type != dnsmsg.TypeA || string(rrs[0].RData[0]) != "\xc0\x00\x02\x01" {
		t.Fatalf("answer section:\n%s", a)
	}
}

func addrOf(p peer) string { return p.p.Addr().String() }

func TestPeersDgram(t *testing.T) {
	testnet.Isolate(t)
	for _, p := range startPeers(t, 0, "", "", "") {
		t.Run(p.name, func(t *testing.T) {
			d, err := NewDgram(addrOf(p), DgramOptions{Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			qq := q(t, "www.example.test", dnsmsg.TypeA)
			before := append([]byte(nil), qq.Bytes()...)
			a, err := d.Query(ctx(t), qq)
			if err != nil {
				t.Fatal(err)
			}
			checkWWW(t, qq, a)
			if string(qq.Bytes()) != string(before) {
				t.Error("Query modified its query")
			}
			if a.OPT() == nil || a.OPT().Class < 512 {
				t.Errorf("no EDNS in the answer:\n%s", a)
			}
			// NXDOMAIN comes back as an answer, not an error
			a, err = d.Query(ctx(t), q(t, "nope.example.test", dnsmsg.TypeA))
			if err != nil || a.Rcode() != rcodeNXDomain {
				t.Fatalf("NXDOMAIN: %v\n%v", err, a)
			}
			// the big TXT set is truncated over UDP
			a, err = d.Query(ctx(t), q(t, "big.example.test", dnsmsg.TypeTXT))
			if err != nil || !a.Flag("tc") {
				t.Fatalf("big TXT over UDP: %v\n%v", err, a)
			}
			if _, err := d.Query(ctx(t), q(t, "example.test", typeAXFR)); err != ErrMultiMessage {
				t.Fatalf("AXFR through Query: %v", err)
			}
		})
	}
}

func TestPeersStream(t *testing.T) {
	testnet.Isolate(t)
	for _, p := range startPeers(t, 0, "", "", "") {
		t.Run(p.name, func(t *testing.T) {
			s, err := NewStream(addrOf(p), StreamOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			qq := q(t, "www.example.test", dnsmsg.TypeA)
			a, err := s.Query(ctx(t), qq)
			if err != nil {
				t.Fatal(err)
			}
			checkWWW(t, qq, a)
			a, err = s.Query(ctx(t), q(t, "big.example.test", dnsmsg.TypeTXT))
			if err != nil || a.Flag("tc") || len(a.Records(dnsmsg.SectionAN)) != 20 {
				t.Fatalf("big TXT over TCP: %v\n%v", err, a)
			}
		})
	}
}

func TestPeersDgramStreamTruncation(t *testing.T) {
	testnet.Isolate(t)
	for _, p := range startPeers(t, 0, "", "", "") {
		t.Run(p.name, func(t *testing.T) {
			ds, err := NewDgramStream(addrOf(p), DgramStreamOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			qq := q(t, "www.example.test", dnsmsg.TypeA)
			a, err := ds.Query(ctx(t), qq)
			if err != nil {
				t.Fatal(err)
			}
			checkWWW(t, qq, a)
			if ds.MultiStream().s.cur != nil {
				t.Error("a small answer opened a TCP connection")
			}
			a, err = ds.Query(ctx(t), q(t, "big.example.test", dnsmsg.TypeTXT))
			if err != nil || a.Flag("tc") || len(a.Records(dnsmsg.SectionAN)) != 20 {
				t.Fatalf("big TXT: %v\n%v", err, a)
			}
			if ds.MultiStream().s.cur == nil {
				t.Error("TC did not go over TCP")
			}
		})
	}
}

var _ = netip.Addr{}

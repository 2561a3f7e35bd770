package dnsclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
	"ljdns/tlscreds"
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

const (
	knotXFR     = "acl:\n  - id: xfr\n    action: transfer\n"
	knotXFRZone = "acl: xfr"
	nsdXFR      = "    provide-xfr: 127.0.0.0/8 NOKEY\n" // lands in the (only) zone: clause
)

// axfr runs an AXFR of example.test. through tr and returns the messages
// and records seen.
func axfr(t *testing.T, tr Transport) (msgs, rrs int, last *dnsmsg.Packet) {
	t.Helper()
	err := tr.Stream(ctx(t), q(t, "example.test", typeAXFR), func(p *dnsmsg.Packet) error {
		msgs++
		for _, rr := range p.Records(dnsmsg.SectionAN) {
			rrs += len(rr.RData)
		}
		last = p
		return nil
	})
	if err != nil {
		t.Fatalf("AXFR after %d messages: %v", msgs, err)
	}
	return msgs, rrs, last
}

func TestPeersAXFR(t *testing.T) {
	testnet.Isolate(t)
	const fill = 3000
	peers := startPeers(t, fill, knotXFR, knotXFRZone, nsdXFR)
	want := fill + 20 + 7 + 1 // fillers, big TXT, the head's records, closing SOA
	for _, p := range peers {
		for _, kind := range []string{"stream", "multi_stream", "dgram_stream"} {
			t.Run(p.name+"/"+kind, func(t *testing.T) {
				var tr Transport
				var err error
				switch kind {
				case "stream":
					tr, err = NewStream(addrOf(p), StreamOptions{})
				case "multi_stream":
					tr, err = NewMultiStream(addrOf(p), StreamOptions{})
				default:
					tr, err = NewDgramStream(addrOf(p), DgramStreamOptions{})
				}
				if err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
				msgs, rrs, last := axfr(t, tr)
				if msgs < 2 || rrs != want {
					t.Fatalf("%d messages, %d records; want several messages and %d records", msgs, rrs, want)
				}
				an := last.Records(dnsmsg.SectionAN)
				if an[len(an)-1].Type != dnsmsg.TypeSOA {
					t.Errorf("last record is not the SOA")
				}
				// the connection still serves queries after the transfer
				qq := q(t, "www.example.test", dnsmsg.TypeA)
				a, err := tr.Query(ctx(t), qq)
				if err != nil {
					t.Fatal(err)
				}
				checkWWW(t, qq, a)
			})
		}
	}
	t.Run("refused", func(t *testing.T) {
		// without the acl knotd refuses: the stream ends with ErrRcode
		k := testnet.StartKnot(t, testnet.KnotConfig{Zones: []testnet.Zone{{Name: "example.test.", File: writeZone(t, 0)}}})
		s, _ := NewStream(k.Addr().String(), StreamOptions{})
		defer s.Close()
		n := 0
		err := s.Stream(ctx(t), q(t, "example.test", typeAXFR), func(*dnsmsg.Packet) error { n++; return nil })
		if !errors.Is(err, ErrRcode) || n != 1 {
			t.Fatalf("refused AXFR: %d messages, %v", n, err)
		}
	})
}

func TestPeersCookies(t *testing.T) {
	testnet.Isolate(t)
	peers := startPeers(t, 0, "", "module: mod-cookies", "server:\n    answer-cookie: yes\n")
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			d, err := NewDgram(addrOf(p), DgramOptions{Timeout: 2 * time.Second, Retries: 1})
			if err != nil {
				t.Fatal(err)
			}
			qq := q(t, "www.example.test", dnsmsg.TypeA)
			a, err := d.Query(ctx(t), qq)
			if err != nil {
				t.Fatal(err)
			}
			checkWWW(t, qq, a)
			sc := d.ServerCookie()
			if len(sc) != 16 { // RFC 9018: version, reserved, timestamp, hash
				t.Fatalf("server cookie %x after the first answer:\n%s", sc, a)
			}
			if sc[0] != 1 {
				t.Errorf("server cookie version %d, want 1 (RFC 9018)", sc[0])
			}
			c, ok := dnsmsg.EDNSOption(a.OPT(), dnsmsg.OptionCookie)
			if !ok || string(c[:8]) != string(d.jar.client(p.p.Addr().Addr())) {
				t.Errorf("answer cookie %x does not echo our client cookie", c)
			}
			// with the server cookie sent back, the server answers as before
			a, err = d.Query(ctx(t), qq)
			if err != nil || a.Rcode() != 0 {
				t.Fatalf("second query: %v\n%v", err, a)
			}
			// a server cookie the server did not make: it answers BADCOOKIE
			// (knotd) or ignores it (nsd) and sends a fresh one; either way
			// the query succeeds and the fresh cookie is kept
			d.jar.learn(p.p.Addr().Addr(), append(d.jar.client(p.p.Addr().Addr()), 1, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9))
			a, err = d.Query(ctx(t), qq)
			if err != nil || a.Rcode() != 0 {
				t.Fatalf("query with a forged server cookie: %v\n%v", err, a)
			}
			if got := d.ServerCookie(); len(got) != 16 || got[8] == 9 && got[15] == 9 {
				t.Errorf("server cookie after BADCOOKIE: %x", got)
			}
		})
	}
	t.Run("no-cookies", func(t *testing.T) {
		d, _ := NewDgram(addrOf(peers[0]), DgramOptions{NoCookies: true})
		a, err := d.Query(ctx(t), q(t, "www.example.test", dnsmsg.TypeA))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := dnsmsg.EDNSOption(a.OPT(), dnsmsg.OptionCookie); ok {
			t.Errorf("knotd answered a cookie nobody sent:\n%s", a)
		}
	})
}

// writeCA makes a CA and a server certificate for ns.example.test signed
// by it, writes ca.pem, server.pem (leaf, then CA) and server.key into a
// temporary directory, and returns the directory and both certificates.
func writeCA(t *testing.T) (dir string, ca, leaf *tls.Certificate) {
	t.Helper()
	now := time.Now()
	ca, err := tlscreds.SelfSigned("ljdns test CA", now.Add(-time.Hour), now.Add(24*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err = tlscreds.SelfSigned("ns.example.test", now.Add(-time.Hour), now.Add(24*time.Hour), ca)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	certPEM := func(c *tls.Certificate) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})
	}
	key, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"ca.pem":     certPEM(ca),
		"server.pem": append(certPEM(leaf), certPEM(ca)...),
		"server.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, ca, leaf
}

// TestPeersDoT runs DNS over TLS against nsd (tls-port) with strict and
// opportunistic authentication.
func TestPeersDoT(t *testing.T) {
	testnet.Isolate(t)
	dir, ca, leaf := writeCA(t)
	a := testnet.FreeAddr(t)
	dot := netip.AddrPortFrom(a.Addr(), 853)
	extra := fmt.Sprintf("server:\n    ip-address: %s@%d\n    tls-port: 853\n    tls-service-key: %q\n    tls-service-pem: %q\n",
		dot.Addr(), dot.Port(), filepath.Join(dir, "server.key"), filepath.Join(dir, "server.pem"))
	testnet.StartNSD(t, testnet.NSDConfig{Addrs: []netip.AddrPort{a},
		Zones: []testnet.Zone{{Name: "example.test.", File: writeZone(t, 0)}}, Extra: extra})
	caFile := filepath.Join(dir, "ca.pem")
	for _, c := range []struct {
		name string
		tls  TLSOptions
		ok   bool
	}{
		{"ca+hostname", TLSOptions{CAFile: caFile, Hostname: "ns.example.test"}, true},
		{"opportunistic", TLSOptions{}, true},
		{"pin-leaf", TLSOptions{Pins: []string{tlscreds.Pin(leaf.Leaf)}}, true},
		{"pin-ca+hostname", TLSOptions{Pins: []string{tlscreds.Pin(ca.Leaf)}, Hostname: "ns.example.test"}, true},
		{"wrong-hostname", TLSOptions{CAFile: caFile, Hostname: "other.example.test"}, false},
		{"ca-for-address", TLSOptions{CAFile: caFile}, false}, // the certificate names no IP address
		{"system-roots", TLSOptions{Hostname: "ns.example.test"}, false},
		{"wrong-pin", TLSOptions{Pins: []string{"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}}, false},
		{"pin-wrong-hostname", TLSOptions{Pins: []string{tlscreds.Pin(leaf.Leaf)}, Hostname: "other.example.test"}, false},
	} {
		for _, multi := range []bool{false, true} {
			name := c.name
			if multi {
				name += "/multi_stream"
			}
			t.Run(name, func(t *testing.T) {
				o := StreamOptions{TLS: &c.tls, ResponseTimeout: 5 * time.Second}
				var tr Transport
				var err error
				if multi {
					tr, err = NewMultiStream(dot.Addr().String(), o) // port 853 by default with TLS
				} else {
					tr, err = NewStream(dot.Addr().String(), o)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
				for range 2 {
					qq := q(t, "www.example.test", dnsmsg.TypeA)
					a, err := tr.Query(ctx(t), qq)
					if !c.ok {
						if !errors.Is(err, ErrTLS) {
							t.Fatalf("want ErrTLS, got %v, %v", err, a)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					checkWWW(t, qq, a)
				}
			})
		}
	}
}

// TestPeersKeepalive checks what knotd and nsd answer to
// edns-tcp-keepalive (RFC 7828) and that the stream takes it, or keeps its
// own idle timeout without it.
func TestPeersKeepalive(t *testing.T) {
	testnet.Isolate(t)
	for _, p := range startPeers(t, 0, "", "", "") {
		t.Run(p.name, func(t *testing.T) {
			s, _ := NewStream(addrOf(p), StreamOptions{IdleTimeout: 3 * time.Second})
			defer s.Close()
			var ka []byte
			var found bool
			var ans *dnsmsg.Packet
			err := s.Stream(ctx(t), q(t, "www.example.test", dnsmsg.TypeA), func(a *dnsmsg.Packet) error {
				ka, found = dnsmsg.EDNSOption(a.OPT(), optKeepalive)
				ans = a
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !found || len(ka) != 2 {
				// knotd 3.2 and nsd 4.6 answer none: the configured idle
				// timeout stays (the keepalive path is TestStreamKeepalive's)
				t.Logf("%s answers no edns-tcp-keepalive:\n%s", p.name, ans)
				if got := s.IdleTimeout(); got != 3*time.Second {
					t.Errorf("idle timeout %v, configured 3s", got)
				}
				return
			}
			want := time.Duration(binary.BigEndian.Uint16(ka)) * 100 * time.Millisecond
			if got := s.IdleTimeout(); got != want {
				t.Errorf("idle timeout %v, server's keepalive %v", got, want)
			}
			t.Logf("%s keepalive: %v", p.name, want)
		})
	}
}

// ixfrQuery returns an IXFR query for example.test. from serial.
func ixfrQuery(t *testing.T, serial uint32) *dnsmsg.Packet {
	m := new(dns.Msg)
	m.SetIxfr("example.test.", serial, "ns.example.test.", "hostmaster.example.test.")
	return toPacket(t, m)
}

// TestPeersIXFR: an IXFR from the current serial is one lone SOA over UDP;
// from an old serial knotd (no journal) sends the whole zone, AXFR-style,
// which dgram_stream fetches over TCP when UDP cannot hold it.
func TestPeersIXFR(t *testing.T) {
	testnet.Isolate(t)
	k := testnet.StartKnot(t, testnet.KnotConfig{Zones: []testnet.Zone{{Name: "example.test.", File: writeZone(t, 3000)}},
		Extra: knotXFR, ZoneExtra: knotXFRZone})
	ds, _ := NewDgramStream(k.Addr().String(), DgramStreamOptions{})
	defer ds.Close()
	if _, err := ds.Query(ctx(t), ixfrQuery(t, 2024010101)); !errors.Is(err, ErrMultiMessage) {
		t.Errorf("IXFR through Query: %v", err)
	}
	n, rrs := 0, 0
	err := ds.Stream(ctx(t), ixfrQuery(t, 2024010101), func(p *dnsmsg.Packet) error {
		n++
		rrs += len(p.Records(dnsmsg.SectionAN))
		return nil
	})
	if err != nil || n != 1 || rrs != 1 || ds.MultiStream().s.cur != nil {
		t.Fatalf("up to date: %v, %d messages, %d records, TCP used: %v", err, n, rrs, ds.MultiStream().s.cur != nil)
	}
	n, rrs = 0, 0
	err = ds.Stream(ctx(t), ixfrQuery(t, 1), func(p *dnsmsg.Packet) error {
		n++
		rrs += len(p.Records(dnsmsg.SectionAN))
		return nil
	})
	if want := 3000 + 20 + 7 + 1; err != nil || n < 2 || rrs != want {
		t.Fatalf("from serial 1: %v, %d messages, %d records (want %d)", err, n, rrs, want)
	}
}

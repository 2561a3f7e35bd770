package zonefile

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// fixedA answers every A query with one address (the daemon's trivial Go
// layer, for comparison).
type fixedA struct{}

func (fixedA) Name() string { return "fixed" }

func (fixedA) Begin(r *daemon.Request, s daemon.State) daemon.State {
	r.Answer.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.QName()}, Type: dnsmsg.TypeA, Class: dnsmsg.ClassINET, TTL: 3600,
		RData: [][]byte{{192, 0, 2, 1}}}, true)
	r.Answer.Buf[2] |= 0x04
	return daemon.Done
}

// BenchmarkExchange is the whole request path in process (no sockets) for
// A queries over 1000 names: the zonefile module against a layer answering
// from a constant, to tell the module's share of the cost per query.
//
//	go test -run X -bench Exchange -benchmem ./daemon/mod/zonefile/
func BenchmarkExchange(b *testing.B) {
	dir := b.TempDir()
	var zone strings.Builder
	zone.WriteString("$ORIGIN example.test.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.2\n")
	var qs [][]byte
	for i := range 1000 {
		fmt.Fprintf(&zone, "n%d A 192.0.2.%d\n", i, i%250+1)
		m := new(dns.Msg)
		m.SetQuestion(fmt.Sprintf("n%d.example.test.", i), dns.TypeA)
		w, _ := m.Pack()
		qs = append(qs, w)
	}
	zf := filepath.Join(dir, "z")
	os.WriteFile(zf, []byte(zone.String()), 0o644)
	m := New(Options{Poll: -1})
	if err := m.Configure([]Zone{{Name: "example.test.", File: zf}}); err != nil {
		b.Fatal(err)
	}
	client, local := netip.MustParseAddrPort("127.0.0.1:5300"), netip.MustParseAddrPort("127.0.0.1:53")
	for _, c := range []struct {
		name  string
		layer daemon.Layer
	}{{"zonefile", m}, {"constant", fixedA{}}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := daemon.New(&daemon.Config{Layers: []daemon.Layer{c.layer}, Log: daemon.NewLogger(&lockedLog{})})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if out, ok := s.Exchange(qs[i%len(qs)], client, local, daemon.UDP, 0); !ok || len(out) < 40 {
					b.Fatalf("answer %x", out)
				}
			}
		})
	}
}

// BenchmarkUDP is the daemon's UDP path with real sockets: a client sends
// 32 A queries (of 1000 names) at once and reads the answers, the server
// answers them inline from the zonefile module (recvmmsg, pipeline,
// sendmmsg). ns/query includes the client's share.
//
//	go test -run X -bench UDP -benchmem ./daemon/mod/zonefile/
func BenchmarkUDP(b *testing.B) {
	dir := b.TempDir()
	var zone strings.Builder
	zone.WriteString("$ORIGIN example.test.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.2\n")
	var qs [][]byte
	for i := range 1000 {
		fmt.Fprintf(&zone, "n%d A 192.0.2.%d\n", i, i%250+1)
		m := new(dns.Msg)
		m.SetQuestion(fmt.Sprintf("n%d.example.test.", i), dns.TypeA)
		m.Id = uint16(i)
		if i%2 == 0 {
			m.SetEdns0(1232, false)
		}
		w, _ := m.Pack()
		qs = append(qs, w)
	}
	zf := filepath.Join(dir, "z")
	os.WriteFile(zf, []byte(zone.String()), 0o644)
	m := New(Options{Poll: -1})
	if err := m.Configure([]Zone{{Name: "example.test.", File: zf}}); err != nil {
		b.Fatal(err)
	}
	s, err := daemon.New(&daemon.Config{Layers: []daemon.Layer{m}, Log: daemon.NewLogger(&lockedLog{}),
		Listen: []daemon.Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:0")}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(b.Context())
	srv := net.UDPAddrFromAddrPort(s.Addrs(daemon.KindDNS)[0])
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	buf := make([]byte, 4096)
	b.ReportAllocs()
	n, next := 0, 0
	for b.Loop() {
		for range 32 {
			pc.WriteToUDP(qs[next%len(qs)], srv)
			next++
		}
		for range 32 {
			pc.SetReadDeadline(time.Now().Add(time.Second))
			if _, _, err := pc.ReadFromUDP(buf); err != nil {
				break // lost: the next round goes on
			}
			n++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(n, 1)), "ns/query")
}

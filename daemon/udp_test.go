package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// TestUDPBatch: queries that arrive together (several per recvmmsg, from
// several clients, IPv4 and IPv6, inline answers mixed with asynchronous
// ones) each get their own answer, at the address and port they came
// from, and the request sees that address as Client.
func TestUDPBatch(t *testing.T) {
	testnet.Isolate(t)
	var mu sync.Mutex
	clients := map[string]netip.AddrPort{}
	probe := layerFunc{name: "probe", begin: func(r *Request, s State) State {
		name := string(r.QName())
		mu.Lock()
		clients[name] = r.Client
		mu.Unlock()
		if name[1] == 'a' { // "a..." names: answered on another goroutine
			r.Upstream = &memTransport{}
			return s
		}
		return (&memLayer{addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}).Begin(r, s)
	}}
	s := startServer(t, &Config{Listen: []Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:0")}, {Addr: netip.MustParseAddrPort("[::1]:0")}},
		Layers: []Layer{probe}})
	for _, srv := range s.Addrs(KindDNS) {
		if err := udpBurst(srv, 4, 64, clients, &mu); err != nil {
			t.Errorf("%v: %v", srv, err)
		}
	}
}

// udpBurst sends n queries from each of k sockets, interleaved and without
// waiting, then reads the answers (sending again those still missing,
// three times at most, as UDP may lose some under load) and checks each
// against its query and the Client the server saw.
func udpBurst(srv netip.AddrPort, k, n int, clients map[string]netip.AddrPort, mu *sync.Mutex) error {
	local := "127.0.0.1:0"
	if srv.Addr().Is6() {
		local = "[::1]:0"
	}
	type client struct {
		pc    net.PacketConn
		me    netip.AddrPort
		want  map[uint16]string
		wires map[uint16][]byte
	}
	cs := make([]*client, k)
	for c := range cs {
		pc, err := net.ListenPacket("udp", local)
		if err != nil {
			return err
		}
		defer pc.Close()
		me := pc.LocalAddr().(*net.UDPAddr).AddrPort()
		cs[c] = &client{pc: pc, me: netip.AddrPortFrom(me.Addr().Unmap(), me.Port()), want: map[uint16]string{}, wires: map[uint16][]byte{}}
		for i := range n {
			kind := "i"
			if i%3 == 0 {
				kind = "a"
			}
			name := fmt.Sprintf("%s%d-%d.example.", kind, c, i)
			m := query(name, dns.TypeA)
			m.Id = uint16(c<<8 | i)
			if i%2 == 0 {
				m.SetEdns0(1232, false)
			}
			w, err := m.Pack()
			if err != nil {
				return err
			}
			cs[c].want[m.Id] = name
			cs[c].wires[m.Id] = w
		}
	}
	buf := make([]byte, 65535)
	dst := net.UDPAddrFromAddrPort(srv)
	for try := 0; try < 3; try++ {
		left := 0
		for i := range n { // query i of each client, then query i+1 ...
			for c, cl := range cs {
				id := uint16(c<<8 | i)
				if _, ok := cl.want[id]; ok {
					if _, err := cl.pc.WriteTo(cl.wires[id], dst); err != nil {
						return err
					}
				}
			}
		}
		for c, cl := range cs {
			cl.pc.SetReadDeadline(time.Now().Add(5 * time.Second))
			for len(cl.want) > 0 {
				k, from, err := cl.pc.ReadFrom(buf)
				if err != nil {
					break // a timeout: send the missing ones again
				}
				if got := from.(*net.UDPAddr).AddrPort(); got.Port() != srv.Port() || got.Addr().Unmap() != srv.Addr() {
					return fmt.Errorf("answer from %v", got)
				}
				m := new(dns.Msg)
				if err := m.Unpack(buf[:k]); err != nil {
					return err
				}
				if int(m.Id>>8) != c {
					return fmt.Errorf("client %d got the answer to client %d's query %v", c, m.Id>>8, m.Question)
				}
				name, ok := cl.want[m.Id]
				if !ok {
					continue // a duplicate after a resend
				}
				if len(m.Question) != 1 || m.Question[0].Name != name || len(m.Answer) != 1 || !m.Response {
					return fmt.Errorf("query %s id %d: answer %v", name, m.Id, m)
				}
				if (m.IsEdns0() != nil) != ((m.Id&0xFF)%2 == 0) {
					return fmt.Errorf("query %s: EDNS in the answer %v", name, m.IsEdns0() != nil)
				}
				mu.Lock()
				seen := clients[string(dnsNameWire(name))]
				mu.Unlock()
				if seen != cl.me {
					return fmt.Errorf("query %s from %v: the request's Client is %v", name, cl.me, seen)
				}
				delete(cl.want, m.Id)
			}
			left += len(cl.want)
		}
		if left == 0 {
			return nil
		}
	}
	return fmt.Errorf("queries unanswered after three tries")
}

// dnsNameWire returns name in wire form.
func dnsNameWire(name string) []byte {
	b := make([]byte, 256)
	k, _ := dns.PackDomainName(name, b, 0, nil, false)
	return b[:k]
}

// BenchmarkUDPRoundTrip is the UDP listener's path with real sockets: a
// client sends 32 queries at once and reads the 32 answers, the server
// answers inline from a Go layer (recvmmsg, the pipeline, sendmmsg). The
// figure per query includes the client's share.
//
//	go test -run X -bench UDPRoundTrip -benchmem ./daemon/
func BenchmarkUDPRoundTrip(b *testing.B) {
	s, err := New(&Config{Log: NewLogger(discard{}), Listen: []Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:0")}},
		Layers: []Layer{&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(b.Context())
	srv := net.UDPAddrFromAddrPort(s.Addrs(KindDNS)[0])
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	var wires [32][]byte
	for i := range wires {
		m := query(fmt.Sprintf("n%d.example.test.", i), dns.TypeA)
		m.Id = uint16(i)
		wires[i], _ = m.Pack()
	}
	buf := make([]byte, 4096)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, w := range wires {
			pc.WriteToUDP(w, srv)
		}
		for range wires {
			pc.SetReadDeadline(time.Now().Add(time.Second))
			if _, _, err := pc.ReadFromUDP(buf); err != nil {
				break // lost: the next round goes on
			}
			n++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(n, 1)), "ns/query")
}

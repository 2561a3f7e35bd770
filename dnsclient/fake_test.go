package dnsclient

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
)

// Go fake servers: they misbehave in ways real servers don't, on
// 127.0.0.0/8 only.

// fakeUDP listens on a free port of 127.0.0.1 and calls handle for every
// query; handle writes whatever it wants through the socket.
func fakeUDP(t *testing.T, handle func(c *net.UDPConn, from netip.AddrPort, q *dns.Msg, raw []byte)) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			raw := append([]byte(nil), buf[:n]...)
			m := new(dns.Msg)
			if m.Unpack(raw) != nil {
				continue
			}
			go handle(c, from, m, raw)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// answerTo returns the answer to q with one A record for its name.
func answerTo(q *dns.Msg, a string) *dns.Msg {
	r := new(dns.Msg)
	r.SetReply(q)
	rr, _ := dns.NewRR(q.Question[0].Name + " 300 IN A " + a)
	r.Answer = append(r.Answer, rr)
	// echo the client cookie, as a server would
	if o := q.IsEdns0(); o != nil {
		ro := new(dns.OPT)
		ro.Hdr.Name, ro.Hdr.Rrtype = ".", dns.TypeOPT
		ro.SetUDPSize(1232)
		for _, opt := range o.Option {
			if c, ok := opt.(*dns.EDNS0_COOKIE); ok {
				ro.Option = append(ro.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: c.Cookie[:16] + "0102030405060708"})
			}
		}
		r.Extra = append(r.Extra, ro)
	}
	return r
}

func pack(t testing.TB, m *dns.Msg) []byte {
	b, err := m.Pack()
	if err != nil {
		t.Error(err)
	}
	return b
}

// TestDgramDropsSpoofed checks that answers with a wrong ID, a wrong
// question, from a wrong source, with a wrong cookie, without QR, or
// garbage are dropped and the real answer (sent last) is returned.
func TestDgramDropsSpoofed(t *testing.T) {
	spoofer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2: %v", err)
	}
	defer spoofer.Close()
	addr := fakeUDP(t, func(c *net.UDPConn, from netip.AddrPort, q *dns.Msg, raw []byte) {
		send := func(m *dns.Msg) { _, _ = c.WriteToUDPAddrPort(pack(t, m), from) }
		wrongID := answerTo(q, "192.0.2.66")
		wrongID.Id ^= 0x5555
		send(wrongID)
		wrongQ := answerTo(q, "192.0.2.66")
		wrongQ.Question[0].Name = "other.example."
		send(wrongQ)
		wrongType := answerTo(q, "192.0.2.66")
		wrongType.Question[0].Qtype = dns.TypeAAAA
		send(wrongType)
		noQR := answerTo(q, "192.0.2.66")
		noQR.Response = false
		send(noQR)
		wrongCookie := answerTo(q, "192.0.2.66")
		wrongCookie.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "00112233445566770102030405060708"}}
		send(wrongCookie)
		_, _ = c.WriteToUDPAddrPort([]byte("\x00\x01garbage"), from)
		_, _ = c.WriteToUDPAddrPort(append(raw[:2:2], 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0), from) // header only
		// a perfect answer from another address
		_, _ = spoofer.WriteToUDPAddrPort(pack(t, answerTo(q, "192.0.2.66")), from)
		time.Sleep(30 * time.Millisecond)
		send(answerTo(q, "192.0.2.1"))
	})
	d, err := NewDgram(addr.String(), DgramOptions{Timeout: 2 * time.Second, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		qq := q(t, "www.example.test", dnsmsg.TypeA)
		a, err := d.Query(ctx(t), qq)
		if err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		checkWWWLoose(t, qq, a)
	}
	// 7 spoofs per query reach the socket (the one from 127.0.0.2 may be
	// filtered by the kernel already: the socket is connected)
	if got := d.Dropped(); got < 3*7 {
		t.Errorf("dropped %d datagrams, want at least %d", got, 3*7)
	}
}

// checkWWWLoose checks the A record 192.0.2.1 and the ID.
func checkWWWLoose(t testing.TB, q, a *dnsmsg.Packet) {
	t.Helper()
	if a.ID() != q.ID() {
		t.Errorf("answer ID %d, query ID %d", a.ID(), q.ID())
	}
	rrs := a.Records(dnsmsg.SectionAN)
	if len(rrs) != 1 || string(rrs[0].RData[0]) != "\xc0\x00\x02\x01" {
		t.Fatalf("took a spoofed answer:\n%s", a)
	}
}

// TestDgramTimeoutRetries checks that every attempt uses a new source port
// and a new ID, and that silence ends with ErrTimeout.
func TestDgramTimeoutRetries(t *testing.T) {
	var mu sync.Mutex
	ports, ids := map[uint16]bool{}, map[uint16]bool{}
	addr := fakeUDP(t, func(_ *net.UDPConn, from netip.AddrPort, q *dns.Msg, _ []byte) {
		mu.Lock()
		ports[from.Port()], ids[q.Id] = true, true
		mu.Unlock()
	})
	d, _ := NewDgram(addr.String(), DgramOptions{Timeout: 50 * time.Millisecond, Retries: 3})
	_, err := d.Query(ctx(t), q(t, "www.example.test", dnsmsg.TypeA))
	if !errorsIs(err, ErrTimeout) {
		t.Fatalf("silent server: %v", err)
	}
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(ports) != 4 || len(ids) != 4 {
		t.Errorf("4 attempts used %d ports and %d IDs", len(ports), len(ids))
	}
}

// fakeTCP serves one connection at a time with handle.
func fakeTCP(t *testing.T, handle func(c net.Conn)) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); handle(c) }()
		}
	}()
	return l.Addr().(*net.TCPAddr).AddrPort()
}

func readTCPMsg(c net.Conn) (*dns.Msg, error) {
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	return m, m.Unpack(b)
}

func writeTCPMsg(c net.Conn, m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...))
	return err
}

// TestStreamOutOfOrder sends n queries at once on one connection; the fake
// server reads them all, then answers in reverse order. Each caller must
// get its own answer.
func TestStreamOutOfOrder(t *testing.T) {
	const n = 20
	conns := 0
	var mu sync.Mutex
	addr := fakeTCP(t, func(c net.Conn) {
		mu.Lock()
		conns++
		mu.Unlock()
		var qs []*dns.Msg
		for len(qs) < n {
			m, err := readTCPMsg(c)
			if err != nil {
				return
			}
			qs = append(qs, m)
		}
		for i := len(qs) - 1; i >= 0; i-- {
			r := answerTo(qs[i], "192.0.2.1")
			// the answer's record names the query's position
			r.Answer[0].(*dns.A).A = net.IPv4(192, 0, 2, byte(10+i))
			if err := writeTCPMsg(c, r); err != nil {
				return
			}
		}
		_, _ = readTCPMsg(c) // until the client closes
	})
	s, err := NewStream(addr.String(), StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// dial first so that all queries share one connection
	var wg sync.WaitGroup
	errs := make(chan error, n)
	answers := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qq := q(t, "q"+string(rune('a'+i))+".example.test", dnsmsg.TypeA)
			a, err := s.Query(ctx(t), qq)
			if err != nil {
				errs <- err
				return
			}
			if qn, _, _, _ := a.Question(); string(qn) != string(mustQName(qq)) || a.ID() != qq.ID() {
				errs <- errorf("query %d got the answer of another", i)
				return
			}
			answers <- string(a.Records(dnsmsg.SectionAN)[0].RData[0])
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(answers) != n {
		t.Fatalf("%d answers", len(answers))
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Errorf("%d connections, want 1 (pipelined)", conns)
	}
}

func mustQName(p *dnsmsg.Packet) []byte {
	n, _, _, _ := p.Question()
	return n
}

// TestStreamReconnect: a server closing the connection after each answer;
// each query still gets its answer, on a new connection.
func TestStreamReconnect(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	addr := fakeTCP(t, func(c net.Conn) {
		mu.Lock()
		conns++
		mu.Unlock()
		m, err := readTCPMsg(c)
		if err != nil {
			return
		}
		_ = writeTCPMsg(c, answerTo(m, "192.0.2.1"))
	})
	for _, kind := range []string{"stream", "multi_stream"} {
		t.Run(kind, func(t *testing.T) {
			var tr Transport
			if kind == "stream" {
				tr, _ = NewStream(addr.String(), StreamOptions{})
			} else {
				tr, _ = NewMultiStream(addr.String(), StreamOptions{})
			}
			defer tr.Close()
			for i := range 5 {
				qq := q(t, "www.example.test", dnsmsg.TypeA)
				a, err := tr.Query(ctx(t), qq)
				if err != nil {
					t.Fatalf("query %d: %v", i, err)
				}
				checkWWWLoose(t, qq, a)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 10 {
		t.Errorf("%d connections for 10 queries", conns)
	}
}

// TestStreamKeepalive: the server's edns-tcp-keepalive timeout replaces
// the idle timeout, and the connection closes when it runs out.
func TestStreamKeepalive(t *testing.T) {
	closed := make(chan time.Time, 1)
	sawKA := make(chan bool, 4)
	addr := fakeTCP(t, func(c net.Conn) {
		for {
			m, err := readTCPMsg(c)
			if err != nil {
				closed <- time.Now()
				return
			}
			ka := false
			if o := m.IsEdns0(); o != nil {
				for _, e := range o.Option {
					ka = ka || e.Option() == dns.EDNS0TCPKEEPALIVE
				}
			}
			sawKA <- ka
			r := answerTo(m, "192.0.2.1")
			if o := r.IsEdns0(); o != nil {
				o.Option = append(o.Option, &dns.EDNS0_TCP_KEEPALIVE{Code: dns.EDNS0TCPKEEPALIVE, Timeout: 3}) // 300 ms
			}
			_ = writeTCPMsg(c, r)
		}
	})
	s, _ := NewStream(addr.String(), StreamOptions{IdleTimeout: time.Hour})
	defer s.Close()
	for i := range 2 {
		if _, err := s.Query(ctx(t), q(t, "www.example.test", dnsmsg.TypeA)); err != nil {
			t.Fatal(err)
		}
		if ka := <-sawKA; ka != (i == 0) {
			t.Errorf("query %d: keepalive option sent: %v (want only in the first)", i, ka)
		}
	}
	if got := s.IdleTimeout(); got != 300*time.Millisecond {
		t.Errorf("idle timeout %v after the server's keepalive of 300 ms", got)
	}
	start := time.Now()
	select {
	case at := <-closed:
		t.Logf("closed %v after the last answer", at.Sub(start))
	case <-time.After(10 * time.Second):
		t.Fatal("the idle connection was not closed after the server's keepalive timeout")
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func errorf(f string, a ...any) error { return fmt.Errorf(f, a...) }

// TestConnectTimeout: a server that accepts but never speaks TLS; the
// handshake is bounded by ConnectTimeout, for Stream and MultiStream
// (domain's multi_stream has no such bound).
func TestConnectTimeout(t *testing.T) {
	addr := fakeTCP(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	for _, multi := range []bool{false, true} {
		o := StreamOptions{TLS: &TLSOptions{}, ConnectTimeout: 100 * time.Millisecond}
		var tr Transport
		if multi {
			tr, _ = NewMultiStream(addr.String(), o)
		} else {
			tr, _ = NewStream(addr.String(), o)
		}
		_, err := tr.Query(ctx(t), q(t, "www.example.test", dnsmsg.TypeA))
		if !errors.Is(err, ErrTLS) {
			t.Errorf("multi %v: %v", multi, err)
		}
		tr.Close()
	}
}

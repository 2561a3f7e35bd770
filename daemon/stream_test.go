package daemon

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

// tcpSend writes one length-prefixed message.
func tcpSend(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	buf := binary.BigEndian.AppendUint16(nil, uint16(len(b)))
	if _, err := c.Write(append(buf, b...)); err != nil {
		t.Fatal(err)
	}
}

// tcpRecv reads one length-prefixed message.
func tcpRecv(t *testing.T, c net.Conn, timeout time.Duration) (*dns.Msg, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	return m, m.Unpack(b)
}

// slowFast is an upstream that holds "slow." until released.
type slowFast struct {
	memTransport
	release chan struct{}
}

// TestTCPOutOfOrder: two queries pipelined on one TCP connection, the
// first slow upstream, are answered as they complete (RFC 7766 §6.2.1.1):
// the second answer comes first.
func TestTCPOutOfOrder(t *testing.T) {
	testnet.Isolate(t)
	slow := &memTransport{hold: make(chan struct{})}
	fast := &memTransport{}
	route := layerFunc{name: "route", begin: func(r *Request, s State) State {
		if string(r.QName()) == "\x04slow\x00" {
			r.Upstream = slow
		} else {
			r.Upstream = fast
		}
		return s
	}}
	s := startServer(t, &Config{Layers: []Layer{route}})
	c, err := net.Dial("tcp", s.Addrs(KindDNS)[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q1, q2 := query("slow", dns.TypeA), query("fast", dns.TypeA)
	q1.Id, q2.Id = 1, 2
	tcpSend(t, c, pack(t, q1))
	tcpSend(t, c, pack(t, q2))
	m, err := tcpRecv(t, c, 5*time.Second)
	if err != nil || m.Id != 2 {
		t.Fatalf("first answer %v %v, want ID 2", m, err)
	}
	close(slow.hold)
	m, err = tcpRecv(t, c, 5*time.Second)
	if err != nil || m.Id != 1 || m.Rcode != dns.RcodeSuccess {
		t.Fatalf("second answer %v %v, want ID 1", m, err)
	}
}

// TestTCPPipelineLimit: with net.tcp_pipeline = 2 a connection has two
// queries upstream at most; the third waits (unread) until one finishes.
func TestTCPPipelineLimit(t *testing.T) {
	testnet.Isolate(t)
	up := &memTransport{hold: make(chan struct{}), started: make(chan string, 10)}
	s := startServer(t, &Config{TCPPipeline: 2, Layers: []Layer{forwardLayer(up)}})
	c, err := net.Dial("tcp", s.Addrs(KindDNS)[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 3; i++ {
		q := query("q"+string(rune('a'+i)), dns.TypeA)
		q.Id = uint16(i + 1)
		tcpSend(t, c, pack(t, q))
	}
	for i := 0; i < 2; i++ {
		select {
		case <-up.started:
		case <-time.After(5 * time.Second):
			t.Fatal("pipelined queries did not reach the upstream")
		}
	}
	select {
	case n := <-up.started:
		t.Fatalf("a third query (%q) went upstream past tcp_pipeline=2", n)
	case <-time.After(300 * time.Millisecond):
	}
	if s.Counters().LimitPipeline.Load() != 1 {
		t.Fatalf("LimitPipeline = %d", s.Counters().LimitPipeline.Load())
	}
	close(up.hold)
	for i := 0; i < 3; i++ {
		if _, err := tcpRecv(t, c, 5*time.Second); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
}

// TestTCPIdleAndStall: a connection that sends nothing, and one that stalls
// in the middle of a message, are closed after net.tcp_in_idle while other
// clients are served.
func TestTCPIdleAndStall(t *testing.T) {
	testnet.Isolate(t)
	s := startServer(t, &Config{TCPIdle: 300 * time.Millisecond,
		Layers: []Layer{&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}})
	addr := s.Addrs(KindDNS)[0]
	idle, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	stall, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer stall.Close()
	b := pack(t, query("example.org", dns.TypeA))
	stall.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b[:5]...)) // half a message
	// others are served meanwhile
	for i := 0; i < 5; i++ {
		if m := exchange(t, "tcp", addr, query("example.org", dns.TypeA)); m.Rcode != dns.RcodeSuccess {
			t.Fatal(m)
		}
	}
	for name, c := range map[string]net.Conn{"idle": idle, "stall": stall} {
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := c.Read(make([]byte, 10))
		if err != io.EOF {
			t.Fatalf("%s: read %v, want EOF (closed by the server)", name, err)
		}
		t.Logf("%s connection closed after %v", name, time.Since(start))
	}
	if s.Counters().Timeouts.Load() < 2 {
		t.Fatalf("Timeouts = %d", s.Counters().Timeouts.Load())
	}
}

// TestConnLimits: Limits.Conns and Limits.ConnsPerClient close connections
// over them at once; UDP goes on.
func TestConnLimits(t *testing.T) {
	testnet.Isolate(t)
	mem := &memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}
	lo := netip.MustParseAddr("127.0.0.1")
	s := startServer(t, &Config{Listen: []Listen{{Addr: netip.AddrPortFrom(lo, 0)}},
		Limits: Limits{Conns: 3, ConnsPerClient: 2}, Layers: []Layer{mem}})
	addr := s.Addrs(KindDNS)[0]
	dialFrom := func(src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	works := func(c net.Conn) bool {
		tcpSend(t, c, pack(t, query("example.org", dns.TypeA)))
		_, err := tcpRecv(t, c, 3*time.Second)
		return err == nil
	}
	a1, a2, a3 := dialFrom("127.0.0.10"), dialFrom("127.0.0.10"), dialFrom("127.0.0.10")
	if !works(a1) || !works(a2) {
		t.Fatal("connections within the limits refused")
	}
	if works(a3) {
		t.Fatal("a third connection from one client served with ConnsPerClient=2")
	}
	b1, b2 := dialFrom("127.0.0.11"), dialFrom("127.0.0.12")
	if !works(b1) {
		t.Fatal("another client's first connection refused")
	}
	if works(b2) {
		t.Fatal("a fourth connection served with Conns=3")
	}
	if got := s.Counters().LimitConns.Load(); got != 2 {
		t.Fatalf("LimitConns = %d, want 2", got)
	}
	if m := exchange(t, "udp", addr, query("example.org", dns.TypeA)); m.Rcode != dns.RcodeSuccess {
		t.Fatal("UDP not served")
	}
	a1.Close()
	time.Sleep(100 * time.Millisecond) // let the server see the close
	if !works(dialFrom("127.0.0.12")) {
		t.Fatal("a connection after one closed was refused")
	}
}

// TestInflightPerClient: Limits.InflightPerClient drops a client's queries
// beyond the limit while its earlier ones wait upstream; another client is
// served.
func TestInflightPerClient(t *testing.T) {
	testnet.Isolate(t)
	up := &memTransport{hold: make(chan struct{}), started: make(chan string, 10)}
	s := startServer(t, &Config{Limits: Limits{InflightPerClient: 2}, Layers: []Layer{forwardLayer(up)}})
	addr := s.Addrs(KindDNS)[0]
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 3; i++ {
		q := query("x"+string(rune('a'+i)), dns.TypeA)
		c.Write(pack(t, q))
	}
	for i := 0; i < 2; i++ {
		select {
		case <-up.started:
		case <-time.After(5 * time.Second):
			t.Fatal("queries did not reach the upstream")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Counters().LimitInflight.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := s.Counters().LimitInflight.Load(); got != 1 {
		t.Fatalf("LimitInflight = %d, want 1", got)
	}
	select {
	case n := <-up.started:
		t.Fatalf("third query %q went upstream", n)
	default:
	}
	close(up.hold)
	for i := 0; i < 2; i++ {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 512)); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
}

// TestOutgoingInflight: Limits.OutgoingInflight bounds the upstream queries
// in flight in the whole server: over it, SERVFAIL at once.
func TestOutgoingInflight(t *testing.T) {
	up := &memTransport{hold: make(chan struct{}), started: make(chan string, 10)}
	s := newTestServer(t, &Config{Limits: Limits{OutgoingInflight: 1}, Layers: []Layer{forwardLayer(up)}})
	done := make(chan *dns.Msg, 1)
	go func() {
		m, _ := ask(t, s, pack(t, query("first", dns.TypeA)), loClient, UDP)
		done <- m
	}()
	<-up.started
	m, _ := ask(t, s, pack(t, query("second", dns.TypeA)), loClient, UDP)
	if m.Rcode != dns.RcodeServerFailure {
		t.Fatalf("second query with one in flight: %s, want SERVFAIL", dns.RcodeToString[m.Rcode])
	}
	close(up.hold)
	if m := <-done; m.Rcode != dns.RcodeSuccess {
		t.Fatalf("first query: %s", dns.RcodeToString[m.Rcode])
	}
}

var _ = dnsmsg.TypeA

package daemon

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
)

// memLayer answers every A query from memory with one address (a trivial
// Go layer, the pure path of the benchmarks).
type memLayer struct {
	name string
	addr netip.Addr
	ttl  uint32
}

func (l *memLayer) Name() string { return l.name }

func (l *memLayer) Begin(r *Request, s State) State {
	if r.QType() != dnsmsg.TypeA {
		return s
	}
	a := l.addr.As4()
	rr := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.QName()}, Type: dnsmsg.TypeA, Class: dnsmsg.ClassINET, TTL: l.ttl,
		RData: [][]byte{a[:]}}
	r.Answer.Put(rr, true)
	r.Answer.Buf[2] |= 0x04 // AA
	return Done
}

// startServer starts a server for cfg on 127.0.0.1:0 (unless cfg lists
// listeners) and stops it at the end of the test.
func startServer(t *testing.T, cfg *Config) *Server {
	t.Helper()
	if len(cfg.Listen) == 0 {
		cfg.Listen = []Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:0")}}
	}
	if cfg.Log == nil {
		cfg.Log = NewLogger(testWriter{t})
	}
	s, err := New(cfg)
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
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}

// exchange sends m to addr over net ("udp", "tcp") and returns the answer.
func exchange(t *testing.T, netw string, addr netip.AddrPort, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: netw, Timeout: 5 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr.String())
	if err != nil {
		t.Fatalf("%s exchange with %v: %v", netw, addr, err)
	}
	return r
}

func query(name string, t uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), t)
	return m
}

// rawUDP sends raw bytes and returns the answer (nil after timeout).
func rawUDP(t *testing.T, addr netip.AddrPort, b []byte, timeout time.Duration) []byte {
	t.Helper()
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(b)
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// lockedBuf is a goroutine-safe buffer.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

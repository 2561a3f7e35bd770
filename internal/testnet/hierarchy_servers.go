package testnet

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// Blackhole listens on addr over UDP and TCP and reads and drops every query, so whoever asks
// it waits until its own timeout: a name server that never answers. It stops when t ends.
func Blackhole(t testing.TB, addr netip.AddrPort) {
	t.Helper()
	s := newRigServer(t, addr)
	s.goUDP(func(_ []byte, _ net.Addr) {})
	s.goTCP(func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
}

// TCPOnlyProxy listens on addr: every UDP query gets an empty response with TC=1 (RFC 1035
// 4.2.1, RFC 7766), and every TCP connection is relayed to backend's TCP port. In front of a
// knotd it makes a name server that answers only over TCP. It stops when t ends.
func TCPOnlyProxy(t testing.TB, addr, backend netip.AddrPort) {
	t.Helper()
	s := newRigServer(t, addr)
	s.goUDP(func(q []byte, from net.Addr) {
		if r := truncatedReply(q); r != nil {
			_, _ = s.udp.WriteTo(r, from)
		}
	})
	s.goTCP(func(c net.Conn) {
		b, err := net.Dial("tcp", backend.String())
		if err != nil {
			return
		}
		s.track(b)
		done := make(chan struct{})
		go func() {
			_, _ = io.Copy(b, c)
			_ = b.(*net.TCPConn).CloseWrite()
			close(done)
		}()
		_, _ = io.Copy(c, b)
		_ = b.Close()
		<-done
	})
}

// truncatedReply makes the reply to query q that carries only its question and TC=1, or nil
// when q is not a well-formed query with one question.
func truncatedReply(q []byte) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	i := 12
	for { // the question name: labels up to the root label (a query has no compression)
		if i >= len(q) {
			return nil
		}
		n := int(q[i])
		if n == 0 {
			i++
			break
		}
		if n > 63 {
			return nil
		}
		i += 1 + n
	}
	if i+4 > len(q) {
		return nil
	}
	r := make([]byte, i+4)
	copy(r, q[:i+4])
	r[2] = 0x80 | q[2]&0x79 | 0x02 // QR, opcode and RD kept, TC set, AA clear
	r[3] = 0                        // RA, Z, AD, CD clear; RCODE NOERROR
	binary.BigEndian.PutUint16(r[6:], 0)
	binary.BigEndian.PutUint16(r[8:], 0)
	binary.BigEndian.PutUint16(r[10:], 0)
	return r
}

// rigServer is a UDP socket and a TCP listener on one address, run by goroutines of the test
// process and closed, with every connection it accepted, when the test ends.
type rigServer struct {
	udp   net.PacketConn
	tcp   net.Listener
	mu     sync.Mutex
	conns  []io.Closer // accepted or dialled connections
	closed bool
	wg     sync.WaitGroup
}

func newRigServer(t testing.TB, addr netip.AddrPort) *rigServer {
	t.Helper()
	s := &rigServer{}
	var err error
	if s.udp, err = net.ListenPacket("udp", addr.String()); err != nil {
		t.Fatalf("testnet: %v", err)
	}
	if s.tcp, err = net.Listen("tcp", addr.String()); err != nil {
		_ = s.udp.Close()
		t.Fatalf("testnet: %v", err)
	}
	t.Cleanup(s.close)
	return s
}

// track registers c to be closed when the server closes.
func (s *rigServer) track(c io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return
	}
	s.conns = append(s.conns, c)
}

func (s *rigServer) close() {
	_ = s.udp.Close()
	_ = s.tcp.Close()
	s.mu.Lock()
	conns := s.conns
	s.conns, s.closed = nil, true
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	s.wg.Wait()
}

// goUDP hands every datagram to fn on one goroutine until the socket closes.
func (s *rigServer) goUDP(fn func(b []byte, from net.Addr)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 65535)
		for {
			n, from, err := s.udp.ReadFrom(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				fn(buf[:n], from)
			}
		}
	}()
}

// goTCP runs fn on a goroutine of its own for every accepted connection, and closes it after.
func (s *rigServer) goTCP(fn func(c net.Conn)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.tcp.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			s.track(c)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				fn(c)
			}()
		}
	}()
}

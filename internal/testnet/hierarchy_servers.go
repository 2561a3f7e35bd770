package testnet

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// Blackhole listens on addr over UDP and TCP and reads and drops every query, so whoever asks
// it waits until its own timeout: a name server that never answers (neither an ICMP
// unreachable nor a TCP reset, which would let a resolver give up at once). It stops when t ends.
func Blackhole(t testing.TB, addr netip.AddrPort) {
	t.Helper()
	udp, err := net.ListenPacket("udp", addr.String())
	if err != nil {
		t.Fatalf("testnet: blackhole: %v", err)
	}
	tcp, err := net.Listen("tcp", addr.String())
	if err != nil {
		_ = udp.Close()
		t.Fatalf("testnet: blackhole: %v", err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn // accepted, closed at the end
		closed bool
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65535)
		for {
			if _, _, err := udp.ReadFrom(buf); errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := tcp.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			} else if err != nil {
				continue
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				_ = c.Close()
				return
			}
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = udp.Close()
		_ = tcp.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

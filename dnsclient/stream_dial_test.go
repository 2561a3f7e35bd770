package dnsclient

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"ljdns/dnsmsg"
)

// tcpAnswerer serves DNS over TCP on 127.0.0.1: every query is answered
// with itself, QR set. It returns the address and the count of
// connections accepted so far.
func tcpAnswerer(t *testing.T) (string, func() int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var conns int64
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns++
			mu.Unlock()
			go func() {
				defer c.Close()
				var hdr [2]byte
				for {
					if _, err := io.ReadFull(c, hdr[:]); err != nil {
						return
					}
					m := make([]byte, 2+binary.BigEndian.Uint16(hdr[:]))
					copy(m, hdr[:])
					if _, err := io.ReadFull(c, m[2:]); err != nil {
						return
					}
					m[4] |= 0x80 // QR
					if _, err := c.Write(m); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String(), func() int64 {
		mu.Lock()
		defer mu.Unlock()
		return conns
	}
}

// The first queries on a new Stream arrive together: one of them dials and
// the others wait for its connection, so the burst is pipelined on one
// connection. (They used to dial each, and the losers' path took the
// Stream's lock twice and deadlocked; this test hung then.)
func TestStreamConcurrentFirstQueries(t *testing.T) {
	addr, conns := tcpAnswerer(t)
	for round := range 20 {
		s, err := NewMultiStream(addr, StreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				q, _ := NewQuery("www.example.test", dnsmsg.TypeA)
				if _, err := s.Query(ctx, q); err != nil {
					errs <- err
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second): // a deadlock, not a slow machine
			t.Fatalf("round %d: concurrent first queries never returned (deadlock)", round)
		}
		cancel()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		s.Close()
		if got, want := conns(), int64(round+1); got != want {
			t.Fatalf("round %d: %d connections so far, want %d (one per round)", round, got, want)
		}
	}
}

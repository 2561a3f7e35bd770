package testnet

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// freePortOn returns a port that was free for both UDP and TCP on addr.
func freePortOn(t testing.TB, addr netip.Addr) uint16 {
	t.Helper()
	for range 50 {
		l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		if err != nil {
			t.Fatal(err)
		}
		ap := l.Addr().(*net.TCPAddr).AddrPort()
		u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
		l.Close()
		if err == nil {
			u.Close()
			return ap.Port()
		}
	}
	t.Fatalf("testnet: no free port on %s", addr)
	return 0
}

// tcpOnlyFront listens on front: TCP connections are relayed to back, and
// every UDP query is answered with an empty reply with TC set. It returns
// the function that closes it and waits for its goroutines.
func tcpOnlyFront(t testing.TB, front, back netip.AddrPort) func() {
	t.Helper()
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(front))
	if err != nil {
		t.Fatalf("testnet: TCP-only front %s: %v", front, err)
	}
	u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(front))
	if err != nil {
		l.Close()
		t.Fatalf("testnet: TCP-only front %s: %v", front, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	track := func(c net.Conn, on bool) bool {
		mu.Lock()
		defer mu.Unlock()
		if conns == nil {
			return false
		}
		if on {
			conns[c] = true
		} else {
			delete(conns, c)
		}
		return true
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65535)
		for {
			n, from, err := u.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil || len(q.Question) == 0 {
				continue
			}
			r := new(dns.Msg)
			r.SetReply(q)
			r.Truncated = true
			if out, err := r.Pack(); err == nil {
				u.WriteToUDPAddrPort(out, from)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				s, err := net.Dial("tcp", back.String())
				if err != nil {
					return
				}
				defer s.Close()
				if !track(c, true) || !track(s, true) {
					return
				}
				go func() { io.Copy(s, c); s.(*net.TCPConn).CloseWrite() }()
				io.Copy(c, s)
				track(c, false)
				track(s, false)
			}()
		}
	}()
	return func() {
		l.Close()
		u.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		conns = nil
		mu.Unlock()
		wg.Wait()
	}
}

package dnsclient

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
)

// benchUDPServer answers every query on 127.0.0.1 with the query itself,
// QR set (enough for MatchAnswer), from one goroutine.
func benchUDPServer(b *testing.B) netip.AddrPort {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			buf[2] |= 0x80
			_, _ = c.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// benchTCPServer answers every query on its connection with the query
// itself, QR set, reading and writing in large buffers.
func benchTCPServer(b *testing.B) netip.AddrPort {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReaderSize(c, 64<<10)
				w := bufio.NewWriterSize(c, 64<<10)
				var hdr [2]byte
				for {
					if _, err := io.ReadFull(r, hdr[:]); err != nil {
						return
					}
					msg := make([]byte, int(hdr[0])<<8|int(hdr[1]))
					if _, err := io.ReadFull(r, msg); err != nil {
						return
					}
					msg[2] |= 0x80
					w.Write(hdr[:])
					w.Write(msg)
					if r.Buffered() == 0 {
						if w.Flush() != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// BenchmarkStreamFake measures pipelined queries over one connection to
// an in-process fake server.
func BenchmarkStreamFake(b *testing.B) {
	s, _ := NewStream(benchTCPServer(b).String(), StreamOptions{})
	defer s.Close()
	qq, _ := NewQuery("www.example.test", dnsmsg.TypeA)
	b.ReportAllocs()
	b.SetParallelism(50)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Query(context.Background(), qq); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCacheHit measures answers from the cache (no upstream traffic):
// copy, ID and name rewrite, TTL decrement, parse.
func BenchmarkCacheHit(b *testing.B) {
	up := &fakeUpstream{answer: func(q *dns.Msg) (*dns.Msg, error) {
		return reply(q, 0, []string{"www.example.test. 300 IN A 192.0.2.1", "www.example.test. 300 IN A 192.0.2.2"}, nil), nil
	}}
	c, _ := NewCache(up, CacheOptions{})
	qq, _ := NewQuery("www.example.test", dnsmsg.TypeA)
	if _, err := c.Query(context.Background(), qq); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Query(context.Background(), qq); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if up.n.Load() != 1 {
		b.Errorf("upstream asked %d times", up.n.Load())
	}
}

package client_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ljdns/dnsclient"
	"ljdns/dnsmsg"
	"ljdns/host"
)

// tcpEcho answers DNS over TCP on 127.0.0.1 by echoing each query with QR
// set, reading and writing through buffers (it stands for a fast server).
func tcpEcho(b *testing.B) string {
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
				r, w := bufio.NewReader(c), bufio.NewWriter(c)
				var hdr [2]byte
				for {
					if _, err := io.ReadFull(r, hdr[:]); err != nil {
						return
					}
					m := make([]byte, 2+binary.BigEndian.Uint16(hdr[:]))
					copy(m, hdr[:])
					if _, err := io.ReadFull(r, m[2:]); err != nil {
						return
					}
					m[4] |= 0x80
					w.Write(m)
					if r.Buffered() == 0 {
						if w.Flush() != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// BenchmarkLuaPipelinedTCP runs b.N queries from 100 nbio coroutines over
// one multi_stream to a Go echo server: the cost of the Lua binding's
// path (query building, Async, completion, packet userdata) and the
// stream transport per query.
func BenchmarkLuaPipelinedTCP(b *testing.B) {
	addr := tcpEcho(b)
	L := host.New(host.Options{})
	defer L.Close()
	src := fmt.Sprintf(`
		local client, nb = require('dns.client'), require('dns.nbio')
		local c = assert(client.multi_stream(%q))
		local n, left = %d, 0
		for _ = 1, 100 do
			nb.go(function()
				while left < n do
					left = left + 1
					assert(c:query('www.example.test', 'A'))
				end
			end)
		end
		assert(nb.run())
		c:close()`, addr, b.N)
	fn, err := host.LoadString(L, src, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	if err := host.Call(L, fn); err != nil {
		b.Fatal(host.FormatError(err))
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time: on a shared machine
// it varies less than the wall time of a run.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGoPipelinedTCP is BenchmarkLuaPipelinedTCP without Lua: b.N
// queries from 100 goroutines over one dnsclient.MultiStream.
func BenchmarkGoPipelinedTCP(b *testing.B) {
	addr := tcpEcho(b)
	m, err := dnsclient.NewMultiStream(addr, dnsclient.StreamOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := cpuTime()
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				q, _ := dnsclient.NewQuery("www.example.test", dnsmsg.TypeA)
				if _, err := m.Query(context.Background(), q); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

package nbio_test

import (
	"net"
	"strconv"
	"syscall"
	"testing"

	"github.com/miekg/dns"
	lua "github.com/yuin/gopher-lua"

	"ljdns/host"
	"ljdns/luamod/nbio"
)

// newBenchState returns a state with src loaded (globals set by it).
func newBenchState(b *testing.B, src string) *lua.LState {
	b.Helper()
	L := host.New(host.Options{})
	b.Cleanup(func() { nbio.Close(L); L.Close() })
	fn, err := host.LoadString(L, src, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if err := host.Call(L, fn); err != nil {
		b.Fatal(host.FormatError(err))
	}
	return L
}

// cpuTime is the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// callGlobal calls the global function name and reports the process CPU
// time per op ("cpu-ns/op"), which stays meaningful on a loaded machine
// where wall-clock ns/op mostly measures waiting for a core.
func callGlobal(b *testing.B, L *lua.LState, name string, args ...lua.LValue) {
	b.Helper()
	start := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }()
	if err := host.Call(L, L.GetGlobal(name).(*lua.LFunction), args...); err != nil {
		b.Fatal(host.FormatError(err))
	}
}

// BenchmarkYieldResume measures one yield -> scheduler -> resume round
// trip: two coroutines ping-pong one byte over a socket pair, so every
// op is a receive that would block, an epoll wait and a resume.
func BenchmarkYieldResume(b *testing.B) {
	L := newBenchState(b, `
		nb = require('dns.nbio')
		local S = require('syscall')
		local _, _, x, y = S.socketpair('unix', 'stream')
		x:nonblock() y:nonblock()
		a, c = nb.socket_t(x:nogc():getfd()), nb.socket_t(y:nogc():getfd())
		function pingpong(n)
			nb.go(function() for i = 1, n do a:send('x'); a:receive(1) end end)
			nb.go(function() for i = 1, n do c:receive(1); c:send('y') end end)
			assert(nb.run())
		end`)
	b.ReportAllocs()
	b.ResetTimer()
	callGlobal(b, L, "pingpong", lua.LNumber(b.N))
}

// BenchmarkBareYield measures the scheduler alone: coroutine.yield() in an
// nb coroutine, resumed at the next step.
func BenchmarkBareYield(b *testing.B) {
	L := newBenchState(b, `
		nb = require('dns.nbio')
		function yields(n)
			nb.go(function() for i = 1, n do coroutine.yield() end end)
			assert(nb.run())
		end`)
	b.ReportAllocs()
	b.ResetTimer()
	callGlobal(b, L, "yields", lua.LNumber(b.N))
}

// udpBench drives a Lua UDP server handling b.N queries with a Go client
// keeping a window of queries in flight; allocs/op are per query
// (client included, which allocates nothing per query).
func udpBench(b *testing.B, server string) {
	L := newBenchState(b, `
		nb = require('dns.nbio')
		dns = require('dns')
		sock = nb.socket('inet', 'dgram')
		sock:bind('127.0.0.1', 0)
		PORT = select(2, sock:getsockname())
		zone = {}
		local www = dns.rrset('\3www\7example\3org', dns.type.A)
		www:add(dns.rdata.a('192.0.2.80'), 3600)
		www:add(dns.rdata.a('192.0.2.81'), 3600)
		zone[www:owner():towire()] = {[dns.type.A] = www}
		`+server)
	port := int(L.GetGlobal("PORT").(lua.LNumber))
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	m := new(dns.Msg)
	m.SetQuestion("www.example.org.", dns.TypeA)
	q, _ := m.Pack()
	const window = 32
	done := make(chan int)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		buf := make([]byte, 512)
		got := 0
		sent := 0
		for ; sent < window && sent < b.N; sent++ {
			c.Write(q)
		}
		for got < b.N {
			if _, err := c.Read(buf); err != nil {
				break
			}
			got++
			if sent < b.N {
				c.Write(q)
				sent++
			}
		}
		done <- got
	}()
	callGlobal(b, L, "serve", lua.LNumber(b.N))
	if got := <-done; got != b.N {
		b.Fatalf("answered %d of %d", got, b.N)
	}
}

// BenchmarkUDPEcho: udprecv + flag + udpsend per query (the nbio cost).
func BenchmarkUDPEcho(b *testing.B) {
	udpBench(b, `
		function serve(n)
			nb.go(function()
				local q, addr = dns.packet(512), nb.addr()
				for i = 1, n do
					nb.udprecv(sock, q, addr)
					q:qr(true)
					nb.udpsend(sock, q, addr)
				end
			end)
			assert(nb.run())
		end`)
}

// BenchmarkUDPAnswer: the responder's per-query work (parse the question,
// look the name up, build the answer) on top of the echo.
func BenchmarkUDPAnswer(b *testing.B) {
	udpBench(b, `
		function serve(n)
			nb.go(function()
				local q, r, addr = dns.packet(512), dns.packet(1232), nb.addr()
				for i = 1, n do
					nb.udprecv(sock, q, addr)
					q:parse_question()
					q:toanswer(r)
					local node = zone[q:qname():lower():towire()]
					r:aa(true)
					r:put(node[q:qtype()])
					nb.udpsend(sock, r, addr)
				end
			end)
			assert(nb.run())
		end`)
}

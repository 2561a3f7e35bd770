package serve

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

// memAnswer is a Go layer answering every A query with one address (a
// stand-in for hints or the cache in the figures).
type memAnswer struct{}

func (memAnswer) Name() string { return "memanswer" }

func (memAnswer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if r.QType() != dnsmsg.TypeA {
		return s
	}
	rr := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.QName()}, Type: dnsmsg.TypeA, Class: 1, TTL: 60,
		RData: [][]byte{{192, 0, 2, 1}}}
	r.Answer.Put(rr, true)
	return daemon.Done
}

func init() {
	// test-only Go module (the figures' answering layer)
	registerModuleBinding("memanswer", func(L *lua.LState, env *Env) lua.LValue {
		env.AddLayer(memAnswer{})
		return L.NewTable()
	})
}

// passMod is the one Lua layer of the figures: begin reads the question
// and passes.
const passMod = `
local M = {layer = {}}
function M.layer.begin(state, req)
	local q = req:current()
	if q.stype == 0 then return kres.FAIL end
	return state
end
return M
`

// TestServeLuaLayerFigures measures the cost of one Lua layer per query:
// dnsperf (-c 20 -T 2, 1000 names) against a server answering from a Go
// layer, without and with a Lua module whose begin runs for every query,
// interleaved. LJDNS_SERVE_FIGURES=<seconds per run>; figures are logged:
//
//	LJDNS_SERVE_FIGURES=10 go test -count=1 -run ServeLuaLayerFigures -v ./luamod/serve/
func TestServeLuaLayerFigures(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("LJDNS_SERVE_FIGURES"))
	if secs <= 0 {
		t.Skip("set LJDNS_SERVE_FIGURES=<seconds per run> to measure")
	}
	testnet.Isolate(t)
	testnet.Need(t, "dnsperf")
	var queries []testnet.Query
	for i := range 1000 {
		queries = append(queries, testnet.Query{Name: fmt.Sprintf("n%d.bench.example.net.", i), Type: dns.TypeA})
	}
	type variant struct {
		name string
		r    *rig
		addr netip.AddrPort
	}
	var vs []variant
	for i, v := range []struct{ name, config string }{
		{"go layer only", "modules.load('memanswer')"},
		{"go layer + one Lua layer", "modules.load('pass')\nmodules.load('memanswer')"},
	} {
		addr := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.%d:53", 40+i))
		r := newRig(t, 1, v.config+fmt.Sprintf("\nnet.listen('%s', 53)", addr.Addr()), map[string]string{"pass": passMod})
		srv, err := daemon.New(r.srv.Config())
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		r.ld.Attach(srv)
		t.Cleanup(func() { srv.Shutdown(t.Context()) })
		vs = append(vs, variant{v.name, r, addr})
	}
	qps := map[string][]float64{}
	cpu := map[string][]float64{}
	for round := 0; round < 3; round++ {
		for _, v := range vs {
			c0 := cpuTime()
			res, err := testnet.Perf(testnet.PerfConfig{Server: v.addr, Queries: queries, Duration: time.Duration(secs) * time.Second,
				Clients: 20, Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			// the server runs in this process, dnsperf in a child: RUSAGE_SELF is the server's CPU
			us := float64(cpuTime()-c0) / float64(time.Microsecond) / float64(max(res.Completed, 1))
			t.Logf("round %d %-26s %s, server %.2f µs CPU/query", round, v.name, res, us)
			qps[v.name] = append(qps[v.name], res.QPS)
			cpu[v.name] = append(cpu[v.name], us)
		}
	}
	base, lua := median(qps[vs[0].name]), median(qps[vs[1].name])
	cb, cl := median(cpu[vs[0].name]), median(cpu[vs[1].name])
	t.Logf("median qps: %s %.0f, %s %.0f: the Lua layer costs %.1f%% of the qps; server CPU %.2f vs %.2f µs/query",
		vs[0].name, base, vs[1].name, lua, 100*(1-lua/base), cb, cl)
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// BenchmarkLuaLayer measures one query through the request path
// (Server.Exchange, no sockets) answered by a Go layer, without and with
// one Lua layer's begin before it.
func BenchmarkLuaLayer(b *testing.B) {
	for _, v := range []struct{ name, config string }{
		{"go", "modules.load('memanswer')"},
		{"go+lua", "modules.load('pass')\nmodules.load('memanswer')"},
		{"go+lua-nobudget", "modules.load('pass')\nmodules.load('memanswer')\nworker.lua_budget(0)"},
	} {
		b.Run(v.name, func(b *testing.B) {
			t := &testing.T{}
			_ = t
			r := newRigTB(b, 1, v.config, map[string]string{"pass": passMod})
			m := new(dns.Msg)
			m.SetQuestion("n1.bench.example.net.", dns.TypeA)
			wire, _ := m.Pack()
			client := netip.MustParseAddrPort("127.0.0.1:5300")
			local := netip.MustParseAddrPort("127.0.0.1:53")
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if out, ok := r.srv.Exchange(wire, client, local, daemon.UDP, 0); !ok || out == nil {
					b.Fatal("no answer")
				}
			}
			// CPU time per query: the machine is shared, wall time is noisy
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

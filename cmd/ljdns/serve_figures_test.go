package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// figLuaLayer is the one Lua layer of the figures: begin reads the
// question and passes.
const figLuaLayer = `
local M = {layer = {}}
function M.layer.begin(state, req)
	local q = req:current()
	if q.stype == 0 then return kres.FAIL end
	return state
end
return M
`

// TestServeForwarderFigures measures `ljdns serve` itself, configured in
// Lua, as a caching forwarder against kresd 5.6 with policy.FORWARD to the
// same loopback knotd (both warm), the same configuration with -f 2, and
// with one Lua layer; interleaved rounds, medians and ratios logged (not
// asserted: SERVE.md §10's bar is for the closing note):
//
//	LJDNS_SERVE_FIGURES=10 go test -count=1 -run ServeForwarderFigures -v ./cmd/ljdns/
func TestServeForwarderFigures(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("LJDNS_SERVE_FIGURES"))
	if secs <= 0 {
		t.Skip("set LJDNS_SERVE_FIGURES=<seconds per run> to measure")
	}
	testnet.Isolate(t)
	testnet.Need(t, "dnsperf", "knotd", "kresd")
	dir := t.TempDir()
	var zone strings.Builder
	zone.WriteString("$ORIGIN example.test.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.2\n")
	var queries []testnet.Query
	for i := range 1000 {
		fmt.Fprintf(&zone, "n%d A 192.0.2.%d\n", i, i%250+1)
		queries = append(queries, testnet.Query{Name: fmt.Sprintf("n%d.example.test.", i), Type: dns.TypeA})
	}
	zf := filepath.Join(dir, "example.test.zone")
	if err := os.WriteFile(zf, []byte(zone.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	knot := testnet.StartKnot(t, testnet.KnotConfig{Zones: []testnet.Zone{{Name: "example.test.", File: zf}}})
	up := fmt.Sprintf("%s@%d", knot.Addr().Addr(), knot.Addr().Port())
	kresd := testnet.StartKresd(t, testnet.KresdConfig{Config: fmt.Sprintf("policy.add(policy.all(policy.FORWARD({'%s'})))\n", up)})

	type server struct {
		name string
		addr netip.AddrPort
		pid  int
	}
	servers := []server{{"kresd 5.6 policy.FORWARD, warm", kresd.Addr(), kresd.PID()}}
	for i, v := range []struct {
		name, extra string
		workers     int
	}{
		{"ljdns serve FORWARD + cache, -f 1", "", 1},
		{"ljdns serve FORWARD + cache, -f 2", "", 2},
		{"ljdns serve ... + one Lua layer, -f 1", "modules.load('pass')\n", 1},
	} {
		run := t.TempDir()
		os.WriteFile(filepath.Join(run, "pass.lua"), []byte(figLuaLayer), 0o644)
		addr := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.%d:53", 31+i))
		cfg := fmt.Sprintf("package.path = '%s/?.lua;' .. package.path\nnet.listen('%s', 53)\n%spolicy.add(policy.all(policy.FORWARD({'%s'})))\n",
			run, addr.Addr(), v.extra, up)
		os.WriteFile(filepath.Join(run, "config"), []byte(cfg), 0o644)
		p := startDaemon(t, run, []string{"LJDNS_OUTGOING_ALLOW=" + testnet.OutgoingAllow}, "-f", strconv.Itoa(v.workers), "-c", "config")
		waitDNS(t, addr.String())
		servers = append(servers, server{v.name, addr, p.cmd.Process.Pid})
	}
	perf := func(s server, d time.Duration) *testnet.PerfResult {
		t.Helper()
		res, err := testnet.Perf(testnet.PerfConfig{Server: s.addr, Queries: queries, Duration: d, Clients: 20, Threads: 2, PID: s.pid})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		return res
	}
	for _, s := range servers { // warm the caches
		perf(s, 2*time.Second)
	}
	qps := map[string][]float64{}
	cpu := map[string][]float64{}
	d := time.Duration(secs) * time.Second
	for round := 1; round <= 3; round++ {
		for _, s := range servers {
			res := perf(s, d)
			t.Logf("round %d %-40s %s", round, s.name, res)
			qps[s.name] = append(qps[s.name], res.QPS)
			cpu[s.name] = append(cpu[s.name], float64(res.CPUPerQuery)/float64(time.Microsecond))
		}
	}
	med := func(v []float64) float64 {
		s := append([]float64(nil), v...)
		sort.Float64s(s)
		return s[len(s)/2]
	}
	for _, s := range servers {
		t.Logf("median %-40s %.0f qps, %.1f µs CPU/query", s.name, med(qps[s.name]), med(cpu[s.name]))
	}
	k, f1, f2, lua := med(qps[servers[0].name]), med(qps[servers[1].name]), med(qps[servers[2].name]), med(qps[servers[3].name])
	t.Logf("ratios: caching forwarder / kresd FORWARD %.2f×; -f 2 / -f 1 %.2f×; one Lua layer: %.1f%% fewer qps", f1/k, f2/f1, 100*(1-lua/f1))
	// on a shared machine the qps of one run swing with the load; the
	// server CPU per query is steadier: the same ratios from it
	ck, c1, c2, cl := med(cpu[servers[0].name]), med(cpu[servers[1].name]), med(cpu[servers[2].name]), med(cpu[servers[3].name])
	t.Logf("from CPU per query: forwarder %.2f× kresd's queries per CPU second; -f 2 costs %.2f× the CPU of -f 1 per query; one Lua layer: %.1f%% fewer queries per CPU second",
		ck/c1, c2/c1, 100*(1-c1/cl))
}

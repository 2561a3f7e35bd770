package zonefile

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// TestZonefileFigures measures `ljdns serve` with the zonefile module
// against knotd and nsd serving the same zone file, when
// LJDNS_ZONEFILE_FIGURES is set to the seconds per run: interleaved dnsperf
// runs (-c 20 -T 2, 1000 names type A, each server a process of its own,
// its CPU from /proc), then p99 at a fixed 10k qps with knotd as control.
// Figures and the ratios to knotd are logged, not asserted (issue 15's
// bars: qps >= 0.8x, CPU/query <= 1.3x, p99 at 10k qps <= 2x).
//
//	LJDNS_ZONEFILE_FIGURES=10 go test -count=1 -run ZonefileFigures -v ./daemon/mod/zonefile/
//
// LJDNS_ZONEFILE_PROFILE=/tmp/x.prof writes a CPU profile of ljdns serve
// (LJDNS_CPUPROFILE of the binary); LJDNS_ZONEFILE_FORKS=N runs it with -f N.
func TestZonefileFigures(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("LJDNS_ZONEFILE_FIGURES"))
	if secs <= 0 {
		t.Skip("set LJDNS_ZONEFILE_FIGURES=<seconds per run> to measure")
	}
	testnet.Isolate(t)
	testnet.Need(t, "dnsperf", "knotd", "nsd")
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
	zones := []testnet.Zone{{Name: "example.test.", File: zf}}
	knot := testnet.StartKnot(t, testnet.KnotConfig{Zones: zones})
	nsd := testnet.StartNSD(t, testnet.NSDConfig{Zones: zones})

	bin := filepath.Join(dir, "ljdns")
	if out, err := exec.Command("go", "build", "-o", bin, "../../../cmd/ljdns").CombinedOutput(); err != nil {
		t.Fatalf("build ljdns: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("modules = { zonefile = { {name = 'example.test', file = '"+zf+"'} } }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ljAddr := netip.MustParseAddrPort("127.0.0.40:53")
	forks := os.Getenv("LJDNS_ZONEFILE_FORKS")
	if forks == "" {
		forks = "1"
	}
	cmd := exec.Command(bin, "serve", "-n", "-f", forks, "-c", cfg, "-a", "127.0.0.40@53", dir)
	cmd.Env = os.Environ()
	if p := os.Getenv("LJDNS_ZONEFILE_PROFILE"); p != "" {
		cmd.Env = append(cmd.Env, "LJDNS_CPUPROFILE="+p)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		if r, err := testnet.Exchange(ljAddr, queries[1], time.Second); err == nil && len(r.Answer) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ljdns serve did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := testnet.Compare(knot.Addr(), ljAddr, queries[:50], testnet.CompareOptions{}); len(d) > 0 {
		t.Fatalf("ljdns serve and knotd differ:\n%s", testnet.Report(d))
	}
	type server struct {
		name string
		addr netip.AddrPort
		pid  int
		qps  []float64
		cpu  []float64
	}
	servers := []*server{
		{name: "knotd", addr: knot.Addr(), pid: knot.PID()},
		{name: "nsd", addr: nsd.Addr(), pid: nsd.PID()},
		{name: "ljdns serve zonefile -f " + forks, addr: ljAddr, pid: cmd.Process.Pid},
	}
	run := func(s *server, d time.Duration) {
		t.Helper()
		res, err := testnet.Perf(testnet.PerfConfig{Server: s.addr, Queries: queries, Duration: d, Clients: 20, Threads: 2, PID: s.pid})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if d > time.Second {
			t.Logf("%-30s %s", s.name, res)
			s.qps = append(s.qps, res.QPS)
			s.cpu = append(s.cpu, float64(res.CPUPerQuery.Nanoseconds())/1000)
		}
	}
	for _, s := range servers {
		run(s, time.Second) // warm-up
	}
	rounds := 3
	for round := 1; round <= rounds; round++ {
		t.Logf("round %d", round)
		for _, s := range servers {
			run(s, time.Duration(secs)*time.Second)
		}
	}
	k, lj := servers[0], servers[2]
	mk, ml := median(k.qps), median(lj.qps)
	ck, cl := median(k.cpu), median(lj.cpu)
	t.Logf("medians: knotd %.0f qps %.2f µs/query; nsd %.0f qps %.2f µs/query; ljdns %.0f qps %.2f µs/query",
		mk, ck, median(servers[1].qps), median(servers[1].cpu), ml, cl)
	t.Logf("ljdns/knotd: qps %.2fx (bar >= 0.8), CPU per query %.2fx (bar <= 1.3)", ml/mk, cl/ck)
	rc, err := testnet.FixedRate(testnet.PerfConfig{Server: ljAddr, PID: lj.pid, Queries: queries, Duration: time.Duration(secs) * time.Second,
		Clients: 20, Threads: 2}, knot.Addr(), knot.PID(), 10000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fixed 10k qps, ljdns serve zonefile against knotd as control: %v", rc)
	t.Logf("p99 at 10k qps: ljdns %v, knotd %v: %.2fx (bar <= 2)", rc.Server.P99, rc.Control.P99,
		float64(rc.Server.P99)/float64(max(rc.Control.P99, 1)))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
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

package daemon

import (
	"bufio"
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

// kresAddr is kresd's ADDR@PORT.
func kresAddr(a netip.AddrPort) string { return fmt.Sprintf("%s@%d", a.Addr(), a.Port()) }

// startBench runs benchserver (daemon/internal/benchserver, built into
// dir) with args, stops it at the end of the test and returns its PID.
func startBench(t *testing.T, bin string, args ...string) int {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if p := os.Getenv("LJDNS_DAEMON_HELPER_PROCS"); p != "" {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+p)
	}
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "ready" {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd.Process.Pid
		}
	}
	t.Fatalf("benchserver %v did not start", args)
	return 0
}

// TestServeFigures measures the daemon against its peers in one run when
// LJDNS_DAEMON_FIGURES is set to the seconds per run (SERVE.md §10's
// method: dnsperf -c 20 -T 2, 1000 names type A, server CPU from /proc),
// every server a process of its own: knotd from a zone file,
// examples/responder.lua, the daemon with a Go layer answering from memory
// (-f 1 and -f 2), kresd with policy.FORWARD to that knotd (warm), the
// daemon's Go-only caching forwarder to it (policy FORWARD + RR cache, warm)
// and the same without the cache; then p99 at a fixed 10k qps, Go layer
// against knotd and caching forwarder against kresd. Figures are logged,
// not asserted.
//
//	LJDNS_DAEMON_FIGURES=10 go test -count=1 -run ServeFigures -v ./daemon/
func TestServeFigures(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("LJDNS_DAEMON_FIGURES"))
	if secs <= 0 {
		t.Skip("set LJDNS_DAEMON_FIGURES=<seconds per run> to measure")
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
	kresd := testnet.StartKresd(t, testnet.KresdConfig{Config: fmt.Sprintf(
		"policy.add(policy.all(policy.FORWARD({'%s@%d'})))\n", knot.Addr().Addr(), knot.Addr().Port())})

	ljdns, bench := filepath.Join(dir, "ljdns"), filepath.Join(dir, "benchserver")
	for bin, pkg := range map[string]string{ljdns: "../cmd/ljdns", bench: "./internal/benchserver"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	resp := exec.Command(ljdns, "../examples/responder.lua", "-a", "127.0.0.30", "-p", "53", "-q", zf)
	resp.Dir = "."
	if err := resp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Process.Kill(); resp.Wait() })
	respAddr := netip.MustParseAddrPort("127.0.0.30:53")
	memAddr, mem2Addr, fwdAddr, cacheAddr := netip.MustParseAddrPort("127.0.0.31:53"), netip.MustParseAddrPort("127.0.0.32:53"),
		netip.MustParseAddrPort("127.0.0.33:53"), netip.MustParseAddrPort("127.0.0.34:53")
	memPID := startBench(t, bench, "-a", memAddr.String(), "-f", "1", "-mode", "mem")
	mem2PID := startBench(t, bench, "-a", mem2Addr.String(), "-f", "2", "-mode", "mem")
	fwdPID := startBench(t, bench, "-a", fwdAddr.String(), "-mode", "fwd", "-upstream", kresAddr(knot.Addr()))
	cachePID := startBench(t, bench, "-a", cacheAddr.String(), "-mode", "cache", "-upstream", kresAddr(knot.Addr()))
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := testnet.Exchange(respAddr, testnet.Query{Name: "n1.example.test.", Type: dns.TypeA}, time.Second); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("responder.lua did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	run := func(name string, addr netip.AddrPort, pid int, d time.Duration) {
		t.Helper()
		res, err := testnet.Perf(testnet.PerfConfig{Server: addr, Queries: queries, Duration: d, Clients: 20, Threads: 2, PID: pid})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d > time.Second {
			t.Logf("%-34s %s", name, res)
		}
	}
	if p := os.Getenv("LJDNS_DAEMON_PROFILE_ONLY"); p != "" {
		// one server under load with a CPU profile: LJDNS_DAEMON_PROFILE_MODE=mem|fwd|cache
		mode := os.Getenv("LJDNS_DAEMON_PROFILE_MODE")
		pid := startBench(t, bench, "-a", memAddr.String(), "-mode", mode, "-upstream", kresAddr(knot.Addr()), "-cpuprofile", p)
		run("warm-up", memAddr, pid, time.Second)
		run("benchserver -mode "+mode, memAddr, pid, time.Duration(secs)*time.Second)
		rc, err := testnet.FixedRate(testnet.PerfConfig{Server: memAddr, PID: pid, Queries: queries, Duration: time.Duration(secs) * time.Second,
			Clients: 20, Threads: 2}, knot.Addr(), knot.PID(), 10000)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("fixed 10k qps against knotd: %v", rc)
		return
	}
	run("warm-up kresd", kresd.Addr(), kresd.PID(), time.Second)
	run("warm-up ljdns caching forwarder", cacheAddr, cachePID, time.Second)
	d := time.Duration(secs) * time.Second
	for round := 1; round <= 2; round++ {
		t.Logf("round %d", round)
		run("knotd (zone file)", knot.Addr(), knot.PID(), d)
		run("examples/responder.lua", respAddr, resp.Process.Pid, d)
		run("ljdns serve, Go layer, -f 1", memAddr, memPID, d)
		run("ljdns serve, Go layer, -f 2", mem2Addr, mem2PID, d)
		run("kresd policy.FORWARD, warm", kresd.Addr(), kresd.PID(), d)
		run("ljdns serve FORWARD + cache, warm", cacheAddr, cachePID, d)
		run("ljdns serve FORWARD, no cache", fwdAddr, fwdPID, d)
	}
	rc, err := testnet.FixedRate(testnet.PerfConfig{Server: memAddr, PID: memPID, Queries: queries, Duration: d, Clients: 20, Threads: 2},
		knot.Addr(), knot.PID(), 10000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fixed 10k qps, ljdns serve (Go layer) against knotd as control: %v", rc)
	rc, err = testnet.FixedRate(testnet.PerfConfig{Server: cacheAddr, PID: cachePID, Queries: queries, Duration: d, Clients: 20, Threads: 2},
		kresd.Addr(), kresd.PID(), 10000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fixed 10k qps, ljdns serve caching forwarder against kresd FORWARD as control: %v", rc)
}

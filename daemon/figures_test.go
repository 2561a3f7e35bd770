package daemon

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/dnsclient"
	"ljdns/internal/testnet"
)

// envHelper makes the test binary a daemon process (TestDaemonHelper).
const envHelper = "LJDNS_DAEMON_HELPER"

// TestDaemonHelper is not a test: with LJDNS_DAEMON_HELPER=mode,addr,workers[,upstream]
// it serves addr until SIGTERM, mode "mem" (a Go layer answering A from
// memory, the pure UDP path) or "fwd" (forwarding every query to upstream
// through dnsclient, no cache). It prints "ready" when listening.
func TestDaemonHelper(t *testing.T) {
	spec := os.Getenv(envHelper)
	if spec == "" {
		t.Skip("helper process only")
	}
	f := strings.Split(spec, ",")
	workers, _ := strconv.Atoi(f[2])
	cfg := &Config{Listen: []Listen{{Addr: netip.MustParseAddrPort(f[1])}}, Workers: workers, Log: NewLogger(os.Stderr)}
	switch f[0] {
	case "mem":
		cfg.Layers = []Layer{&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 3600}}
	case "fwd":
		up, err := dnsclient.NewDgramStream(f[3], dnsclient.DgramStreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Layers = []Layer{layerFunc{name: "fwd", begin: func(r *Request, s State) State {
			r.Upstream = up
			return s
		}}}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("LJDNS_DAEMON_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	s.Shutdown(context.Background())
}

// helperDaemon starts the test binary as a daemon process (stopped at the
// end of the test) and returns its PID.
func helperDaemon(t *testing.T, spec string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestDaemonHelper$")
	procs := strconv.Itoa(runtime.NumCPU())
	if p := os.Getenv("LJDNS_DAEMON_HELPER_PROCS"); p != "" {
		procs = p
	}
	cmd.Env = append(os.Environ(), envHelper+"="+spec, "GOMAXPROCS="+procs)
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
	t.Fatalf("helper %s did not start", spec)
	return 0
}

// TestServeFigures measures the daemon against its peers in one run when
// LJDNS_DAEMON_FIGURES is set to the seconds per run (SERVE.md §10's
// method: dnsperf -c 20 -T 2, 1000 names type A, server CPU from /proc):
// knotd from a zone file, examples/responder.lua, the daemon with a Go
// layer answering from memory (-f 1 and -f 2), kresd with policy.FORWARD to
// the knotd (warm) and the daemon forwarding to it without a cache; then
// p99 at a fixed 10k qps against knotd. Figures are logged, not asserted.
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

	ljdns := filepath.Join(dir, "ljdns")
	if out, err := exec.Command("go", "build", "-o", ljdns, "../cmd/ljdns").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	resp := exec.Command(ljdns, "../examples/responder.lua", "-a", "127.0.0.30", "-p", "53", "-q", zf)
	resp.Dir = "."
	if err := resp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Process.Kill(); resp.Wait() })
	respAddr := netip.MustParseAddrPort("127.0.0.30:53")
	memAddr, mem2Addr, fwdAddr := netip.MustParseAddrPort("127.0.0.31:53"), netip.MustParseAddrPort("127.0.0.32:53"), netip.MustParseAddrPort("127.0.0.33:53")
	memPID := helperDaemon(t, "mem,"+memAddr.String()+",1")
	mem2PID := helperDaemon(t, "mem,"+mem2Addr.String()+",2")
	fwdPID := helperDaemon(t, "fwd,"+fwdAddr.String()+",1,"+knot.Addr().String())
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
	if os.Getenv("LJDNS_DAEMON_PROFILE_ONLY") != "" {
		os.Setenv("LJDNS_DAEMON_CPUPROFILE", os.Getenv("LJDNS_DAEMON_PROFILE_ONLY"))
		pid := helperDaemon(t, os.Getenv("LJDNS_DAEMON_PROFILE_MODE")+","+memAddr.String()+",1,"+knot.Addr().String())
		os.Unsetenv("LJDNS_DAEMON_CPUPROFILE")
		run("ljdns serve, Go layer, -f 1", memAddr, pid, time.Duration(secs)*time.Second)
		rc, err := testnet.FixedRate(testnet.PerfConfig{Server: memAddr, PID: pid, Queries: queries, Duration: time.Duration(secs) * time.Second, Clients: 20, Threads: 2},
			knot.Addr(), knot.PID(), 10000)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("fixed 10k qps against knotd: %v", rc)
		return
	}
	run("warm-up kresd", kresd.Addr(), kresd.PID(), time.Second)
	d := time.Duration(secs) * time.Second
	for round := 1; round <= 2; round++ {
		t.Logf("round %d", round)
		run("knotd (zone file)", knot.Addr(), knot.PID(), d)
		run("examples/responder.lua", respAddr, resp.Process.Pid, d)
		run("ljdns serve, Go layer, -f 1", memAddr, memPID, d)
		run("ljdns serve, Go layer, -f 2", mem2Addr, mem2PID, d)
		run("kresd policy.FORWARD, warm", kresd.Addr(), kresd.PID(), d)
		run("ljdns serve forwarding, no cache", fwdAddr, fwdPID, d)
	}
	rc, err := testnet.FixedRate(testnet.PerfConfig{Server: memAddr, PID: memPID, Queries: queries, Duration: d, Clients: 20, Threads: 2},
		knot.Addr(), knot.PID(), 10000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fixed 10k qps, ljdns serve (Go layer) against knotd as control: %v", rc)
}

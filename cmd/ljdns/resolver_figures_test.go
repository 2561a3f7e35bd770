package main

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/internal/testnet"
)

// TestResolverFigures measures ljdns serve's resolver against kresd on the
// rig's signed hierarchy, both validating with its anchor, interleaved:
// warm-cache dnsperf qps and server CPU per query over 1000 names, the cold
// resolution time of www.secure.example. (median of 20, caches cleared over
// the control socket before each), and the RSS growth per 100k cached
// answers. It runs with LJDNS_RESOLVER_FIGURES=<seconds per dnsperf run>:
//
//	LJDNS_RESOLVER_FIGURES=10 go test -count=1 -run ResolverFigures -v ./cmd/ljdns/
func TestResolverFigures(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("LJDNS_RESOLVER_FIGURES"))
	if secs <= 0 {
		t.Skip("set LJDNS_RESOLVER_FIGURES=<seconds per dnsperf run> to measure")
	}
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone", "kresd", "dnsperf")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	ours, p := startResolver(t, h, true, "")
	oursDir := p.cmd.Dir
	k := h.StartKresd(t, true)
	servers := []figServer{{"ljdns", ours, p.cmd.Process.Pid, oursDir}, {"kresd", k.Addr(), k.PID(), k.Dir}}

	part := os.Getenv("LJDNS_RESOLVER_FIGURES_PART") // "warm", "cold" or "memory"; "": all
	// warm cache: 1000 wildcard names of secure.example. (signed, NSEC)
	var corpus []testnet.Query
	for i := 0; i < 1000; i++ {
		corpus = append(corpus, testnet.Query{Name: fmt.Sprintf("n%d.wild.secure.example.", i), Type: dns.TypeA})
	}
	if part == "" || part == "warm" {
		warmFigure(t, servers, corpus, secs)
	}
	if part == "" || part == "cold" {
		coldFigure(t, servers)
	}
	if part == "" || part == "memory" {
		memoryFigure(t, servers)
	}
}

type figServer struct {
	name string
	addr netip.AddrPort
	pid  int
	dir  string
}

func warmFigure(t *testing.T, servers []figServer, corpus []testnet.Query, secs int) {
	for _, s := range servers {
		warm(t, s.addr, corpus)
	}
	qps := map[string][]float64{}
	cpu := map[string][]float64{}
	for round := 0; round < 3; round++ {
		for _, s := range servers {
			res, err := testnet.Perf(testnet.PerfConfig{Server: s.addr, Queries: corpus, Duration: time.Duration(secs) * time.Second, Clients: 20, Threads: 2, PID: s.pid})
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			t.Logf("warm round %d %s: %.0f qps, %.1f µs CPU/query, lost %d, rcodes %v", round, s.name, res.QPS, float64(res.CPUPerQuery)/1e3, res.Lost, res.Rcodes)
			qps[s.name] = append(qps[s.name], res.QPS)
			cpu[s.name] = append(cpu[s.name], float64(res.CPUPerQuery)/1e3)
		}
	}
	mq, kq := median(qps["ljdns"]), median(qps["kresd"])
	t.Logf("FIGURE warm cache: ljdns %.0f qps (%.1f µs CPU/query), kresd %.0f qps (%.1f µs CPU/query): %.2fx", mq, median(cpu["ljdns"]), kq, median(cpu["kresd"]), mq/kq)
}

func coldFigure(t *testing.T, servers []figServer) {

	// cold resolution of a 3-level signed name, caches cleared
	cold := map[string][]float64{}
	for i := 0; i < 20; i++ {
		for j := range servers {
			s := servers[(i+j)%2]
			if err := control(s.dir, "cache.clear()"); err != nil {
				t.Fatalf("%s: cache.clear(): %v", s.name, err)
			}
			m := new(dns.Msg)
			m.SetQuestion("www.secure.example.", dns.TypeA)
			m.SetEdns0(1232, true)
			c := &dns.Client{Timeout: 10 * time.Second}
			start := time.Now()
			a, _, err := c.Exchange(m, s.addr.String())
			d := time.Since(start)
			if err != nil || a.Rcode != dns.RcodeSuccess || !a.AuthenticatedData {
				t.Fatalf("%s cold: %v %v", s.name, a, err)
			}
			cold[s.name] = append(cold[s.name], float64(d)/1e6)
		}
	}
	mc, kc := median(cold["ljdns"]), median(cold["kresd"])
	t.Logf("cold samples (ms): ljdns %.2f, kresd %.2f", cold["ljdns"], cold["kresd"])
	t.Logf("FIGURE cold www.secure.example. (median of 20, cache cleared): ljdns %.2f ms, kresd %.2f ms: %.2fx", mc, kc, mc/kc)
}

func memoryFigure(t *testing.T, servers []figServer) {

	// memory: 100k distinct answers
	var big []testnet.Query
	for i := 0; i < 100000; i++ {
		big = append(big, testnet.Query{Name: fmt.Sprintf("m%d.wild.secure.example.", i), Type: dns.TypeA})
	}
	for _, s := range servers {
		before, beforeDisk := rss(t, s.pid), diskUse(filepath.Join(s.dir, "cache", "data.mdb"))
		res, err := testnet.Perf(testnet.PerfConfig{Server: s.addr, Queries: big, Duration: 25 * time.Second, Rate: 4000, Clients: 20, Threads: 2})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		after, afterDisk := rss(t, s.pid), diskUse(filepath.Join(s.dir, "cache", "data.mdb"))
		if afterDisk > 0 {
			t.Logf("FIGURE memory %s: LMDB cache file %d -> %d MiB used: %.1f MiB per 100k", s.name, beforeDisk>>20, afterDisk>>20, float64(afterDisk-beforeDisk)/float64(1<<20)*100000/float64(max(res.Completed, 1)))
		}
		t.Logf("FIGURE memory %s: %d answers sent (%d completed, %v), RSS %d -> %d MiB: %.1f MiB per 100k", s.name, res.Sent, res.Completed, res.Rcodes, before>>20, after>>20, float64(after-before)/float64(1<<20)*100000/float64(max(res.Completed, 1)))
	}
}

// warm sends every query of corpus once (20 at a time).
func warm(t *testing.T, addr netip.AddrPort, corpus []testnet.Query) {
	var wg sync.WaitGroup
	ch := make(chan testnet.Query)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Timeout: 10 * time.Second}
			for q := range ch {
				c.Exchange(q.Msg(), addr.String())
			}
		}()
	}
	for _, q := range corpus {
		ch <- q
	}
	close(ch)
	wg.Wait()
}

// control sends one line to the control socket in rundir and reads what
// comes back within a second.
func control(rundir, line string) error {
	c, err := daemon.DialControl(rundir)
	if err != nil {
		ents, _ := filepath.Glob(filepath.Join(rundir, "control", "*"))
		if len(ents) == 0 {
			return err
		}
		if c, err = net.Dial("unix", ents[0]); err != nil {
			return err
		}
	}
	defer c.Close()
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4096)
	c.Read(buf)
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// rss returns the resident set size of pid in bytes.
func rss(t *testing.T, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// diskUse returns the bytes of disk a (sparse) file uses, 0 if absent.
func diskUse(path string) int64 {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return 0
	}
	return st.Blocks * 512
}

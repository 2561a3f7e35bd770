package client_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

// TestFigures measures, in one run against one knotd, the queries per
// second of examples/bench_client.lua (dgram, pipelined TCP over one
// multi_stream, cache hits) and of dnsperf over UDP and TCP, and checks
// that the Lua client's pipelined TCP reaches half of dnsperf's TCP.
// Opt-in, as it measures time: LJDNS_CLIENT_FIGURES=<seconds per run>.
//
//	LJDNS_CLIENT_FIGURES=10 go test -count=1 -run TestFigures -v ./luamod/client
func TestFigures(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("LJDNS_CLIENT_FIGURES"))
	if secs <= 0 {
		t.Skip("set LJDNS_CLIENT_FIGURES=<seconds> to measure")
	}
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "dnsperf")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "ljdns")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ljdns")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	example, _, _ := writeZones(t)
	k := testnet.StartKnot(t, testnet.KnotConfig{Zones: []testnet.Zone{{Name: "example.test.", File: example}}})
	dur := time.Duration(secs) * time.Second
	perf := func(tcp bool) float64 {
		r, err := testnet.Perf(testnet.PerfConfig{Server: k.Addr(), Duration: dur, TCP: tcp, PID: k.PID(),
			Queries: []testnet.Query{{Name: "www.example.test.", Type: dnsmsg.TypeA}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("dnsperf -s %s -p %d -l %d -c 20 -T 2%s: %v", k.Addr().Addr(), k.Addr().Port(), secs,
			map[bool]string{true: " -m tcp", false: ""}[tcp], r)
		return r.QPS
	}
	lua := func(mode string) float64 {
		args := []string{"examples/bench_client.lua", "-d", strconv.Itoa(secs), "-m", mode, k.Addr().String()}
		cmd := exec.Command(bin, args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ljdns %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("ljdns %s:\n%s", strings.Join(args, " "), out)
		m := regexp.MustCompile(`(?m)^` + mode + ` (\d+) qps`).FindSubmatch(out)
		if m == nil {
			return 0
		}
		q, _ := strconv.ParseFloat(string(m[1]), 64)
		return q
	}
	// The machine is shared: each pair runs back to back, five times,
	// and the medians are compared.
	var tcpPerfs, tcps []float64
	for range 5 {
		tcpPerfs = append(tcpPerfs, perf(true))
		tcps = append(tcps, lua("tcp"))
	}
	tcpPerf, tcp := median(tcpPerfs), median(tcps)
	udpPerf := perf(false)
	dgram := lua("dgram")
	cache := lua("cache")
	lua("serial")
	t.Logf("medians: dnsperf tcp %.0f, dns.client tcp %.0f (%.2fx); dnsperf udp %.0f, dns.client dgram %.0f (%.2fx); cache hits %.0f",
		tcpPerf, tcp, tcp/tcpPerf, udpPerf, dgram, dgram/udpPerf, cache)
	if tcp < tcpPerf/2 {
		t.Errorf("pipelined TCP through dns.client: %.0f qps, less than half of dnsperf's %.0f", tcp, tcpPerf)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

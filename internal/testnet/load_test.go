package testnet

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParsePerf(t *testing.T) {
	out := `DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -s 127.0.0.2 -d q.txt -n 1 -v
> NOERROR www.example.test A 0.000288
> NXDOMAIN nothing.example.test A 0.000112
> T example.test SOA
> NOERROR example.test SOA 0.000054
[Status] Testing complete (end of file)

Statistics:

  Queries sent:         4
  Queries completed:    3 (75.00%)
  Queries lost:         1 (25.00%)

  Response codes:       NOERROR 2 (66.67%), NXDOMAIN 1 (33.33%)
  Average packet size:  request 34, response 78
  Run time (s):         0.001539
  Queries per second:   3898.635478
`
	res, lat, err := parsePerf(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	setPercentiles(res, lat)
	if res.Sent != 4 || res.Completed != 3 || res.Lost != 1 || res.QPS != 3898.635478 ||
		res.RunTime != 1539*time.Microsecond || res.Rcodes["NOERROR"] != 2 || res.Rcodes["NXDOMAIN"] != 1 {
		t.Fatalf("%+v", res)
	}
	if res.Answered != 3 || res.TimedOut != 1 || res.P50 != 112*time.Microsecond || res.P99 != 288*time.Microsecond {
		t.Fatalf("latencies %+v", res)
	}
	if strings.Contains(res.Output, "> NOERROR") {
		t.Fatal("per-query lines kept in Output")
	}
	if _, _, err := parsePerf(strings.NewReader("[Status] nothing\n")); err == nil {
		t.Fatal("output without statistics accepted")
	}
}

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 1000; i++ {
		lat = append(lat, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 500}, {0.9, 900}, {0.99, 990}, {0.999, 999}, {1, 1000}, {0.0001, 1}} {
		if got := Percentile(lat, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if Percentile(nil, 0.5) != 0 {
		t.Fatal("empty")
	}
}

func TestParseStat(t *testing.T) {
	line := "4242 (a (b) c) S 17 4242 4242 0 -1 4194560 100 0 0 0 123 45 0 0 20 0 3 0 1000 1 1 18446744073709551615\n"
	ppid, ticks, err := parseStat(line)
	if err != nil || ppid != 17 || ticks != 168 {
		t.Fatalf("ppid %d ticks %d err %v", ppid, ticks, err)
	}
	// Our own process tree: we have burnt some CPU by now.
	if _, err := treeCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if _, err := treeCPU(1 << 30); err == nil {
		t.Fatal("a missing process was measured")
	}
}

// TestPerfKnot: the dnsperf runner gives qps, server CPU per query and
// latency percentiles for a knotd; a fixed-rate run compares it with a
// second knotd as the control. Figures are logged, never bounded.
func TestPerfKnot(t *testing.T) {
	Isolate(t)
	Need(t, "dnsperf")
	k := StartKnot(t, KnotConfig{Zones: []Zone{exampleZone}})
	corpus := loadCorpus(t)
	res, err := Perf(PerfConfig{Server: k.Addr(), Queries: corpus, Duration: 2 * time.Second,
		Clients: 4, Latencies: true, PID: k.PID()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("knotd: %v", res)
	if res.Sent <= 0 || res.Completed <= 0 || res.QPS <= 0 || res.ServerCPU <= 0 || res.CPUPerQuery <= 0 ||
		res.Answered <= 0 || res.P50 <= 0 || res.P50 > res.P90 || res.P90 > res.P99 || res.P99 > res.P999 ||
		res.Rcodes["NOERROR"] <= 0 || res.Rcodes["NXDOMAIN"] <= 0 {
		t.Fatalf("implausible result %+v", res)
	}
	ctl := StartKnot(t, KnotConfig{Zones: []Zone{exampleZone}})
	rc, err := FixedRate(PerfConfig{Server: k.Addr(), PID: k.PID(), Queries: corpus, Duration: time.Second, Clients: 2},
		ctl.Addr(), ctl.PID(), 2000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fixed rate: %v", rc)
	if rc.Server.Sent <= 0 || rc.Control.Sent <= 0 || rc.Server.Answered <= 0 || rc.Control.Answered <= 0 || rc.Control.P99 <= 0 {
		t.Fatalf("implausible comparison %+v / %+v", rc.Server, rc.Control)
	}
}

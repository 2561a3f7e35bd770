package dnsclient

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

// TestClientFigures measures the transports against knotd on loopback and
// compares them, in the same run, with kdig (one query's latency) and
// dnsperf (throughput), when LJDNS_CLIENT_FIGURES is set to the seconds
// per throughput run:
//
//	LJDNS_CLIENT_FIGURES=5 go test -count=1 -run ClientFigures -v ./dnsclient
//
// The figures are logged; nothing is asserted beyond the runs working.
func TestClientFigures(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("LJDNS_CLIENT_FIGURES"))
	if secs <= 0 {
		t.Skip("set LJDNS_CLIENT_FIGURES=<seconds per run> to measure the transports")
	}
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "kdig", "dnsperf")
	d := time.Duration(secs) * time.Second
	var zone strings.Builder
	zone.WriteString("$ORIGIN example.test.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.2\n")
	var queries []testnet.Query
	var names []string
	for i := range 1000 {
		fmt.Fprintf(&zone, "n%d A 192.0.2.%d\n", i, i%250+1)
		names = append(names, fmt.Sprintf("n%d.example.test.", i))
		queries = append(queries, testnet.Query{Name: names[i], Type: dns.TypeA})
	}
	zf := filepath.Join(t.TempDir(), "example.test.zone")
	if err := os.WriteFile(zf, []byte(zone.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	k := testnet.StartKnot(t, testnet.KnotConfig{Zones: []testnet.Zone{{Name: "example.test.", File: zf}}})
	addr := k.Addr().String()

	// one query's latency: kdig's own figure, and ours over the same path
	for _, tcp := range []bool{false, true} {
		proto := map[bool]string{false: "UDP", true: "TCP"}[tcp]
		kd := kdigLatency(t, k.Addr().Addr().String(), tcp, 50)
		var tr Transport
		if tcp {
			tr, _ = NewStream(addr, StreamOptions{})
		} else {
			tr, _ = NewDgram(addr, DgramOptions{})
		}
		ours := sequentialLatency(t, tr, names, 500)
		tr.Close()
		t.Logf("latency %s, median: kdig %v; %s %v (ratio %.2f)", proto, kd, map[bool]string{false: "Dgram", true: "Stream (warm connection)"}[tcp], ours, float64(ours)/float64(kd))
	}

	// throughput: dnsperf, then ours with as many queries in flight
	for _, tcp := range []bool{false, true} {
		res, err := testnet.Perf(testnet.PerfConfig{Server: k.Addr(), Queries: queries, Duration: d, Clients: 20, Threads: 2, TCP: tcp, PID: k.PID()})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("dnsperf -c 20 -T 2 -l %d%s: %s", secs, map[bool]string{false: "", true: " -m tcp"}[tcp], res)
		var tr Transport
		var label string
		if tcp {
			tr, _ = NewMultiStream(addr, StreamOptions{})
			label = "MultiStream (dgram_stream's TCP half), 1 connection, 100 in flight"
		} else {
			tr, _ = NewDgram(addr, DgramOptions{})
			label = "Dgram, 100 in flight"
		}
		qps := throughput(t, tr, names, 100, d)
		tr.Close()
		t.Logf("%s: %.0f qps (%.2f× dnsperf)", label, qps, qps/res.QPS)
	}
	ds, _ := NewDgramStream(addr, DgramStreamOptions{})
	t.Logf("DgramStream (UDP answers), 100 in flight: %.0f qps", throughput(t, ds, names, 100, d))
	ds.Close()

	// cache hits: no traffic once warm
	up, _ := NewDgram(addr, DgramOptions{})
	c, _ := NewCache(up, CacheOptions{MaxEntries: 2000})
	for _, n := range names {
		if _, err := c.Query(context.Background(), q(t, n, dnsmsg.TypeA)); err != nil {
			t.Fatal(err)
		}
	}
	before := c.Stats()
	qps := throughput(t, c, names, 8, d)
	after := c.Stats()
	t.Logf("Cache hits, 8 goroutines: %.0f qps (%d misses during the run)", qps, after.Misses-before.Misses)
	c.Close()
}

var kdigRTT = regexp.MustCompile(`in ([0-9.]+) ms`)

// kdigLatency runs kdig n times and returns the median of the RTT it
// reports (";; From ... in 0.1 ms").
func kdigLatency(t *testing.T, server string, tcp bool, n int) time.Duration {
	var lat []time.Duration
	for i := range n {
		args := []string{"@" + server, fmt.Sprintf("n%d.example.test", i), "A", "+retry=0"}
		if tcp {
			args = append(args, "+tcp")
		}
		out, err := exec.Command("kdig", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("kdig: %v\n%s", err, out)
		}
		m := kdigRTT.FindSubmatch(out)
		if m == nil {
			t.Fatalf("no RTT in kdig's output:\n%s", out)
		}
		ms, _ := strconv.ParseFloat(string(m[1]), 64)
		lat = append(lat, time.Duration(ms*float64(time.Millisecond)))
	}
	slices.Sort(lat)
	return lat[len(lat)/2]
}

// sequentialLatency returns the median time of n queries sent one after
// another through tr.
func sequentialLatency(t *testing.T, tr Transport, names []string, n int) time.Duration {
	lat := make([]time.Duration, 0, n)
	for i := range n {
		qq := q(t, names[i%len(names)], dnsmsg.TypeA)
		t0 := time.Now()
		if _, err := tr.Query(context.Background(), qq); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return lat[len(lat)/2]
}

// throughput runs workers goroutines querying through tr for d and returns
// the answers per second.
func throughput(t *testing.T, tr Transport, names []string, workers int, d time.Duration) float64 {
	var done atomic.Int64
	var failed atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; time.Now().Before(stop); i += workers {
				qq, _ := NewQuery(names[i%len(names)], dnsmsg.TypeA)
				if _, err := tr.Query(context.Background(), qq); err != nil {
					failed.Add(1)
					continue
				}
				done.Add(1)
			}
		}()
	}
	t0 := time.Now()
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Logf("%d queries failed", f)
	}
	return float64(done.Load()) / time.Since(t0).Seconds()
}

// BenchmarkDgramFake measures Dgram against an in-process fake server
// (no namespace needed): the client's own cost per query.
func BenchmarkDgramFake(b *testing.B) {
	srv := benchUDPServer(b)
	d, _ := NewDgram(srv.String(), DgramOptions{})
	qq, _ := NewQuery("www.example.test", dnsmsg.TypeA)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := d.Query(context.Background(), qq); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

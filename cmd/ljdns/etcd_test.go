package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	clientv3 "go.etcd.io/etcd/client/v3"

	"ljdns/etcdstore"
	"ljdns/internal/etcdtest"
	"ljdns/internal/testnet"
)

// etcdCorpusNames are names of the authority package's test zones (every
// kind of answer: CNAME chains, wildcards, ENTs, DNAME, delegations).
var etcdCorpusNames = []string{
	"example.test.", "ns1.example.test.", "mail.example.test.", "www.example.test.", "WwW.ExAmPlE.TeSt.",
	"alias.example.test.", "chain1.example.test.", "loop1.example.test.", "dangling.example.test.",
	"outside.example.test.", "x.wild.example.test.", "a.b.wild.example.test.", "*.wild.example.test.",
	"q.wcname.example.test.", "ent.example.test.", "c.ent.example.test.", "a.b.c.ent.example.test.",
	"x.ent.example.test.", "sub.example.test.", "ns.sub.example.test.", "www.sub.example.test.",
	"dn.example.test.", "x.dn.example.test.", "_sip._udp.example.test.", "big.example.test.",
	"longtxt.example.test.", "nx.example.test.", "other.test.", "www.other.test.", "nx.other.test.",
	"child.example.test.", "www.child.example.test.", "ns.child.example.test.", "nx.child.example.test.",
}

func etcdCorpus(t *testing.T) []testnet.Query {
	var b strings.Builder
	for _, n := range etcdCorpusNames {
		for _, ty := range []string{"A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "DNAME", "SRV", "DS", "ANY"} {
			for _, fl := range []string{"", " +do", " +tcp"} {
				fmt.Fprintf(&b, "%s %s%s\n", n, ty, fl)
			}
		}
	}
	qs, err := testnet.ParseCorpus(b.String())
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

// etcdServe starts `ljdns serve` with the etcdzone module on addr.
func etcdServe(t *testing.T, addr netip.AddrPort, endpoints []string) *daemonProc {
	dir := t.TempDir()
	cfg := fmt.Sprintf("net.listen('%s', %d)\nmodules = { etcdzone = { endpoints = {'%s'}, prefix = '/dns/', wait = 20 } }\n",
		addr.Addr(), addr.Port(), strings.Join(endpoints, "', '"))
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startDaemon(t, dir, nil, "-c", "config")
	return p
}

// soaSerial asks addr for the serial of zone (0: no answer).
func soaSerial(addr netip.AddrPort, zone string) uint32 {
	m := new(dns.Msg)
	m.SetQuestion(zone, dns.TypeSOA)
	c := &dns.Client{Timeout: time.Second}
	r, _, err := c.Exchange(m, addr.String())
	if err != nil || len(r.Answer) != 1 {
		return 0
	}
	if soa, ok := r.Answer[0].(*dns.SOA); ok {
		return soa.Serial
	}
	return 0
}

// waitSerial polls every server until each answers serial for zone.
func waitSerial(t *testing.T, zone string, serial uint32, addrs ...netip.AddrPort) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, a := range addrs {
		for soaSerial(a, zone) != serial {
			if time.Now().After(deadline) {
				t.Fatalf("%s: serial %d of %s, want %d", a, soaSerial(a, zone), zone, serial)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// answersA reports whether addr answers name with an A record.
func answersA(c *dns.Client, addr netip.AddrPort, name string) bool {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	r, _, err := c.Exchange(m, addr.String())
	return err == nil && len(r.Answer) > 0
}

// TestEtcdFleet (issue 17): a 3-member etcd cluster in process and two
// `ljdns serve` instances following it in the rig's namespace:
//   - pushed zones answer identically on both, and as knotd answers from
//     the same files (the differential corpus);
//   - 200 edits, each visible on both (propagation p50/p99 logged as a figure);
//   - a push killed (SIGKILL) while staging leaves the old zone everywhere,
//     and the next push removes what it staged;
//   - the member the instances talk to stopped, edits and a compaction
//     made meanwhile: once it is back the instances reload in full;
//   - every member stopped: answers go on, the outage is logged; after the
//     restart edits flow again.
func TestEtcdFleet(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd")
	c := etcdtest.Start(t, 3)
	cl := c.Client(t)
	st := etcdstore.New(cl, "/dns/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var zones []testnet.Zone
	for _, n := range []string{"example.test.", "other.test.", "child.example.test."} {
		f, _ := filepath.Abs("../../authority/testdata/" + n + "zone")
		zones = append(zones, testnet.Zone{Name: n, File: f})
		if _, err := st.PushFile(ctx, n, f); err != nil {
			t.Fatal(err)
		}
	}
	knot := testnet.StartKnot(t, testnet.KnotConfig{Zones: zones})
	a1, a2 := testnet.FreeAddr(t), testnet.FreeAddr(t)
	m0 := c.Endpoints()[:1] // both instances talk to member 0
	p1, p2 := etcdServe(t, a1, m0), etcdServe(t, a2, m0)
	waitSerial(t, "example.test.", 2024010101, a1, a2)
	qs := etcdCorpus(t)
	for _, a := range []netip.AddrPort{a1, a2} {
		if diffs := testnet.Compare(knot.Addr(), a, qs, testnet.CompareOptions{}); len(diffs) > 0 {
			t.Errorf("%v: %d of %d queries differ from knotd:\n%s", a, len(diffs), len(qs), testnet.Report(diffs))
		}
	}
	t.Logf("%d queries compared with knotd on each instance", len(qs))

	// edits: propagation to both instances
	uc := &dns.Client{Timeout: 500 * time.Millisecond}
	var lat []time.Duration
	for i := 0; i < 200; i++ {
		name := fmt.Sprintf("e%d.example.test.", i)
		start := time.Now()
		if _, err := st.Edit(ctx, "example.test.", fmt.Sprintf("add e%d 60 A 10.0.%d.%d", i, i/256, i%256)); err != nil {
			t.Fatal(err)
		}
		deadline := start.Add(30 * time.Second)
		for _, a := range []netip.AddrPort{a1, a2} {
			for !answersA(uc, a, name) {
				if time.Now().After(deadline) {
					t.Fatalf("edit %d not visible on %v after 30 s", i, a)
				}
				time.Sleep(time.Millisecond)
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("FIGURE edit propagation (edit committed to answered by both instances, 200 edits, 3-member cluster): p50 %v p99 %v max %v",
		testnet.Percentile(lat, 0.50), testnet.Percentile(lat, 0.99), lat[len(lat)-1])
	waitSerial(t, "example.test.", 2024010101+200, a1, a2)

	// a push killed while staging
	t.Run("killed push", func(t *testing.T) {
		dir := t.TempDir()
		big := filepath.Join(dir, "other.test.zone")
		var b bytes.Buffer
		b.WriteString("$ORIGIN other.test.\n$TTL 300\n@ SOA ns hm 99 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n")
		for i := 0; i < 30000; i++ {
			fmt.Fprintf(&b, "n%d A 10.1.%d.%d\n", i, i/256, i%256)
		}
		os.WriteFile(big, b.Bytes(), 0o644)
		before := soaSerial(a1, "other.test.")
		root := "/dns/data/other.test./"
		count := func() int64 {
			r, err := cl.Get(ctx, root, clientv3.WithPrefix(), clientv3.WithCountOnly())
			if err != nil {
				t.Fatal(err)
			}
			return r.Count
		}
		n0 := count()
		cmd := exec.Command(binary, "zone", "--endpoints", strings.Join(c.Endpoints(), ","), "push", "other.test", big)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		stageDeadline := time.Now().Add(60 * time.Second)
		for count() < n0+1000 {
			if time.Now().After(stageDeadline) {
				cmd.Process.Kill()
				t.Fatal("the push staged nothing in 60 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		staged := count() - n0
		if staged >= 30003 {
			t.Fatalf("the push finished before the kill (%d keys)", staged)
		}
		time.Sleep(time.Second) // what the instances would have applied by now
		for _, a := range []netip.AddrPort{a1, a2} {
			if s := soaSerial(a, "other.test."); s != before || answersA(uc, a, "n1.other.test.") {
				t.Errorf("%v after a killed push: serial %d (want %d), or a staged name answered", a, s, before)
			}
		}
		var out bytes.Buffer
		if _, err := st.Get(ctx, "other.test", &out); err != nil || strings.Contains(out.String(), "n1.other.test.") {
			t.Errorf("zone get after a killed push: %v", err)
		}
		t.Logf("killed after %d of 30003 RRsets were staged", staged)
		orig := zones[1].File
		if _, err := st.PushFile(ctx, "other.test.", orig); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != n0 {
			t.Errorf("%d keys under %s after the next push, want %d", n, root, n0)
		}
	})

	// member 0 away; edits and a compaction meanwhile: full reload on return
	t.Run("compacted while away", func(t *testing.T) {
		c.Stop(0)
		ectx, ecancel := context.WithTimeout(ctx, 60*time.Second)
		defer ecancel()
		var res *etcdstore.EditResult
		var err error
		for i := 0; i < 150; i++ { // past the raft snapshot: member 0 returns through one
			if res, err = st.Edit(ectx, "example.test.", fmt.Sprintf("add away 60 A 192.0.3.%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := cl.Compact(ectx, res.Revision); err != nil {
			t.Fatal(err)
		}
		c.RestartAll()
		waitSerial(t, "example.test.", res.Serial, a1, a2)
		for _, p := range []*daemonProc{p1, p2} {
			if !strings.Contains(p.stderr.String(), "compacted") {
				t.Errorf("no full reload logged:\n%s", p.stderr.String())
			}
		}
	})

	// every member stopped: answers continue
	t.Run("all stopped", func(t *testing.T) {
		serial := soaSerial(a1, "example.test.")
		c.StopAll()
		stopAt := time.Now().Add(4 * time.Second)
		fails := 0
		for time.Now().Before(stopAt) {
			for _, a := range []netip.AddrPort{a1, a2} {
				// a UDP query may be lost on a loaded machine: three tries
				if !answersA(uc, a, "www.example.test.") && !answersA(uc, a, "www.example.test.") && !answersA(uc, a, "www.example.test.") {
					fails++
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if fails > 0 {
			t.Errorf("%d queries unanswered while etcd was down", fails)
		}
		for _, p := range []*daemonProc{p1, p2} {
			if !strings.Contains(p.stderr.String(), "etcd unreachable") {
				t.Errorf("outage not logged:\n%s", p.stderr.String())
			}
		}
		c.RestartAll()
		ectx, ecancel := context.WithTimeout(ctx, 60*time.Second)
		defer ecancel()
		if _, err := st.Edit(ectx, "example.test.", "add back 60 A 192.0.2.201"); err != nil {
			t.Fatal(err)
		}
		waitSerial(t, "example.test.", serial+1, a1, a2)
	})
}

// TestEtcdFigures (LJDNS_ETCD_FIGURES=N: rounds): dnsperf qps of etcdzone
// against zonefile on the same zone in one run (interleaved rounds), then
// the memory an instance holds per 100k RRsets, etcdzone and zonefile.
func TestEtcdFigures(t *testing.T) {
	rounds := 0
	fmt.Sscanf(os.Getenv("LJDNS_ETCD_FIGURES"), "%d", &rounds)
	if rounds <= 0 {
		t.Skip("figures: set LJDNS_ETCD_FIGURES=N (rounds)")
	}
	testnet.Isolate(t)
	testnet.Need(t, "dnsperf")
	c := etcdtest.Start(t, 3)
	st := etcdstore.New(c.Client(t), "/dns/")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	mkzone := func(name string, n int) string {
		var b bytes.Buffer
		fmt.Fprintf(&b, "$ORIGIN %s\n$TTL 300\n@ SOA ns hm 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n", name)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "h%d A 10.%d.%d.%d\n", i, i>>16&255, i>>8&255, i&255)
		}
		f := filepath.Join(dir, name+"zone")
		os.WriteFile(f, b.Bytes(), 0o644)
		return f
	}
	small := mkzone("bench.test.", 1000)
	if _, err := st.PushFile(ctx, "bench.test.", small); err != nil {
		t.Fatal(err)
	}
	za, ea := testnet.FreeAddr(t), testnet.FreeAddr(t)
	zdir := t.TempDir()
	os.WriteFile(filepath.Join(zdir, "config"), []byte(fmt.Sprintf("net.listen('%s', %d)\nmodules = { zonefile = { {name = 'bench.test', file = '%s'} } }\n",
		za.Addr(), za.Port(), small)), 0o644)
	zp := startDaemon(t, zdir, nil, "-c", "config")
	ep := etcdServe(t, ea, c.Endpoints())
	waitSerial(t, "bench.test.", 1, za, ea)
	var qs []testnet.Query
	for i := 0; i < 1000; i++ {
		qs = append(qs, testnet.Query{Name: fmt.Sprintf("h%d.bench.test.", i), Type: dns.TypeA})
	}
	var zq, eq []float64
	for r := 0; r < rounds; r++ {
		type server struct {
			name string
			addr netip.AddrPort
			pid  int
			out  *[]float64
		}
		order := []server{{"zonefile", za, zp.cmd.Process.Pid, &zq}, {"etcdzone", ea, ep.cmd.Process.Pid, &eq}}
		if r%2 == 1 { // alternate which server goes first: the second run of a round tends to be slower
			order[0], order[1] = order[1], order[0]
		}
		for _, x := range order {
			res, err := testnet.Perf(testnet.PerfConfig{Server: x.addr, Queries: qs, Duration: 10 * time.Second, PID: x.pid})
			if err != nil {
				t.Fatal(err)
			}
			*x.out = append(*x.out, res.QPS)
			t.Logf("round %d %s: %.0f qps, %v CPU/query, lost %d", r+1, x.name, res.QPS, res.CPUPerQuery, res.Lost)
		}
	}
	slices.Sort(zq)
	slices.Sort(eq)
	t.Logf("FIGURE dnsperf -c 20 -T 2 -l 10, 1000 names, %d rounds: zonefile median %.0f qps, etcdzone median %.0f qps: ratio %.3f",
		rounds, zq[len(zq)/2], eq[len(eq)/2], eq[len(eq)/2]/zq[len(zq)/2])

	// memory per 100k RRsets
	big := mkzone("big.test.", 100000-3)
	before := rss(t, ep.cmd.Process.Pid)
	if _, err := st.PushFile(ctx, "big.test.", big); err != nil {
		t.Fatal(err)
	}
	waitSerial(t, "big.test.", 1, ea)
	time.Sleep(2 * time.Second)
	after := rss(t, ep.cmd.Process.Pid)
	zbefore := rss(t, zp.cmd.Process.Pid)
	os.WriteFile(filepath.Join(zdir, "config"), []byte(fmt.Sprintf("net.listen('%s', %d)\nmodules = { zonefile = { {name = 'bench.test', file = '%s'}, {name = 'big.test', file = '%s'} } }\n",
		za.Addr(), za.Port(), small, big)), 0o644)
	zp.cmd.Process.Signal(syscall.SIGHUP)
	waitSerial(t, "big.test.", 1, za)
	time.Sleep(2 * time.Second)
	zafter := rss(t, zp.cmd.Process.Pid)
	t.Logf("FIGURE memory for 100k RRsets (RSS growth after loading the zone): etcdzone %.1f MiB, zonefile %.1f MiB",
		float64(after-before)/(1<<20), float64(zafter-zbefore)/(1<<20))
}

// TestEtcdLeaderKill (LJDNS_ETCD_FIGURES set): the etcd leader is killed
// during fixed-rate dnsperf load on an etcdzone instance: no SERVFAIL, loss
// against a control run without the kill, and edits resume once a new
// leader is elected.
func TestEtcdLeaderKill(t *testing.T) {
	if os.Getenv("LJDNS_ETCD_FIGURES") == "" {
		t.Skip("figures: set LJDNS_ETCD_FIGURES=N")
	}
	testnet.Isolate(t)
	testnet.Need(t, "dnsperf")
	c := etcdtest.Start(t, 3)
	st := etcdstore.New(c.Client(t), "/dns/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var b bytes.Buffer
	b.WriteString("$ORIGIN bench.test.\n$TTL 300\n@ SOA ns hm 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "h%d A 10.0.%d.%d\n", i, i>>8, i&255)
	}
	if _, err := st.Push(ctx, "bench.test.", b.Bytes(), "bench"); err != nil {
		t.Fatal(err)
	}
	ea := testnet.FreeAddr(t)
	ep := etcdServe(t, ea, c.Endpoints())
	waitSerial(t, "bench.test.", 1, ea)
	var qs []testnet.Query
	for i := 0; i < 1000; i++ {
		qs = append(qs, testnet.Query{Name: fmt.Sprintf("h%d.bench.test.", i), Type: dns.TypeA})
	}
	pc := testnet.PerfConfig{Server: ea, Queries: qs, Duration: 10 * time.Second, Rate: 10000, Latencies: true, PID: ep.cmd.Process.Pid}
	control, err := testnet.Perf(pc)
	if err != nil {
		t.Fatal(err)
	}
	leader := c.Leader()
	go func() {
		time.Sleep(3 * time.Second)
		c.Kill(leader)
	}()
	killed, err := testnet.Perf(pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FIGURE leader killed at 3 s of 10 s at 10k qps: control lost %d of %d (p99 %v), with the kill lost %d of %d (p99 %v), rcodes %v",
		control.Lost, control.Sent, control.P99, killed.Lost, killed.Sent, killed.P99, killed.Rcodes)
	if killed.Rcodes["SERVFAIL"] > 0 {
		t.Errorf("%d SERVFAIL answers", killed.Rcodes["SERVFAIL"])
	}
	if killed.LossRatio() > control.LossRatio()+0.001 {
		t.Errorf("loss %.4f with the kill, %.4f without", killed.LossRatio(), control.LossRatio())
	}
	ectx, ecancel := context.WithTimeout(ctx, 60*time.Second)
	defer ecancel()
	res, err := st.Edit(ectx, "bench.test.", "add after-kill A 192.0.2.9")
	if err != nil {
		t.Fatalf("edit after the leader's death: %v", err)
	}
	waitSerial(t, "bench.test.", res.Serial, ea)
}

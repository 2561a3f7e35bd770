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
		for count() < n0+1000 {
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

package serve

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// countingUpstream answers every A query with 192.0.2.7 (TTL ttl) and
// counts the queries it got.
func countingUpstream(t *testing.T, ttl uint32) (string, *atomic.Int64) {
	t.Helper()
	addr, n, _ := countingUpstreamConn(t, ttl)
	return addr, n
}

// countingUpstreamConn is countingUpstream with its socket (to close it).
func countingUpstreamConn(t *testing.T, ttl uint32) (string, *atomic.Int64, net.PacketConn) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var n atomic.Int64
	go func() {
		buf := make([]byte, 4096)
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m := new(dns.Msg)
			if m.Unpack(buf[:k]) != nil || len(m.Question) != 1 {
				continue
			}
			n.Add(1)
			a := new(dns.Msg)
			a.SetReply(m)
			a.RecursionAvailable = true
			if m.Question[0].Qtype == dns.TypeA {
				rr := &dns.A{Hdr: dns.RR_Header{Name: m.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl},
					A: net.ParseIP("192.0.2.7")}
				a.Answer = append(a.Answer, rr)
			}
			out, _ := a.Pack()
			pc.WriteTo(out, from)
		}
	}()
	ap := pc.LocalAddr().(*net.UDPAddr)
	return fmt.Sprintf("%s@%d", ap.IP, ap.Port), &n, pc
}

// TestCacheModule: the cache global is daemon/cache's RR cache in the
// request path: a forwarded answer is stored and served again without the
// upstream; cache.count/get/clear/stats/min_ttl/max_ttl act on it;
// cache.close() stops answering from it; a reload keeps its entries; and
// cache.sync() writes the snapshot a new loader reads back.
func TestCacheModule(t *testing.T) {
	testnet.Isolate(t)
	up, n := countingUpstream(t, 300)
	store := t.TempDir()
	r := newRig(t, 2, `
cache.open(10 * MB, 'lmdb://`+store+`')
cache.max_ttl(120)
policy.add(policy.all(policy.FORWARD('`+up+`')))
`, nil)
	if got := r.eval(0, "return cache.count()"); got != "0" {
		t.Fatalf("cache.count() at start = %s", got)
	}
	a := r.query(t, "a.example", dns.TypeA, 0)
	if len(a.Answer) != 1 || n.Load() != 1 {
		t.Fatalf("first answer %v, upstream queries %d", a, n.Load())
	}
	b := r.query(t, "a.example", dns.TypeA, 1) // the other worker: one cache
	if len(b.Answer) != 1 || n.Load() != 1 {
		t.Fatalf("second answer %v, upstream queries %d (want 1: from the cache)", b, n.Load())
	}
	if ttl := b.Answer[0].Header().Ttl; ttl > 120 || ttl < 110 {
		t.Errorf("cached TTL %d: want it clamped to max_ttl 120", ttl)
	}
	for expr, want := range map[string]string{
		"return cache.count()":                        "1",
		"return cache.get('a.example').A.rdata[1]":    "192.0.2.7",
		"return cache.stats().write":                  "1",
		"return cache.stats().read_miss":              "1",
		"return kres.context().cache.stats.write":     "1",
		"return cache.max_ttl()":                      "120",
		"return cache.current_storage":                "lmdb://" + store,
		"return cache.current_size":                   "10485760",
		"return cache.get('nothing.example')":         "nil",
		"return cache.clear('b.example', true).count": "0",
	} {
		if got := r.eval(1, expr); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	// a closed cache answers nothing; reopened it does again
	r.eval(0, "cache.close()")
	r.query(t, "a.example", dns.TypeA, 0)
	if n.Load() != 2 {
		t.Errorf("closed cache: upstream queries %d, want 2", n.Load())
	}
	if got := r.eval(0, "return select(2, pcall(cache.count))"); got == "" || got == "0" {
		t.Errorf("cache.count() on a closed cache: %q, want an error", got)
	}
	r.eval(0, "cache.open(10 * MB)")
	// a reload keeps the cache (the same layer value in the new config)
	cfg, err := r.ld.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	r.query(t, "a.example", dns.TypeA, 0)
	if n.Load() != 2 {
		t.Errorf("after reload: upstream queries %d, want 2 (answered from the kept cache)", n.Load())
	}
	// kresd's context insert goes into the same cache
	r.eval(0, `local rr = kres.rrset(todname('ins.example'), kres.type.A, kres.class.IN, 60)
rr:add_rdata('\1\2\3\4', 4)
kres.context().cache:insert(rr, nil, 0, 0)`)
	if a := r.query(t, "ins.example", dns.TypeA, 0); len(a.Answer) != 1 || n.Load() != 2 {
		t.Errorf("inserted entry: %v (upstream queries %d)", a, n.Load())
	}
	if got := r.eval(0, "return cache.clear('ins.example', true, kres.type.A).count"); got != "1" {
		t.Errorf("cache.clear(name, true, type) = %s", got)
	}
	// cache.sync() writes the snapshot; a new process (loader) reads it
	if got := r.eval(0, "return cache.sync()"); got != "true" {
		t.Fatalf("cache.sync() = %q", got)
	}
	if _, err := os.Stat(filepath.Join(store, SnapshotFile)); err != nil {
		t.Fatal(err)
	}
	r.srv.Shutdown(t.Context())
	r.ld.Close()
	r2 := newRig(t, 1, "cache.open(10 * MB, 'lmdb://"+store+"')\npolicy.add(policy.all(policy.FORWARD('"+up+"')))", nil)
	if a := r2.query(t, "a.example", dns.TypeA, 0); len(a.Answer) != 1 || n.Load() != 2 {
		t.Errorf("after restart: %v, upstream queries %d (want 2: from the snapshot)", a, n.Load())
	}
}

// TestStatsCountCachedRequests: with stats loaded after the cache (its
// place in a configuration), a request answered from the cache counts in
// request.total like the forwarded one, and stats.upstreams() names the
// upstream's address (the status page's charts; both were wrong: 1
// request, and an "invalid IP" upstream).
func TestStatsCountCachedRequests(t *testing.T) {
	testnet.Isolate(t)
	up, _ := countingUpstream(t, 300)
	r := newRig(t, 1, "modules.load('stats')\npolicy.add(policy.all(policy.FORWARD('"+up+"')))", nil)
	r.query(t, "a.example", dns.TypeA, 0)
	r.query(t, "a.example", dns.TypeA, 0)
	host := up[:strings.IndexByte(up, '@')]
	for expr, want := range map[string]string{
		"return stats.get('request.total')":         "2",
		"return stats.get('answer.cached')":         "1",
		"return #stats.upstreams()['" + host + "']": "1",
	} {
		if got := r.eval(0, expr); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
}

// TestCacheStorageInRunDir: a relative cache.storage is taken from RUNDIR,
// where kresd runs, not from the process's working directory.
func TestCacheStorageInRunDir(t *testing.T) {
	r := newRig(t, 1, "cache.storage = 'lmdb://.'\n", nil)
	if _, err := os.Stat(filepath.Join(r.dir, SnapshotFile)); err != nil {
		t.Errorf("snapshot not in RUNDIR: %v", err)
	}
	if _, err := os.Stat(SnapshotFile); err == nil {
		os.Remove(SnapshotFile)
		t.Errorf("snapshot written to the working directory")
	}
}

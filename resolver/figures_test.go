package resolver

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"ljdns/daemon/cache"
	"ljdns/dnsmsg"
)

// TestCacheMemoryFigure measures the heap the resolver's cache holds for
// 100k cached answers (one A RR set each, from an in-memory hierarchy).
// Then the bytes counted against cache.size, and the time a full snapshot
// of that cache takes to write (cache.sync()) and to load back. It runs
// with LJDNS_RESOLVER_FIGURES set:
//
//	LJDNS_RESOLVER_FIGURES=1 go test -count=1 -run CacheMemoryFigure -v ./resolver/
func TestCacheMemoryFigure(t *testing.T) {
	if os.Getenv("LJDNS_RESOLVER_FIGURES") == "" {
		t.Skip("set LJDNS_RESOLVER_FIGURES to measure")
	}
	n := baseNet(t)
	wild := wname(t, "wild.example.")
	n.hook = func(s netip.Addr, qn []byte, qt uint16, a *dnsmsg.Packet) {
		if below(qn, wild) && qt == typeA {
			a.Buf[3] = 0
			*a = *rewrite(t, a, dnsmsg.SectionAN, true, nameText(qn)+" 300 A 192.0.2.9")
			*a = *rewrite(t, a, dnsmsg.SectionNS, true)
		}
	}
	r := fakeResolver(t, n, nil)
	count := 100000
	if c, err := strconv.Atoi(os.Getenv("LJDNS_RESOLVER_FIGURES")); err == nil && c > 1 {
		count = c
	}
	resolveA(t, r, "www.example.", typeA)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < count; i++ {
		a, _ := resolveA(t, r, fmt.Sprintf("n%d.wild.example.", i), typeA)
		if a.Rcode() != 0 || a.Count(dnsmsg.SectionAN) != 1 {
			t.Fatalf("n%d: %s", i, a)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("FIGURE resolver cache: %d answers, %d entries, heap %.1f MiB -> %.1f MiB: %.1f MiB per 100k cached RR sets (%.0f bytes each)",
		count, r.CacheLen(), float64(before.HeapAlloc)/(1<<20), float64(after.HeapAlloc)/(1<<20),
		float64(after.HeapAlloc-before.HeapAlloc)/(1<<20)*100000/float64(count), float64(after.HeapAlloc-before.HeapAlloc)/float64(count))
	counted, _ := r.CacheBytes()
	t.Logf("FIGURE resolver cache: %.1f MiB counted against cache.size (%.2f of the heap taken)",
		float64(counted)/(1<<20), float64(counted)/float64(after.HeapAlloc-before.HeapAlloc))
	// the write-behind: one full snapshot of the resolver's part
	path := filepath.Join(t.TempDir(), "cache.bolt")
	rc, err := cache.Open(cache.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rc.AddPart("resolver", r.SnapshotPart())
	start := time.Now()
	if err := rc.Sync(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	fi, _ := os.Stat(path)
	rc.Close()
	r2 := fakeResolver(t, n, nil)
	start = time.Now()
	rc2 := cache.New(cache.Options{})
	rc2.AddPart("resolver", r2.SnapshotPart())
	if err := rc2.AttachSnapshot(path); err != nil {
		t.Fatal(err)
	}
	load := time.Since(start)
	rc2.Close()
	t.Logf("FIGURE resolver cache snapshot: %d entries written in %v (%.1f MiB file), loaded back (%d entries) in %v",
		r.CacheLen(), took.Round(time.Millisecond), float64(fi.Size())/(1<<20), r2.CacheLen(), load.Round(time.Millisecond))
	runtime.KeepAlive(r)
}

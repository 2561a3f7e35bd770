package resolver

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"testing"

	"ljdns/dnsmsg"
)

// TestCacheMemoryFigure measures the heap the resolver's cache holds for
// 100k cached answers (one A RR set each, from an in-memory hierarchy).
// It runs with LJDNS_RESOLVER_FIGURES set:
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
	runtime.KeepAlive(r)
}

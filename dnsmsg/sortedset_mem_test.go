package dnsmsg

import (
	"fmt"
	"runtime"
	"testing"
)

// heapAfterGC returns the bytes of live heap after a full collection.
func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// zoneLikeRecords calls put for n records shaped like genzone.py's zone:
// owners h0000000.example.com. and up, each with one or two RR sets of
// one to three records (about 2.2 records an owner).
func zoneLikeRecords(n int, put func(owner []byte, typ uint16, rdata []byte)) {
	for i, h := 0, 0; i < n; h++ {
		owner := append([]byte{8}, fmt.Sprintf("h%07d", h)...)
		owner = append(owner, "\x07example\x03com\x00"...)
		for j := 0; j <= h%4 && i < n; j, i = j+1, i+1 {
			if j < 2 {
				put(owner, TypeA, []byte{10, byte(h >> 8), byte(h), byte(j)})
			} else {
				put(owner, TypeAAAA, []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(h), byte(j)})
			}
		}
	}
}

// TestSortedSetMemory guards the heap a large sorted set keeps, per
// record, once loaded, sorted and searched, with a few elements taken out
// as *RRSet (bench.lua's sample): the figure the peak RSS of bench.lua's
// sorted-set and LMDB stages follows. Allocation sizes are deterministic.
func TestSortedSetMemory(t *testing.T) {
	const n = 200000
	h0 := heapAfterGC()
	s := NewSortedSet()
	zoneLikeRecords(n, func(owner []byte, typ uint16, rdata []byte) {
		s.AppendRecord(owner, typ, ClassINET, 3600, rdata)
	})
	loaded := heapAfterGC()
	s.Sort()
	for i := 0; i < n; i += n / 32 {
		s.At(i)
	}
	if j := s.Search(s.At(n / 2).OwnerWire()); j < 0 {
		t.Fatal("search failed")
	}
	kept := heapAfterGC()
	runtime.KeepAlive(s)
	perLoad := float64(loaded-h0) / n
	perSet := float64(kept-h0) / n
	t.Logf("%.1f bytes a record loaded, %.1f sorted and searched", perLoad, perSet)
	if perSet > 94 {
		t.Fatalf("a sorted set keeps %.1f bytes a record, want at most 94", perSet)
	}
}

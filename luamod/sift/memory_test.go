package sift

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
)

// TestLMDBSinkFoldsRRSets: a record with the key (owner and type) of the
// record just before it replaces that pair in the sink instead of adding
// one (only the last value of a key is stored), also when the two sit in
// different slab chunks; the values stored are those of the old
// collect-everything path.
func TestLMDBSinkFoldsRRSets(t *testing.T) {
	big := bytes.Repeat([]byte{7}, slabChunk*3/4)
	rec := func(owner string, typ uint16, rdata []byte) *zone.Record {
		return &zone.Record{Owner: []byte(owner), Type: typ, Class: 1, TTL: 60, RData: rdata}
	}
	a, b := "\x01a\x00", "\x01b\x00"
	in := []*zone.Record{
		rec(a, 1, []byte("v1")), rec(a, 1, []byte("v2")), rec(a, 28, []byte("v3")),
		rec(b, 1, []byte("v4")), rec(a, 1, []byte("v5")),
		rec(b, 16, big), rec(b, 16, big[:len(big)-1]), // the second fills a new chunk
		rec(b, 16, []byte("v6")),
	}
	e, err := OpenEnv(t.TempDir(), EnvMapAsync, 0, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	txn, _ := e.Begin(0, false)
	s := &lmdbSink{txn: txn}
	for _, r := range in {
		s.put(nil, r)
	}
	if got, want := len(s.idx), 5; got != want { // a/A v2, a/AAAA, b/A, a/A v5, b/TXT v6
		t.Fatalf("%d pairs collected, want %d", got, want)
	}
	if got, want := s.inserted, len(in); got != want {
		t.Fatalf("inserted %d, want %d", got, want)
	}
	used := 0
	for _, r := range s.idx {
		used += int(r.klen) + int(r.vlen)
	}
	dead := len(dnsmsg.AppendSearchKey(nil, []byte(b), 16)) + 4 + len(big) // replaced, in the first chunk
	if got := len(s.chunks[0]) + len(s.chunks[1]); got != used+dead {
		t.Fatalf("slabs hold %d bytes, want the pairs' %d + the replaced pair's %d", got, used, dead)
	}
	s.sortDedupe()
	if err := s.store(); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	r, _ := e.Begin(0, true)
	defer r.Abort()
	for _, c := range []struct {
		owner string
		typ   uint16
		want  string
	}{{a, 1, "v5"}, {a, 28, "v3"}, {b, 1, "v4"}, {b, 16, "v6"}} {
		v, err := r.Get(dnsmsg.AppendSearchKey(nil, []byte(c.owner), c.typ))
		if err != nil || len(v) < 4 || string(v[4:]) != c.want {
			t.Errorf("%q/%d = %q, %v; want %q", c.owner, c.typ, v, err, c.want)
		}
	}
}

// TestLMDBSinkReleasesMemory: after a large load the garbage left by the
// sink and bbolt is returned to the OS, so that it does not add to the
// pages a reader of the store's memory map touches next (bench.lua's
// LMDB search stage peaked there).
func TestLMDBSinkReleasesMemory(t *testing.T) {
	const n = 300000 // records, more than releaseAfter
	text := rrsetZone(n)
	L := newTestState(t)
	L.SetGlobal("ZONE", luaString(text))
	L.SetGlobal("DIR", luaString(t.TempDir()))
	text = ""
	if err := L.DoString(`
local sift, lmdb = require('dns.sift'), require('dns.lmdb')
ENV = assert(lmdb.open(DIR, 'writemap, mapasync'))
local env, n = sift.zone(ZONE, sift.lmdb(ENV))
assert(env, n)
assert(n == ` + fmt.Sprint(n) + `, n)
ZONE = nil`); err != nil {
		t.Fatal(err)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	held := m.HeapSys - m.HeapReleased // in use (garbage included until the next collection) and idle
	t.Logf("heap held from the OS after the load: %d MB", held>>20)
	if held > 24<<20 {
		t.Fatalf("heap held from the OS after the load: %d MB (in use %d MB), want at most 24 MB", held>>20, m.HeapInuse>>20)
	}
}

// TestLMDBSinkBulkLoadPeak: while a large static heap is live (as a sorted
// set of the zone is in bench.lua), a bulk load's garbage must not grow
// the process to twice that heap: the sink collects more often during the
// load (bulkGCPercent). The peak is the kernel's (VmHWM after a reset):
// it grew by 91-94 MB here, and by 139-140 MB at the default GOGC.
func TestLMDBSinkBulkLoadPeak(t *testing.T) {
	text := rrsetZone(500000)
	ballast := make([]byte, 128<<20) // pointer-free, like a sorted set's arrays
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	L := newTestState(t)
	L.SetGlobal("ZONE", luaString(text))
	L.SetGlobal("DIR", luaString(t.TempDir()))
	text = ""
	debug.FreeOSMemory()
	before, ok := resetPeakRSS()
	if !ok {
		t.Skip("no /proc/self/clear_refs")
	}
	if err := L.DoString(`
local sift, lmdb = require('dns.sift'), require('dns.lmdb')
local env, n = sift.zone(ZONE, sift.lmdb(assert(lmdb.open(DIR, 'writemap, mapasync'))))
assert(env, n)
assert(n == 500000, n)`); err != nil {
		t.Fatal(err)
	}
	grew := peakRSS() - before
	runtime.KeepAlive(ballast)
	t.Logf("peak RSS grew by %d MB during the load", grew>>20)
	if grew > 116<<20 {
		t.Fatalf("peak RSS grew by %d MB during the load of 500k records, want at most 116 MB", grew>>20)
	}
}

// rrsetZone returns n records in RR sets of one to three records, as in
// genzone.py's zones.
func rrsetZone(n int) string {
	var b strings.Builder
	b.WriteString("$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1 hm 1 2 3 4 5\n")
	for i, h := 1, 0; i < n; h++ {
		for j := 0; j <= h%3 && i < n; j, i = j+1, i+1 {
			fmt.Fprintf(&b, "h%07d IN A 10.%d.%d.%d\n", h, h>>8&255, h&255, j)
		}
	}
	return b.String()
}

// resetPeakRSS resets the kernel's peak RSS of this process (VmHWM) to the
// current RSS and returns it.
func resetPeakRSS() (uint64, bool) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0, false
	}
	return peakRSS(), true
}

// peakRSS returns VmHWM in bytes (0 when unknown).
func peakRSS() uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestLowerGCPercent: the bulk load only ever lowers the GC percentage,
// never turns a GOGC=off collector on, and restores what was set.
func TestLowerGCPercent(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	for _, c := range []struct{ set, during int }{{100, 25}, {400, 25}, {10, 10}, {25, 25}, {-1, -1}} {
		debug.SetGCPercent(c.set)
		restore := lowerGCPercent(25)
		during := debug.SetGCPercent(c.during) // read it back (and keep it)
		restore()
		after := debug.SetGCPercent(c.set)
		if during != c.during || after != c.set {
			t.Errorf("GOGC %d: %d during the load, %d after; want %d, %d", c.set, during, after, c.during, c.set)
		}
	}
}

package sift

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ljdns/luamod/dns/zone"
)

// TestSplitLoad: an lmdb load of a file parsed in two parts at once holds
// exactly what the one-part load holds, including which of two records
// with the same owner and type (one in each part) wins: the later one.
func TestSplitLoad(t *testing.T) {
	var b strings.Builder
	b.WriteString("$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 hm 1 2 3 4 5\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "h%05d IN A 10.0.%d.%d\n\tIN TXT \"t%d\"\n", i, i/256, i%256, i)
		switch i {
		case 0: // in the first part
			b.WriteString("dup IN TXT \"first part\"\n")
		case 10000:
			b.WriteString("$TTL 60\n$ORIGIN sub.example.com.\n")
		case 19999: // in the second part
			b.WriteString("dup.example.com. IN TXT \"second part\"\n")
		}
	}
	path := filepath.Join(t.TempDir(), "zone.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(minSize int64) string {
		old := splitMinSize
		splitMinSize = minSize
		defer func() { splitMinSize = old }()
		if minSize < 1<<30 {
			if openSplitZone(path) == nil {
				t.Fatal("no split")
			}
		}
		L := newTestState(t)
		dir := t.TempDir()
		L.SetGlobal("ZONE", luaString(path))
		L.SetGlobal("DIR", luaString(dir))
		err := L.DoString(`
local sift, lmdb = require('dns.sift'), require('dns.lmdb')
local env, n = sift.zone(ZONE, sift.lmdb(assert(lmdb.open(DIR))))
assert(env, n)
assert(n == 40003, n)`)
		if err != nil {
			t.Fatal(err)
		}
		// Read the store back from Go, with a read-only env beside the
		// Lua state's writer.
		e := mustEnv(t, dir, EnvRdonly)
		defer e.Close()
		r, _ := e.Begin(0, true)
		defer r.Abort()
		c, _ := r.NewCursor()
		var out strings.Builder
		for k, v, _ := c.Get(OpFirst, nil, nil); k != nil; k, v, _ = c.Get(OpNext, nil, nil) {
			fmt.Fprintf(&out, "%q=%q\n", k, v)
		}
		return out.String()
	}
	one, two := load(1<<62), load(1)
	if one != two {
		t.Fatal("two-part load differs from the one-part load")
	}
	if !strings.Contains(two, "second part") || strings.Contains(two, "first part") {
		t.Fatal("the earlier duplicate won")
	}
	if !strings.Contains(two, `sub\x00h10001`) {
		t.Fatal("$ORIGIN of the first part not applied in the second")
	}
}

// TestLMDBSinkCutLine: when a second part's records arrive interleaved
// with the first's, the sink restores file order, so the duplicate that
// comes later in the file wins, not the one that arrived later.
func TestLMDBSinkCutLine(t *testing.T) {
	for _, cut := range []int{0, 5} {
		s := &lmdbSink{cutLine: cut}
		owner := []byte("\x03dup\x00")
		s.put(nil, &zone.Record{Owner: owner, Type: 16, TTL: 1, RData: []byte("later line"), Line: 9})
		s.put(nil, &zone.Record{Owner: owner, Type: 16, TTL: 1, RData: []byte("earlier line"), Line: 3})
		s.sortDedupe()
		if len(s.idx) != 1 {
			t.Fatalf("%d pairs", len(s.idx))
		}
		got := string(s.valOf(&s.idx[0])[4:])
		if want := map[int]string{0: "earlier line", 5: "later line"}[cut]; got != want {
			t.Errorf("cut %d kept %q, want %q", cut, got, want)
		}
	}
}

package sift

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg/zone"
)

// benchZone returns n records of zone text in the style of genzone.py.
func benchZone(n int) string {
	var b strings.Builder
	b.WriteString("$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n")
	for i := 1; i < n; i++ {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "h%06d 300 IN A 10.%d.%d.%d\n", i, i>>16&255, i>>8&255, i&255)
		case 1:
			fmt.Fprintf(&b, "h%06d IN AAAA 2001:db8::%x:%x\n", i, i>>16, i&0xffff)
		case 2:
			fmt.Fprintf(&b, "h%06d IN MX 10 mx%d\n", i, i%10)
		default:
			fmt.Fprintf(&b, "h%06d IN TXT \"host %d\"\n", i, i)
		}
	}
	return b.String()
}

func BenchmarkFilterMatch(b *testing.B) {
	f, err := CompileFilter([]string{"*.example.com", "type=A", "ttl<=3600", "A(10.0.1.2)"})
	if err != nil {
		b.Fatal(err)
	}
	r := zone.Record{Owner: []byte("\x07h000258\x07example\x03com\x00"), Type: 1, Class: 1, TTL: 300, RData: []byte{10, 0, 1, 2}}
	b.ReportAllocs()
	for b.Loop() {
		if !f.Match(&r) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkCompileFilter(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CompileFilter([]string{"*.example.com", "type~=RRSIG", "ttl<=3600", `rdata~=\x02cz`}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZoneScan compares parsing 100k records on the calling
// goroutine with the two-goroutine pipeline sift.zone uses.
func BenchmarkZoneScan(b *testing.B) {
	text := benchZone(100000)
	for _, piped := range []bool{false, true} {
		b.Run(fmt.Sprintf("piped=%v", piped), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				var src recordSource = zone.NewScanner(strings.NewReader(text), ".", 1, 3600)
				if piped {
					src = newPipedSource(src, nil)
				}
				n := 0
				for src.Next() {
					n += len(src.Record().RData)
				}
				src.Close()
				if n == 0 {
					b.Fatal("no records")
				}
			}
		})
	}
}

// BenchmarkLMDBSinkLoad loads 100k records through the lmdb sink's Go path
// (collect, sort, ordered puts) into a fresh store each time: in the one
// write transaction ("txn") or in committed batches (Env.BulkLoad, which
// the sink uses for large loads into an empty database).
func BenchmarkLMDBSinkLoad(b *testing.B) {
	text := benchZone(100000)
	for _, bulk := range []bool{false, true} {
		b.Run(map[bool]string{false: "txn", true: "bulk"}[bulk], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				e, err := OpenEnv(b.TempDir(), EnvMapAsync, 0, 0o644)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				t, _ := e.Begin(0, false)
				s := &lmdbSink{txn: t}
				sc := zone.NewScanner(strings.NewReader(text), ".", 1, 3600)
				for sc.Next() {
					s.put(nil, sc.Record())
				}
				s.sortDedupe()
				if bulk {
					t.Abort()
					err = e.BulkLoad(0, len(s.idx), func(i int) ([]byte, []byte) {
						r := &s.idx[i]
						return s.keyOf(r), s.valOf(r)
					})
				} else if err = s.store(); err == nil {
					err = t.Commit()
				}
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				e.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkStoreGet looks up 32 keys of a 100k-key store in turn, as
// bench.lua does (read transaction, cursor reused: no allocation).
func BenchmarkStoreGet(b *testing.B) {
	e, err := OpenEnv(b.TempDir(), EnvMapAsync, 0, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	t, _ := e.Begin(0, false)
	s := &lmdbSink{txn: t}
	sc := zone.NewScanner(strings.NewReader(benchZone(100000)), ".", 1, 3600)
	for sc.Next() {
		s.put(nil, sc.Record())
	}
	s.sortDedupe()
	var keys [][]byte
	for i := 0; i < len(s.idx); i += len(s.idx) / 32 {
		keys = append(keys, append([]byte(nil), s.key(i)...))
	}
	if err := s.store(); err != nil {
		b.Fatal(err)
	}
	t.Commit()
	r, _ := e.Begin(0, true)
	defer r.Abort()
	b.Run("txn", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if v, _ := r.Get(keys[i]); v == nil {
				b.Fatal("not found")
			}
			i = (i + 1) % len(keys)
		}
	})
	// The same lookups through bbolt's own read path (its fastest: one
	// cursor reused), for reference.
	b.Run("bbolt", func(b *testing.B) {
		tx, _ := e.db.Begin(false)
		defer tx.Rollback()
		c := tx.Bucket(mainBucket).Cursor()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if k, _ := c.Seek(keys[i]); !bytes.Equal(k, keys[i]) {
				b.Fatal("not found")
			}
			i = (i + 1) % len(keys)
		}
	})
}

// BenchmarkLuaTxnGet is bench.lua's LMDB search from Lua: txn.get(txn,
// key, val) over 32 sampled keys of a 100k-record store; one op is one
// lookup including the Lua loop and call.
func BenchmarkLuaTxnGet(b *testing.B) {
	dir := b.TempDir()
	L := newTestState(b)
	L.SetGlobal("ZONE", luaString(benchZone(100000)))
	L.SetGlobal("DIR", luaString(dir))
	if err := L.DoString(`
local sift, lmdb = require('dns.sift'), require('dns.lmdb')
local env, n, db = sift.zone(ZONE, sift.lmdb(assert(lmdb.open(DIR, 'writemap, mapasync'))))
assert(env, n)
TXN = assert(env:txn(db, 'rdonly'))
KEYS = {}
local count, cur = 0, assert(TXN:cursor())
for k in ipairs(cur) do
	if count % 3125 == 0 then table.insert(KEYS, lmdb.val_t(k.size, k.data)) end
	count = count + 1
end
cur:close()
OUT = lmdb.val_t()
function SEARCH(n)
	local keys, find, txn, out = KEYS, TXN.get, TXN, OUT
	local nk, done = #keys, 0
	while done < n do
		local m = math.min(nk, n - done)
		for j = 1, m do
			if not find(txn, keys[j], out) then error('search failed') end
		end
		done = done + m
	end
end`); err != nil {
		b.Fatal(err)
	}
	search := L.GetGlobal("SEARCH")
	b.ResetTimer()
	if err := L.CallByParam(lua.P{Fn: search, NRet: 0, Protect: true}, lua.LNumber(b.N)); err != nil {
		b.Fatal(err)
	}
}

// TestBenchZone: the generated zone parses to the end (every record).
func TestBenchZone(t *testing.T) {
	sc := zone.NewScanner(strings.NewReader(benchZone(100000)), ".", 1, 3600)
	n := 0
	for sc.Next() {
		n++
	}
	if sc.Err() != nil || n != 100000 {
		t.Fatalf("%d records, %v", n, sc.Err())
	}
}

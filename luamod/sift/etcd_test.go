package sift

import (
	"os"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"errors"
	"testing"

	"ljdns/internal/etcdtest"
)

// TestEtcdSnapshotCompacted: a read transaction of an etcd store reads its
// revision after later writes; once etcd compacted that revision every read
// of a key it had not read yet fails with ErrSnapshotLost (as a lost
// snapshot of the bbolt store) while the keys it read are kept (read once
// per transaction), and a new transaction reads again.
func TestEtcdSnapshotCompacted(t *testing.T) {
	c := etcdtest.Start(t, 1)
	uri := "etcd://" + c.Endpoints()[0] + "/compact/"
	e, err := OpenEnv(uri, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	w, _ := e.Begin(0, false)
	w.Put([]byte("k"), []byte("v1"), 0)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	r, err := e.Begin(0, true)
	if err != nil {
		t.Fatal(err)
	}
	w, _ = e.Begin(0, false)
	w.Put([]byte("k"), []byte("v2"), 0)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, err := r.Get([]byte("k")); err != nil || string(v) != "v1" {
		t.Fatalf("snapshot read: %q %v", v, err)
	}
	c.Compact(t)
	// a key the transaction read before is kept: its value at the
	// transaction's revision, with no round trip
	if v, err := r.Get([]byte("k")); err != nil || string(v) != "v1" {
		t.Fatalf("key read before, after compaction: %q %v", v, err)
	}
	if _, err := r.Get([]byte("other")); !errors.Is(err, ErrSnapshotLost) {
		t.Fatalf("read after compaction: %v, want ErrSnapshotLost", err)
	}
	if _, err := r.NewCursor(); !errors.Is(err, ErrSnapshotLost) {
		t.Fatalf("cursor after compaction: %v", err)
	}
	r.Abort()
	r, _ = e.Begin(0, true)
	if v, err := r.Get([]byte("k")); err != nil || string(v) != "v2" {
		t.Fatalf("new transaction: %q %v", v, err)
	}
	r.Abort()
	if _, err := OpenEnv("etcd://", 0, 0, 0); err == nil {
		t.Error("etcd:// without a host opened")
	}
}

// TestEtcdLMDBFigures (LJDNS_ETCD_FIGURES=1): read-transaction gets per
// second from Lua, 1000 keys, against a local 3-member etcd cluster and
// against the bbolt store, in the same run.
func TestEtcdLMDBFigures(t *testing.T) {
	if os.Getenv("LJDNS_ETCD_FIGURES") == "" {
		t.Skip("figures: set LJDNS_ETCD_FIGURES=1")
	}
	c := etcdtest.Start(t, 3)
	dir := t.TempDir()
	L := newTestState(t)

	for _, uri := range []string{dir, "etcd://" + strings.Join(c.Endpoints(), ",") + "/fig/"} {
		L.SetGlobal("URI", lua.LString(uri))
		if err := L.DoString(`
local lmdb = require('dns.lmdb')
local env = assert(lmdb.open(URI))
for b = 0, 9 do
	local txn = assert(env:txn())
	for i = 1, 100 do assert(txn:put(string.format('key%05d', b * 100 + i), string.rep('v', 100))) end
	assert(txn:commit())
end
local function run(n)
	local txn = assert(env:txn(0, 'rdonly'))
	local t0 = os.clock()
	for i = 1, n do assert(txn:get(string.format('key%05d', i % 1000 + 1))) end
	txn:abort()
	return os.clock() - t0
end
local n = URI:match('^etcd') and 20000 or 500000
run(n / 10)
env:close()
RESULT = n
`); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := L.DoString(`
local lmdb = require('dns.lmdb')
local env = assert(lmdb.open(URI))
local txn = assert(env:txn(0, 'rdonly'))
for i = 1, RESULT do assert(txn:get(string.format('key%05d', i % 1000 + 1))) end
txn:abort()
env:close()`); err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		n := int(L.GetGlobal("RESULT").(lua.LNumber))
		t.Logf("FIGURE dns.lmdb read-transaction get/s from Lua, %s: %.0f (%d gets in %v)", map[bool]string{true: "etcd (3 members, loopback)", false: "bbolt"}[strings.HasPrefix(uri, "etcd")], float64(n)/d.Seconds(), n, d)
	}
}

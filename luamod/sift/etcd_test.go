package sift

import (
	"errors"
	"testing"

	"ljdns/internal/etcdtest"
)

// TestEtcdSnapshotCompacted: a read transaction of an etcd store reads its
// revision after later writes; once etcd compacted that revision every read
// fails with ErrSnapshotLost (as a lost snapshot of the bbolt store), and a
// new transaction reads again.
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
	if _, err := r.Get([]byte("k")); !errors.Is(err, ErrSnapshotLost) {
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

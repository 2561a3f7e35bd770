package sift

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestBoltFileMatchesBbolt checks the direct reader against bbolt's own
// cursors on stores of several shapes (inline bucket, one leaf, deep trees
// with overflow pages, named databases): every key's Get, and First, Last,
// Next, Prev and Seek at random points give the same entries.
func TestBoltFileMatchesBbolt(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 5, 300, 20000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			dir := t.TempDir()
			e := mustEnv(t, dir, 0)
			defer e.Close()
			w, _ := e.Begin(0, false)
			want := map[string][]byte{}
			for i := 0; i < n; i++ {
				k := fmt.Appendf(nil, "k%08d", rng.IntN(10*n+1))
				v := bytes.Repeat([]byte{byte(i)}, rng.IntN(40))
				if i%1000 == 7 {
					v = bytes.Repeat([]byte{'o'}, 9000) // overflow pages
				}
				w.Put(k, v, 0)
				want[string(k)] = v
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			r, err := e.Begin(0, true)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Abort()
			for k, v := range want {
				got, err := r.Get([]byte(k))
				if err != nil || !bytes.Equal(got, v) {
					t.Fatalf("Get(%s) = %.20q, %v", k, got, err)
				}
			}
			if got, _ := r.Get([]byte("absent")); got != nil {
				t.Fatalf("absent key found: %q", got)
			}
			tx, _ := e.db.Begin(false)
			defer tx.Rollback()
			ref := tx.Bucket(mainBucket).Cursor()
			our := &boltCursor{t: &r.tree}
			same := func(what string, k1, v1, k2, v2 []byte) {
				t.Helper()
				if !bytes.Equal(k1, k2) || !bytes.Equal(v1, v2) {
					t.Fatalf("%s: ours %q, bbolt %q", what, k1, k2)
				}
			}
			k1, v1 := our.First()
			k2, v2 := ref.First()
			same("First", k1, v1, k2, v2)
			count := 0
			for k1 != nil {
				count++
				k1, v1 = our.Next()
				k2, v2 = ref.Next()
				same("Next", k1, v1, k2, v2)
			}
			if count != len(want) {
				t.Fatalf("walked %d entries, want %d", count, len(want))
			}
			k1, v1 = our.Last()
			k2, v2 = ref.Last()
			same("Last", k1, v1, k2, v2)
			for k1 != nil {
				k1, v1 = our.Prev()
				k2, v2 = ref.Prev()
				same("Prev", k1, v1, k2, v2)
			}
			for i := 0; i < 2000; i++ {
				seek := fmt.Appendf(nil, "k%08d", rng.IntN(10*n+2))
				if i%3 == 0 {
					seek = seek[:rng.IntN(len(seek))]
				}
				k1, v1 = our.Seek(seek)
				k2, v2 = ref.Seek(seek)
				same(fmt.Sprintf("Seek(%q)", seek), k1, v1, k2, v2)
				for j := 0; j < 3 && k1 != nil; j++ { // (off the end both are unpositioned)
					if i%2 == 0 {
						k1, v1 = our.Next()
						k2, v2 = ref.Next()
					} else {
						k1, v1 = our.Prev()
						k2, v2 = ref.Prev()
					}
					if k2 == nil {
						break // bbolt's cursor leaves the end differently
					}
					same("step after Seek", k1, v1, k2, v2)
				}
			}
			if st := r.tree.stats(); st.entries != len(want) {
				t.Fatalf("stats entries %d, want %d", st.entries, len(want))
			}
		})
	}
}

// TestBoltFileNamedDB reads a named database through a read-only env.
func TestBoltFileNamedDB(t *testing.T) {
	dir := t.TempDir()
	e := mustEnv(t, dir, 0)
	w, _ := e.Begin(0, false)
	dbi, err := e.DBI(w, "second", true)
	if err != nil {
		t.Fatal(err)
	}
	w.Commit()
	w, _ = e.Begin(dbi, false)
	w.Put([]byte("a"), []byte("in second"), 0)
	w.Commit()
	e.Close()
	ro := mustEnv(t, dir, EnvRdonly)
	defer ro.Close()
	r, err := ro.Begin(0, true)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := r.Get([]byte("a")); v != nil {
		t.Fatalf("main db has %q", v)
	}
	d, err := ro.DBI(r, "second", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.DBI(r, "third", false); err != ErrNotFound {
		t.Fatalf("missing db: %v", err)
	}
	r.Abort()
	r, _ = ro.Begin(d, true)
	defer r.Abort()
	if v, _ := r.Get([]byte("a")); string(v) != "in second" {
		t.Fatalf("second db has %q", v)
	}
	if _, err := ro.Begin(0, false); err == nil {
		t.Fatal("write transaction in a read-only env")
	}
}

// TestBoltFileCopyReadOnly copies a store from a read-only env and opens
// the copy with bbolt.
func TestBoltFileCopyReadOnly(t *testing.T) {
	dir := t.TempDir()
	e := mustEnv(t, dir, 0)
	for round := 0; round < 3; round++ {
		w, _ := e.Begin(0, false)
		for i := 0; i < 2000; i++ {
			w.Put(fmt.Appendf(nil, "key%05d", i), fmt.Appendf(nil, "round %d", round), 0)
		}
		w.Commit()
	}
	ro := mustEnv(t, dir, EnvRdonly)
	defer ro.Close()
	dst := filepath.Join(t.TempDir(), "copy.mdb")
	if err := ro.Copy(dst); err != nil {
		t.Fatal(err)
	}
	e.Close()
	db, err := bolt.Open(dst, 0, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		if v := tx.Bucket(mainBucket).Get([]byte("key01999")); string(v) != "round 2" {
			return fmt.Errorf("copy has %q", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzBoltFile opens arbitrary bytes as a store file read-only and runs
// every read operation: errors are fine, faults and panics are not.
func FuzzBoltFile(f *testing.F) {
	dir := f.TempDir()
	e, err := OpenEnv(dir, 0, 0, 0o644)
	if err != nil {
		f.Fatal(err)
	}
	w, _ := e.Begin(0, false)
	for i := 0; i < 300; i++ {
		w.Put(fmt.Appendf(nil, "key%03d", i), bytes.Repeat([]byte{'v'}, i%50), 0)
	}
	long := bytes.Repeat([]byte{'k'}, 200)
	for i := 0; i < 2000; i++ { // long keys: two branch levels in a small file
		w.Put(fmt.Appendf(nil, "key%04d%s", i, long), []byte("v"), 0)
	}
	w.Commit()
	e.Close()
	seed, err := os.ReadFile(filepath.Join(dir, storeFileName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:8192])
	if ro, err := OpenEnv(filepath.Join(dir, storeFileName), EnvRdonly|EnvNoSubdir, 0, 0o644); err == nil {
		r, _ := ro.Begin(0, true)
		if r.tree.buildFence() == nil {
			f.Fatal("the seed store has no fence index")
		}
		ro.Close()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Mend the meta checksums so mutations reach the tree pages.
		for _, off := range []int{pageHeaderSize, 4096 + pageHeaderSize} {
			if len(data) >= off+metaChecksumEnd+8 {
				h := fnv.New64a()
				h.Write(data[off : off+metaChecksumEnd])
				binary.LittleEndian.PutUint64(data[off+metaChecksumEnd:], h.Sum64())
			}
		}
		path := filepath.Join(t.TempDir(), "data.mdb")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := OpenEnv(path, EnvRdonly|EnvNoSubdir, 0, 0o644)
		if err != nil {
			return
		}
		defer e.Close()
		e.Stat()
		r, err := e.Begin(0, true)
		if err != nil {
			return
		}
		defer r.Abort()
		for i := 0; i <= fenceAfter; i++ { // past fenceAfter: builds the fence index
			r.Get(fmt.Appendf(nil, "key%03d", i*7))
		}
		c, _ := r.NewCursor()
		n := 0
		for k, _, _ := c.Get(OpFirst, nil, nil); k != nil && n < 10000; k, _, _ = c.Get(OpNext, nil, nil) {
			n++
		}
		c.Get(OpLast, nil, nil)
		c.Get(OpPrev, nil, nil)
		c.Get(OpSetRange, []byte("key1"), nil)
		e.DBI(r, "x", false)
	})
}

// TestFenceIndex: lookups through the fence index find exactly what the
// descent finds, for every key and for absent keys around them, in trees
// of one to three branch levels built by ordered loads, random inserts,
// overwrites and deletes over several commits.
func TestFenceIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{300, 5000, 60000} {
		e := mustEnv(t, t.TempDir(), 0)
		var keys [][]byte
		for round := 0; round < 4; round++ {
			w, _ := e.Begin(0, false)
			for i := 0; i < n/2; i++ {
				k := fmt.Appendf(nil, "com\x00example\x00h%07d\x00", rng.IntN(4*n))
				if i%7 == 0 {
					k = k[:len(k)-rng.IntN(6)] // shorter keys, sharing prefixes
				}
				w.Put(k, k, 0)
				keys = append(keys, k)
			}
			for i := 0; i < n/10 && len(keys) > 0; i++ {
				w.Del(keys[rng.IntN(len(keys))])
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		r, _ := e.Begin(0, true)
		f := r.tree.buildFence()
		if n >= 60000 && f == nil {
			t.Fatalf("%d keys: no fence index", n)
		}
		if f != nil {
			probes := append([][]byte{nil, []byte("a"), []byte("zzz"), []byte("com"), []byte("com\x00example\x00")}, keys...)
			for _, k := range keys {
				probes = append(probes, append(append([]byte(nil), k...), 0), k[:len(k)-1])
			}
			for _, k := range probes {
				v1, f1 := r.tree.get(k)
				v2, f2 := r.tree.getInLeaf(f.leaf(k), k)
				if !bytes.Equal(v1, v2) || f1 != f2 {
					t.Fatalf("%d keys: %q: descent %q, fence %q", n, k, v1, v2)
				}
			}
			// and through Txn.Get, which switches to the index
			for i := 0; i < 2*fenceAfter; i++ {
				k := keys[rng.IntN(len(keys))]
				want, _ := r.tree.get(k)
				if got, _ := r.Get(k); !bytes.Equal(got, want) {
					t.Fatalf("Get(%q) = %q, want %q", k, got, want)
				}
			}
			if r.fence == nil {
				t.Fatal("Txn.Get did not take the fence index")
			}
			t.Logf("%d keys: fence of %d leaves", n, len(f.leaves))
		}
		r.Abort()
		e.Close()
	}
}

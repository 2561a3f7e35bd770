package sift

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Subprocess roles of this test binary (selected by environment).
const (
	envChildRole = "SIFT_STORE_CHILD"
	envChildDir  = "SIFT_STORE_DIR"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envChildRole) {
	case "writer":
		os.Exit(childWriter(os.Getenv(envChildDir)))
	case "reader":
		os.Exit(childReader(os.Getenv(envChildDir)))
	case "bulk":
		os.Exit(childBulk(os.Getenv(envChildDir)))
	case "snapshots":
		os.Exit(childSnapshotReader(os.Getenv(envChildDir)))
	}
	os.Exit(m.Run())
}

func mustEnv(t *testing.T, dir string, flags uint32) *Env {
	t.Helper()
	e, err := OpenEnv(dir, flags, 0, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestStoreBasic(t *testing.T) {
	dir := t.TempDir()
	e := mustEnv(t, dir, 0)
	defer e.Close()
	w, err := e.Begin(0, false)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := w.Put([]byte("k"), []byte("v"), 0); !ok || err != nil {
		t.Fatalf("put: %v %v", ok, err)
	}
	if ok, err := w.Put([]byte("k"), []byte("w"), PutNoOverwrite); ok || err != nil {
		t.Fatalf("nooverwrite put: %v %v", ok, err)
	}
	if _, err := w.Put(nil, []byte("v"), 0); err == nil {
		t.Fatal("empty key accepted")
	}
	if _, err := e.Begin(0, false); !errors.Is(err, ErrWriterActive) {
		t.Fatalf("second writer: %v", err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); !errors.Is(err, ErrTxnEnded) {
		t.Fatalf("commit twice: %v", err)
	}
	r, _ := e.Begin(0, true)
	if v, _ := r.Get([]byte("k")); string(v) != "v" {
		t.Fatalf("get: %q", v)
	}
	if v, _ := r.Get([]byte("missing")); v != nil {
		t.Fatalf("missing: %q", v)
	}
	if _, err := r.Put([]byte("x"), []byte("y"), 0); !errors.Is(err, ErrReadOnlyTxn) {
		t.Fatalf("read-only put: %v", err)
	}
	if err := r.Del([]byte("k")); !errors.Is(err, ErrReadOnlyTxn) {
		t.Fatalf("read-only del: %v", err)
	}
	r.Abort()
	if _, err := r.Get([]byte("k")); !errors.Is(err, ErrTxnEnded) {
		t.Fatalf("get after abort: %v", err)
	}
	if err := r.Renew(); err != nil {
		t.Fatal(err)
	}
	if err := r.Renew(); err == nil {
		t.Fatal("renew of a valid txn")
	}
	r.Abort()
	_, _, _, _, _, entries, err := e.Stat()
	if err != nil || entries != 1 {
		t.Fatalf("stat: %d %v", entries, err)
	}
}

func TestStoreCursor(t *testing.T) {
	e := mustEnv(t, t.TempDir(), EnvNoSync)
	defer e.Close()
	w, _ := e.Begin(0, false)
	for _, k := range []string{"b", "d", "a", "c"} {
		w.Put([]byte(k), []byte(strings.ToUpper(k)), 0)
	}
	w.Commit()
	r, _ := e.Begin(0, true)
	defer r.Abort()
	c, _ := r.NewCursor()
	var got []string
	for k, v, _ := c.Get(OpNext, nil, nil); k != nil; k, v, _ = c.Get(OpNext, nil, nil) {
		got = append(got, string(k)+string(v))
	}
	if s := strings.Join(got, ","); s != "aA,bB,cC,dD" {
		t.Fatalf("walk: %s", s)
	}
	// stepping off the end keeps the position (PREV gives the one before the last)
	if k, _, _ := c.Get(OpPrev, nil, nil); string(k) != "c" {
		t.Fatalf("prev after end: %q", k)
	}
	steps := []struct {
		op   int
		key  string
		want string
	}{
		{OpFirst, "", "a"}, {OpLast, "", "d"}, {OpSetRange, "bb", "c"}, {OpSet, "bb", ""},
		{OpSetKey, "b", "b"}, {OpGetCurrent, "", "b"}, {OpNextDup, "", ""}, {OpSetRange, "z", ""},
	}
	for _, s := range steps {
		k, _, err := c.Get(s.op, []byte(s.key), nil)
		if err != nil || string(k) != s.want {
			t.Errorf("op %d %q: got %q %v want %q", s.op, s.key, k, err, s.want)
		}
	}
	if _, _, err := c.Get(99, nil, nil); err == nil {
		t.Error("unknown op accepted")
	}
}

// TestStoreReadWhileWriting: in one process a read transaction keeps its
// snapshot while a write transaction changes and commits the same keys.
func TestStoreReadWhileWriting(t *testing.T) {
	e := mustEnv(t, t.TempDir(), 0)
	defer e.Close()
	w, _ := e.Begin(0, false)
	w.Put([]byte("k"), []byte("old"), 0)
	w.Commit()
	r, _ := e.Begin(0, true)
	w, err := e.Begin(0, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20000; i++ {
		w.Put([]byte(fmt.Sprintf("key%06d", i)), bytes.Repeat([]byte{'x'}, 100), 0)
	}
	w.Put([]byte("k"), []byte("new"), 0)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, _ := r.Get([]byte("k")); string(v) != "old" {
		t.Fatalf("reader saw %q", v)
	}
	r.Abort()
}

// startChild starts this test binary in a child role on dir and returns
// it with its standard output.
func startChild(t *testing.T, role, dir string) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChildRole+"="+role, envChildDir+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// childWriter commits rounds of 20000 keys forever, printing "round N"
// after each commit; the parent kills it with SIGKILL.
func childWriter(dir string) int {
	e, err := OpenEnv(dir, 0, 0, 0o644)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	val := bytes.Repeat([]byte{'v'}, 200)
	for round := 1; ; round++ {
		w, err := e.Begin(0, false)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		for i := 0; i < 20000; i++ {
			w.Put([]byte(fmt.Sprintf("r%04d-%06d", round, i)), val, 0)
		}
		w.Put([]byte("round"), []byte(strconv.Itoa(round)), 0)
		if err := w.Commit(); err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Printf("round %d\n", round)
	}
}

// TestCrashSafety kills a writer process with SIGKILL in the middle of its
// write transactions; the store must hold exactly the committed rounds.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	cmd, out := startChild(t, "writer", dir)
	sc := bufio.NewScanner(out)
	seen := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatal(line)
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(line, "round ")); err == nil {
			seen = n
		}
		if seen >= 3 {
			break
		}
	}
	time.Sleep(15 * time.Millisecond) // land inside the next round's transaction
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if seen < 3 {
		t.Fatalf("writer stopped after %d rounds", seen)
	}

	db, err := bolt.Open(filepath.Join(dir, storeFileName), 0, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatalf("consistency check: %v", err)
	}
	e := mustEnv(t, dir, EnvRdonly)
	defer e.Close()
	r, _ := e.Begin(0, true)
	defer r.Abort()
	v, _ := r.Get([]byte("round"))
	committed, err := strconv.Atoi(string(v))
	if err != nil || committed < seen {
		t.Fatalf("committed round %q, child reported %d", v, seen)
	}
	c, _ := r.NewCursor()
	rounds := map[int]int{}
	for k, _, _ := c.Get(OpFirst, nil, nil); k != nil; k, _, _ = c.Get(OpNext, nil, nil) {
		if k[0] == 'r' && len(k) > 5 && k[1] != 'o' {
			n, _ := strconv.Atoi(string(k[1:5]))
			rounds[n]++
		}
	}
	for i := 1; i <= committed; i++ {
		if rounds[i] != 20000 {
			t.Errorf("round %d has %d keys, want 20000", i, rounds[i])
		}
	}
	if len(rounds) != committed {
		t.Errorf("rounds present %d, committed %d (a partial transaction leaked)", len(rounds), committed)
	}
	t.Logf("killed after %d committed rounds", committed)
}

// childReader opens the store read-only and prints the value of "k" or
// the error.
func childReader(dir string) int {
	e, err := OpenEnv(dir, EnvRdonly, 0, 0o644)
	if err != nil {
		fmt.Println("error", err)
		return 0
	}
	defer e.Close()
	r, err := e.Begin(0, true)
	if err != nil {
		fmt.Println("error", err)
		return 0
	}
	v, _ := r.Get([]byte("k"))
	fmt.Printf("value %s\n", v)
	r.Abort()
	return 0
}

func runReader(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChildRole+"=reader", envChildDir+"="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reader: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestReaderProcess: a read-only environment takes no file lock, so a
// reader process reads the committed data while a writer has the store
// open (and again after it closed it); read-only environments share it.
func TestReaderProcess(t *testing.T) {
	dir := t.TempDir()
	e := mustEnv(t, dir, 0)
	w, _ := e.Begin(0, false)
	w.Put([]byte("k"), []byte("v1"), 0)
	w.Commit()
	if got := runReader(t, dir); got != "value v1" {
		t.Fatalf("reader while writer open: %q", got)
	}
	w, _ = e.Begin(0, false)
	w.Put([]byte("k"), []byte("v2"), 0)
	if got := runReader(t, dir); got != "value v1" {
		t.Fatalf("reader during a write transaction: %q", got)
	}
	w.Commit()
	if got := runReader(t, dir); got != "value v2" {
		t.Fatalf("reader after commit: %q", got)
	}
	// a second writer is refused promptly
	start := time.Now()
	if _, err := OpenEnv(dir, 0, 0, 0o644); err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second writer: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("second writer waited %v", d)
	}
	e.Close()
	if got := runReader(t, dir); got != "value v2" {
		t.Fatalf("reader after writer closed: %q", got)
	}
	ro := mustEnv(t, dir, EnvRdonly)
	defer ro.Close()
	if got := runReader(t, dir); got != "value v2" {
		t.Fatalf("two readers: %q", got)
	}
}

// childSnapshotReader repeatedly reads every key in read transactions of a
// read-only env while another process rewrites them; within one
// transaction all values must be equal (one snapshot). It prints the
// number of transactions and distinct rounds seen, or the first mismatch.
func childSnapshotReader(dir string) int {
	e, err := OpenEnv(dir, EnvRdonly, 0, 0o644)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer e.Close()
	rounds := map[string]bool{}
	deadline := time.Now().Add(3 * time.Second)
	txns := 0
	for ; time.Now().Before(deadline); txns++ {
		r, err := e.Begin(0, true)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		// Two passes with a pause between them: the writer commits
		// several times meanwhile, and the snapshot must not change.
		var first []byte
		for pass := 0; pass < 2; pass++ {
			c, _ := r.NewCursor()
			n := 0
			for k, v, _ := c.Get(OpFirst, nil, nil); k != nil; k, v, _ = c.Get(OpNext, nil, nil) {
				if first == nil {
					first = append([]byte(nil), v...)
				} else if !bytes.Equal(v, first) {
					fmt.Printf("error torn snapshot (pass %d): key %s has %.20q, first had %.20q\n", pass, k, v, first)
					return 1
				}
				n++
			}
			if n != 3000 {
				fmt.Printf("error snapshot with %d keys\n", n)
				return 1
			}
			time.Sleep(20 * time.Millisecond)
		}
		rounds[string(first)] = true
		r.Abort()
	}
	fmt.Printf("ok %d %d\n", txns, len(rounds))
	return 0
}

// TestReaderProcessSnapshots: a reader process's snapshots stay intact
// while this process rewrites every key in transaction after transaction
// (bbolt would otherwise reuse the pages the reader is reading).
func TestReaderProcessSnapshots(t *testing.T) {
	dir := t.TempDir()
	e := mustEnv(t, dir, 0)
	defer e.Close()
	write := func(round int) {
		w, err := e.Begin(0, false)
		if err != nil {
			t.Fatal(err)
		}
		val := bytes.Repeat([]byte(fmt.Sprintf("round%06d", round)), 20)
		for i := 0; i < 3000; i++ {
			w.Put([]byte(fmt.Sprintf("key%06d", i)), val, 0)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	write(0)
	cmd, out := startChild(t, "snapshots", dir)
	done := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(out)
		done <- strings.TrimSpace(string(b))
	}()
	var got string
	for round := 1; got == ""; round++ {
		write(round)
		select {
		case got = <-done:
		default:
		}
	}
	cmd.Wait()
	var txns, rounds int
	if _, err := fmt.Sscanf(got, "ok %d %d", &txns, &rounds); err != nil {
		t.Fatalf("reader: %s", got)
	}
	if rounds < 2 {
		t.Fatalf("reader saw %d rounds in %d transactions: the writer did not overlap", rounds, txns)
	}
	t.Logf("reader: %d transactions, %d distinct rounds", txns, rounds)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenEnv(filepath.Join(dir, "missing"), 0, 0, 0o644); err == nil {
		t.Fatal("missing directory accepted")
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, err := OpenEnv(file, 0, 0, 0o644); err == nil {
		t.Fatal("a file accepted as directory")
	}
	if _, err := OpenEnv(file, EnvNoSubdir, 0, 0o644); err == nil {
		t.Fatal("garbage file accepted as a store")
	}
	if _, err := OpenEnv(filepath.Join(dir, "ro.db"), EnvNoSubdir|EnvRdonly, 0, 0o644); err == nil {
		t.Fatal("read-only open of a missing file")
	}
}

// TestRemapGuard: with a small map, a commit that would have to remap the
// file while a read transaction is open fails instead of deadlocking.
func TestRemapGuard(t *testing.T) {
	old := minMmapSize
	minMmapSize = 0
	defer func() { minMmapSize = old }()
	e, err := OpenEnv(t.TempDir(), EnvNoSync, 256<<10, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	r, _ := e.Begin(0, true)
	w, _ := e.Begin(0, false)
	for i := 0; i < 5000; i++ {
		w.Put([]byte(fmt.Sprintf("key%06d", i)), bytes.Repeat([]byte{'x'}, 200), 0)
	}
	done := make(chan error, 1)
	go func() { done <- w.Commit() }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrRemapBusy) {
			t.Fatalf("commit: %v, want ErrRemapBusy", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("commit deadlocked")
	}
	r.Abort()
	// without the reader the same write commits (bbolt remaps freely)
	w, _ = e.Begin(0, false)
	for i := 0; i < 5000; i++ {
		w.Put([]byte(fmt.Sprintf("key%06d", i)), bytes.Repeat([]byte{'x'}, 200), 0)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	// small writes with a reader open still commit
	r, _ = e.Begin(0, true)
	defer r.Abort()
	w, _ = e.Begin(0, false)
	w.Put([]byte("small"), []byte("v"), 0)
	if err := w.Commit(); err != nil {
		t.Fatalf("small commit with a reader: %v", err)
	}
}

// TestCloseWithOpenTxns: closing an environment ends its transactions
// (bbolt's Close would otherwise wait for them forever).
func TestCloseWithOpenTxns(t *testing.T) {
	e := mustEnv(t, t.TempDir(), 0)
	r1, _ := e.Begin(0, true)
	r2, _ := e.Begin(0, true)
	w, _ := e.Begin(0, false)
	w.Put([]byte("k"), []byte("v"), 0)
	done := make(chan error, 1)
	go func() { done <- e.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close blocked on open transactions")
	}
	for _, x := range []*Txn{r1, r2, w} {
		if x.Valid() {
			t.Error("transaction still valid after Close")
		}
		if _, err := x.Get([]byte("k")); !errors.Is(err, ErrTxnEnded) {
			t.Errorf("get after Close: %v", err)
		}
	}
	if _, err := e.Begin(0, true); !errors.Is(err, ErrEnvClosed) {
		t.Errorf("begin after Close: %v", err)
	}
}

// bulkPairs returns n sorted pairs.
func bulkPairs(n int) func(i int) ([]byte, []byte) {
	return func(i int) ([]byte, []byte) {
		return fmt.Appendf(nil, "key%08d", i), fmt.Appendf(nil, "value %d", i)
	}
}

// TestBulkLoad: a bulk load fills an empty database across several
// batches, a reader that began before sees it empty, the staging bucket
// is gone afterwards, and a database that is not empty is left alone.
func TestBulkLoad(t *testing.T) {
	dir := t.TempDir()
	e := mustEnv(t, dir, 0)
	defer e.Close()
	ro := mustEnv(t, dir, EnvRdonly)
	defer ro.Close()
	before, _ := ro.Begin(0, true)
	n := 2*bulkBatch + 123
	if err := e.BulkLoad(0, n, bulkPairs(n)); err != nil {
		t.Fatal(err)
	}
	if c, _ := before.NewCursor(); c.c != nil {
		if k, _, _ := c.Get(OpFirst, nil, nil); k != nil {
			t.Fatalf("earlier snapshot sees %q", k)
		}
	}
	before.Abort()
	r, _ := e.Begin(0, true)
	for _, i := range []int{0, 1, bulkBatch - 1, bulkBatch, n - 1} {
		k, v := bulkPairs(n)(i)
		if got, _ := r.Get(k); !bytes.Equal(got, v) {
			t.Fatalf("key %s = %q", k, got)
		}
	}
	if _, ok := r.snap.root.bucket(stagingBucket); ok {
		t.Fatal("staging bucket left behind")
	}
	r.Abort()
	if _, _, _, _, _, entries, _ := e.Stat(); entries != n {
		t.Fatalf("entries %d, want %d", entries, n)
	}
	if err := e.BulkLoad(0, 10, bulkPairs(10)); err == nil {
		t.Fatal("bulk load into a non-empty database accepted")
	}
	if _, _, _, _, _, entries, _ := e.Stat(); entries != n {
		t.Fatalf("after refused load: entries %d, want %d", entries, n)
	}
}

// childBulk bulk-loads forever-growing batches, printing a line per batch;
// the parent kills it with SIGKILL.
func childBulk(dir string) int {
	e, err := OpenEnv(dir, 0, 0, 0o644)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	n := 100 * bulkBatch
	pairs := bulkPairs(n)
	e.BulkLoad(0, n, func(i int) ([]byte, []byte) {
		if i%bulkBatch == 0 {
			fmt.Println("batch")
		}
		return pairs(i)
	})
	fmt.Println("error finished")
	return 1
}

// TestBulkLoadCrash: a writer killed in the middle of a bulk load leaves
// the database empty, and the next writable open drops the staging bucket.
func TestBulkLoadCrash(t *testing.T) {
	dir := t.TempDir()
	cmd, out := startChild(t, "bulk", dir)
	sc := bufio.NewScanner(out)
	batches := 0
	for batches < 8 && sc.Scan() {
		if strings.HasPrefix(sc.Text(), "error") {
			t.Fatal(sc.Text())
		}
		batches++
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	ro := mustEnv(t, dir, EnvRdonly)
	r, _ := ro.Begin(0, true)
	if v, _ := r.Get([]byte("key00000000")); v != nil {
		t.Fatalf("partial bulk load visible: %q", v)
	}
	if _, ok := r.snap.root.bucket(stagingBucket); !ok {
		t.Fatal("no staging bucket after the crash: the load was not interrupted")
	}
	r.Abort()
	ro.Close()
	e := mustEnv(t, dir, 0)
	defer e.Close()
	r, _ = e.Begin(0, true)
	defer r.Abort()
	if _, ok := r.snap.root.bucket(stagingBucket); ok {
		t.Fatal("staging bucket survived a writable open")
	}
}

// TestWriterRestart: a read transaction of a read-only env that began
// before a writer reopened the store (the new writer does not know its
// pins and may overwrite its pages) fails with ErrSnapshotLost instead of
// returning data; transactions begun afterwards read normally.
func TestWriterRestart(t *testing.T) {
	dir := t.TempDir()
	write := func(e *Env, round int) {
		w, _ := e.Begin(0, false)
		for i := 0; i < 2000; i++ {
			w.Put(fmt.Appendf(nil, "key%05d", i), fmt.Appendf(nil, "round %d", round), 0)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	e := mustEnv(t, dir, 0)
	write(e, 0)
	ro := mustEnv(t, dir, EnvRdonly)
	defer ro.Close()
	r, _ := ro.Begin(0, true)
	defer r.Abort()
	if v, err := r.Get([]byte("key00001")); err != nil || string(v) != "round 0" {
		t.Fatalf("before: %q, %v", v, err)
	}
	val, _ := r.Get([]byte("key00002"))
	write(e, 1) // pins round 0 for the reader
	if v, err := r.Get([]byte("key00001")); err != nil || string(v) != "round 0" {
		t.Fatalf("after a commit: %q, %v", v, err)
	}
	e.Close()
	e = mustEnv(t, dir, 0) // a new writer session: the pins are gone
	defer e.Close()
	for round := 2; round < 6; round++ {
		write(e, round)
	}
	if v, err := r.Get([]byte("key00001")); err != ErrSnapshotLost {
		t.Fatalf("old snapshot after a writer restart: %q, %v", v, err)
	}
	c, _ := r.NewCursor()
	if _, _, err := c.Get(OpFirst, nil, nil); err != ErrSnapshotLost {
		t.Fatalf("cursor on the old snapshot: %v", err)
	}
	v := &Val{}
	v.setStore(val, r)
	if _, err := v.bytes(); err != ErrSnapshotLost {
		t.Fatalf("value read before the restart: %v", err)
	}
	r2, _ := ro.Begin(0, true)
	defer r2.Abort()
	if v, err := r2.Get([]byte("key00001")); err != nil || string(v) != "round 5" {
		t.Fatalf("new transaction: %q, %v", v, err)
	}
}

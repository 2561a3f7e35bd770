package sift

import (
	"os"
	"syscall"
	"testing"
	"time"

	"ljdns/dnsmsg/zone"
)

// TestPhases times the phases of a zone → store load on $SIFT_ZONE (a
// development aid; skipped without it).
func TestPhases(t *testing.T) {
	path := os.Getenv("SIFT_ZONE")
	if path == "" {
		t.Skip("SIFT_ZONE not set")
	}
	cpu()
	t0 := time.Now()
	s, err := zone.NewFileScanner(path, ".", 1, 3600)
	if err != nil {
		t.Fatal(err)
	}
	sink := &lmdbSink{}
	n := 0
	for s.Next() {
		sink.put(nil, s.Record())
		n++
	}
	s.Close()
	t.Logf("parse+collect %d: %v cpu %v", n, time.Since(t0), cpu())
	dir := t.TempDir()
	env, err := OpenEnv(dir, EnvMapAsync, 0, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	txn, _ := env.Begin(0, false)
	sink.txn = txn
	t1 := time.Now()
	sink.sortDedupe()
	t.Logf("sort: %v cpu %v", time.Since(t1), cpu())
	t2 := time.Now()
	if err := sink.store(); err != nil {
		t.Fatal(err)
	}
	t.Logf("put: %v cpu %v", time.Since(t2), cpu())
	t3 := time.Now()
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	t.Logf("commit: %v cpu %v", time.Since(t3), cpu())
}

var lastCPU time.Duration

// cpu returns the process CPU time used since the previous call.
func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	now := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	d := now - lastCPU
	lastCPU = now
	return d
}

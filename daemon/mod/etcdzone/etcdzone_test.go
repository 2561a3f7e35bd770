package etcdzone

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"ljdns/daemon"
	"ljdns/internal/etcdtest"
)

// TestOutage: the module loads a pushed zone, reports etcdzone.connected
// 1 through Options.Stats, 0 and one outage while the cluster is down (the
// zone still served), and 1 again once it is back, following edits again.
func TestOutage(t *testing.T) {
	c := etcdtest.Start(t, 1)
	var mu sync.Mutex
	stats := map[string]int64{}
	var logb strings.Builder
	m, err := New(Options{Endpoints: c.Endpoints(), Prefix: "/o/", Probe: 200 * time.Millisecond,
		Log:   daemon.NewLogger(&syncWriter{b: &logb, mu: &mu}),
		Stats: func(k string, v int64) { mu.Lock(); stats[k] = v; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := m.Store().Push(ctx, "example.test", []byte("$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n"), "t"); err != nil {
		t.Fatal(err)
	}
	until := func(what string, f func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !f() {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("%s: stats %v\n%s", what, stats, logb.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	stat := func(k string) int64 { mu.Lock(); defer mu.Unlock(); return stats[k] }
	serial := func() uint32 {
		if z := m.Engine().Zones(); len(z) == 1 {
			return z[0].Serial()
		}
		return 0
	}
	until("loaded", func() bool { return serial() == 1 && stat("etcdzone.connected") == 1 && stat("etcdzone.zones") == 1 })
	c.StopAll()
	until("outage reported", func() bool { return stat("etcdzone.connected") == 0 && stat("etcdzone.outages") == 1 })
	if serial() != 1 {
		t.Fatal("zone dropped during the outage")
	}
	c.RestartAll()
	until("back", func() bool { return stat("etcdzone.connected") == 1 })
	if _, err := m.Store().Edit(ctx, "example.test", "add www A 192.0.2.2"); err != nil {
		t.Fatal(err)
	}
	until("edit applied", func() bool { return serial() == 2 })
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logb.String(), "etcd unreachable") || !strings.Contains(logb.String(), "etcd reachable") {
		t.Errorf("log:\n%s", logb.String())
	}
}

type syncWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

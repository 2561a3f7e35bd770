// Package etcdtest starts a real etcd cluster inside the test process
// (go.etcd.io/etcd/server/v3/embed): members on 127.0.0.1 ports, data in
// the test's temporary directory, heartbeat and election timeouts raised so
// that three members, the servers under test and a load generator can share
// two busy cores. Only tests import it: the ljdns binary never links the
// etcd server.
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"net/url"

	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// Member is one etcd server of a Cluster.
type Member struct {
	Name      string
	ClientURL string // http://127.0.0.1:PORT
	PeerURL   string
	Dir       string
	cfg       *embed.Config
	e         *embed.Etcd
}

// Running reports whether the member is started.
func (m *Member) Running() bool { return m.e != nil }

// Cluster is an in-process etcd cluster.
type Cluster struct {
	Members []*Member
	t       testing.TB
	mu      sync.Mutex
}

// Endpoints returns every member's client address (host:port).
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, strings.TrimPrefix(m.ClientURL, "http://"))
	}
	return out
}

// freePort returns a port of 127.0.0.1 free at the time of the call.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts an n-member cluster and waits until it has a leader; it is
// stopped by t.Cleanup. The timeouts are 200 ms heartbeat, 3 s election
// (50 ms and 500 ms for a single member).
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	dir := t.TempDir()
	var initial []string
	for i := 0; i < n; i++ {
		m := &Member{
			Name:      fmt.Sprintf("m%d", i),
			ClientURL: fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
			PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
			Dir:       filepath.Join(dir, fmt.Sprintf("m%d", i)),
		}
		c.Members = append(c.Members, m)
		initial = append(initial, m.Name+"="+m.PeerURL)
	}
	for _, m := range c.Members {
		cfg := embed.NewConfig()
		cfg.Name = m.Name
		cfg.Dir = m.Dir
		cu, _ := url.Parse(m.ClientURL)
		pu, _ := url.Parse(m.PeerURL)
		cfg.ListenClientUrls = []url.URL{*cu}
		cfg.AdvertiseClientUrls = []url.URL{*cu}
		cfg.ListenPeerUrls = []url.URL{*pu}
		cfg.AdvertisePeerUrls = []url.URL{*pu}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "ljdns-test"
		cfg.ClusterState = embed.ClusterStateFlagNew
		cfg.TickMs, cfg.ElectionMs = 200, 3000
		if n == 1 { // nobody to wait for: elected at once
			cfg.TickMs, cfg.ElectionMs = 50, 500
		}
		cfg.UnsafeNoFsync = true
		// frequent raft snapshots: a member away for more than a few
		// hundred changes comes back through a snapshot (as after a long
		// outage), with the history compacted meanwhile already applied
		cfg.SnapshotCount, cfg.SnapshotCatchUpEntries = 100, 10
		cfg.LogLevel = "error"
		cfg.LogOutputs = []string{filepath.Join(dir, m.Name+".log")}
		m.cfg = cfg
	}
	errs := make(chan error, n)
	for _, m := range c.Members {
		go func(m *Member) { errs <- c.start(m) }(m)
	}
	t.Cleanup(c.StopAll)
	for range c.Members {
		if err := <-errs; err != nil {
			t.Fatalf("etcd: %v", err)
		}
	}
	return c
}

func (c *Cluster) start(m *Member) error {
	e, err := embed.StartEtcd(m.cfg)
	if err != nil {
		return fmt.Errorf("start %s: %w", m.Name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("%s: %w", m.Name, err)
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		e.Close()
		return fmt.Errorf("%s: not ready after 60 s", m.Name)
	}
	c.mu.Lock()
	m.e = e
	c.mu.Unlock()
	return nil
}

// Stop stops member i (a graceful stop: a leader hands its role over).
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	e := c.Members[i].e
	c.Members[i].e = nil
	c.mu.Unlock()
	if e != nil {
		e.Close()
	}
}

// Kill stops member i without handing leadership over (as a crash would,
// seen from the other members).
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	e := c.Members[i].e
	c.Members[i].e = nil
	c.mu.Unlock()
	if e != nil {
		e.Server.HardStop()
		e.Close()
	}
}

// StopAll stops every member.
func (c *Cluster) StopAll() {
	var wg sync.WaitGroup
	for i := range c.Members {
		wg.Add(1)
		go func(i int) { defer wg.Done(); c.Stop(i) }(i)
	}
	wg.Wait()
}

// RestartAll starts every stopped member again from its data directory.
func (c *Cluster) RestartAll() {
	c.t.Helper()
	errs := make(chan error, len(c.Members))
	k := 0
	for _, m := range c.Members {
		if m.Running() {
			continue
		}
		m.cfg.ClusterState = embed.ClusterStateFlagExisting
		k++
		go func(m *Member) { errs <- c.start(m) }(m)
	}
	for ; k > 0; k-- {
		if err := <-errs; err != nil {
			c.t.Fatalf("etcd restart: %v", err)
		}
	}
}

// Leader returns the index of the leader member, or -1.
func (c *Cluster) Leader() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.Members {
		if m.e != nil && m.e.Server.Leader() == m.e.Server.MemberID() {
			return i
		}
	}
	return -1
}

// Client returns a client of every member, closed by t.Cleanup.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cl, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second,
		Logger: nopLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// Compact compacts the history up to the current revision.
func (c *Cluster) Compact(t testing.TB) int64 {
	t.Helper()
	cl := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := cl.Get(ctx, "compact-probe")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Compact(ctx, r.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	return r.Header.Revision
}

package daemon

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Counters are the server's own counts, kept across reloads.
type Counters struct {
	Requests      atomic.Int64 // queries received (all transports)
	Dropped       atomic.Int64 // dropped by the parse rules (short, QR=1)
	FormErr       atomic.Int64 // answered FORMERR
	Truncated     atomic.Int64 // answered with TC
	Panics        atomic.Int64 // layer panics caught
	LimitConns    atomic.Int64 // connections refused by Limits.Conns / ConnsPerClient
	LimitInflight atomic.Int64 // queries dropped by Limits.InflightPerClient
	LimitPipeline atomic.Int64 // times a TCP connection waited at net.tcp_pipeline
	LimitOutgoing atomic.Int64 // requests failed by the outgoing limits
	LimitH2Resets atomic.Int64 // HTTP/2 connections closed for too many stream resets
	Timeouts      atomic.Int64 // TCP/TLS connections closed idle or stalled
}

// clientEntry counts one client address's connections and queries in flight.
type clientEntry struct {
	conns    int
	inflight int
}

// clientTable is a sharded map of clientEntry by address.
type clientTable struct {
	seed   maphash.Seed
	shards [64]struct {
		sync.Mutex
		m map[netip.Addr]*clientEntry
	}
}

func newClientTable() *clientTable {
	t := &clientTable{seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].m = map[netip.Addr]*clientEntry{}
	}
	return t
}

func (t *clientTable) shard(a netip.Addr) int {
	b := a.As16()
	return int(maphash.Bytes(t.seed, b[:]) % uint64(len(t.shards)))
}

// add changes a's counts by dc connections and di queries if the results
// stay within maxc and maxi (<= 0: no limit; decrements always pass).
func (t *clientTable) add(a netip.Addr, dc, di, maxc, maxi int) bool {
	a = a.Unmap()
	sh := &t.shards[t.shard(a)]
	sh.Lock()
	defer sh.Unlock()
	e := sh.m[a]
	if e == nil {
		if dc <= 0 && di <= 0 {
			return true
		}
		e = &clientEntry{}
		sh.m[a] = e
	}
	if dc > 0 && maxc > 0 && e.conns+dc > maxc || di > 0 && maxi > 0 && e.inflight+di > maxi {
		return false
	}
	e.conns += dc
	e.inflight += di
	if e.conns <= 0 && e.inflight <= 0 {
		delete(sh.m, a)
	}
	return true
}

// counts returns a's connections and queries in flight.
func (t *clientTable) counts(a netip.Addr) (conns, inflight int) {
	a = a.Unmap()
	sh := &t.shards[t.shard(a)]
	sh.Lock()
	defer sh.Unlock()
	if e := sh.m[a]; e != nil {
		return e.conns, e.inflight
	}
	return 0, 0
}

// gauge is a counter with a limit read at each acquire.
type gauge struct {
	n   atomic.Int64
	max func() int
}

func (g *gauge) acquire() bool {
	m := g.max()
	if n := g.n.Add(1); m > 0 && n > int64(m) {
		g.n.Add(-1)
		return false
	}
	return true
}

func (g *gauge) release() { g.n.Add(-1) }

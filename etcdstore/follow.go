package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"ljdns/authority"
)

// Follower loads every zone under a store's prefix and follows etcd's
// watch from the revision it loaded: each watch response (every event of
// the revisions it carries) is applied before any zone is rebuilt, and each
// changed zone is handed over whole, so a zone served from it never mixes
// two revisions. While etcd is unreachable the zones stay as they are; the
// watch resumes from the last revision applied, and a full reload follows
// when that revision was compacted away.
type Follower struct {
	Store *Store
	// Zone is called with each zone built anew (load, push, edit).
	Zone func(origin string, z *authority.Zone)
	// Remove is called when a zone's pointer key is deleted.
	Remove func(origin string)
	// Logf reports what happens (outages, reloads, zones that fail to build).
	Logf func(format string, args ...any)
	// Probe is the interval of the reachability check (default 1 s).
	Probe time.Duration

	mu      sync.Mutex
	zones   map[string]*ZoneData
	rev     int64
	up      bool
	stats   Stats
	loaded  chan struct{}
	loadOne sync.Once
}

// Stats are the follower's counters.
type Stats struct {
	Revision  int64 // last revision applied
	Connected bool  // the last probe (or watch event) reached a quorum
	Outages   int64 // transitions to unreachable
	Reloads   int64 // full loads (the first one included)
	Updates   int64 // zones rebuilt from watch events
	Errors    int64 // zones that failed to build (the last good one kept)
	Zones     int
	RRsets    int
}

// Stats returns a copy of the counters.
func (f *Follower) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.Revision, s.Connected, s.Zones = f.rev, f.up, len(f.zones)
	for _, z := range f.zones {
		s.RRsets += len(z.Sets)
	}
	return s
}

// Loaded is closed once the first full load was applied.
func (f *Follower) Loaded() <-chan struct{} {
	f.init()
	return f.loaded
}

func (f *Follower) init() {
	f.loadOne.Do(func() { f.loaded = make(chan struct{}) })
}

func (f *Follower) logf(format string, args ...any) {
	if f.Logf != nil {
		f.Logf(format, args...)
	}
}

func (f *Follower) setUp(up bool, why error) {
	f.mu.Lock()
	was := f.up
	f.up = up
	if was && !up {
		f.stats.Outages++
	}
	f.mu.Unlock()
	switch {
	case was && !up:
		f.logf("etcd unreachable (%v): answering from the zones loaded at revision %d", why, f.revision())
	case !was && up:
		f.logf("etcd reachable at revision %d", f.revision())
	}
}

func (f *Follower) revision() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rev
}

// Run loads and follows until ctx ends.
func (f *Follower) Run(ctx context.Context) {
	f.init()
	f.mu.Lock()
	f.up = true // report the first failure as an outage
	f.mu.Unlock()
	go f.probe(ctx)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if err := f.reload(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			f.setUp(false, err)
			sleep(ctx, backoff)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		err := f.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		f.logf("%v: full reload", err)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// probe checks every Probe that a linearizable read succeeds.
func (f *Follower) probe(ctx context.Context) {
	d := f.Probe
	if d <= 0 {
		d = time.Second
	}
	for {
		sleep(ctx, d)
		if ctx.Err() != nil {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, max(d, 2*time.Second))
		_, err := f.Store.Client.Get(pctx, f.Store.zonesPrefix(), clientv3.WithCountOnly(), clientv3.WithPrefix())
		cancel()
		if ctx.Err() != nil {
			return
		}
		f.setUp(err == nil, err)
	}
}

// reload reads every zone at one revision and serves them.
func (f *Follower) reload(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	zones, rev, err := f.Store.LoadAll(lctx, 0)
	cancel()
	if err != nil {
		return err
	}
	f.mu.Lock()
	old := f.zones
	f.mu.Unlock()
	kept := map[string]*ZoneData{}
	for origin, zd := range zones {
		if o := old[origin]; o != nil && o.Gen == zd.Gen && sameSets(o.Sets, zd.Sets) {
			kept[origin] = o
			continue
		}
		f.build(zd)
		kept[origin] = zd
	}
	for origin := range old {
		if zones[origin] == nil && f.Remove != nil {
			f.Remove(origin)
		}
	}
	f.mu.Lock()
	f.zones, f.rev = kept, rev
	f.stats.Reloads++
	f.mu.Unlock()
	f.setUp(true, nil)
	select {
	case <-f.loaded:
	default:
		close(f.loaded)
	}
	return nil
}

func sameSets(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || string(v) != string(w) {
			return false
		}
	}
	return true
}

// build parses zd and hands the zone over; false when it does not parse
// (the zone served before stays).
func (f *Follower) build(zd *ZoneData) bool {
	z, err := BuildZone(zd.Origin, zd.Sets)
	if err != nil {
		f.mu.Lock()
		f.stats.Errors++
		f.mu.Unlock()
		f.logf("zone %s (generation %s) not served: %v", zd.Origin, zd.Gen, err)
		return false
	}
	if f.Zone != nil {
		f.Zone(zd.Origin, z)
	}
	return true
}

// errCompacted ends a watch whose start revision is gone.
var errCompacted = errors.New("etcd history compacted")

// follow watches from the revision after the one loaded and applies the
// changes; it returns when a full reload is needed.
func (f *Follower) follow(ctx context.Context) error {
	for {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		wch := f.Store.Client.Watch(wctx, f.Store.Prefix, clientv3.WithPrefix(), clientv3.WithRev(f.revision()+1))
		err := f.apply(ctx, wch)
		cancel()
		if ctx.Err() != nil || errors.Is(err, errCompacted) {
			return err
		}
		// the watch broke (no leader, member gone): resume from the last revision
		f.setUp(false, err)
		sleep(ctx, 500*time.Millisecond)
	}
}

// apply consumes watch responses until the channel ends or fails.
func (f *Follower) apply(ctx context.Context, wch clientv3.WatchChan) error {
	for resp := range wch {
		if resp.CompactRevision != 0 {
			return fmt.Errorf("%w at revision %d (we had %d)", errCompacted, resp.CompactRevision, f.revision())
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if resp.IsProgressNotify() || len(resp.Events) == 0 {
			continue
		}
		batch := []clientv3.WatchResponse{resp}
		// Coalesce what is already waiting: fewer rebuilds under bursts.
	more:
		for len(batch) < 64 {
			select {
			case r, ok := <-wch:
				if !ok {
					break more
				}
				if r.CompactRevision != 0 || r.Err() != nil {
					// apply what we have; the next receive reports the failure
					f.applyBatch(ctx, batch)
					if r.CompactRevision != 0 {
						return fmt.Errorf("%w at revision %d", errCompacted, r.CompactRevision)
					}
					return r.Err()
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		if err := f.applyBatch(ctx, batch); err != nil {
			return err
		}
	}
	return errors.New("watch ended")
}

// applyBatch applies the events of whole watch responses, then rebuilds
// each zone they changed.
func (f *Follower) applyBatch(ctx context.Context, batch []clientv3.WatchResponse) error {
	f.mu.Lock()
	zones := f.zones
	f.mu.Unlock()
	dirty := map[string]*ZoneData{} // copies of changed zones
	fetch := map[string]string{}    // zones whose pointer moved: origin -> gen
	removed := map[string]bool{}
	var rev int64
	zoneFor := func(origin string) *ZoneData {
		if z := dirty[origin]; z != nil {
			return z
		}
		old := zones[origin]
		if old == nil {
			return nil
		}
		z := &ZoneData{Origin: origin, Gen: old.Gen, Sets: make(map[string][]byte, len(old.Sets))}
		for k, v := range old.Sets {
			z.Sets[k] = v
		}
		dirty[origin] = z
		return z
	}
	for _, resp := range batch {
		rev = resp.Header.Revision
		for _, ev := range resp.Events {
			k, ok := f.Store.ParseKey(string(ev.Kv.Key))
			if !ok {
				continue
			}
			switch k.Kind {
			case KeyPointer:
				if ev.Type == mvccpb.DELETE {
					removed[k.Origin] = true
					delete(fetch, k.Origin)
					delete(dirty, k.Origin)
					continue
				}
				delete(removed, k.Origin)
				fetch[k.Origin] = string(ev.Kv.Value)
				delete(dirty, k.Origin)
			case KeyData:
				if _, pending := fetch[k.Origin]; pending || removed[k.Origin] {
					continue // the fetch at the batch's revision has it
				}
				z := zoneFor(k.Origin)
				if z == nil || z.Gen != k.Gen {
					continue // a staged generation or an old one being removed
				}
				if ev.Type == mvccpb.DELETE {
					delete(z.Sets, k.Set)
				} else {
					z.Sets[k.Set] = ev.Kv.Value
				}
			}
		}
	}
	for origin, gen := range fetch {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		zd, err := f.Store.readZone(fctx, origin, gen, rev)
		cancel()
		if err != nil {
			return fmt.Errorf("reading %s at revision %d: %w", origin, rev, err)
		}
		dirty[origin] = zd
	}
	next := make(map[string]*ZoneData, len(zones)+len(fetch))
	for o, z := range zones {
		if !removed[o] {
			next[o] = z
		}
	}
	for origin, zd := range dirty {
		f.build(zd) // on failure the engine keeps the last good zone; the data mirrors etcd
		next[origin] = zd
		f.mu.Lock()
		f.stats.Updates++
		f.mu.Unlock()
	}
	for origin := range removed {
		if zones[origin] != nil && f.Remove != nil {
			f.Remove(origin)
		}
	}
	f.mu.Lock()
	f.zones, f.rev = next, rev
	f.mu.Unlock()
	f.setUp(true, nil)
	return nil
}

package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"ljdns/clock"
)

var bucketRR = []byte("rr")

// writeBehindRatio spaces the write-behind of a big cache: after a write
// that took d, the next waits at least writeBehindRatio*d (at most a
// tenth of a core then goes to it; 200k entries take about 1.3 s).
const writeBehindRatio = 10

// snapshot is the bbolt file the RR cache is written behind to.
type snapshot struct {
	db     *bolt.DB
	path   string
	closed bool       // guarded by mu
	mu     sync.Mutex // one Sync at a time
	stop   chan struct{}
	done   chan struct{}
	tick   clock.Ticker
}

// Open returns an RR cache whose snapshot file is opt.Path: entries still
// alive in the file are loaded (their expiry times are absolute), and the
// cache is written back every opt.SyncInterval when it changed, on Sync and
// on Close. Without opt.Path it is New(opt).
func Open(opt Options) (*RRCache, error) {
	c := New(opt)
	if opt.Path == "" {
		return c, nil
	}
	if err := c.AttachSnapshot(opt.Path); err != nil {
		return nil, err
	}
	return c, nil
}

// AttachSnapshot makes path the cache's snapshot file (cache.open with a
// storage): the entries still alive in it are loaded into the cache, and
// the cache is written behind to it from now on. A snapshot attached
// before is written and closed first.
func (c *RRCache) AttachSnapshot(path string) error {
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	if s := c.snap; s != nil && s.path == path {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	if err := c.load(db); err != nil {
		db.Close()
		return err
	}
	for _, name := range c.partNames() {
		if err := loadPart(db, name, c.part(name)); err != nil {
			db.Close()
			return err
		}
	}
	if c.snap != nil {
		c.closeSnapshot()
	}
	iv := c.opt.SyncInterval
	if iv <= 0 {
		iv = 10 * time.Second
	}
	s := &snapshot{db: db, path: path, stop: make(chan struct{}), done: make(chan struct{}), tick: c.clk.NewTicker(iv)}
	c.snap = s
	go func() {
		defer close(s.done)
		var next time.Time // a write that took d waits 10 d before the next
		for {
			select {
			case <-s.stop:
				return
			case <-s.tick.C():
				now := c.clk.Now()
				if now.Before(next) || !(c.dirty.Load() || c.partsChanged()) {
					continue
				}
				start := time.Now()
				c.syncTo(s)
				next = now.Add(writeBehindRatio * time.Since(start))
			}
		}
	}()
	return nil
}

// SnapshotPath returns the snapshot file ("" none).
func (c *RRCache) SnapshotPath() string {
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	if c.snap == nil {
		return ""
	}
	return c.snap.path
}

// load reads the entries of db still alive (or within StaleKeep).
func (c *RRCache) load(db *bolt.DB) error {
	now := c.clk.Now().UnixNano()
	return db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRR)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			e, ok := decodeEntry(v)
			if !ok || len(k) < 5 {
				return nil // a damaged record is skipped
			}
			if e.expire+int64(c.opt.StaleKeep) <= now {
				return nil
			}
			key := string(k)
			e.computeSize(key)
			sh := c.shardOf(key)
			sh.mu.Lock()
			if old, ok := sh.m[key]; ok {
				sh.bytes -= old.size
			}
			sh.m[key] = e
			sh.bytes += e.size
			sh.mu.Unlock()
			return nil
		})
	})
}

// ErrNoSnapshot is returned by Sync for a cache without a snapshot file.
var ErrNoSnapshot = errors.New("cache: no snapshot file")

// Sync writes the live entries to the snapshot file now (cache.sync()).
// The file then holds exactly the cache's live entries.
func (c *RRCache) Sync() error {
	c.snapMu.Lock()
	s := c.snap
	c.snapMu.Unlock()
	if s == nil {
		return ErrNoSnapshot
	}
	return c.syncTo(s)
}

// syncTo writes the live entries to s.
func (c *RRCache) syncTo(s *snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrNoSnapshot
	}
	c.dirty.Store(false)
	now := c.clk.Now().UnixNano()
	type kv struct {
		k string
		v []byte
	}
	var all []kv
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		for k, e := range sh.m {
			if e.expire+int64(c.opt.StaleKeep) > now {
				all = append(all, kv{k, encodeEntry(e)})
			}
		}
		sh.mu.RUnlock()
	}
	// in key order: bbolt appends then, where random order shifts a
	// node's records at every insert (quadratic in the bucket's size)
	sort.Slice(all, func(i, j int) bool { return all[i].k < all[j].k })
	type dump struct {
		bucket []byte
		k, v   [][]byte
	}
	var dumps []dump
	for _, name := range c.partNames() {
		p := c.part(name)
		if p == nil {
			continue
		}
		k, v := p.Dump()
		sort.Sort(byKey{k, v})
		dumps = append(dumps, dump{[]byte(partPrefix + name), k, v})
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := freshBucket(tx, bucketRR)
		if err != nil {
			return err
		}
		for _, x := range all {
			if err := b.Put([]byte(x.k), x.v); err != nil {
				return err
			}
		}
		for _, d := range dumps {
			b, err := freshBucket(tx, d.bucket)
			if err != nil {
				return err
			}
			for i := range d.k {
				if err := b.Put(d.k[i], d.v[i]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// byKey sorts records by key.
type byKey struct{ k, v [][]byte }

func (b byKey) Len() int           { return len(b.k) }
func (b byKey) Less(i, j int) bool { return bytes.Compare(b.k[i], b.k[j]) < 0 }
func (b byKey) Swap(i, j int) {
	b.k[i], b.k[j] = b.k[j], b.k[i]
	b.v[i], b.v[j] = b.v[j], b.v[i]
}

// freshBucket replaces the bucket name of tx by an empty one.
func freshBucket(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
	if tx.Bucket(name) != nil {
		if err := tx.DeleteBucket(name); err != nil {
			return nil, err
		}
	}
	b, err := tx.CreateBucket(name)
	if err != nil {
		return nil, err
	}
	b.FillPercent = 0.9
	return b, nil
}

// A Part is other cached data written behind with the RR cache into its
// snapshot file, in a bucket of its own (the resolver's cache).
type Part interface {
	// Changed reports whether the data changed since the last Dump.
	Changed() bool
	// Dump returns the records to write (keys[i], values[i]); they
	// replace what the part's bucket held.
	Dump() (keys, values [][]byte)
	// Load gives one record read back from the file.
	Load(key, value []byte)
}

// partPrefix starts the bucket names of the parts (apart from "rr").
const partPrefix = "part:"

// AddPart makes p a part of the snapshot under name: written behind with
// the cache from now on, and loaded from the snapshot file attached now
// (or when one is attached later). A part added again under the same name
// replaces the previous one (a reload's new resolver).
func (c *RRCache) AddPart(name string, p Part) error {
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	c.partMu.Lock()
	if c.parts == nil {
		c.parts = map[string]Part{}
	}
	old := c.parts[name]
	c.parts[name] = p
	c.partMu.Unlock()
	if old == p || c.snap == nil {
		return nil
	}
	return loadPart(c.snap.db, name, p)
}

// part returns the part under name (nil none).
func (c *RRCache) part(name string) Part {
	c.partMu.Lock()
	defer c.partMu.Unlock()
	return c.parts[name]
}

// partNames returns the names of the parts.
func (c *RRCache) partNames() []string {
	c.partMu.Lock()
	defer c.partMu.Unlock()
	out := make([]string, 0, len(c.parts))
	for n := range c.parts {
		out = append(out, n)
	}
	return out
}

// partsChanged reports whether a part changed since its last dump.
func (c *RRCache) partsChanged() bool {
	for _, n := range c.partNames() {
		if p := c.part(n); p != nil && p.Changed() {
			return true
		}
	}
	return false
}

// loadPart gives p the records of its bucket in db.
func loadPart(db *bolt.DB, name string, p Part) error {
	return db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(partPrefix + name))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			p.Load(k, v)
			return nil
		})
	})
}

// Close writes the snapshot and closes its file (a daemon.Closer: called
// when no configuration holds the cache any more).
func (c *RRCache) Close() error {
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	return c.closeSnapshot()
}

// closeSnapshot stops the write-behind, writes and closes the file; snapMu is held.
func (c *RRCache) closeSnapshot() error {
	s := c.snap
	if s == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	s.tick.Stop()
	err := c.syncTo(s)
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	c.snap = nil
	return err
}

func encodeEntry(e *entry) []byte {
	n := 8 + 4 + 2 + 2 + len(e.owner) + 4
	for _, r := range e.rdata {
		n += 2 + len(r)
	}
	for _, r := range e.sigs {
		n += 2 + len(r)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint64(b, uint64(e.expire))
	b = binary.BigEndian.AppendUint32(b, e.ttl)
	dn := byte(0)
	if e.dnssec {
		dn = 1
	}
	b = append(b, e.kind, dn)
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.owner)))
	b = append(b, e.owner...)
	for _, list := range [][][]byte{e.rdata, e.sigs} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(list)))
		for _, r := range list {
			b = binary.BigEndian.AppendUint16(b, uint16(len(r)))
			b = append(b, r...)
		}
	}
	return b
}

func decodeEntry(b []byte) (*entry, bool) {
	if len(b) < 16 {
		return nil, false
	}
	e := &entry{expire: int64(binary.BigEndian.Uint64(b)), ttl: binary.BigEndian.Uint32(b[8:]), kind: b[12], dnssec: b[13] == 1}
	b = b[14:]
	next := func() ([]byte, bool) {
		if len(b) < 2 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, false
		}
		v := append([]byte(nil), b[2:2+n]...)
		b = b[2+n:]
		return v, true
	}
	var ok bool
	if e.owner, ok = next(); !ok || e.kind > kindNXDomain {
		return nil, false
	}
	for _, list := range []*[][]byte{&e.rdata, &e.sigs} {
		if len(b) < 2 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		for i := 0; i < n; i++ {
			v, ok := next()
			if !ok {
				return nil, false
			}
			*list = append(*list, v)
		}
	}
	return e, len(e.rdata) > 0
}

// Package cache holds ljdns serve's two caches, pure Go: the RR cache shared
// by every worker (sharded in memory, positive and negative per RFC 2308,
// TTLs clamped, size-limited, persisted behind in a bbolt snapshot) and the
// packet cache in front of the Lua layers. Both run on a clock.Clock and plug
// into the daemon's request path as daemon.Layers (RRLayer, PacketLayer).
package cache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/clock"
	"ljdns/dnsmsg"
)

// Entry kinds.
const (
	kindPositive = 0
	kindNoData   = 1 // RFC 2308 NODATA for the key's type
	kindNXDomain = 2 // RFC 2308 NXDOMAIN, stored under type 0 (every type)
)

// Defaults of kresd 5.
const (
	DefaultMinTTL   = 5 * time.Second
	DefaultMaxTTL   = 24 * time.Hour
	DefaultMaxBytes = 100 << 20
	DefaultShards   = 32
)

// Options configures an RRCache. Zero fields take the defaults.
type Options struct {
	MaxBytes int64         // size limit in live bytes (cache.size)
	MinTTL   time.Duration // cache.min_ttl
	MaxTTL   time.Duration // cache.max_ttl
	Shards   int
	Clock    clock.Clock
	// Path, when set, is the bbolt snapshot file (RUNDIR/cache.bolt): opened
	// and loaded by Open, written behind every SyncInterval when the cache
	// changed (or less often: at least 10 times the last write's duration
	// apart), and by Sync.
	Path         string
	SyncInterval time.Duration // default 10 s
	// StaleKeep keeps expired entries this long for serve_stale (RFC 8767).
	StaleKeep time.Duration
}

// entry is one cached RR set or negative answer.
type entry struct {
	expire int64  // absolute expiry, Unix nanoseconds
	ttl    uint32 // TTL when stored (seconds)
	kind   uint8
	dnssec bool     // stored from an answer to a DO query (RRSIGs kept)
	owner  []byte   // owner as received (positive) or the SOA's owner (negative)
	rdata  [][]byte // the set (positive) or the SOA (negative)
	sigs   [][]byte // RRSIGs over the set or the SOA
	size   int64
}

func (e *entry) computeSize(key string) {
	n := int64(len(key) + len(e.owner) + 96)
	for _, r := range e.rdata {
		n += int64(len(r) + 24)
	}
	for _, r := range e.sigs {
		n += int64(len(r) + 24)
	}
	e.size = n
}

type shard struct {
	mu    sync.RWMutex
	m     map[string]*entry
	bytes int64
}

// RRCache is the RR cache shared by all workers. Reads take only their
// shard's read lock.
type RRCache struct {
	opt    Options
	clk    clock.Clock
	seed   maphash.Seed
	shards []shard
	limit  int64 // per shard

	minTTL, maxTTL atomic.Int64 // nanoseconds (settable at run time)

	// counters
	Hits, Misses, Inserts, Evictions, Clears atomic.Uint64

	dirty  atomic.Bool
	snap   *snapshot
	snapMu sync.Mutex // guards snap (attach, close)

	partMu sync.Mutex
	parts  map[string]Part // other data in the snapshot (AddPart)
}

// New returns an in-memory RR cache (no snapshot file; see Open).
func New(opt Options) *RRCache {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.MinTTL == 0 {
		opt.MinTTL = DefaultMinTTL
	}
	if opt.MaxTTL == 0 {
		opt.MaxTTL = DefaultMaxTTL
	}
	if opt.Shards <= 0 {
		opt.Shards = DefaultShards
	}
	if opt.Clock == nil {
		opt.Clock = clock.Real
	}
	c := &RRCache{opt: opt, clk: opt.Clock, seed: maphash.MakeSeed(), shards: make([]shard, opt.Shards)}
	for i := range c.shards {
		c.shards[i].m = map[string]*entry{}
	}
	c.limit = opt.MaxBytes / int64(opt.Shards)
	if c.limit < 1 {
		c.limit = 1
	}
	c.minTTL.Store(int64(opt.MinTTL))
	c.maxTTL.Store(int64(opt.MaxTTL))
	return c
}

// SetTTLBounds changes cache.min_ttl and cache.max_ttl for new entries.
func (c *RRCache) SetTTLBounds(min, max time.Duration) {
	c.minTTL.Store(int64(min))
	c.maxTTL.Store(int64(max))
}

// TTLBounds returns cache.min_ttl and cache.max_ttl.
func (c *RRCache) TTLBounds() (min, max time.Duration) {
	return time.Duration(c.minTTL.Load()), time.Duration(c.maxTTL.Load())
}

// SetMaxBytes changes the size limit (cache.size); entries over it are
// evicted on the next insert into their shard.
func (c *RRCache) SetMaxBytes(n int64) {
	if n <= 0 {
		n = DefaultMaxBytes
	}
	l := n / int64(len(c.shards))
	if l < 1 {
		l = 1
	}
	atomic.StoreInt64(&c.limit, l)
}

// MaxBytes returns the size limit.
func (c *RRCache) MaxBytes() int64 { return atomic.LoadInt64(&c.limit) * int64(len(c.shards)) }

// Bytes returns the live bytes counted in the cache.
func (c *RRCache) Bytes() int64 {
	var n int64
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += sh.bytes
		sh.mu.RUnlock()
	}
	return n
}

// Len returns the number of entries (expired ones not yet dropped included).
func (c *RRCache) Len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// makeKey is the lowercased owner, type and class.
func makeKey(owner []byte, t, class uint16) string {
	b := make([]byte, 0, len(owner)+4)
	b = append(b, owner...)
	lowerInPlace(b)
	b = append(b, byte(t>>8), byte(t), byte(class>>8), byte(class))
	return string(b)
}

func lowerInPlace(b []byte) {
	for i := range b {
		if b[i] >= 'A' && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
}

func (c *RRCache) shardOf(key string) *shard {
	return &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
}

// clamp applies min_ttl/max_ttl to ttl seconds.
func (c *RRCache) clamp(ttl uint32) uint32 {
	d := time.Duration(ttl) * time.Second
	if min := time.Duration(c.minTTL.Load()); d < min {
		d = min
	}
	if max := time.Duration(c.maxTTL.Load()); d > max {
		d = max
	}
	return uint32(d / time.Second)
}

func (c *RRCache) put(key string, e *entry) {
	e.computeSize(key)
	sh := c.shardOf(key)
	sh.mu.Lock()
	if old, ok := sh.m[key]; ok {
		sh.bytes -= old.size
	}
	sh.m[key] = e
	sh.bytes += e.size
	if sh.bytes > atomic.LoadInt64(&c.limit) {
		c.evict(sh, key)
	}
	sh.mu.Unlock()
	c.Inserts.Add(1)
	c.dirty.Store(true)
}

// evict drops entries of sh (expired ones first, then any but keep) until
// it is under 90% of its share of the limit. sh.mu is held.
func (c *RRCache) evict(sh *shard, keep string) {
	limit := atomic.LoadInt64(&c.limit)
	target := limit - limit/10
	now := c.clk.Now().UnixNano()
	stale := int64(c.opt.StaleKeep)
	for k, e := range sh.m {
		if sh.bytes <= target {
			return
		}
		if e.expire+stale <= now && k != keep {
			delete(sh.m, k)
			sh.bytes -= e.size
			c.Evictions.Add(1)
		}
	}
	for k, e := range sh.m {
		if sh.bytes <= target {
			return
		}
		if k != keep {
			delete(sh.m, k)
			sh.bytes -= e.size
			c.Evictions.Add(1)
		}
	}
}

// get returns the entry under key alive at now (or within StaleKeep when
// stale is set) and its remaining TTL in seconds (0 when stale).
func (c *RRCache) get(key string, now int64, stale bool) (*entry, uint32, bool) {
	sh := c.shardOf(key)
	sh.mu.RLock()
	e, ok := sh.m[key]
	sh.mu.RUnlock()
	if !ok {
		return nil, 0, false
	}
	if e.expire > now {
		return e, uint32((e.expire - now + int64(time.Second) - 1) / int64(time.Second)), true
	}
	if stale && e.expire+int64(c.opt.StaleKeep) > now {
		return e, 0, true
	}
	return nil, 0, false
}

// Clear removes entries: all of them when name is nil; else those whose
// owner is name (or under it when subtree), of type t (0: every type). It
// returns how many it removed (kresd's cache.clear).
func (c *RRCache) Clear(name []byte, t uint16, subtree bool) int {
	var lname []byte
	if name != nil {
		lname = append([]byte(nil), name...)
		lowerInPlace(lname)
	}
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if lname != nil {
				owner, kt := k[:len(k)-4], uint16(k[len(k)-4])<<8|uint16(k[len(k)-3])
				if t != 0 && kt != t && !(e.kind == kindNXDomain) {
					continue
				}
				if subtree {
					if !dnsmsg.NameWithin([]byte(owner), lname) {
						continue
					}
				} else if owner != string(lname) {
					continue
				}
			}
			delete(sh.m, k)
			sh.bytes -= e.size
			n++
		}
		sh.mu.Unlock()
	}
	if n > 0 {
		c.Clears.Add(uint64(n))
		c.dirty.Store(true)
	}
	return n
}

// RR is one RR set as the cache answers it (TTL is the remaining one).
type RR = dnsmsg.RRSet

// Answer is an answer built from the cache.
type Answer struct {
	Rcode    int
	AN, NS   []*dnsmsg.RRSet
	Stale    bool   // built from at least one expired entry (serve_stale)
	MinTTL   uint32 // smallest remaining TTL of the records
	Negative bool
	FromDO   bool
	// Expiring: a record has less than 1% of its TTL plus 5 s left
	// (kresd's EXPIRING flag; the predict module refreshes such answers)
	Expiring bool
}

func mkSet(owner []byte, t, class uint16, ttl uint32, rdata [][]byte) *dnsmsg.RRSet {
	rs := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: owner}, Type: t, Class: class, TTL: ttl}
	rs.RData = rdata
	return rs
}

// Lookup answers qname/qtype/qclass from the cache, following CNAMEs, or
// reports false. With do set, only entries stored from DNSSEC-wanting
// answers serve (their RRSIGs are added). With stale set, entries expired
// less than StaleKeep ago serve with TTL 0 (serve_stale).
func (c *RRCache) Lookup(qname []byte, qtype, qclass uint16, do, stale bool) (*Answer, bool) {
	now := c.clk.Now().UnixNano()
	a := &Answer{MinTTL: ^uint32(0)}
	name := qname
	seen := 0
	add := func(sec *[]*dnsmsg.RRSet, owner []byte, t uint16, ttl uint32, e *entry) {
		if ttl == 0 { // stale (serve_stale): RFC 8767 §4 suggests a short TTL
			ttl = 1
			a.Stale = true
		}
		*sec = append(*sec, mkSet(owner, t, qclass, ttl, e.rdata))
		if do && len(e.sigs) > 0 {
			*sec = append(*sec, mkSet(owner, typeRRSIG, qclass, ttl, e.sigs))
		}
		if ttl < a.MinTTL {
			a.MinTTL = ttl
		}
		if 100*(int64(ttl)-5) < int64(e.ttl) {
			a.Expiring = true
		}
	}
	ok := func(e *entry) bool { return !do || e.dnssec }
	for seen < 16 {
		seen++
		if e, ttl, hit := c.get(makeKey(name, qtype, qclass), now, stale); hit && ok(e) {
			if e.kind == kindPositive {
				add(&a.AN, name, qtype, ttl, e)
				c.Hits.Add(1)
				return a, true
			}
			a.Negative = true
			add(&a.NS, e.owner, dnsmsg.TypeSOA, ttl, e)
			c.Hits.Add(1)
			return a, true
		}
		if e, ttl, hit := c.get(makeKey(name, 0, qclass), now, stale); hit && ok(e) && e.kind == kindNXDomain {
			a.Negative = true
			a.Rcode = rcodeNXDomain
			add(&a.NS, e.owner, dnsmsg.TypeSOA, ttl, e)
			c.Hits.Add(1)
			return a, true
		}
		if qtype == dnsmsg.TypeCNAME {
			break
		}
		e, ttl, hit := c.get(makeKey(name, dnsmsg.TypeCNAME, qclass), now, stale)
		if !hit || !ok(e) || e.kind != kindPositive || len(e.rdata) != 1 {
			break
		}
		add(&a.AN, name, dnsmsg.TypeCNAME, ttl, e)
		name = e.rdata[0]
	}
	c.Misses.Add(1)
	return nil, false
}

type setKey struct {
	owner string // lowercased
	t     uint16
}

// Store puts the records of the upstream answer a to the question
// qname/qtype/qclass into the cache: each answer RR set, and a negative
// entry (NODATA or NXDOMAIN, TTL min(SOA TTL, SOA MINIMUM)) when the chain
// ends without data and the authority section holds the zone's SOA.
// Truncated answers and rcodes other than NOERROR/NXDOMAIN are not stored.
func (c *RRCache) Store(a *dnsmsg.Packet, qname []byte, qtype, qclass uint16, do bool) {
	if a.Buf[2]&0x02 != 0 { // TC
		return
	}
	rc := a.Rcode()
	if rc != rcodeNoError && rc != rcodeNXDomain {
		return
	}
	now := c.clk.Now()
	sets := map[setKey]*set{}
	var order []setKey
	group := func(rr *dnsmsg.RRSet) {
		t := rr.Type
		isSig := t == typeRRSIG
		if isSig {
			if len(rr.RData) == 0 || len(rr.RData[0]) < 2 {
				return
			}
			t = uint16(rr.RData[0][0])<<8 | uint16(rr.RData[0][1])
		}
		if rr.Class != qclass {
			return
		}
		k := setKey{string(dnsmsg.LowerName(rr.Owner.Wire)), t}
		s := sets[k]
		if s == nil {
			s = &set{owner: append([]byte(nil), rr.Owner.Wire...), t: t, ttl: ^uint32(0)}
			sets[k] = s
			order = append(order, k)
		}
		if rr.TTL < s.ttl {
			s.ttl = rr.TTL
		}
		for _, rd := range rr.RData {
			cp := append([]byte(nil), rd...)
			if isSig {
				s.sigs = append(s.sigs, cp)
			} else {
				s.rdata = append(s.rdata, cp)
			}
		}
	}
	for _, rr := range a.Records(dnsmsg.SectionAN) {
		group(rr)
	}
	// the names of the answer's CNAME chain: only their sets are stored
	chain := map[string]bool{}
	name := dnsmsg.LowerName(qname)
	for i := 0; i < 16; i++ {
		chain[string(name)] = true
		s := sets[setKey{string(name), dnsmsg.TypeCNAME}]
		if s == nil || len(s.rdata) != 1 || qtype == dnsmsg.TypeCNAME {
			break
		}
		name = dnsmsg.LowerName(s.rdata[0])
	}
	for _, k := range order {
		s := sets[k]
		if len(s.rdata) == 0 || !chain[k.owner] {
			continue
		}
		ttl := c.clamp(s.ttl)
		e := &entry{expire: now.Add(time.Duration(ttl) * time.Second).UnixNano(), ttl: ttl,
			kind: kindPositive, dnssec: do, owner: s.owner, rdata: s.rdata, sigs: s.sigs}
		c.put(makeKey(s.owner, s.t, qclass), e)
	}
	// name is the chain's final name
	if s := sets[setKey{string(name), qtype}]; s != nil && len(s.rdata) > 0 {
		return // data found
	}
	// negative: the SOA of the authority section
	var soa *set
	nsSets := map[setKey]*set{}
	for _, rr := range a.Records(dnsmsg.SectionNS) {
		t := rr.Type
		if t == typeRRSIG && len(rr.RData) > 0 && len(rr.RData[0]) >= 2 {
			t = uint16(rr.RData[0][0])<<8 | uint16(rr.RData[0][1])
			if t != dnsmsg.TypeSOA {
				continue
			}
		} else if t != dnsmsg.TypeSOA {
			continue
		}
		k := setKey{string(dnsmsg.LowerName(rr.Owner.Wire)), dnsmsg.TypeSOA}
		s := nsSets[k]
		if s == nil {
			s = &set{owner: append([]byte(nil), rr.Owner.Wire...), ttl: ^uint32(0)}
			nsSets[k] = s
		}
		if rr.Type == dnsmsg.TypeSOA {
			if rr.TTL < s.ttl {
				s.ttl = rr.TTL
			}
			for _, rd := range rr.RData {
				s.rdata = append(s.rdata, append([]byte(nil), rd...))
				if _, _, nums, ok := dnsmsg.SOAFields(rd); ok && nums[4] < s.ttl {
					s.ttl = nums[4] // RFC 2308 §5: min(SOA TTL, MINIMUM)
				}
			}
		} else {
			for _, rd := range rr.RData {
				s.sigs = append(s.sigs, append([]byte(nil), rd...))
			}
		}
		soa = s
	}
	if soa == nil || len(soa.rdata) != 1 || !dnsmsg.NameWithin(name, dnsmsg.LowerName(soa.owner)) {
		return // no SOA of a zone holding the name: not cacheable (RFC 2308 §5)
	}
	ttl := c.clamp(soa.ttl)
	e := &entry{expire: now.Add(time.Duration(ttl) * time.Second).UnixNano(), ttl: ttl,
		dnssec: do, owner: soa.owner, rdata: soa.rdata, sigs: soa.sigs}
	if rc == rcodeNXDomain {
		e.kind = kindNXDomain
		c.put(makeKey(name, 0, qclass), e)
	} else {
		e.kind = kindNoData
		c.put(makeKey(name, qtype, qclass), e)
	}
}

type set struct {
	owner []byte
	t     uint16
	ttl   uint32
	rdata [][]byte
	sigs  [][]byte
}

const (
	typeRRSIG     uint16 = 46
	rcodeNoError         = 0
	rcodeNXDomain        = 3
)

// Insert puts one RR set into the cache as a positive entry (kresd's
// kres.context().cache:insert), its TTL clamped; rrsig, when not nil,
// holds RRSIGs over it (the entry then serves DO queries too).
func (c *RRCache) Insert(rr *dnsmsg.RRSet, rrsig *dnsmsg.RRSet) {
	if rr == nil || rr.Owner == nil || len(rr.RData) == 0 {
		return
	}
	ttl := c.clamp(rr.TTL)
	e := &entry{expire: c.clk.Now().Add(time.Duration(ttl) * time.Second).UnixNano(), ttl: ttl,
		kind: kindPositive, owner: append([]byte(nil), rr.Owner.Wire...)}
	for _, rd := range rr.RData {
		e.rdata = append(e.rdata, append([]byte(nil), rd...))
	}
	if rrsig != nil {
		e.dnssec = true
		for _, rd := range rrsig.RData {
			e.sigs = append(e.sigs, append([]byte(nil), rd...))
		}
	}
	c.put(makeKey(rr.Owner.Wire, rr.Type, rr.Class), e)
}

// Entry is one live cache entry as Get reports it.
type Entry struct {
	Type     uint16
	TTL      uint32   // remaining seconds
	Negative bool     // NODATA (Type) or NXDOMAIN (Type 0)
	RData    [][]byte // the set, or the SOA of a negative entry
}

// Get returns the live entries owned by name (cache.get): every type,
// positive and negative. It scans the whole cache.
func (c *RRCache) Get(name []byte) []Entry {
	lname := dnsmsg.LowerName(name)
	now := c.clk.Now().UnixNano()
	var out []Entry
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		for k, e := range sh.m {
			if len(k) != len(lname)+4 || k[:len(lname)] != string(lname) || e.expire <= now {
				continue
			}
			t := uint16(k[len(k)-4])<<8 | uint16(k[len(k)-3])
			out = append(out, Entry{Type: t, TTL: uint32((e.expire - now + int64(time.Second) - 1) / int64(time.Second)),
				Negative: e.kind != kindPositive, RData: e.rdata})
		}
		sh.mu.RUnlock()
	}
	return out
}

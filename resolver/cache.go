package resolver

import (
	"sync"
	"sync/atomic"
	"time"

	"ljdns/dnsmsg"
)

// Trust ranks of cached data, RFC 2181 §5.4.1 (higher wins). Data of a
// lower rank never replaces live data of a higher one.
const (
	rankGlue          = 1 // additional section, glue of a referral
	rankNonAuthNS     = 2 // authority section of a referral
	rankNonAuthAns    = 3 // answer section of a non-authoritative answer
	rankAuthAuthority = 4 // authority section of an authoritative answer
	rankAuthAnswer    = 5 // answer section of an authoritative answer
)

type entry struct {
	set    *rrset
	rank   int
	expire time.Time
	stored time.Time
	size   int64
}

// negEntry is a cached negative answer: NXDOMAIN or NODATA, with the
// authority records proving it.
type negEntry struct {
	rcode  int
	auth   []*rrset
	expire time.Time
	stored time.Time
	size   int64
}

// answerEntry is a cached final answer with its verdict.
type answerEntry struct {
	rcode  int
	an, ns []*rrset
	res    Result
	expire time.Time
	stored time.Time
	size   int64
	view   atomic.Pointer[ansView]
}

// ansKey builds the answer cache's key into buf: the lowercased name, the
// type and the CD bit. Lookups with string(key) do not allocate.
func ansKey(buf []byte, name []byte, t uint16, cd bool) []byte {
	buf = buf[:0]
	for _, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	b := byte(0)
	if cd {
		b = 1
	}
	return append(buf, byte(t>>8), byte(t), b)
}

// ansView is an answer entry's sets with TTLs lowered by an age in seconds,
// shared by the answers given during that second.
type ansView struct {
	age    uint32
	an, ns []*rrset
}

const nShards = 32

type shard struct {
	mu    sync.RWMutex
	rrs   map[setKey]*entry
	neg   map[setKey]*negEntry
	ans   map[string]*answerEntry
	bytes int64 // live bytes of the entries (estimated as daemon/cache does)
}

// rrCache is the resolver's own cache: ranked RR sets, negative answers and
// final answers with their verdicts. Sharded by name, limited in bytes
// (cache.size), its TTLs clamped (cache.min_ttl, cache.max_ttl).
type rrCache struct {
	shards [nShards]shard

	limits   CacheLimits  // nil: the static bounds below
	maxBytes atomic.Int64 // static size limit
	minTTL   atomic.Int64 // static bounds, nanoseconds
	maxTTL   atomic.Int64
	// staleKeep: expired entries are kept (evicted last) and may answer
	// this long after their expiry (serve_stale); 0: not kept
	staleKeep atomic.Int64

	dirty     atomic.Bool   // changed since the last dump (persistence)
	evictions atomic.Uint64 // entries dropped for the size limit
}

func newRRCache(maxBytes int64, minTTL, maxTTL time.Duration, limits CacheLimits) *rrCache {
	c := &rrCache{limits: limits}
	c.maxBytes.Store(maxBytes)
	c.minTTL.Store(int64(minTTL))
	c.maxTTL.Store(int64(maxTTL))
	c.clear()
	return c
}

func (c *rrCache) clear() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.rrs = map[setKey]*entry{}
		sh.neg = map[setKey]*negEntry{}
		sh.ans = map[string]*answerEntry{}
		sh.bytes = 0
		sh.mu.Unlock()
	}
	c.dirty.Store(true)
}

// bounds returns min_ttl and max_ttl in force.
func (c *rrCache) bounds() (lo, hi time.Duration) {
	if c.limits != nil {
		return c.limits.TTLBounds()
	}
	return time.Duration(c.minTTL.Load()), time.Duration(c.maxTTL.Load())
}

// clamp applies min_ttl and max_ttl to ttl seconds.
func (c *rrCache) clamp(ttl uint32) uint32 {
	lo, hi := c.bounds()
	d := time.Duration(ttl) * time.Second
	if d > hi {
		d = hi
	}
	if d < lo {
		d = lo
	}
	return uint32(d / time.Second)
}

// clampSet returns s, or a copy of it with its TTL clamped when the
// bounds change it.
func (c *rrCache) clampSet(s *rrset) *rrset {
	t := s.ttl()
	if ct := c.clamp(t); ct != t || (s.sig != nil && s.sig.TTL != s.rr.TTL) {
		return s.copyWithTTL(ct)
	}
	return s
}

// clampSets returns sets with every TTL clamped (sets itself when none
// changes).
func (c *rrCache) clampSets(sets []*rrset) []*rrset {
	var out []*rrset
	for i, s := range sets {
		cs := c.clampSet(s)
		if cs != s && out == nil {
			out = append(make([]*rrset, 0, len(sets)), sets[:i]...)
		}
		if out != nil {
			out = append(out, cs)
		}
	}
	if out == nil {
		return sets
	}
	return out
}

// limit returns the size limit of one shard in bytes.
func (c *rrCache) limit() int64 {
	n := c.maxBytes.Load()
	if c.limits != nil {
		n = c.limits.MaxBytes()
	}
	if n <= 0 {
		n = DefaultMaxBytes
	}
	return max(n/nShards, 1)
}

// setSize estimates the bytes a set takes (as daemon/cache counts them).
func setSize(s *rrset) int64 {
	n := int64(64)
	for _, x := range []*dnsmsg.RRSet{s.rr, s.sig} {
		if x == nil {
			continue
		}
		n += int64(len(x.Owner.Wire) + 48)
		for _, r := range x.RData {
			n += int64(len(r) + 24)
		}
	}
	return n
}

// entryOverhead is what an entry takes besides its sets: its map slot,
// its struct and key (measured: TestCacheMemoryFigure).
const entryOverhead = 96

func rrEntrySize(k setKey, s *rrset) int64 { return entryOverhead + int64(len(k.name)) + setSize(s) }

func negEntrySize(k setKey, auth []*rrset) int64 {
	return entryOverhead + int64(len(k.name)+64) + setsSize(auth)
}

func ansEntrySize(k []byte, an, ns []*rrset, text string) int64 {
	return entryOverhead + int64(len(k)+96) + setsSize(an) + setsSize(ns) + int64(len(text))
}

func setsSize(sets []*rrset) int64 {
	n := int64(24 * len(sets))
	for _, s := range sets {
		n += setSize(s)
	}
	return n
}

// len returns the number of entries of every kind.
func (c *rrCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.rrs) + len(sh.neg) + len(sh.ans)
		sh.mu.RUnlock()
	}
	return n
}

// bytes returns the live bytes counted in the cache.
func (c *rrCache) bytes() int64 {
	var n int64
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += sh.bytes
		sh.mu.RUnlock()
	}
	return n
}

// evict drops entries of sh until it is under 90% of its share of the
// size limit: those expired (longer than staleKeep ago) first, then any.
// sh is locked.
func (c *rrCache) evict(sh *shard, now time.Time, incoming int64) {
	limit := c.limit()
	if sh.bytes+incoming <= limit {
		return
	}
	target := limit - limit/10 - incoming
	dead := now.Add(-time.Duration(c.staleKeep.Load()))
	for pass := 0; pass < 2 && sh.bytes > target; pass++ {
		any := pass == 1
		if evictFrom(c, sh, sh.ans, target, dead, any) || evictFrom(c, sh, sh.neg, target, dead, any) {
			return
		}
		evictFrom(c, sh, sh.rrs, target, dead, any)
	}
}

// evictFrom drops entries of m, one of sh's maps, until sh is down to
// target: those expired before dead, or any when any is set. It reports
// whether sh got there.
func evictFrom[K comparable, V interface{ meta() (time.Time, int64) }](c *rrCache, sh *shard, m map[K]V, target int64, dead time.Time, any bool) bool {
	for k, e := range m {
		if sh.bytes <= target {
			return true
		}
		if expire, size := e.meta(); any || !dead.Before(expire) {
			delete(m, k)
			sh.bytes -= size
			c.evictions.Add(1)
		}
	}
	return sh.bytes <= target
}

func (e *entry) meta() (time.Time, int64)       { return e.expire, e.size }
func (e *negEntry) meta() (time.Time, int64)    { return e.expire, e.size }
func (e *answerEntry) meta() (time.Time, int64) { return e.expire, e.size }

// put stores s at rank unless a live entry of a higher rank is there.
// It reports whether it stored. Its TTL is clamped.
func (c *rrCache) put(s *rrset, rank int, now time.Time) bool {
	k := keyOf(s.owner(), s.rr.Type)
	s = c.clampSet(s)
	e := &entry{set: s, rank: rank, stored: now, expire: now.Add(time.Duration(s.ttl()) * time.Second), size: rrEntrySize(k, s)}
	sh := c.shard(k.name)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old := sh.rrs[k]; old != nil && old.rank > rank && now.Before(old.expire) {
		return false
	}
	c.evict(sh, now, e.size)
	c.putEntry(sh, k, e)
	if rank >= rankNonAuthAns {
		if old := sh.neg[k]; old != nil {
			delete(sh.neg, k)
			sh.bytes -= old.size
		}
	}
	c.dirty.Store(true)
	return true
}

// putEntry stores e under k in sh (locked), counting its bytes.
func (c *rrCache) putEntry(sh *shard, k setKey, e *entry) {
	if old := sh.rrs[k]; old != nil {
		sh.bytes -= old.size
	}
	sh.rrs[k] = e
	sh.bytes += e.size
}

// get returns the live set owner/t of at least rank minRank, with its TTLs
// lowered by its age.
func (c *rrCache) get(owner []byte, t uint16, minRank int, now time.Time) (*rrset, int) {
	k := keyOf(owner, t)
	sh := c.shard(k.name)
	sh.mu.RLock()
	e := sh.rrs[k]
	sh.mu.RUnlock()
	if e == nil || e.rank < minRank || !now.Before(e.expire) {
		return nil, 0
	}
	return e.set.copyWithTTL(uint32(e.expire.Sub(now) / time.Second)), e.rank
}

func (c *rrCache) putNeg(owner []byte, t uint16, rcode int, auth []*rrset, ttl uint32, now time.Time) {
	k := keyOf(owner, t)
	auth = c.clampSets(auth)
	ttl = c.clamp(ttl)
	e := &negEntry{rcode: rcode, auth: auth, stored: now, expire: now.Add(time.Duration(ttl) * time.Second), size: negEntrySize(k, auth)}
	sh := c.shard(k.name)
	sh.mu.Lock()
	c.evict(sh, now, e.size)
	c.putNegEntry(sh, k, e)
	sh.mu.Unlock()
	c.dirty.Store(true)
}

func (c *rrCache) putNegEntry(sh *shard, k setKey, e *negEntry) {
	if old := sh.neg[k]; old != nil {
		sh.bytes -= old.size
	}
	sh.neg[k] = e
	sh.bytes += e.size
}

func (c *rrCache) getNeg(owner []byte, t uint16, now time.Time) *negEntry {
	k := keyOf(owner, t)
	sh := c.shard(k.name)
	sh.mu.RLock()
	e := sh.neg[k]
	sh.mu.RUnlock()
	if e == nil || !now.Before(e.expire) {
		return nil
	}
	return e
}

// putAnswer stores e (its sets already clamped) under the answer key k.
func (c *rrCache) putAnswer(k []byte, e *answerEntry) {
	e.size = ansEntrySize(k, e.an, e.ns, e.res.EDEText)
	sh := c.shardB(k)
	sh.mu.Lock()
	c.evict(sh, e.stored, e.size)
	c.putAnswerEntry(sh, string(k), e)
	sh.mu.Unlock()
	c.dirty.Store(true)
}

func (c *rrCache) putAnswerEntry(sh *shard, k string, e *answerEntry) {
	if old := sh.ans[k]; old != nil {
		sh.bytes -= old.size
	}
	sh.ans[k] = e
	sh.bytes += e.size
}

// getAnswer returns the live answer entry of k; with stale set, one
// expired less than staleKeep ago too.
func (c *rrCache) getAnswer(k []byte, now time.Time, stale bool) *answerEntry {
	sh := c.shardB(k)
	sh.mu.RLock()
	e := sh.ans[string(k)]
	sh.mu.RUnlock()
	if e == nil {
		return nil
	}
	if now.Before(e.expire) {
		return e
	}
	if stale && now.Before(e.expire.Add(time.Duration(c.staleKeep.Load()))) {
		return e
	}
	return nil
}

// negTTL is the negative caching TTL of an authority section: min(SOA TTL,
// SOA MINIMUM) (RFC 2308 §5), 0 without a SOA.
func negTTL(auth []*rrset) uint32 {
	for _, s := range auth {
		if s.rr.Type == typeSOA && len(s.rr.RData) > 0 {
			_, _, nums, ok := dnsmsg.SOAFields(s.rr.RData[0])
			if !ok {
				return 0
			}
			t := s.rr.TTL
			if nums[4] < t {
				t = nums[4]
			}
			return t
		}
	}
	return 0
}

// clearName drops the entries of name (and below it unless exact) of type
// t (0: all), and returns how many it dropped.
func (c *rrCache) clearName(name []byte, exact bool, t uint16) int {
	n := 0
	match := func(owner string, et uint16) bool {
		if t != 0 && et != t {
			return false
		}
		w := []byte(owner)
		if exact {
			return sameName(w, name)
		}
		return dnsmsg.NameWithin(w, name)
	}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, e := range sh.rrs {
			if match(k.name, k.t) {
				delete(sh.rrs, k)
				sh.bytes -= e.size
				n++
			}
		}
		for k, e := range sh.neg {
			if match(k.name, k.t) {
				delete(sh.neg, k)
				sh.bytes -= e.size
				n++
			}
		}
		for k, e := range sh.ans {
			if match(k[:len(k)-3], uint16(k[len(k)-3])<<8|uint16(k[len(k)-2])) {
				delete(sh.ans, k)
				sh.bytes -= e.size
				n++
			}
		}
		sh.mu.Unlock()
	}
	c.dirty.Store(true)
	return n
}

// shardB is the shard of an answer key (by its name part).
func (c *rrCache) shardB(k []byte) *shard {
	var h uint32 = 2166136261
	for i := 0; i < len(k)-3; i++ {
		h = (h ^ uint32(k[i])) * 16777619
	}
	return &c.shards[h%nShards]
}

func (c *rrCache) shard(name string) *shard {
	var h uint32 = 2166136261
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	return &c.shards[h%nShards]
}

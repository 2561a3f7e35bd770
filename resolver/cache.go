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
}

// negEntry is a cached negative answer: NXDOMAIN or NODATA, with the
// authority records proving it.
type negEntry struct {
	rcode  int
	auth   []*rrset
	expire time.Time
	stored time.Time
}

// answerEntry is a cached final answer with its verdict.
type answerEntry struct {
	rcode  int
	an, ns []*rrset
	res    Result
	expire time.Time
	stored time.Time
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
	mu  sync.RWMutex
	rrs map[setKey]*entry
	neg map[setKey]*negEntry
	ans map[string]*answerEntry
}

// rrCache is the resolver's own cache: ranked RR sets, negative answers and
// final answers with their verdicts. Sharded by name.
type rrCache struct {
	shards [nShards]shard
	max    int // entries per shard before a sweep
}

func newRRCache(maxEntries int) *rrCache {
	c := &rrCache{max: maxEntries/nShards + 1}
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
		sh.mu.Unlock()
	}
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

// sweep drops expired entries of sh, and everything if still over max.
// sh is locked.
func (c *rrCache) sweep(sh *shard, now time.Time) {
	if len(sh.rrs)+len(sh.neg)+len(sh.ans) < c.max {
		return
	}
	for k, e := range sh.rrs {
		if !now.Before(e.expire) {
			delete(sh.rrs, k)
		}
	}
	for k, e := range sh.neg {
		if !now.Before(e.expire) {
			delete(sh.neg, k)
		}
	}
	for k, e := range sh.ans {
		if !now.Before(e.expire) {
			delete(sh.ans, k)
		}
	}
	if len(sh.rrs)+len(sh.neg)+len(sh.ans) >= c.max {
		sh.rrs = map[setKey]*entry{}
		sh.neg = map[setKey]*negEntry{}
		sh.ans = map[string]*answerEntry{}
	}
}

// put stores s at rank unless a live entry of a higher rank is there.
// It reports whether it stored.
func (c *rrCache) put(s *rrset, rank int, now time.Time) bool {
	k := keyOf(s.owner(), s.rr.Type)
	sh := c.shard(k.name)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old := sh.rrs[k]; old != nil && old.rank > rank && now.Before(old.expire) {
		return false
	}
	c.sweep(sh, now)
	sh.rrs[k] = &entry{set: s, rank: rank, stored: now, expire: now.Add(time.Duration(s.ttl()) * time.Second)}
	if rank >= rankNonAuthAns {
		delete(sh.neg, k)
	}
	return true
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
	sh := c.shard(k.name)
	sh.mu.Lock()
	c.sweep(sh, now)
	sh.neg[k] = &negEntry{rcode: rcode, auth: auth, stored: now, expire: now.Add(time.Duration(ttl) * time.Second)}
	sh.mu.Unlock()
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

func (c *rrCache) putAnswer(k []byte, e *answerEntry) {
	sh := c.shardB(k)
	sh.mu.Lock()
	c.sweep(sh, e.stored)
	sh.ans[string(k)] = e
	sh.mu.Unlock()
}

func (c *rrCache) getAnswer(k []byte, now time.Time) *answerEntry {
	sh := c.shardB(k)
	sh.mu.RLock()
	e := sh.ans[string(k)]
	sh.mu.RUnlock()
	if e == nil || !now.Before(e.expire) {
		return nil
	}
	return e
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
// t (0: all).
func (c *rrCache) clearName(name []byte, exact bool, t uint16) {
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
		for k := range sh.rrs {
			if match(k.name, k.t) {
				delete(sh.rrs, k)
			}
		}
		for k := range sh.neg {
			if match(k.name, k.t) {
				delete(sh.neg, k)
			}
		}
		for k := range sh.ans {
			if match(k[:len(k)-3], uint16(k[len(k)-3])<<8|uint16(k[len(k)-2])) {
				delete(sh.ans, k)
			}
		}
		sh.mu.Unlock()
	}
}

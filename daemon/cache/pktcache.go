package cache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/clock"
	"ljdns/dnsmsg"
)

// PacketOptions configures a PacketCache. Zero fields take the defaults.
type PacketOptions struct {
	MaxPositive time.Duration // cap of a positive answer's lifetime (default 20 s)
	MaxNegative time.Duration // cap of a negative answer's lifetime (default 60 s)
	MaxEntries  int           // default 100000
	Shards      int
	Clock       clock.Clock
}

// PacketKey is what a packet cache entry is looked up by.
type PacketKey struct {
	QName         []byte // wire; lowercased by the cache
	QType, QClass uint16
	DO, CD        bool
	EDNSSize      int // 0: no EDNS
	View          string
}

// sizeClass folds an EDNS payload size into the classes of the key.
func sizeClass(n int) byte {
	switch {
	case n == 0:
		return 0
	case n < 1232:
		return 1
	case n < 4096:
		return 2
	}
	return 3
}

func (k *PacketKey) string() string {
	b := make([]byte, 0, len(k.QName)+8+len(k.View))
	b = append(b, k.QName...)
	lowerInPlace(b)
	fl := byte(0)
	if k.DO {
		fl |= 1
	}
	if k.CD {
		fl |= 2
	}
	b = append(b, byte(k.QType>>8), byte(k.QType), byte(k.QClass>>8), byte(k.QClass), fl, sizeClass(k.EDNSSize))
	b = append(b, k.View...)
	return string(b)
}

// pktEntry is a stored answer: header bits, rcode and the records.
type pktEntry struct {
	stored, expire int64
	rcode          int
	aa             bool
	recursive      bool // from upstream: served only to clients that may recurse
	secs           [3][]*dnsmsg.RRSet
}

type pshard struct {
	mu sync.RWMutex
	m  map[string]*pktEntry
}

// PacketCache caches whole answers in front of the Lua layers.
type PacketCache struct {
	opt    PacketOptions
	clk    clock.Clock
	seed   maphash.Seed
	shards []pshard
	maxPer int

	maxPos, maxNeg atomic.Int64

	// counters
	Hits, Misses, Inserts, Evictions atomic.Uint64
}

// NewPacketCache returns an empty packet cache.
func NewPacketCache(opt PacketOptions) *PacketCache {
	if opt.MaxPositive == 0 {
		opt.MaxPositive = 20 * time.Second
	}
	if opt.MaxNegative == 0 {
		opt.MaxNegative = 60 * time.Second
	}
	if opt.MaxEntries <= 0 {
		opt.MaxEntries = 100000
	}
	if opt.Shards <= 0 {
		opt.Shards = 16
	}
	if opt.Clock == nil {
		opt.Clock = clock.Real
	}
	p := &PacketCache{opt: opt, clk: opt.Clock, seed: maphash.MakeSeed(), shards: make([]pshard, opt.Shards)}
	for i := range p.shards {
		p.shards[i].m = map[string]*pktEntry{}
	}
	p.maxPer = (opt.MaxEntries + opt.Shards - 1) / opt.Shards
	p.maxPos.Store(int64(opt.MaxPositive))
	p.maxNeg.Store(int64(opt.MaxNegative))
	return p
}

// SetCaps changes the positive and negative lifetime caps.
func (p *PacketCache) SetCaps(pos, neg time.Duration) {
	p.maxPos.Store(int64(pos))
	p.maxNeg.Store(int64(neg))
}

func (p *PacketCache) shardOf(k string) *pshard {
	return &p.shards[maphash.String(p.seed, k)%uint64(len(p.shards))]
}

// Clear drops every entry (on reload or a zone change).
func (p *PacketCache) Clear() {
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		sh.m = map[string]*pktEntry{}
		sh.mu.Unlock()
	}
}

// Len returns the number of entries.
func (p *PacketCache) Len() int {
	n := 0
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// Put stores the answer a (its records; no OPT, no TSIG) under k. It
// reports false when a is not cacheable: TC set, an rcode other than
// NOERROR/NXDOMAIN, or a lifetime of 0.
func (p *PacketCache) Put(k *PacketKey, a *dnsmsg.Packet, recursive bool) bool {
	if a.Buf[2]&0x02 != 0 {
		return false
	}
	rc := a.Rcode()
	if rc != rcodeNoError && rc != rcodeNXDomain {
		return false
	}
	e := &pktEntry{rcode: rc, aa: a.Buf[2]&0x04 != 0, recursive: recursive}
	min := ^uint32(0)
	for s := dnsmsg.SectionAN; s <= dnsmsg.SectionAR; s++ {
		for _, rr := range a.Records(s) {
			if rr.Type == dnsmsg.TypeOPT || rr.Type == dnsmsg.TypeTSIG {
				continue
			}
			if rr.TTL < min {
				min = rr.TTL
			}
			e.secs[s] = append(e.secs[s], rr.Copy())
		}
	}
	limit := time.Duration(p.maxPos.Load())
	if rc == rcodeNXDomain || len(e.secs[dnsmsg.SectionAN]) == 0 {
		limit = time.Duration(p.maxNeg.Load())
	}
	life := limit
	if min != ^uint32(0) && time.Duration(min)*time.Second < life {
		life = time.Duration(min) * time.Second
	}
	if life <= 0 {
		return false
	}
	now := p.clk.Now().UnixNano()
	e.stored, e.expire = now, now+int64(life)
	key := k.string()
	sh := p.shardOf(key)
	sh.mu.Lock()
	if _, ok := sh.m[key]; !ok && len(sh.m) >= p.maxPer {
		for k2, e2 := range sh.m {
			if e2.expire <= now || len(sh.m) >= p.maxPer {
				delete(sh.m, k2)
				p.Evictions.Add(1)
			}
			if len(sh.m) < p.maxPer {
				break
			}
		}
	}
	sh.m[key] = e
	sh.mu.Unlock()
	p.Inserts.Add(1)
	return true
}

// Get writes the entry under k into ans (started as the answer to the
// query: question and ID kept), with TTLs lowered by the time it spent in
// the cache, and returns its rcode. mayRecurse false skips entries that
// came from upstream.
func (p *PacketCache) Get(k *PacketKey, mayRecurse bool, write func(rcode int, aa bool, secs *[3][]*dnsmsg.RRSet, age uint32)) bool {
	key := k.string()
	sh := p.shardOf(key)
	sh.mu.RLock()
	e, ok := sh.m[key]
	sh.mu.RUnlock()
	now := p.clk.Now().UnixNano()
	if !ok || e.expire <= now || (e.recursive && !mayRecurse) {
		p.Misses.Add(1)
		return false
	}
	p.Hits.Add(1)
	write(e.rcode, e.aa, &e.secs, uint32((now-e.stored)/int64(time.Second)))
	return true
}

package dnsclient

import (
	"container/list"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/clock"
	"ljdns/dnsmsg"
)

// CacheOptions configures a Cache. Zero values give the default in
// brackets; values out of range are clamped.
type CacheOptions struct {
	MaxEntries    int           // answers kept, least recently used dropped first [1000] (1..1e9)
	MaxTTL        time.Duration // longest an answer is kept [7 d] (60 s..70 d)
	NegativeTTL   time.Duration // longest NXDOMAIN and NODATA are kept (RFC 2308) [1 h] (60 s..1 d)
	DelegationTTL time.Duration // longest a referral is kept [1e6 s] (60 s..1e9 s)
	ErrorTTL      time.Duration // how long other RCODEs (SERVFAIL...) are kept [30 s] (1..300 s)
	// FailureTTL is how long a transport failure is remembered and
	// returned (RFC 9520) [30 s] (1..300 s); negative: not remembered.
	FailureTTL     time.Duration
	CacheTruncated bool // keep TC answers too [not kept]
	// ServeStale is how long past its expiry an answer may still be served
	// when the upstream fails (RFC 8767) [0: never]; the RFC suggests 1 to
	// 3 days. Stale records carry StaleTTL [30 s], and after a failure the
	// upstream is not asked again for that answer for FailureTTL.
	ServeStale time.Duration
	StaleTTL   time.Duration
	// StaleAnswerTimeout is RFC 8767's client response timer: with a
	// stale answer at hand, the client gets it after this long while the
	// refresh goes on [0: stale answers only on failure]; the RFC suggests
	// 1.8 s.
	StaleAnswerTimeout time.Duration
	// Prefetch refreshes an answer in the background when it is asked for
	// in the last PrefetchRatio of its lifetime [off; ratio 0.1].
	Prefetch      bool
	PrefetchRatio float64
	Clock         clock.Clock // [clock.Real]
}

const (
	defaultMaxEntries    = 1000
	defaultMaxTTL        = 7 * 24 * time.Hour
	defaultNegativeTTL   = time.Hour
	defaultDelegationTTL = 1000000 * time.Second
	defaultErrorTTL      = 30 * time.Second
	defaultFailureTTL    = 30 * time.Second
	defaultStaleTTL      = 30 * time.Second
	defaultPrefetchRatio = 0.1
	backgroundTimeout    = time.Minute // prefetch and late stale refreshes
)

// CacheStats counts what a Cache did.
type CacheStats struct {
	Hits, Misses, Stale, Prefetches, Failures, Evictions uint64
	Entries                                              int
}

// Cache is a message cache in front of an upstream transport (domain's
// cache, plus prefetch and serve-stale). Only QUERY requests of class IN
// with one question and no TSIG are cached; the key is the lower-cased
// name, type, class and the RD, CD, DO and AD bits (DO counting as AD).
// An answer is kept for the least TTL of its records (OPT excepted), capped
// by MaxTTL, NegativeTTL (NXDOMAIN and NODATA, whose lifetime RFC 2308 also
// bounds by the SOA MINIMUM; without SOA they are not kept), DelegationTTL
// or ErrorTTL; NOERROR answers that are neither data, NODATA nor referral
// are not kept. A hit carries the asker's ID and name spelling and TTLs
// decremented by the seconds spent in the cache. Concurrent misses for the
// same key share one upstream query.
type Cache struct {
	up  Transport
	o   CacheOptions
	clk clock.Clock

	mu       sync.Mutex
	lru      *list.List // of *cacheEntry, most recent first
	entries  map[string]*list.Element
	inflight map[string]*cacheCall

	bg                                                   sync.WaitGroup
	hits, misses, stale, prefetches, failures, evictions atomic.Uint64
	closed                                               atomic.Bool
}

type cacheEntry struct {
	key       string
	wire      []byte        // the answer as received (nil for a failure)
	err       error         // a transport failure
	at        time.Time     // when it was stored
	life      time.Duration // how long it is fresh
	failUntil time.Time     // upstream failed: do not ask before this
	fetching  bool          // a prefetch or late refresh is running
}

// cacheCall is an upstream query in flight, shared by concurrent misses.
type cacheCall struct {
	done chan struct{}
	wire []byte
	err  error
}

// NewCache returns a cache in front of up.
func NewCache(up Transport, o CacheOptions) (*Cache, error) {
	if up == nil {
		return nil, ErrNoTransport
	}
	o.MaxEntries = clampInt(o.MaxEntries, defaultMaxEntries, 1, 1e9)
	o.MaxTTL = clampDur(o.MaxTTL, defaultMaxTTL, time.Minute, 70*24*time.Hour)
	o.NegativeTTL = clampDur(o.NegativeTTL, defaultNegativeTTL, time.Minute, 24*time.Hour)
	o.DelegationTTL = clampDur(o.DelegationTTL, defaultDelegationTTL, time.Minute, 1e9*time.Second)
	o.ErrorTTL = clampDur(o.ErrorTTL, defaultErrorTTL, time.Second, 300*time.Second)
	if o.FailureTTL >= 0 {
		o.FailureTTL = clampDur(o.FailureTTL, defaultFailureTTL, time.Second, 300*time.Second)
	}
	o.StaleTTL = clampDur(o.StaleTTL, defaultStaleTTL, time.Second, time.Hour)
	o.ServeStale = max(o.ServeStale, 0)
	if o.PrefetchRatio <= 0 || o.PrefetchRatio >= 1 {
		o.PrefetchRatio = defaultPrefetchRatio
	}
	clk := o.Clock
	if clk == nil {
		clk = clock.Real
	}
	return &Cache{up: up, o: o, clk: clk, lru: list.New(), entries: map[string]*list.Element{},
		inflight: map[string]*cacheCall{}}, nil
}

// Stats returns the counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	n := c.lru.Len()
	c.mu.Unlock()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Stale: c.stale.Load(),
		Prefetches: c.prefetches.Load(), Failures: c.failures.Load(), Evictions: c.evictions.Load(), Entries: n}
}

// Clear drops every entry.
func (c *Cache) Clear() {
	c.mu.Lock()
	c.lru.Init()
	clear(c.entries)
	c.mu.Unlock()
}

// Close implements Transport: it waits for background refreshes and
// closes the upstream.
func (c *Cache) Close() error {
	c.closed.Store(true)
	c.bg.Wait()
	return c.up.Close()
}

// Stream implements Transport: transfers pass through; other queries are
// answered as Query does.
func (c *Cache) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	if isMulti(q) {
		return c.up.Stream(ctx, q, fn)
	}
	return streamByQuery(ctx, c, q, fn)
}

// cacheKey returns the key of q, or "" when q is not cacheable.
func cacheKey(q *dnsmsg.Packet) string {
	w := q.Bytes()
	qi, err := inspectQuery(w)
	if err != nil || qi.signed || q.Opcode() != opcodeQuery {
		return ""
	}
	name, qtype, qclass, ok := q.Question()
	if !ok || qclass != dnsmsg.ClassINET || qtype == typeAXFR || qtype == typeIXFR {
		return ""
	}
	do := dnsmsg.OPTDo(optOf(w))
	var flags byte
	for i, f := range []bool{q.Flag("rd"), q.Flag("cd"), do, do || q.Flag("ad")} {
		if f {
			flags |= 1 << i
		}
	}
	k := make([]byte, 0, len(name)+5)
	k = append(k, dnsmsg.LowerName(name)...)
	k = binary.BigEndian.AppendUint16(k, qtype)
	k = binary.BigEndian.AppendUint16(k, qclass)
	return string(append(k, flags))
}

// optOf returns the OPT RR of wire query w (nil if none), read from the
// wire so that unparsed packets work too.
func optOf(w []byte) *dnsmsg.RRSet {
	var opt *dnsmsg.RRSet
	_ = walkRRs(w, func(r rrPos) bool {
		if r.typ == dnsmsg.TypeOPT {
			opt = &dnsmsg.RRSet{Type: dnsmsg.TypeOPT, Class: binary.BigEndian.Uint16(w[r.ttlOff-2:]),
				TTL: binary.BigEndian.Uint32(w[r.ttlOff:]), RData: [][]byte{w[r.rdOff : r.rdOff+r.rdLen]}}
			return false
		}
		return true
	})
	return opt
}

// Query implements Transport.
func (c *Cache) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if isMulti(q) {
		return nil, ErrMultiMessage
	}
	if c.closed.Load() {
		return nil, ErrClosed
	}
	key := cacheKey(q)
	if key == "" {
		return c.up.Query(ctx, q)
	}
	now := c.clk.Now()
	c.mu.Lock()
	var e *cacheEntry
	if el := c.entries[key]; el != nil {
		e = el.Value.(*cacheEntry)
		c.lru.MoveToFront(el)
	}
	var staleWire []byte
	var staleAge time.Duration
	if e != nil {
		age := now.Sub(e.at)
		switch {
		case age < e.life && e.err != nil: // a remembered failure
			c.mu.Unlock()
			c.hits.Add(1)
			return nil, fmt.Errorf("%w (remembered for %v)", e.err, e.life)
		case age < e.life:
			wire := e.wire
			refresh := c.o.Prefetch && !e.fetching && e.life >= 10*time.Second &&
				e.life-age < time.Duration(float64(e.life)*c.o.PrefetchRatio)
			if refresh {
				e.fetching = true
			}
			c.mu.Unlock()
			c.hits.Add(1)
			if refresh {
				c.prefetches.Add(1)
				c.background(key, q)
			}
			return answerFromWire(wire, q, age, e.life, 0)
		case e.wire != nil && c.o.ServeStale > 0 && age < e.life+c.o.ServeStale:
			if now.Before(e.failUntil) { // the upstream failed lately: do not hammer it
				wire, life := e.wire, e.life
				c.mu.Unlock()
				c.stale.Add(1)
				return answerFromWire(wire, q, age, life, c.o.StaleTTL)
			}
			staleWire, staleAge = e.wire, age
		}
	}
	c.mu.Unlock()
	c.misses.Add(1)
	if staleWire != nil && c.o.StaleAnswerTimeout > 0 {
		return c.fetchOrStale(ctx, key, q, staleWire, staleAge)
	}
	wire, err := c.fetch(ctx, key, q)
	if staleWire != nil && (err != nil || failedRcode(wire)) {
		c.stale.Add(1)
		return answerFromWire(staleWire, q, staleAge, 0, c.o.StaleTTL)
	}
	if err != nil {
		return nil, err
	}
	return answerFromWire(wire, q, 0, 0, 0)
}

// failedRcode reports an answer that serve-stale treats as a failure.
func failedRcode(w []byte) bool {
	rc := wireRcode(w)
	return rc == rcodeServFail || rc == rcodeRefused
}

// fetchOrStale asks the upstream, but answers with the stale copy if that
// takes longer than StaleAnswerTimeout (the fetch goes on and refreshes
// the entry).
func (c *Cache) fetchOrStale(ctx context.Context, key string, q *dnsmsg.Packet, stale []byte, age time.Duration) (*dnsmsg.Packet, error) {
	type res struct {
		wire []byte
		err  error
	}
	ch := make(chan res, 1)
	qc := q.Copy()
	if qc == nil {
		return nil, ErrBadQuery
	}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), backgroundTimeout)
		defer cancel()
		w, err := c.fetch(bctx, key, qc)
		ch <- res{w, err}
	}()
	t := c.clk.NewTimer(c.o.StaleAnswerTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.err != nil || failedRcode(r.wire) {
			c.stale.Add(1)
			return answerFromWire(stale, q, age, 0, c.o.StaleTTL)
		}
		return answerFromWire(r.wire, q, 0, 0, 0)
	case <-t.C():
		c.stale.Add(1)
		return answerFromWire(stale, q, age, 0, c.o.StaleTTL)
	case <-ctx.Done():
		return nil, ctxErr(ctx)
	}
}

// background refreshes key with a copy of q, detached from the caller.
func (c *Cache) background(key string, q *dnsmsg.Packet) {
	qc := q.Copy()
	if qc == nil {
		return
	}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), backgroundTimeout)
		defer cancel()
		_, _ = c.fetch(ctx, key, qc)
		c.mu.Lock()
		if el := c.entries[key]; el != nil {
			el.Value.(*cacheEntry).fetching = false
		}
		c.mu.Unlock()
	}()
}

// fetch asks the upstream (once for concurrent callers of the same key),
// stores the outcome and returns the answer's wire form.
func (c *Cache) fetch(ctx context.Context, key string, q *dnsmsg.Packet) ([]byte, error) {
	c.mu.Lock()
	if call := c.inflight[key]; call != nil {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.wire, call.err
		case <-ctx.Done():
			return nil, ctxErr(ctx)
		}
	}
	call := &cacheCall{done: make(chan struct{})}
	c.inflight[key] = call
	c.mu.Unlock()
	a, err := c.up.Query(ctx, q)
	if err == nil {
		call.wire = append([]byte(nil), a.Bytes()...)
	} else {
		call.err = err
	}
	c.store(key, call.wire, err)
	c.mu.Lock()
	delete(c.inflight, key)
	c.mu.Unlock()
	close(call.done)
	return call.wire, call.err
}

// store records an answer or a transport failure under key.
func (c *Cache) store(key string, wire []byte, err error) {
	now := c.clk.Now()
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, ErrClosed) || errors.Is(err, ErrBadQuery) {
			return
		}
		c.failures.Add(1)
		c.mu.Lock()
		defer c.mu.Unlock()
		if el := c.entries[key]; el != nil && el.Value.(*cacheEntry).wire != nil && c.o.ServeStale > 0 {
			if c.o.FailureTTL > 0 {
				el.Value.(*cacheEntry).failUntil = now.Add(c.o.FailureTTL) // keep the stale answer
			}
			return
		}
		if c.o.FailureTTL > 0 {
			c.put(&cacheEntry{key: key, err: err, at: now, life: c.o.FailureTTL})
		}
		return
	}
	life := c.lifetime(wire)
	c.mu.Lock()
	defer c.mu.Unlock()
	if life <= 0 {
		if el := c.entries[key]; el != nil && failedRcode(wire) && el.Value.(*cacheEntry).wire != nil && c.o.ServeStale > 0 {
			if c.o.FailureTTL > 0 {
				el.Value.(*cacheEntry).failUntil = now.Add(c.o.FailureTTL)
			}
		}
		return
	}
	if el := c.entries[key]; el != nil && failedRcode(wire) && c.o.ServeStale > 0 {
		if old := el.Value.(*cacheEntry); old.wire != nil && !failedRcode(old.wire) {
			if c.o.FailureTTL > 0 {
				old.failUntil = now.Add(c.o.FailureTTL) // keep the stale data, not the SERVFAIL
			}
			return
		}
	}
	c.put(&cacheEntry{key: key, wire: wire, at: now, life: life})
}

// put inserts or replaces an entry, evicting the least recently used
// (c.mu held).
func (c *Cache) put(e *cacheEntry) {
	if el := c.entries[e.key]; el != nil {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.entries[e.key] = c.lru.PushFront(e)
	for c.lru.Len() > c.o.MaxEntries {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.entries, old.Value.(*cacheEntry).key)
		c.evictions.Add(1)
	}
}

// lifetime returns how long answer w may be kept (0: not at all).
func (c *Cache) lifetime(w []byte) time.Duration {
	if len(w) < dnsmsg.HeaderLen || (w[2]&0x02 != 0 && !c.o.CacheTruncated) {
		return 0
	}
	var minTTL uint32 = 1<<32 - 1
	var an, soa, ns int
	var soaMin uint32
	records := 0
	err := walkRRs(w, func(r rrPos) bool {
		if r.typ == dnsmsg.TypeOPT || r.typ == dnsmsg.TypeTSIG {
			return true
		}
		records++
		minTTL = min(minTTL, binary.BigEndian.Uint32(w[r.ttlOff:]))
		switch {
		case r.section == dnsmsg.SectionAN:
			an++
		case r.section == dnsmsg.SectionNS && r.typ == dnsmsg.TypeSOA:
			soa++
			soaMin = soaMinimum(w, r)
		case r.section == dnsmsg.SectionNS && r.typ == dnsmsg.TypeNS:
			ns++
		}
		return true
	})
	if err != nil {
		return 0
	}
	ttl := time.Duration(minTTL) * time.Second
	rc := wireRcode(w)
	switch {
	case rc == 0 && an > 0:
		return min(ttl, c.o.MaxTTL)
	case (rc == 0 || rc == rcodeNXDomain) && soa > 0: // RFC 2308 §5
		return min(ttl, time.Duration(soaMin)*time.Second, c.o.NegativeTTL, c.o.MaxTTL)
	case rc == 0 && ns > 0:
		return min(ttl, c.o.DelegationTTL, c.o.MaxTTL)
	case rc == 0 || rc == rcodeNXDomain:
		return 0 // nothing to go by
	case records == 0:
		return c.o.ErrorTTL
	default:
		return min(ttl, c.o.ErrorTTL)
	}
}

// soaMinimum reads MINIMUM from the SOA at r (its names may be compressed).
func soaMinimum(w []byte, r rrPos) uint32 {
	off, err := skipName(w, r.rdOff)
	if err == nil {
		off, err = skipName(w, off)
	}
	if err != nil || off+20 > r.rdOff+r.rdLen {
		return 0
	}
	return binary.BigEndian.Uint32(w[off+16:])
}

// answerFromWire makes the answer to q from a cached wire answer that has
// spent age in the cache: q's ID and name spelling, every TTL (OPT and
// TSIG excepted) capped at life (when > 0) and decremented by age in
// whole seconds, or set to fixed (when > 0, for stale answers).
func answerFromWire(w []byte, q *dnsmsg.Packet, age, life time.Duration, fixed time.Duration) (*dnsmsg.Packet, error) {
	out := append([]byte(nil), w...)
	setID(out, q.ID())
	if qn, _, _, ok := q.Question(); ok && len(out) >= dnsmsg.HeaderLen+len(qn) && binary.BigEndian.Uint16(out[4:]) == 1 {
		copy(out[dnsmsg.HeaderLen:], qn) // the asker's spelling (same name, same length)
	}
	dec := uint32(age / time.Second)
	ceil := uint32(life / time.Second)
	_ = walkRRs(out, func(r rrPos) bool {
		if r.typ == dnsmsg.TypeOPT || r.typ == dnsmsg.TypeTSIG {
			return true
		}
		ttl := binary.BigEndian.Uint32(out[r.ttlOff:])
		switch {
		case fixed > 0:
			ttl = uint32(fixed / time.Second)
		default:
			if life > 0 {
				ttl = min(ttl, ceil)
			}
			if ttl > dec {
				ttl -= dec
			} else {
				ttl = 0
			}
		}
		binary.BigEndian.PutUint32(out[r.ttlOff:], ttl)
		return true
	})
	p := dnsmsg.NewPacketFrom(len(out), out)
	if p.Parse(false) != 0 {
		return nil, fmt.Errorf("dnsclient: cached answer does not parse")
	}
	return p, nil
}

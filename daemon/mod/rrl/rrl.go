// Package rrl is response rate limiting for UDP answers, as knotd's
// mod-rrl: answers to each client prefix (/24 for IPv4, /56 for IPv6) and
// answer class are limited to Rate per second (token bucket, burst Rate);
// over the limit, every Slip-th answer is sent truncated and empty (the
// client retries over TCP) and the others are dropped (Slip 0: all
// dropped; Slip 1: all truncated). TCP, DoT and DoH answers are never
// limited.
package rrl

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/clock"
	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// Options configures the limiter.
type Options struct {
	Rate       int // answers per second per bucket (knot rate-limit); required > 0
	Slip       int // 0: drop all, N: every Nth limited answer truncated (knot slip, default 1 when unset via New)
	IPv4Prefix int // default 24
	IPv6Prefix int // default 56
	Whitelist  []netip.Prefix
	Clock      clock.Clock
	TableSize  int // buckets kept before the oldest are forgotten (default 393241, knot's table-size)
}

// answer classes (knot: normal, error, nxdomain, empty, large, wildcard)
const (
	classNormal = iota
	classError
	classNXDomain
	classEmpty
)

type bucket struct {
	tokens  float64
	last    int64 // unix nanos
	limited uint64
}

type shard struct {
	mu sync.Mutex
	m  map[key]*bucket
}

type key struct {
	prefix netip.Prefix
	class  uint8
	name   string // the query name for error/nxdomain-free classes (knot hashes qname/zone)
}

// RRL is the limiter and its daemon layer.
type RRL struct {
	o      Options
	clk    clock.Clock
	seed   maphash.Seed
	shards [64]shard
	// counters
	Dropped, Slipped, Passed atomic.Uint64
}

// New returns a limiter; Slip < 0 means knot's default (1).
func New(o Options) *RRL {
	if o.IPv4Prefix == 0 {
		o.IPv4Prefix = 24
	}
	if o.IPv6Prefix == 0 {
		o.IPv6Prefix = 56
	}
	if o.Slip < 0 {
		o.Slip = 1
	}
	if o.Clock == nil {
		o.Clock = clock.Real
	}
	if o.TableSize <= 0 {
		o.TableSize = 393241
	}
	r := &RRL{o: o, clk: o.Clock, seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].m = map[key]*bucket{}
	}
	return r
}

// Name is "rrl".
func (l *RRL) Name() string { return "rrl" }

func classOf(r *daemon.Request) (uint8, string) {
	switch rc := r.Rcode(); {
	case rc == 3:
		return classNXDomain, ""
	case rc != 0:
		return classError, ""
	case r.Answer.Count(dnsmsg.SectionAN) == 0:
		return classEmpty, ""
	}
	return classNormal, string(dnsmsg.LowerName(r.QName()))
}

// allow takes a token for k at now; it reports false over the limit and
// how many answers of the bucket were limited so far.
func (l *RRL) allow(k key, now int64) (bool, uint64) {
	h := maphash.Comparable(l.seed, k)
	sh := &l.shards[h%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := sh.m[k]
	rate := float64(l.o.Rate)
	if b == nil {
		if len(sh.m) >= l.o.TableSize/len(l.shards)+1 {
			for k2, b2 := range sh.m { // forget buckets full again (idle for a second)
				if now-b2.last > int64(time.Second) {
					delete(sh.m, k2)
				}
			}
		}
		b = &bucket{tokens: rate, last: now}
		sh.m[k] = b
	}
	b.tokens += rate * float64(now-b.last) / float64(time.Second)
	if b.tokens > rate {
		b.tokens = rate
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	b.limited++
	return false, b.limited
}

// AnswerFinalize limits UDP answers.
func (l *RRL) AnswerFinalize(r *daemon.Request, s daemon.State) daemon.State {
	if r.Proto != daemon.UDP || l.o.Rate <= 0 || r.Options.Has(daemon.NoAnswer) {
		return s
	}
	a := r.Client.Addr().Unmap()
	for _, p := range l.o.Whitelist {
		if p.Contains(a) {
			return s
		}
	}
	bits := l.o.IPv4Prefix
	if a.Is6() {
		bits = l.o.IPv6Prefix
	}
	p, _ := a.Prefix(bits)
	cls, name := classOf(r)
	ok, n := l.allow(key{p, cls, name}, l.clk.Now().UnixNano())
	if ok {
		l.Passed.Add(1)
		return s
	}
	if l.o.Slip > 0 && n%uint64(l.o.Slip) == 0 {
		l.Slipped.Add(1)
		rc := r.Rcode()
		r.ResetAnswer()
		r.SetRcode(rc)
		r.Answer.Buf[2] |= 0x02 // TC
		r.Tracef("rrl: slipped")
		return s
	}
	l.Dropped.Add(1)
	r.Options |= daemon.NoAnswer
	r.Tracef("rrl: dropped")
	return s
}

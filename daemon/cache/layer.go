package cache

import (
	"sync/atomic"
	"time"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// RRLayer is the RR cache in the request path: it answers in Begin (for
// clients that may recurse, unless NO_CACHE) and stores upstream answers
// in Consume. Put it after the layers that must see every query (policy,
// hints, view) and keep the same value across reloads.
type RRLayer struct{ C *RRCache }

// Name is "cache".
func (l *RRLayer) Name() string { return "cache" }

// Begin answers r from the cache.
func (l *RRLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if !r.MayRecurse() || r.Options.Has(daemon.NoCache) {
		return s
	}
	a, ok := l.C.Lookup(r.QName(), r.QType(), r.QClass(), r.DO(), false)
	if !ok {
		return s
	}
	writeCached(r, a)
	if a.Expiring {
		r.Options |= daemon.Expiring
	}
	r.Tracef("answered from the RR cache")
	return daemon.Done
}

// Consume stores the upstream answer.
func (l *RRLayer) Consume(r *daemon.Request, s daemon.State, a *dnsmsg.Packet) daemon.State {
	if a != nil && s&daemon.Fail == 0 && !r.Options.Has(daemon.NoCache) {
		l.C.Store(a, r.QName(), r.QType(), r.QClass(), r.DO())
	}
	return s
}

// Close closes the cache's snapshot (kresd deinit).
func (l *RRLayer) Close() error { return l.C.Close() }

// writeCached puts a cache answer into r.Answer.
func writeCached(r *daemon.Request, a *Answer) {
	r.ResetAnswer()
	r.SetRcode(a.Rcode)
	ans := r.Answer
	for i, sec := range [][]*dnsmsg.RRSet{a.AN, a.NS} {
		ans.Begin(dnsmsg.SectionAN + i)
		for _, rr := range sec {
			if !ans.Put(rr, true) {
				ans.Buf[2] |= 0x02
				return
			}
		}
	}
	r.Cached = true
}

// StaleLayer is serve_stale (RFC 8767): when the upstream fails, it
// answers from RR cache entries expired less than the cache's StaleKeep
// ago, with TTL 1. With a Timeout (kresd's serve_stale.timeout) it also
// answers so when the upstream has not answered within it, for the
// questions that have stale data; the upstream's late answer refreshes
// the cache (daemon.StaleAnswerer).
type StaleLayer struct {
	C       *RRCache
	timeout atomic.Int64 // nanoseconds; 0: only when the upstream fails
}

// SetTimeout sets how long a forwarded query with stale data waits for
// the upstream before the stale answer (0: until the upstream fails).
func (l *StaleLayer) SetTimeout(d time.Duration) { l.timeout.Store(int64(max(d, 0))) }

// Timeout returns the timeout SetTimeout set.
func (l *StaleLayer) Timeout() time.Duration { return time.Duration(l.timeout.Load()) }

// StaleWait is the timeout when the cache holds stale data for r, else 0.
func (l *StaleLayer) StaleWait(r *daemon.Request) time.Duration {
	d := l.Timeout()
	if d <= 0 || r.Options.Has(daemon.NoCache) {
		return 0
	}
	if _, ok := l.C.Lookup(r.QName(), r.QType(), r.QClass(), r.DO(), true); !ok {
		return 0
	}
	return d
}

// AnswerStale answers r from stale data (the upstream is slow).
func (l *StaleLayer) AnswerStale(r *daemon.Request) bool {
	ans, ok := l.C.Lookup(r.QName(), r.QType(), r.QClass(), r.DO(), true)
	if !ok {
		return false
	}
	writeCached(r, ans)
	r.SetEDE(3, "") // Stale Answer
	r.Tracef("answered from stale cache data (upstream slower than %v)", l.Timeout())
	return true
}

// Refresh stores an upstream answer that came after the stale one.
func (l *StaleLayer) Refresh(qname []byte, qtype, qclass uint16, do bool, a *dnsmsg.Packet) {
	l.C.Store(a, qname, qtype, qclass, do)
}

// Name is "serve_stale".
func (l *StaleLayer) Name() string { return "serve_stale" }

// Consume answers from stale data when the upstream failed (a == nil).
func (l *StaleLayer) Consume(r *daemon.Request, s daemon.State, a *dnsmsg.Packet) daemon.State {
	if a != nil || s&daemon.Fail == 0 || s&daemon.Done != 0 {
		return s
	}
	ans, ok := l.C.Lookup(r.QName(), r.QType(), r.QClass(), r.DO(), true)
	if !ok {
		return s
	}
	writeCached(r, ans)
	r.SetEDE(3, "") // Stale Answer
	r.Tracef("answered from stale cache data")
	return daemon.Done
}

// PacketLayer is the packet cache in the request path: put it first. It
// answers in Begin and stores in Finish the answers layers marked
// r.Cacheable and forwarded answers (these only for clients that may
// recurse), never those whose upstream answer had a non-zero ECS scope.
type PacketLayer struct{ C *PacketCache }

// Name is "pktcache".
func (l *PacketLayer) Name() string { return "pktcache" }

const varNoPkt = "pktcache.skip"

func packetKey(r *daemon.Request) PacketKey {
	_, size := r.EDNS()
	return PacketKey{QName: r.QName(), QType: r.QType(), QClass: r.QClass(), DO: r.DO(),
		CD: r.Query.Buf[3]&0x10 != 0, EDNSSize: size, View: r.View}
}

// Begin answers r from the packet cache.
func (l *PacketLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if r.Options.Has(daemon.NoCache) {
		return s
	}
	k := packetKey(r)
	hit := l.C.Get(&k, r.MayRecurse(), func(rcode int, aa bool, secs *[3][]*dnsmsg.RRSet, age uint32) {
		r.ResetAnswer()
		r.SetRcode(rcode)
		ans := r.Answer
		if aa {
			ans.Buf[2] |= 0x04
		}
		for sec := dnsmsg.SectionAN; sec <= dnsmsg.SectionAR; sec++ {
			ans.Begin(sec)
			for _, rr := range secs[sec] {
				x := *rr
				if x.TTL > age {
					x.TTL -= age
				} else {
					x.TTL = 0
				}
				if !ans.Put(&x, true) {
					ans.Buf[2] |= 0x02
					return
				}
			}
		}
	})
	if !hit {
		return s
	}
	r.Cached = true
	r.Tracef("answered from the packet cache")
	return daemon.Done
}

// Consume notes an upstream answer with a non-zero ECS scope (RFC 7871).
func (l *PacketLayer) Consume(r *daemon.Request, s daemon.State, a *dnsmsg.Packet) daemon.State {
	if a != nil {
		if opt := a.OPT(); opt != nil {
			if ecs, ok := dnsmsg.EDNSOption(opt, 8); ok && len(ecs) >= 4 && ecs[3] != 0 {
				r.SetVar(varNoPkt, true)
			}
		}
	}
	return s
}

// Finish stores the answer.
func (l *PacketLayer) Finish(r *daemon.Request, s daemon.State) daemon.State {
	if r.Cached || s&daemon.Done == 0 || r.Options.Has(daemon.NoCache) || r.Var(varNoPkt) != nil || r.EDE >= 0 {
		return s
	}
	forwarded := r.Upstream != nil
	if !forwarded && !r.Cacheable {
		return s
	}
	k := packetKey(r)
	l.C.Put(&k, r.Answer, forwarded)
	return s
}

package resolver

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"time"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// Layer plugs a Resolver into the daemon's request path (Config.Resolver):
// every upstream query goes through r.QueryUpstream (limits, stats), learnt
// name server addresses follow the request's ALLOW_LOCAL rule, and the
// verdict's extended error is set on the request.
type Layer struct {
	R *Resolver
	// StaleTimeout, when set and above 0, is serve_stale.timeout for
	// iteration: a question the cache holds expired data for (kept by
	// SetServeStale) that is not resolved within it is answered from that
	// data (TTL 1, EDE 3), and its resolution goes on in the background
	// (at most StaleBackground), refreshing the cache. That resolution's
	// queries do not count in the request's upstream limits.
	StaleTimeout func() time.Duration
}

// StaleBackground bounds a resolution that goes on after a stale answer.
const StaleBackground = 30 * time.Second

// Name is "iterate".
func (l *Layer) Name() string { return "iterate" }

// nsTransport is a dnsclient.Transport to one name server for QueryUpstream.
type nsTransport struct {
	ex     Exchanger
	server netip.AddrPort
	tcp    bool
}

func (t *nsTransport) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	return t.ex(ctx, t.server, q, t.tcp)
}

func (t *nsTransport) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	a, err := t.Query(ctx, q)
	if err != nil {
		return err
	}
	return fn(a)
}

func (t *nsTransport) Close() error { return nil }

func (t *nsTransport) Addr() netip.AddrPort { return t.server }

// flags returns the client's DNSSEC bits of r.
func flags(r *daemon.Request) QueryFlags {
	return QueryFlags{DO: r.DO(), CD: r.Options.Has(daemon.DNSSECCD), AD: r.Query.Buf[3]&0x20 != 0}
}

// Begin answers r from the resolver's answer cache on the socket reader
// (no goroutine, no upstream): a warm cache costs no more than the RR
// cache layer. Put the Layer last among the layers too.
func (l *Layer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if !r.MayRecurse() || r.Upstream != nil || r.Options.Has(daemon.NoCache) || r.QClass() != dnsmsg.ClassINET {
		return s // a forwarded request is not the resolver's
	}
	f := flags(r)
	rcode, an, ns, res, ok := l.R.cachedAnswer(r.QName(), r.QType(), f)
	if !ok {
		return s
	}
	l.write(r, rcode, an, ns, f, res)
	if res.Expiring {
		r.Options |= daemon.Expiring // for predict's prefetch
	}
	r.Tracef("iterate: answered from the resolver's cache")
	return daemon.Done
}

// Resolve answers r by iteration (daemon.Resolver).
func (l *Layer) Resolve(r *daemon.Request) daemon.State {
	res := l.R
	base := res.ex
	ex := func(ctx context.Context, server netip.AddrPort, q *dnsmsg.Packet, tcp bool) (*dnsmsg.Packet, error) {
		return r.QueryUpstream(&nsTransport{ex: base, server: server, tcp: tcp}, q)
	}
	f := flags(r)
	if l.StaleTimeout != nil {
		if d := l.StaleTimeout(); d > 0 && res.hasStale(r.QName(), r.QType(), f.CD) {
			l.resolveOrStale(r, f, d)
			return daemon.Done
		}
	}
	ctx := r.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	rcode, an, ns, info, err := res.resolveParts(ctx, r.QName(), r.QType(), r.QClass(), f, ex, r.MayQueryNameserver)
	if err != nil {
		r.Tracef("iterate: %v", err)
	}
	l.write(r, rcode, an, ns, f, info)
	return daemon.Done
}

// resolveOrStale resolves r on a goroutine of its own (not bound to r:
// it may outlive the request) and answers from the stale data when the
// resolution takes longer than d.
func (l *Layer) resolveOrStale(r *daemon.Request, f QueryFlags, d time.Duration) {
	res := l.R
	qname := append([]byte(nil), r.QName()...)
	qtype, qclass := r.QType(), r.QClass()
	allow := r.Options.Has(daemon.AllowLocal)
	may := func(a netip.Addr) bool { return allow || !daemon.IsLocalAddr(a) }
	type outcome struct {
		rcode  int
		an, ns []*rrset
		info   Result
		err    error
	}
	done := make(chan outcome, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), StaleBackground)
		defer cancel()
		var o outcome
		o.rcode, o.an, o.ns, o.info, o.err = res.resolveParts(ctx, qname, qtype, qclass, f, res.ex, may)
		done <- o
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case o := <-done:
		if o.err != nil {
			r.Tracef("iterate: %v", o.err)
		}
		l.write(r, o.rcode, o.an, o.ns, f, o.info)
		return
	case <-timer.C:
	}
	var kb [260]byte
	rcode, an, ns, info, ok := res.staleAnswer(ansKey(kb[:0], qname, qtype, f.CD), 0)
	if !ok { // dropped meanwhile: wait for the resolution
		o := <-done
		l.write(r, o.rcode, o.an, o.ns, f, o.info)
		return
	}
	r.Tracef("iterate: not resolved within %v: answered from stale data", d)
	l.write(r, rcode, an, ns, f, info)
}

// write puts the answer into r.Answer; over UDP, a message that would
// not fit the client's size leaves out the SOA's RRSIG first, as kresd
// does (the NSEC/NSEC3 proofs are what validate a negative answer).
func (l *Layer) write(r *daemon.Request, rcode int, an, ns []*rrset, f QueryFlags, info Result) {
	writeSets(r, rcode, an, ns, f, info, false)
	if r.Proto == daemon.UDP {
		limit := 512
		if ok, size := r.EDNS(); ok {
			limit = min(max(size, 512), daemon.DefaultBufSize)
		}
		if r.Answer.Size+64 > limit {
			writeSets(r, rcode, an, ns, f, info, true)
		}
	}
	if info.EDE >= 0 {
		r.SetEDE(info.EDE, info.EDEText)
	}
	r.Cached = info.Cached
	if r.Vars != nil { // no allocation: modules that need it (ta_sentinel) make the map
		r.Vars[SecurityVar] = info.Security
	}
}

// SecurityVar is the request variable (r.Vars) in which the Layer leaves
// the validator's verdict on the answer it wrote (a Security), for
// modules after it (ta_sentinel, RFC 8509), when r.Vars exists.
const SecurityVar = "resolver.security"

// writeSets writes the answer into r.Answer.
func writeSets(r *daemon.Request, rcode int, an, ns []*rrset, f QueryFlags, info Result, noSOASig bool) {
	if r.Answer.Count(dnsmsg.SectionAN)+r.Answer.Count(dnsmsg.SectionNS)+r.Answer.Count(dnsmsg.SectionAR) > 0 || r.Answer.Section() != dnsmsg.SectionAN {
		r.ResetAnswer()
	}
	r.SetRcode(rcode)
	if adFor(info, f) {
		r.Answer.Buf[3] |= 0x20
	}
	qtype := r.QType()
	reorder := r.Options.Has(daemon.ReorderRR)
	if !emit(qtype, rcode, an, ns, f, info, noSOASig, func(sec int, rr *dnsmsg.RRSet) bool {
		r.Answer.Begin(sec)
		if reorder && len(rr.RData) > 1 && rr.Type != typeRRSIG {
			// reorder_RR: the records of a set start at a random one
			k := rand.IntN(len(rr.RData))
			c := *rr
			c.RData = append(append(make([][]byte, 0, len(rr.RData)), rr.RData[k:]...), rr.RData[:k]...)
			rr = &c
		}
		return r.Answer.Put(rr, false)
	}) {
		r.Answer.Buf[2] |= 0x02 // TC
	}
}

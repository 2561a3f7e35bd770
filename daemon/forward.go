package daemon

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"ljdns/dnsclient"
	"ljdns/dnsmsg"
)

// ErrOutgoingLimit is returned by QueryUpstream over Limits.OutgoingPerRequest
// or Limits.OutgoingInflight.
var ErrOutgoingLimit = errors.New("daemon: outgoing query limit reached")

// QueryUpstream sends q through t for r within the outgoing limits: the
// queries of one request (Limits.OutgoingPerRequest) and the queries in
// flight in the whole server (Limits.OutgoingInflight). Forwarding, a
// Resolver and layers that query upstream go through it.
func (r *Request) QueryUpstream(t dnsclient.Transport, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	g := r.gen
	if g == nil {
		return t.Query(r.Ctx, q)
	}
	if lim := g.cfg.Limits.OutgoingPerRequest; lim > 0 && r.Upstreams >= lim {
		g.s.counters.LimitOutgoing.Add(1)
		return nil, ErrOutgoingLimit
	}
	if !g.s.outgoing.acquire() {
		g.s.counters.LimitOutgoing.Add(1)
		return nil, ErrOutgoingLimit
	}
	defer g.s.outgoing.release()
	r.Upstreams++
	start := time.Now()
	a, err := t.Query(r.Ctx, q)
	r.UpstreamRTT = time.Since(start)
	return a, err
}

// upstreamCall is an upstream query on a goroutine of its own that the
// request may stop waiting for (StaleAnswerer): then its answer goes to
// the layer's Refresh.
type upstreamCall struct {
	mu        sync.Mutex
	done      chan struct{} // closed when a, err are set (unless abandoned)
	a         *dnsmsg.Packet
	err       error
	abandoned bool
}

// queryOrStale is QueryUpstream that answers r from sl's stale data when
// the upstream has not answered within wait. stale reports that it did
// (r.Answer holds the stale answer; the query goes on in the background,
// within the server's RequestTimeout, for sl.Refresh).
func (g *generation) queryOrStale(r *Request, t dnsclient.Transport, q *dnsmsg.Packet, sl StaleAnswerer, wait time.Duration) (a *dnsmsg.Packet, stale bool, err error) {
	if lim := g.cfg.Limits.OutgoingPerRequest; lim > 0 && r.Upstreams >= lim {
		g.s.counters.LimitOutgoing.Add(1)
		return nil, false, ErrOutgoingLimit
	}
	if !g.s.outgoing.acquire() {
		g.s.counters.LimitOutgoing.Add(1)
		return nil, false, ErrOutgoingLimit
	}
	r.Upstreams++
	c := &upstreamCall{done: make(chan struct{})}
	qname, qtype, qclass, do := append([]byte(nil), r.qname...), r.qtype, r.qclass, r.do
	// not r.Ctx: the request may be answered (and its context cancelled)
	// before the upstream is done
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.RequestTimeout)
	start := time.Now()
	go func() {
		defer cancel()
		a, err := t.Query(ctx, q)
		g.s.outgoing.release()
		c.mu.Lock()
		if c.abandoned {
			c.mu.Unlock()
			if err == nil {
				sl.Refresh(qname, qtype, qclass, do, a)
			}
			return
		}
		c.a, c.err = a, err
		c.mu.Unlock()
		close(c.done)
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-r.Ctx.Done():
		<-c.done // the query's own deadline is no later than the request's
	case <-timer.C:
		c.mu.Lock()
		select {
		case <-c.done: // answered meanwhile
		default:
			if sl.AnswerStale(r) {
				c.abandoned = true
				c.mu.Unlock()
				r.UpstreamRTT = time.Since(start)
				return nil, true, nil
			}
		}
		c.mu.Unlock()
		<-c.done
	}
	r.UpstreamRTT = time.Since(start)
	return c.a, false, c.err
}

// addrTransport is implemented by transports that know their upstream address.
type addrTransport interface{ Addr() netip.AddrPort }

// UpstreamQuery returns the query to send upstream for r: r's question,
// RD set, CD as the client's, EDNS with payload 1232 and DO as the client's
// (kresd's forwarding query).
func (r *Request) UpstreamQuery() *dnsmsg.Packet {
	q := dnsmsg.NewPacket(512)
	q.SetQuestion(r.qname, r.qtype, r.qclass)
	q.Buf[2] |= 0x01 // RD
	if r.Options.Has(DNSSECCD) {
		q.Buf[3] |= 0x10
	}
	q.Begin(dnsmsg.SectionAR)
	opt := dnsmsg.NewOPT(0, DefaultBufSize)
	if r.do || r.Options.Has(DNSSECWant) {
		dnsmsg.SetOPTDo(opt, true)
	}
	q.Put(opt, false)
	return q
}

// forward sends r upstream through r.Upstream with the produce, checkout
// and consume layers around the query, and copies the answer into r.Answer.
func (g *generation) forward(r *Request) State {
	q := r.UpstreamQuery()
	s := Consume
	for _, l := range g.phases.produce {
		r.layer = l.name
		s = l.l.Produce(r, s, q)
		if s&(Done|Fail) != 0 {
			r.layer = ""
			return s
		}
	}
	var dst netip.AddrPort
	if at, ok := r.Upstream.(addrTransport); ok {
		dst = at.Addr()
	}
	if !dst.IsValid() {
		dst = r.UpstreamAddr
	} else {
		r.UpstreamAddr = dst // stats' upstreams and the layers see where it went
	}
	for _, l := range g.phases.checkout {
		r.layer = l.name
		s = l.l.Checkout(r, s, q, dst, r.Options.Has(FlagTCP))
		if s&(Done|Fail) != 0 {
			r.layer = ""
			return s
		}
	}
	r.layer = ""
	r.Tracef("forwarding to %v", dst)
	var a *dnsmsg.Packet
	var err error
	var sl StaleAnswerer
	var wait time.Duration
	for _, l := range g.phases.stale {
		if wait = l.l.StaleWait(r); wait > 0 {
			sl = l.l
			break
		}
	}
	if sl == nil || r.gen == nil {
		a, err = r.QueryUpstream(r.Upstream, q)
	} else {
		var stale bool
		a, stale, err = g.queryOrStale(r, r.Upstream, q, sl, wait)
		if stale {
			r.Tracef("upstream silent for %v: answered from stale data", wait)
			return Done
		}
	}
	if err != nil {
		r.Tracef("upstream failed: %v", err)
		s = Fail
		for _, l := range g.phases.consume {
			r.layer = l.name
			s = l.l.Consume(r, s, nil)
		}
		r.layer = ""
		if s&Done != 0 {
			return Done
		}
		if r.EDE < 0 {
			if errors.Is(err, ErrOutgoingLimit) {
				r.SetEDE(EDEOther, "outgoing query limit")
			} else {
				r.SetEDE(EDENoReachableAuth, "")
			}
		}
		r.failed = true // SERVFAIL whatever the answer holds
		return Fail
	}
	copyAnswer(r, a)
	if v, ok := r.Upstream.(ValidatingTransport); ok && v.ValidatesAnswers() && a.Buf[3]&0x20 != 0 &&
		(r.do || r.Query.Buf[3]&0x20 != 0) && !r.Options.Has(DNSSECCD) {
		r.Answer.Buf[3] |= 0x20 // RFC 6840 §5.8: AD for a client that set DO or AD
	}
	if g.chainTooLong(r) {
		return Fail // not consumed: nothing caches it
	}
	s = Consume
	for _, l := range g.phases.consume {
		r.layer = l.name
		s = l.l.Consume(r, s, a)
	}
	r.layer = ""
	if s&Fail != 0 {
		return Fail
	}
	return Done
}

// ValidatingTransport is a forwarding transport (Request.Upstream) that
// validates its answers itself (dnsclient.Validating, kresd's validating
// FORWARD): forwarding keeps the AD bit of its answers for a client that
// set DO or AD and not CD, where it clears the AD of an upstream whose word
// it cannot check.
type ValidatingTransport interface {
	ValidatesAnswers() bool
}

// copyAnswer puts the upstream answer a into r.Answer: its RCODE, TC and
// records (not OPT, not TSIG). AA and AD are cleared (forward keeps AD
// from a ValidatingTransport).
func copyAnswer(r *Request, a *dnsmsg.Packet) {
	r.ResetAnswer()
	ans := r.Answer
	r.setRcode(a.Rcode())
	if a.Buf[2]&0x02 != 0 {
		ans.Buf[2] |= 0x02
	}
	for s := dnsmsg.SectionAN; s <= dnsmsg.SectionAR; s++ {
		ans.Begin(s)
		for _, rr := range a.Records(s) {
			if rr.Type == dnsmsg.TypeOPT || rr.Type == dnsmsg.TypeTSIG {
				continue
			}
			if !ans.Put(rr, true) {
				ans.Buf[2] |= 0x02
				return
			}
		}
	}
}

// localNets are the addresses kresd does not send to while iterating unless
// ALLOW_LOCAL is set (SERVE.md §3.6b).
var localNets = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("::/128")}

// IsLocalAddr reports whether a is in 0.0.0.0/8, 127.0.0.0/8, ::1 or ::.
func IsLocalAddr(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range localNets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// MayQueryNameserver reports whether a name server address learned while
// iterating (NS, glue) may be used for r: not a local address unless the
// request has ALLOW_LOCAL (kresd's rule; configured FORWARD/STUB targets
// and root hints are used as given and do not go through this check).
func (r *Request) MayQueryNameserver(a netip.Addr) bool {
	return r.Options.Has(AllowLocal) || !IsLocalAddr(a)
}

// chainTooLong reports whether r.Answer follows more CNAME links (DNAME
// synthesis included: each synthesized CNAME is one link) from the query
// name than Limits.CNAMEChain; such an answer fails (SERVFAIL with an
// extended error), as kresd's iterator refuses chains over its limit. An
// answer that is a SERVFAIL already is left as it is: its producer (the
// resolver, for a CNAME loop: RFC 1034 §3.6.2, Deckard's
// iter_dname_insec) signalled the error and keeps the records it shows.
func (g *generation) chainTooLong(r *Request) bool {
	limit := g.cfg.Limits.CNAMEChain
	if limit <= 0 || r.qtype == dnsmsg.TypeCNAME || r.Rcode() == RcodeServFail {
		return false
	}
	recs := r.Answer.Records(dnsmsg.SectionAN)
	name := dnsmsg.LowerName(append([]byte(nil), r.qname...))
	links := 0
	for links <= limit {
		next := []byte(nil)
		for _, rr := range recs {
			if rr.Type == dnsmsg.TypeCNAME && len(rr.RData) == 1 && bytes.Equal(dnsmsg.LowerName(append([]byte(nil), rr.Owner.Wire...)), name) {
				next = rr.RData[0]
				break
			}
		}
		if next == nil {
			return false
		}
		links++
		name = dnsmsg.LowerName(append([]byte(nil), next...))
	}
	r.Tracef("CNAME chain longer than %d links", limit)
	r.failed = true
	r.SetEDE(EDEOther, "CNAME chain too long")
	return true
}

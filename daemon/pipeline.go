package daemon

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"ljdns/dnsmsg"
)

// RCODEs the pipeline answers with (RFC 1035, 6891, 7873).
const (
	RcodeNoError   = 0
	RcodeFormErr   = 1
	RcodeServFail  = 2
	RcodeNXDomain  = 3
	RcodeNotImp    = 4
	RcodeRefused   = 5
	RcodeBadVers   = 16
	RcodeBadCookie = 23
)

// Opcodes (RFC 1035, 1996, 2136).
const (
	OpcodeQuery  = 0
	OpcodeIQuery = 1
	OpcodeStatus = 2
	OpcodeNotify = 4
	OpcodeUpdate = 5
)

// EDNS option codes the pipeline writes.
const (
	OptionPadding = 12 // RFC 7830
	OptionEDE     = 15 // RFC 8914
)

// Extended DNS error codes the pipeline sets (RFC 8914 §4).
const (
	EDEOther           = 0
	EDEProhibited      = 18
	EDENotReady        = 14
	EDENoReachableAuth = 22
	EDENetworkError    = 23
	EDENotSupported    = 21
)

// PaddingBlock is the response padding block size of RFC 8467 §4.1.
const PaddingBlock = 468

// named pairs a phase function with its module's name (for panics and logs).
type named[T any] struct {
	l    T
	name string
}

// phaseLayers are the layers of one generation, per phase.
type phaseLayers struct {
	begin    []named[Beginner]
	reset    []named[Resetter]
	produce  []named[Producer]
	checkout []named[Checkouter]
	consume  []named[Consumer]
	finish   []named[Finisher]
	finalize []named[AnswerFinalizer]
	stale    []named[StaleAnswerer]
}

func addPhase[T any](dst *[]named[T], l Layer) {
	if f, ok := l.(T); ok {
		*dst = append(*dst, named[T]{f, l.Name()})
	}
}

func buildPhases(layers []Layer) (phaseLayers, bool) {
	var p phaseLayers
	blocking := false
	for _, l := range layers {
		addPhase(&p.begin, l)
		addPhase(&p.reset, l)
		addPhase(&p.produce, l)
		addPhase(&p.checkout, l)
		addPhase(&p.consume, l)
		addPhase(&p.finish, l)
		addPhase(&p.finalize, l)
		addPhase(&p.stale, l)
		if b, ok := l.(Blocker); ok && b.MayBlock() {
			blocking = true
		}
	}
	return p, blocking
}

var requestPool = sync.Pool{New: func() any {
	return &Request{Query: &dnsmsg.Packet{}, Answer: dnsmsg.NewPacket(65535)}
}}

// newRequest takes a request from the pool with wire copied into its query.
func newRequest(wire []byte) *Request {
	r := requestPool.Get().(*Request)
	q := r.Query
	if cap(q.Buf) < len(wire) {
		q.Buf = make([]byte, len(wire), max(len(wire), 512))
	}
	q.Buf = q.Buf[:len(wire)]
	copy(q.Buf, wire)
	q.Size = len(wire)
	return r
}

// release returns r to the pool.
func releaseRequest(r *Request) {
	q, a, v := r.Query, r.Answer, r.Vars
	clear(v) // the map stays for the next request: a Lua layer sets a var on every request
	*r = Request{Query: q, Answer: a, Vars: v}
	requestPool.Put(r)
}

// verdict of the parse step
type verdict int

const (
	proceed verdict = iota
	drop
	answered // r.Answer holds a complete answer (FORMERR, NOTIMP, REFUSED, BADVERS ...)
)

// prepare applies the parse rules of SERVE.md §3 to r.Query: drop short
// packets and responses, FORMERR for malformed queries, NOTIMP for unknown
// opcodes, REFUSED for NOTIFY and UPDATE, EDNS (BADVERS) and cookies.
func (g *generation) prepare(r *Request) verdict {
	q := r.Query
	if q.Size < dnsmsg.HeaderLen || q.Buf[2]&0x80 != 0 { // short, or QR=1
		return drop
	}
	r.EDE = -1
	r.gen = g
	r.Start = time.Now()
	r.Options = g.cfg.Options
	if r.Proto.Stream() {
		r.Options |= FlagTCP
	}
	code := q.Parse(false)
	if code != 0 || q.Count(-1) != 1 {
		g.s.counters.FormErr.Add(1)
		g.errorAnswer(r, RcodeFormErr, false)
		return answered
	}
	switch op := q.Opcode(); op {
	case OpcodeQuery:
	case OpcodeNotify, OpcodeUpdate:
		g.errorAnswer(r, RcodeRefused, true)
		return answered
	default:
		g.errorAnswer(r, RcodeNotImp, true)
		return answered
	}
	if n := q.QNameSize(); n > 0 && q.Buf[dnsmsg.HeaderLen+n-1] == 0 && dnsmsg.HeaderLen+n+4 <= q.Size {
		// the usual uncompressed QNAME: no copy
		end := dnsmsg.HeaderLen + n
		r.qname = q.Buf[dnsmsg.HeaderLen:end:end]
		r.qtype = binary.BigEndian.Uint16(q.Buf[end:])
		r.qclass = binary.BigEndian.Uint16(q.Buf[end+2:])
	} else {
		r.qname, r.qtype, r.qclass, _ = q.Question()
	}
	if opt := q.OPT(); opt != nil {
		r.hasEDNS = true
		r.ednsSize = max(int(opt.Class), 512)
		r.do = dnsmsg.OPTDo(opt)
		if dnsmsg.OPTVersion(opt) > 0 { // RFC 6891 §6.1.3
			g.errorAnswer(r, RcodeBadVers, true)
			return answered
		}
		if d, ok := dnsmsg.EDNSOption(opt, dnsmsg.OptionCookie); ok && !g.cfg.NoCookies {
			switch checkCookie(d, r.Client.Addr(), &g.s.cookieSecret, time.Now()) {
			case cookieMalformed:
				g.s.counters.FormErr.Add(1)
				g.errorAnswer(r, RcodeFormErr, true)
				return answered
			case cookieGood:
				r.serverCookieOK = true
			case cookieBad:
				if g.cfg.StrictCookies && !r.Proto.Stream() {
					// RFC 7873 §5.2.4 with cookies required: BADCOOKIE and a
					// fresh server cookie, no data (as knotd's mod-cookies)
					r.clientCookie = append(r.clientCookie[:0], d[:cookieClientLen]...)
					r.cookieOpt = true
					g.errorAnswer(r, RcodeBadCookie, true)
					return answered
				}
			}
			r.clientCookie = append(r.clientCookie[:0], d[:cookieClientLen]...)
			r.cookieOpt = true
		}
		if _, ok := dnsmsg.EDNSOption(opt, OptionPadding); ok && (r.Proto == DoT || r.Proto == DoH) {
			r.padding = true
		}
	}
	if r.do {
		r.Options |= DNSSECWant
	}
	if q.Buf[3]&0x10 != 0 { // CD
		r.Options |= DNSSECCD
	}
	r.Recursion = g.acl(r.Client.Addr())
	r.ResetAnswer() // the question as read above: ID, QR, RD, CD, RA
	return proceed
}

// errorAnswer makes r.Answer an answer with rcode and no records; the
// question is echoed when withQuestion and the query has a readable one.
func (g *generation) errorAnswer(r *Request, rcode int, withQuestion bool) {
	q, a := r.Query, r.Answer
	a.Clear()
	if withQuestion {
		if qn, qt, qc, ok := q.Question(); ok {
			a.SetQuestion(qn, qt, qc)
		}
	}
	a.SetID(q.ID())
	a.Buf[2] = 0x80 | q.Buf[2]&0x79 // QR, opcode, RD
	a.Buf[3] = q.Buf[3] & 0x10      // CD
	r.setRcode(rcode)
	if opt := q.OPT(); opt != nil && withQuestion {
		r.hasEDNS = true
		r.ednsSize = max(int(opt.Class), 512)
		r.do = dnsmsg.OPTDo(opt)
	}
	r.state = Done
}

// SetRcode sets the answer's RCODE; values above 15 (BADVERS, BADCOOKIE)
// keep their upper bits for the OPT RR the pipeline adds.
func (r *Request) SetRcode(rc int) { r.setRcode(rc) }

func (r *Request) setRcode(rc int) {
	r.Answer.Buf[3] = r.Answer.Buf[3]&^0x0F | byte(rc&0x0F)
	r.rcodeHi = rc >> 4
}

// Rcode returns the answer's RCODE, extended bits included.
func (r *Request) Rcode() int { return int(r.Answer.Buf[3]&0x0F) | r.rcodeHi<<4 }

// ResetAnswer clears r.Answer back to the start of an answer (question, ID,
// QR, RD, CD, RA; no records, NOERROR).
func (r *Request) ResetAnswer() {
	q, a := r.Query, r.Answer
	a.Clear()
	a.SetQuestion(r.qname, r.qtype, r.qclass)
	a.SetID(q.ID())
	a.Buf[2] = 0x80 | q.Buf[2]&0x01 // QR, RD
	a.Buf[3] = q.Buf[3]&0x10 | 0x80 // CD, RA
	r.rcodeHi = 0
}

// begin runs the begin phase: each Beginner until one says Done or Fail.
func (g *generation) begin(r *Request) {
	defer g.catch(r, "begin")
	s := Consume
	for _, l := range g.phases.begin {
		r.layer = l.name
		s = l.l.Begin(r, s)
		if s&(Done|Fail) != 0 {
			break
		}
	}
	r.layer = ""
	if r.Cached && s&Done != 0 && g.chainTooLong(r) { // a chain put together from the cache
		s = Fail
	}
	r.state = s
}

// needsResolve reports whether r still waits for an answer after begin.
func (r *Request) needsResolve() bool { return r.state&(Done|Fail) == 0 }

// resolve answers what begin left open: forwarding, the Resolver, or REFUSED.
func (g *generation) resolve(r *Request) {
	defer g.catch(r, "resolve")
	switch {
	case !r.MayRecurse():
		// SERVE.md §3.7: the cache, forwarding and recursion serve RD=1 clients of the ACL only
		r.setRcode(RcodeRefused)
		if !r.Recursion {
			r.SetEDE(EDEProhibited, "")
		}
		r.state = Done
	case r.Upstream != nil:
		r.state = g.forward(r)
	case g.cfg.Resolver != nil:
		r.state = g.cfg.Resolver.Resolve(r)
		if r.state&Done != 0 && g.chainTooLong(r) {
			r.state = Fail
		}
	default:
		r.setRcode(RcodeRefused) // until recursion exists
		r.state = Done
	}
}

// finishPhases runs Finish then AnswerFinalize of every layer.
func (g *generation) finishPhases(r *Request) {
	defer g.catch(r, "finish")
	s := r.state
	for _, l := range g.phases.finish {
		r.layer = l.name
		s = l.l.Finish(r, s)
	}
	for _, l := range g.phases.finalize {
		r.layer = l.name
		s = l.l.AnswerFinalize(r, s)
	}
	r.layer = ""
	r.state = s
}

// catch turns a panic in a phase into a failed request (SERVFAIL with an
// extended error) and one log line per second at most.
func (g *generation) catch(r *Request, phase string) {
	v := recover()
	if v == nil {
		return
	}
	name := phase
	if r.layer != "" {
		name = r.layer
	}
	r.layer = ""
	g.s.counters.Panics.Add(1)
	g.s.logLimited(name, "system", "%s: %v", name, v)
	r.state = Fail
	r.failed = true
	r.SetEDE(EDEOther, "module "+name+" failed")
}

// encode finishes r.Answer for the wire: the RCODE of a failed request,
// the OPT RR (payload, DO, cookie, extended error, padding) and TC over
// UDP. It returns the bytes to send (nil: send nothing).
func (g *generation) encode(r *Request) []byte {
	if r.Trace != nil {
		defer r.traceEnd()
	}
	if r.Options.Has(NoAnswer) {
		return nil
	}
	if r.messages != nil {
		if r.state&Fail == 0 && !r.failed {
			return r.messages[0] // the stream writes them all (SetMessages)
		}
		r.messages = nil
	}
	a := r.Answer
	if r.state&Fail != 0 && (r.failed || r.Rcode() == RcodeNoError) {
		ede, txt := r.EDE, r.EDEText
		r.ResetAnswer()
		r.setRcode(RcodeServFail)
		r.EDE, r.EDEText = ede, txt
		if r.EDE < 0 {
			r.EDE = EDEOther
		}
	}
	if !r.hasEDNS {
		if r.Proto == UDP && a.Size > 512 {
			g.truncate(r, nil)
		}
		return a.Bytes()
	}
	opt := dnsmsg.NewOPT(0, g.cfg.BufSize)
	opt.TTL |= uint32(r.rcodeHi&0xFF) << 24
	if r.do {
		dnsmsg.SetOPTDo(opt, true)
	}
	if r.cookieOpt && !g.cfg.NoCookies {
		dnsmsg.SetEDNSOption(opt, dnsmsg.OptionCookie, makeCookie(r.clientCookie, r.Client.Addr(), &g.s.cookieSecret, time.Now()))
	}
	for _, o := range r.answerOpts {
		dnsmsg.SetEDNSOption(opt, o.code, o.data)
	}
	if r.EDE >= 0 {
		d := binary.BigEndian.AppendUint16(nil, uint16(r.EDE))
		dnsmsg.SetEDNSOption(opt, OptionEDE, append(d, r.EDEText...))
	}
	if r.padding {
		// RFC 8467 §4.1: pad the whole message to a multiple of 468 bytes
		size := a.Size + 11 + len(opt.RData[0]) + 4
		pad := (PaddingBlock - size%PaddingBlock) % PaddingBlock
		if a.Size+11+len(opt.RData[0])+4+pad <= len(a.Buf) {
			dnsmsg.SetEDNSOption(opt, OptionPadding, make([]byte, pad))
		}
	}
	if a.Section() > dnsmsg.SectionAR || a.Begin(dnsmsg.SectionAR) != nil || !a.Put(opt, true) {
		g.truncate(r, opt)
		return a.Bytes()
	}
	if r.Proto == UDP && a.Size > min(r.ednsSize, g.cfg.BufSize) {
		g.truncate(r, opt)
	}
	return a.Bytes()
}

// truncate cuts r.Answer down to its header and question with TC set (and
// opt, the OPT RR, when the query had EDNS).
func (g *generation) truncate(r *Request, opt *dnsmsg.RRSet) {
	a := r.Answer
	var hdr [4]byte
	copy(hdr[:], a.Buf[:4])
	a.Clear()
	if qn, qt, qc, ok := r.Query.Question(); ok {
		a.SetQuestion(qn, qt, qc)
	}
	copy(a.Buf[:4], hdr[:])
	a.Buf[2] |= 0x02 // TC
	g.s.counters.Truncated.Add(1)
	if opt != nil {
		if r.padding {
			opt = opt.Copy()
			dnsmsg.SetEDNSOption(opt, OptionPadding, nil) // re-padded below
			size := a.Size + 11 + len(opt.RData[0])
			pad := (PaddingBlock - size%PaddingBlock) % PaddingBlock
			dnsmsg.SetEDNSOption(opt, OptionPadding, make([]byte, pad))
		}
		a.Begin(dnsmsg.SectionAR)
		a.Put(opt, true)
	}
}

// runInline processes r on the calling goroutine as far as it may: all of
// it, or up to the point where it must wait (forwarding, a Resolver, a
// layer that may block). It returns the answer (nil: none) and done=true,
// or done=false when the caller must hand r to goAsync. A panic outside the
// layers' phases (which catch their own) drops the request.
func (g *generation) runInline(r *Request) (wire []byte, done bool) {
	defer func() {
		if v := recover(); v != nil {
			g.s.counters.Panics.Add(1)
			g.s.logLimited("pipeline", "system", "request dropped: %v", v)
			wire, done = nil, true
		}
	}()
	switch g.prepare(r) {
	case drop:
		g.s.counters.Dropped.Add(1)
		return nil, true
	case answered:
		return g.encode(r), true
	}
	if g.blocking {
		return nil, false
	}
	r.Ctx = g.ctx
	if g.cfg.Verbose || g.log.Enabled(LevelDebug, "reqdbg") {
		r.Trace = g.tracer(r)
		r.traceStart()
	}
	g.begin(r)
	if r.needsResolve() && r.MayRecurse() && (r.Upstream != nil || g.cfg.Resolver != nil) {
		r.begun = true
		return nil, false
	}
	if r.needsResolve() {
		g.resolve(r)
	}
	g.finishPhases(r)
	return g.encode(r), true
}

// runRest completes a request runInline left open; it may block. A panic
// outside the layers' phases drops the request.
func (g *generation) runRest(r *Request) (wire []byte) {
	defer func() {
		if v := recover(); v != nil {
			g.s.counters.Panics.Add(1)
			g.s.logLimited("pipeline", "system", "request dropped: %v", v)
			wire = nil
		}
	}()
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.RequestTimeout)
	defer cancel()
	r.Ctx = ctx
	if !r.begun {
		if g.cfg.Verbose || g.log.Enabled(LevelDebug, "reqdbg") {
			r.Trace = g.tracer(r)
			r.traceStart()
		}
		g.begin(r)
	}
	if r.needsResolve() {
		g.resolve(r)
	}
	g.finishPhases(r)
	return g.encode(r)
}

// runAll processes r to the end on the calling goroutine.
func (g *generation) runAll(r *Request) []byte {
	switch g.prepare(r) {
	case drop:
		g.s.counters.Dropped.Add(1)
		return nil
	case answered:
		return g.encode(r)
	}
	return g.runRest(r)
}

// traceStart logs the request as it enters the layers.
func (r *Request) traceStart() {
	name := "?"
	if n, err := dnsmsg.NameFromWire(r.qname); err == nil {
		name = (&dnsmsg.Name{Wire: n}).String()
	}
	r.Trace("request '%s' type '%s' from %v over %v, flags %s", name, dnsmsg.TypeString(r.qtype), r.Client, r.Proto, r.Options)
}

// traceEnd logs the answer as it leaves.
func (r *Request) traceEnd() {
	if r.Options.Has(NoAnswer) {
		r.Trace("no answer sent (NO_ANSWER)")
		return
	}
	r.Trace("answer rcode %d, %d bytes, tc=%v, state %v", r.Rcode(), r.Answer.Size, r.Answer.Buf[2]&0x02 != 0, r.state)
}

func (g *generation) tracer(r *Request) func(string, ...any) {
	id := r.Query.ID()
	log := g.log
	return func(format string, args ...any) {
		log.Logf(LevelDebug, "reqdbg", "[%05d] %s", id, fmt.Sprintf(format, args...))
	}
}

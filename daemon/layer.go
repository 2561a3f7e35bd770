package daemon

import (
	"net/netip"
	"time"

	"ljdns/dnsmsg"
)

// Layer is one module's hooks into the request path (kresd's layer API). A
// module implements Name and any of the optional interfaces below; the
// pipeline calls only what a module implements, so a phase a module does
// not define costs nothing (SERVE.md §3 hard point 1).
//
// Order per request: Begin of each layer in Config.Layers order, stopping at
// the first that returns Done or Fail; then, if the answer is still open and
// r.Upstream is set (and r.MayRecurse), forwarding: Produce, Checkout, the
// upstream query, Consume, per upstream query; otherwise a Resolver, or
// REFUSED; then Finish and AnswerFinalize of every layer; then the write.
// The state passed in is the current one; the value returned becomes it.
type Layer interface {
	Name() string // the module name (kresd's modules.list())
}

// Beginner is a layer with kresd's begin: it sees the request first and may
// answer it (hints, policy, authoritative zones, caches) by returning Done.
type Beginner interface {
	Begin(r *Request, s State) State
}

// Resetter is a layer with kresd's reset, called before each upstream query
// after the first (a retry or the next upstream).
type Resetter interface {
	Reset(r *Request, s State) State
}

// Producer is a layer with kresd's produce, called with each upstream query
// q before it is sent; q may be changed. Returning Done or Fail skips the
// upstream query (a Done must leave the answer in r.Answer).
type Producer interface {
	Produce(r *Request, s State, q *dnsmsg.Packet) State
}

// Checkouter is a layer with kresd's checkout, called just before q goes to
// dst (zero when the transport does not tell) over TCP or not.
type Checkouter interface {
	Checkout(r *Request, s State, q *dnsmsg.Packet, dst netip.AddrPort, tcp bool) State
}

// Consumer is a layer with kresd's consume, called with each upstream answer
// a. When the upstream failed, a is nil and s is Fail: a layer (serve_stale)
// may then fill r.Answer and return Done.
type Consumer interface {
	Consume(r *Request, s State, a *dnsmsg.Packet) State
}

// StaleAnswerer is a layer that may answer from expired data while the
// upstream is slow (serve_stale's timeout, RFC 8767 §5 "client response
// timer"). Forwarding asks StaleWait before the upstream query: when it
// returns d > 0 the query runs while forwarding waits at most d, then
// calls AnswerStale; when that answers (true, r.Answer filled), the
// request is Done and the upstream query goes on, its answer, if it
// comes, given to Refresh instead of the client (r is gone by then).
// An upstream that fails before d still reaches the Consumers as usual.
type StaleAnswerer interface {
	StaleWait(r *Request) time.Duration
	AnswerStale(r *Request) bool
	Refresh(qname []byte, qtype, qclass uint16, do bool, a *dnsmsg.Packet)
}

// Finisher is a layer with kresd's finish, called for every request that is
// answered or dropped (stats, policy's finish rules, rrl).
type Finisher interface {
	Finish(r *Request, s State) State
}

// AnswerFinalizer is a layer with kresd's answer_finalize, the last look at
// the answer before the pipeline adds EDNS and writes it.
type AnswerFinalizer interface {
	AnswerFinalize(r *Request, s State) State
}

// Resolver answers what no layer answered and no upstream was set for
// (recursion, its own issue). Without one such queries get REFUSED.
type Resolver interface {
	Resolve(r *Request) State
}

// Closer is a layer with kresd's deinit: called once when the configuration
// that holds it has been replaced (after the drain) or the server stops.
type Closer interface {
	Close() error
}

// Blocker is a layer whose calls may block for long (a Lua layer waiting
// for its coroutine, I/O): the pipeline then runs every request on a
// goroutine of its own instead of on the socket's reader. Layers that do not
// implement it are assumed quick.
type Blocker interface {
	MayBlock() bool
}

package daemon

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"ljdns/dnsclient"
	"ljdns/dnsmsg"
)

// State is a layer's verdict on a request, with kresd's values (kres.CONSUME ...).
type State int

// The states of kresd's layer API (lib/layer.h).
const (
	Consume State = 1  // go on: the request still needs an answer
	Produce State = 2  // a query is to be produced (kresd); treated as Consume here
	Done    State = 4  // the answer is complete: later phases only finish it
	Fail    State = 8  // the request failed: the answer becomes SERVFAIL unless a layer set an rcode
	Yield   State = 16 // kresd's paused state; a Go or Lua layer blocks instead of returning it
)

// String returns kresd's name of s (CONSUME, DONE, ...), or the number.
func (s State) String() string {
	switch s {
	case Consume:
		return "CONSUME"
	case Produce:
		return "PRODUCE"
	case Done:
		return "DONE"
	case Fail:
		return "FAIL"
	case Yield:
		return "YIELD"
	}
	return "STATE(" + itoa(int(s)) + ")"
}

// Proto is the transport a request arrived on.
type Proto int

// Transports of a request.
const (
	UDP Proto = iota // plain DNS over UDP
	TCP              // plain DNS over TCP (RFC 7766)
	DoT              // DNS over TLS (RFC 7858)
	DoH              // DNS over HTTPS (RFC 8484)
)

// String returns "udp", "tcp", "dot" or "doh" (stats' request.* suffixes).
func (p Proto) String() string {
	switch p {
	case UDP:
		return "udp"
	case TCP:
		return "tcp"
	case DoT:
		return "dot"
	case DoH:
		return "doh"
	}
	return "proto(" + itoa(int(p)) + ")"
}

// Stream reports whether p is a stream transport (no truncation).
func (p Proto) Stream() bool { return p != UDP }

// Flags are kresd's request flags (struct kr_qflags), one bit each.
type Flags uint64

// kresd 5's request flags, in kr_qflags order.
const (
	NoMinimize Flags = 1 << iota
	NoIPv6
	NoIPv4
	FlagTCP
	NoAnswer // answer nothing at all (policy.NO_ANSWER, DROP of older kresd)
	Resolved
	AwaitIPv4
	AwaitIPv6
	AwaitCut
	NoEDNS
	Cached // the answer came from the cache
	NoCache
	Expiring
	AllowLocal // iteration may use name servers in local ranges (SERVE.md §3.6b)
	DNSSECWant
	DNSSECBogus
	DNSSECInsecure
	DNSSECCD
	Stub
	AlwaysCut
	DNSSECWExpand
	Permissive
	Strict
	BadCookieAgain
	CNAME
	ReorderRR
	Trace
	No0x20
	DNSSECNoDS
	DNSSECOptOut
	NonAuth
	Forward
	DNS64Mark
	CacheTried
	NoNSFound
	PktIsSane
	DNS64Disable
)

// FlagNames lists kresd's names of the flags, bit 0 first (kres.mk_qflags).
var FlagNames = []string{"NO_MINIMIZE", "NO_IPV6", "NO_IPV4", "TCP", "NO_ANSWER", "RESOLVED",
	"AWAIT_IPV4", "AWAIT_IPV6", "AWAIT_CUT", "NO_EDNS", "CACHED", "NO_CACHE", "EXPIRING",
	"ALLOW_LOCAL", "DNSSEC_WANT", "DNSSEC_BOGUS", "DNSSEC_INSECURE", "DNSSEC_CD", "STUB",
	"ALWAYS_CUT", "DNSSEC_WEXPAND", "PERMISSIVE", "STRICT", "BADCOOKIE_AGAIN", "CNAME",
	"REORDER_RR", "TRACE", "NO_0X20", "DNSSEC_NODS", "DNSSEC_OPTOUT", "NONAUTH", "FORWARD",
	"DNS64_MARK", "CACHE_TRIED", "NO_NS_FOUND", "PKT_IS_SANE", "DNS64_DISABLE"}

// FlagByName returns the flag named name (kresd's spelling, case-insensitive).
func FlagByName(name string) (Flags, bool) {
	for i, n := range FlagNames {
		if strings.EqualFold(n, name) {
			return 1 << i, true
		}
	}
	return 0, false
}

// Has reports whether every flag of x is set in f.
func (f Flags) Has(x Flags) bool { return f&x == x }

// String lists the set flags by kresd's names, space-separated.
func (f Flags) String() string {
	var b strings.Builder
	for i, n := range FlagNames {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

// Request is one client query in the pipeline. Layers read Query and build
// Answer; the pipeline adds the OPT RR (EDNS, cookies, extended error,
// padding) and truncates when it writes the answer, so layers never put an
// OPT RR into Answer.
type Request struct {
	Query  *dnsmsg.Packet // parsed; never modified by layers
	Answer *dnsmsg.Packet // started as the answer to Query (ID, question, QR, RD copied, RA set); built by layers

	Client netip.AddrPort // the peer (for DoH the TCP peer)
	Local  netip.AddrPort // the address the query arrived at
	Proto  Proto
	Worker int // index of the worker whose socket received the query (0..Workers-1)

	Options   Flags  // kresd's request flags; starts as Config.Options (option('ALLOW_LOCAL', true) ...)
	View      string // set by view
	Recursion bool   // the client is in the recursion ACL (the view module may change it)

	EDE     int    // RFC 8914 extended error code for the answer; -1: none
	EDEText string // its EXTRA-TEXT

	// Upstream, when a layer sets it (policy FORWARD/STUB/TLS_FORWARD), is where the
	// pipeline forwards the query after the begin phase.
	Upstream dnsclient.Transport
	// UpstreamAddr is the upstream's address as Checkout sees it (zero when unknown).
	UpstreamAddr netip.AddrPort

	Vars  map[string]any                   // per-request module data (kresd's req.vars), empty (or nil) until a layer sets one
	Ctx   context.Context                  // cancelled at the request's deadline or when the server stops
	Trace func(format string, args ...any) // non-nil when the request is traced (verbose(true), QTRACE)

	Start     time.Time // arrival time
	Cacheable bool      // a layer marks an answer it made as fit for the packet cache
	Cached    bool      // the answer came from a cache (stats' answer.cached)

	// Upstreams counts the upstream queries made for this request (Limits.OutgoingPerRequest).
	Upstreams int
	// UpstreamRTT is how long the last upstream query took (QueryUpstream), for stats' upstreams.
	UpstreamRTT time.Duration

	qname          []byte
	qtype, qclass  uint16
	ednsSize       int  // client's EDNS UDP size; 0 without EDNS
	do             bool // DO bit in the query
	hasEDNS        bool
	clientCookie   []byte
	serverCookieOK bool
	cookieOpt      bool
	padding        bool // pad the answer (RFC 8467) when the query asked for it over an encrypted transport
	state          State
	rcodeHi        int         // RCODE bits above the header's four
	layer          string      // the module being called (for panics)
	failed         bool        // a phase panicked
	begun          bool        // the begin phase ran inline
	multiOK        bool        // the transport writes several messages for this request (TCP, DoT)
	messages       [][]byte    // SetMessages: written instead of Answer
	answerOpts     []answerOpt // AddAnswerOption: extra EDNS options of the answer

	// transport-specific reply state
	conn any            // the listener's connection the answer goes back on
	peer netip.AddrPort // UDP: the client's address as received (IPv4-mapped on an IPv6 socket)
	oob  []byte         // UDP: control data naming our source address
	gen  *generation
}

// answerOpt is one EDNS option a layer adds to the answer (AddAnswerOption).
type answerOpt struct {
	code int
	data []byte
}

// AddAnswerOption adds an EDNS option (e.g. NSID, RFC 5001) to the answer's
// OPT RR; it is written only when the query had EDNS. data is copied.
func (r *Request) AddAnswerOption(code int, data []byte) {
	r.answerOpts = append(r.answerOpts, answerOpt{code, append([]byte(nil), data...)})
}

// QName returns the query's QNAME in wire form (as received, not lowercased),
// valid during the request only.
func (r *Request) QName() []byte { return r.qname }

// QType returns the query's QTYPE.
func (r *Request) QType() uint16 { return r.qtype }

// QClass returns the query's QCLASS.
func (r *Request) QClass() uint16 { return r.qclass }

// EDNS reports whether the query had an OPT RR, and its UDP payload size.
func (r *Request) EDNS() (bool, int) { return r.hasEDNS, r.ednsSize }

// DO reports whether the query set the DNSSEC OK bit.
func (r *Request) DO() bool { return r.do }

// RD reports whether the query asked for recursion.
func (r *Request) RD() bool { return r.Query.Flag("rd") }

// MayRecurse reports whether the cache, forwarding and recursion may answer
// r: RD=1 and a client in the recursion ACL (SERVE.md §3.7).
func (r *Request) MayRecurse() bool { return r.Recursion && r.RD() }

// State returns the request's current state (after the phase that ran last).
func (r *Request) State() State { return r.state }

// SetEDE sets the RFC 8914 extended error of the answer.
func (r *Request) SetEDE(code int, text string) { r.EDE, r.EDEText = code, text }

// SetMessages answers r with msgs, complete DNS messages written in order
// and as they are (the pipeline adds no OPT RR, cookie or padding and does
// not truncate), in place of Answer: a zone transfer's stream (RFC 5936
// §2.2). It reports false, and changes nothing, where the transport carries
// one message per query (UDP, DoH, Exchange): the layer must answer in
// Answer then. A layer that calls it returns Done; the later phases still
// run (Answer keeps the rcode they see), and a request that fails or is
// set NO_ANSWER afterwards writes nothing of msgs.
func (r *Request) SetMessages(msgs [][]byte) bool {
	if !r.multiOK || len(msgs) == 0 {
		return false
	}
	r.messages = msgs
	return true
}

// AnswerRoom returns how many bytes Answer may take for the pipeline to
// write it untruncated: the client's limit over UDP (its EDNS payload size
// capped by Config.BufSize, 512 without EDNS), 65535 over streams, less the
// OPT RR the pipeline adds (with the server cookie and the extended error
// set so far). A layer that writes its own truncated answer (TC with the
// sets that fit) stays within it.
func (r *Request) AnswerRoom() int {
	limit := 65535
	if r.Proto == UDP {
		limit = 512
		if r.hasEDNS {
			limit = max(512, min(r.ednsSize, r.gen.cfg.BufSize))
		}
	}
	if r.hasEDNS {
		limit -= 11 // OPT RR without options
		if r.cookieOpt && !r.gen.cfg.NoCookies {
			limit -= 4 + cookieClientLen + cookieServerLen
		}
		if r.EDE >= 0 {
			limit -= 4 + 2 + len(r.EDEText)
		}
	}
	return limit
}

// Var returns the per-request value key (nil if unset).
func (r *Request) Var(key string) any { return r.Vars[key] }

// SetVar sets a per-request value.
func (r *Request) SetVar(key string, v any) {
	if r.Vars == nil {
		r.Vars = map[string]any{}
	}
	r.Vars[key] = v
}

// Tracef logs through r.Trace when the request is traced.
func (r *Request) Tracef(format string, args ...any) {
	if r.Trace != nil {
		r.Trace(format, args...)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

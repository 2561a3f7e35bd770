package dnsclient

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"ljdns/dnsmsg"
)

// Transport answers queries. Every transport and wrapper of this package
// implements it.
type Transport interface {
	// Query sends q and returns its single answer. q is not modified; the
	// ID on the wire is the transport's own random one, and the answer
	// handed back carries q's ID. A query whose answer is multi-message
	// (AXFR, IXFR) is an error here (ErrMultiMessage): use Stream.
	Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error)
	// Stream sends q and calls fn for each message of its answer until the
	// last (AXFR ends with the second copy of the first SOA); a
	// single-message answer makes one call. fn returning an error stops
	// the stream with that error.
	Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error
	// Close releases the transport's sockets; queries after it fail with
	// ErrClosed.
	Close() error
}

// Errors of the transports, wrapped with details (test with errors.Is).
var (
	// ErrTimeout: no acceptable answer came within the configured time.
	ErrTimeout = errors.New("dnsclient: timeout")
	// ErrRefusedByPolicy: the destination is outside LJDNS_OUTGOING_ALLOW.
	ErrRefusedByPolicy = errors.New("dnsclient: destination not allowed by LJDNS_OUTGOING_ALLOW")
	// ErrMultiMessage: Query was called for AXFR or IXFR; use Stream.
	ErrMultiMessage = errors.New("dnsclient: multi-message answer (AXFR/IXFR), use Stream")
	// ErrBadQuery: the query does not parse or has no question.
	ErrBadQuery = errors.New("dnsclient: malformed query")
	// ErrConnClosed: the stream connection closed before the answer came.
	ErrConnClosed = errors.New("dnsclient: connection closed")
	// ErrClosed: the transport was closed.
	ErrClosed = errors.New("dnsclient: transport closed")
	// ErrTooManyOutstanding: a stream connection has no free message ID.
	ErrTooManyOutstanding = errors.New("dnsclient: too many outstanding queries on the connection")
	// ErrNoTransport: a redundant transport has no upstream.
	ErrNoTransport = errors.New("dnsclient: no upstream transport")
	// ErrRcode: a transfer (Stream) ended with an error RCODE.
	ErrRcode = errors.New("dnsclient: error rcode")
	// ErrTSIG: a TSIG-signed answer is missing its signature or fails
	// verification.
	ErrTSIG = errors.New("dnsclient: tsig verification failed")
	// ErrXFR: a zone transfer stream is malformed.
	ErrXFR = errors.New("dnsclient: malformed transfer")
	// ErrTLS: the TLS handshake or the server's authentication failed.
	ErrTLS = errors.New("dnsclient: tls")
)

// DNS numbers used here that dnsmsg does not name.
const (
	typeIXFR       = 251
	typeAXFR       = 252
	rcodeServFail  = 2
	rcodeNXDomain  = 3
	rcodeRefused   = 5
	rcodeNotAuth   = 9
	rcodeBadCookie = 23
	optKeepalive   = 11 // edns-tcp-keepalive, RFC 7828
	opcodeQuery    = 0
)

// ParseAddr parses a server address: "127.0.0.1#53", "127.0.0.1@53",
// "127.0.0.1:53", "[::1]:53", "::1#53", or an address alone (port
// defPort). Host names are not resolved here.
func ParseAddr(s string, defPort uint16) (netip.AddrPort, error) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return unmapPort(ap), nil
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a.Unmap(), defPort), nil
	}
	if i := strings.LastIndexAny(s, "#@"); i > 0 {
		a, err := netip.ParseAddr(strings.Trim(s[:i], "[]"))
		if err == nil {
			p, perr := strconv.ParseUint(s[i+1:], 10, 16)
			if perr == nil {
				return netip.AddrPortFrom(a.Unmap(), uint16(p)), nil
			}
		}
	}
	return netip.AddrPort{}, fmt.Errorf("dnsclient: bad server address %q (want an IP address with optional #port)", s)
}

func unmapPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// serverAddr parses addr and checks it against the outgoing policy.
func serverAddr(addr string, defPort uint16) (netip.AddrPort, error) {
	ap, err := ParseAddr(addr, defPort)
	if err != nil {
		return ap, err
	}
	if err := checkAllowed(ap.Addr()); err != nil {
		return ap, err
	}
	return ap, nil
}

// NewQuery returns a query for name (presentation format) and qtype with
// RD and AD set, as dig sends it, and a random ID.
func NewQuery(name string, qtype uint16) (*dnsmsg.Packet, error) {
	n, err := dnsmsg.NameFromText(name)
	if err != nil {
		return nil, fmt.Errorf("dnsclient: bad name %q: %w", name, err)
	}
	q := dnsmsg.NewPacket(dnsmsg.HeaderLen + len(n.Wire) + 4)
	if _, err := q.SetQuestion(n.Wire, qtype, dnsmsg.ClassINET); err != nil {
		return nil, err
	}
	q.SetFlag("rd", true)
	q.SetFlag("ad", true)
	return q, nil
}

// isMulti reports whether q asks for a multi-message answer (AXFR, IXFR).
func isMulti(q *dnsmsg.Packet) bool { return isMultiWire(q.Bytes()) }

// clampDur returns d limited to [lo, hi], or def when d is zero.
func clampDur(d, def, lo, hi time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return min(max(d, lo), hi)
}

// clampInt returns v limited to [lo, hi], or def when v is zero.
func clampInt(v, def, lo, hi int) int {
	if v == 0 {
		return def
	}
	return min(max(v, lo), hi)
}

// deadline returns the earlier of ctx's deadline and now+d.
func deadline(ctx context.Context, d time.Duration) time.Time {
	t := time.Now().Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
		return dl
	}
	return t
}

// ctxErr maps a context error to ErrTimeout for deadlines, keeping
// cancellation as is.
func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (context deadline)", ErrTimeout)
	}
	return ctx.Err()
}

// streamByQuery implements Stream for transports whose answers are single
// messages: one Query, one call of fn.
func streamByQuery(ctx context.Context, t Transport, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	a, err := t.Query(ctx, q)
	if err != nil {
		return err
	}
	return fn(a)
}

// rcodeName returns the mnemonic of an RCODE ("SERVFAIL"), or its number.
func rcodeName(rc int) string {
	if s, ok := mdns.RcodeToString[rc]; ok {
		return s
	}
	return strconv.Itoa(rc)
}

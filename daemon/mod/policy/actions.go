package policy

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"

	"ljdns/daemon"
	"ljdns/dnsclient"
	"ljdns/dnsmsg"
)

// EDE codes kresd's actions use (RFC 8914).
const (
	EDEForged       = 4
	EDEBlocked      = 15
	EDEProhibited   = 18
	EDENotSupported = 21
)

// soaRData is kresd's synthesized SOA: mname, nobody.invalid., 1 3600 1200 604800 10800.
func soaRData(mname []byte) []byte {
	rd := append([]byte(nil), mname...)
	rd = append(rd, "\x06nobody\x07invalid\x00"...)
	for _, v := range []uint32{1, 3600, 1200, 604800, 10800} {
		rd = binary.BigEndian.AppendUint32(rd, v)
	}
	return rd
}

func put(r *daemon.Request, owner []byte, t uint16, ttl uint32, rdata ...[]byte) {
	r.Answer.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: owner}, Type: t, Class: r.QClass(), TTL: ttl, RData: rdata}, false)
}

func authHeader(r *daemon.Request) {
	r.ResetAnswer()
	r.Answer.Buf[2] |= 0x04 // AA
}

// PASS stops the rules and lets the query go on (policy.PASS).
func PASS(r *daemon.Request, s daemon.State) daemon.State { return s }

// DenyMsg is DENY_MSG(msg, ede): an authoritative NXDOMAIN with kresd's SOA
// owned by the query name, the message as a TXT of explanation.invalid. in
// the additional section, and the extended error (default Blocked).
func DenyMsg(msg string, ede int) Action {
	if ede < 0 {
		ede = EDEBlocked
	}
	var txt []byte
	if msg != "" {
		for m := msg; ; {
			n := min(len(m), 255)
			txt = append(txt, byte(n))
			txt = append(txt, m[:n]...)
			m = m[n:]
			if m == "" {
				break
			}
		}
	}
	return func(r *daemon.Request, s daemon.State) daemon.State {
		authHeader(r)
		r.SetRcode(3)
		r.Answer.Begin(dnsmsg.SectionNS)
		q := r.QName()
		put(r, q, dnsmsg.TypeSOA, 10800, soaRData(q))
		if txt != nil {
			r.Answer.Begin(dnsmsg.SectionAR)
			put(r, []byte("\x0bexplanation\x07invalid\x00"), dnsmsg.TypeTXT, 10800, txt)
		}
		r.SetEDE(ede, "CR36")
		return daemon.Done
	}
}

// DENY is DENY_MSG() (kresd 5).
var DENY = DenyMsg("", -1)

// DROP answers SERVFAIL (kresd 5's historical DROP), EDE Prohibited.
func DROP(r *daemon.Request, s daemon.State) daemon.State {
	r.ResetAnswer()
	r.SetRcode(2)
	r.SetEDE(EDEProhibited, "U5KL")
	return daemon.Done
}

// REFUSE answers REFUSED.
func REFUSE(r *daemon.Request, s daemon.State) daemon.State {
	r.ResetAnswer()
	r.SetRcode(5)
	r.SetEDE(EDEProhibited, "EIM4")
	return daemon.Done
}

// NO_ANSWER sends nothing back.
func NO_ANSWER(r *daemon.Request, s daemon.State) daemon.State {
	r.Options |= daemon.NoAnswer
	return daemon.Done
}

// TC answers over UDP with an empty truncated answer; over streams it only
// stops the rules.
func TC(r *daemon.Request, s daemon.State) daemon.State {
	if r.Proto != daemon.UDP {
		return s
	}
	r.ResetAnswer()
	r.Answer.Buf[2] |= 0x02
	return daemon.Done
}

// Data is one type's answer of ANSWER.
type Data struct {
	RData [][]byte
	TTL   uint32 // default 1 (kresd)
}

// ANSWER answers authoritatively from table by the query type; a type not
// in it gives NODATA when nodata is set, else the rule chains on.
func ANSWER(table map[uint16]Data, nodata bool) Action {
	return func(r *daemon.Request, s daemon.State) daemon.State {
		d, ok := table[r.QType()]
		if !ok && !nodata {
			return 0
		}
		authHeader(r)
		q := r.QName()
		if ok {
			ttl := d.TTL
			r.Answer.Begin(dnsmsg.SectionAN)
			put(r, q, r.QType(), ttl, d.RData...)
		} else {
			r.Answer.Begin(dnsmsg.SectionNS)
			put(r, q, dnsmsg.TypeSOA, 1, soaRData(q))
		}
		r.SetEDE(EDEForged, "5DO5")
		return daemon.Done
	}
}

// ParseAddr reads kresd's 'ip', 'ip@port' and 'ip#port'.
func ParseAddr(s string, defPort uint16) (netip.AddrPort, error) {
	host, port := s, defPort
	if i := strings.LastIndexAny(s, "@#"); i >= 0 {
		p, err := strconv.ParseUint(s[i+1:], 10, 16)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("policy: bad port in %q", s)
		}
		host, port = s[:i], uint16(p)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("policy: %q is not an IP address", s)
	}
	return netip.AddrPortFrom(a, port), nil
}

// forwardTo returns an action sending the query to t.
func forwardTo(t dnsclient.Transport, flag daemon.Flags) Action {
	return func(r *daemon.Request, s daemon.State) daemon.State {
		r.Upstream = t
		r.Options |= flag
		return s
	}
}

// lazyTransport makes its transport on first use, so that a configuration
// naming upstreams outside LJDNS_OUTGOING_ALLOW still loads (kresd checks
// nothing there either); the queries then fail.
type lazyTransport struct {
	once sync.Once
	mk   func() (dnsclient.Transport, error)
	t    dnsclient.Transport
	err  error
	mu   sync.Mutex
	done bool
	addr netip.AddrPort
}

func lazy(ap netip.AddrPort, mk func() (dnsclient.Transport, error)) *lazyTransport {
	return &lazyTransport{mk: mk, addr: ap}
}

// Addr returns the upstream's address.
func (l *lazyTransport) Addr() netip.AddrPort { return l.addr }

func (l *lazyTransport) get() (dnsclient.Transport, error) {
	l.once.Do(func() {
		l.t, l.err = l.mk()
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	})
	return l.t, l.err
}

// Query sends q through the transport, made on first use.
func (l *lazyTransport) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	t, err := l.get()
	if err != nil {
		return nil, err
	}
	return t.Query(ctx, q)
}

// Stream streams q through the transport.
func (l *lazyTransport) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	t, err := l.get()
	if err != nil {
		return err
	}
	return t.Stream(ctx, q, fn)
}

// Close closes the transport if it was made.
func (l *lazyTransport) Close() error {
	l.mu.Lock()
	done := l.done
	l.mu.Unlock()
	if done && l.t != nil {
		return l.t.Close()
	}
	return nil
}

// Upstreams builds one transport over addrs (fastest first when several).
func upstreams(ts []dnsclient.Transport) (dnsclient.Transport, error) {
	if len(ts) == 1 {
		return ts[0], nil
	}
	return dnsclient.NewRedundant(ts, dnsclient.RedundantOptions{})
}

// Forward is FORWARD(addrs) (kind "forward") or STUB(addrs) (kind "stub"):
// UDP with TCP on truncation, to up to 4 addresses. It returns the action
// and the transport (close it when the rule goes away).
func Forward(addrs []string, stub bool) (Action, dnsclient.Transport, error) {
	if len(addrs) == 0 || len(addrs) > 4 {
		return nil, nil, fmt.Errorf("policy: 1 to 4 addresses expected, got %d", len(addrs))
	}
	var ts []dnsclient.Transport
	for _, s := range addrs {
		ap, err := ParseAddr(s, 53)
		if err != nil {
			return nil, nil, err
		}
		ts = append(ts, lazy(ap, func() (dnsclient.Transport, error) {
			return dnsclient.NewDgramStream(ap.String(), dnsclient.DgramStreamOptions{})
		}))
	}
	t, err := upstreams(ts)
	if err != nil {
		return nil, nil, err
	}
	return ForwardVia(t, stub), t, nil
}

// ForwardVia is FORWARD (STUB when stub is set) through a transport the
// caller made: a program with transports of its own (a validating one,
// the replay runner's in-memory network) composes the action with it.
func ForwardVia(t dnsclient.Transport, stub bool) Action {
	flag := daemon.Forward
	if stub {
		flag = daemon.Stub
	}
	return forwardTo(t, flag)
}

// TLSTarget is one TLS_FORWARD target.
type TLSTarget struct {
	Addr     string // ip[@port], default port 853
	Hostname string
	CAFile   string
	Pins     []string // base64 SHA-256 SPKI pins
	Insecure bool
}

// TLSForward is TLS_FORWARD(targets): DNS over TLS, no fallback to clear
// text. Each target needs a hostname, a pin or Insecure; an address given
// twice is an error.
func TLSForward(targets []TLSTarget) (Action, dnsclient.Transport, error) {
	if len(targets) == 0 || len(targets) > 4 {
		return nil, nil, fmt.Errorf("policy: 1 to 4 TLS_FORWARD targets expected, got %d", len(targets))
	}
	seen := map[netip.AddrPort]bool{}
	var ts []dnsclient.Transport
	for _, tg := range targets {
		ap, err := ParseAddr(tg.Addr, 853)
		if err != nil {
			return nil, nil, err
		}
		if seen[ap] {
			return nil, nil, fmt.Errorf("policy: TLS_FORWARD target %v given twice", ap)
		}
		seen[ap] = true
		if tg.Hostname == "" && len(tg.Pins) == 0 && !tg.Insecure {
			return nil, nil, fmt.Errorf("policy: TLS_FORWARD target %v needs hostname, pin_sha256 or insecure=true", ap)
		}
		for _, pin := range tg.Pins {
			if b, err := base64.StdEncoding.DecodeString(pin); err != nil || len(b) != 32 {
				return nil, nil, fmt.Errorf("policy: TLS_FORWARD target %v: pin_sha256 %q is not the base64 of a SHA-256 digest", ap, pin)
			}
		}
		if tg.CAFile != "" {
			if _, err := os.ReadFile(tg.CAFile); err != nil {
				return nil, nil, fmt.Errorf("policy: TLS_FORWARD target %v: ca_file: %v", ap, err)
			}
		}
		o := dnsclient.StreamOptions{TLS: &dnsclient.TLSOptions{Hostname: tg.Hostname, CAFile: tg.CAFile, Pins: tg.Pins}}
		if tg.Insecure && tg.Hostname == "" && len(tg.Pins) == 0 {
			o.TLS = &dnsclient.TLSOptions{}
		}
		ts = append(ts, lazy(ap, func() (dnsclient.Transport, error) { return dnsclient.NewMultiStream(ap.String(), o) }))
	}
	t, err := upstreams(ts)
	if err != nil {
		return nil, nil, err
	}
	return forwardTo(t, daemon.Forward), t, nil
}

// MIRROR sends a copy of the query over UDP to addr and chains on (the
// answer is not read).
func MIRROR(addr string) (Action, error) {
	ap, err := ParseAddr(addr, 53)
	if err != nil {
		return nil, err
	}
	return func(r *daemon.Request, s daemon.State) daemon.State {
		w := append([]byte(nil), r.Query.Bytes()...)
		go func() {
			c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap))
			if err != nil {
				return
			}
			c.Write(w)
			c.Close()
		}()
		return 0
	}, nil
}

// FLAGS sets and clears request flags and chains on.
func FLAGS(set, clear daemon.Flags) Action {
	return func(r *daemon.Request, s daemon.State) daemon.State {
		r.Options = (r.Options | set) &^ clear
		return 0
	}
}

// QTRACE traces the request (upstream answers included) through log and
// chains on; DEBUG_ALWAYS does the same for the whole request.
func QTRACE(log func(format string, args ...any)) Action {
	return func(r *daemon.Request, s daemon.State) daemon.State {
		if r.Trace == nil {
			r.Trace = log
		}
		return 0
	}
}

// DEBUG_ALWAYS is QTRACE for every line of the request.
func DEBUG_ALWAYS(log func(format string, args ...any)) Action { return QTRACE(log) }

// REROUTE rewrites A/AAAA answers in the given prefixes to the same host
// in the target prefixes (a postrule; kresd's REROUTE, also used by
// RENUMBER).
func REROUTE(m map[netip.Prefix]netip.Prefix) Action {
	return func(r *daemon.Request, s daemon.State) daemon.State {
		rewrite := func(rd []byte) []byte {
			a, ok := netip.AddrFromSlice(rd)
			if !ok {
				return rd
			}
			for from, to := range m {
				if from.Contains(a) && from.Addr().BitLen() == to.Addr().BitLen() {
					src, dst := a.AsSlice(), to.Addr().AsSlice()
					out := append([]byte(nil), src...)
					bits := to.Bits()
					for i := range out {
						mask := byte(0)
						switch {
						case bits >= 8*(i+1):
							mask = 0xFF
						case bits > 8*i:
							mask = byte(0xFF << (8 - (bits - 8*i)))
						}
						out[i] = dst[i]&mask | src[i]&^mask
					}
					return out
				}
			}
			return rd
		}
		var secs [3][]*dnsmsg.RRSet
		changed := false
		for sec := dnsmsg.SectionAN; sec <= dnsmsg.SectionAR; sec++ {
			for _, rr := range r.Answer.Records(sec) {
				if rr.Type == dnsmsg.TypeOPT {
					continue
				}
				cp := rr.Copy()
				if cp.Type == dnsmsg.TypeA || cp.Type == dnsmsg.TypeAAAA {
					for i, rd := range cp.RData {
						if nw := rewrite(rd); &nw[0] != &rd[0] {
							cp.RData[i] = nw
							changed = true
						}
					}
				}
				secs[sec] = append(secs[sec], cp)
			}
		}
		if !changed {
			return 0
		}
		b2, b3, rc := r.Answer.Buf[2], r.Answer.Buf[3], r.Rcode()
		r.ResetAnswer()
		r.Answer.Buf[2], r.Answer.Buf[3] = b2, b3
		r.SetRcode(rc)
		for sec := dnsmsg.SectionAN; sec <= dnsmsg.SectionAR; sec++ {
			r.Answer.Begin(sec)
			for _, rr := range secs[sec] {
				r.Answer.Put(rr, false)
			}
		}
		return 0
	}
}

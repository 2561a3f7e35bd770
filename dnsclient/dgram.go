package dnsclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"ljdns/dnsmsg"
)

// DgramOptions configures a Dgram transport. Zero values give the default
// in brackets; values out of range are clamped, as domain does.
type DgramOptions struct {
	Timeout        time.Duration // wait for an answer after each send [5 s] (1 ms..60 s)
	Retries        int           // sends after the first on timeout [5] (0..100); negative: none
	UDPPayloadSize int           // EDNS payload of the OPT added to queries without one [1232]; negative: add no OPT
	MaxParallel    int           // queries in flight, more wait [100] (1..1000)
	RecvSize       int           // receive buffer [2000], raised to the query's own payload size
	NoCookies      bool          // send no DNS cookie (RFC 7873) [cookies on]
}

const (
	defaultDgramTimeout = 5 * time.Second
	defaultRetries      = 5
	defaultUDPPayload   = 1232
	defaultMaxParallel  = 100
	defaultRecvSize     = 2000
)

// Dgram is DNS over UDP without TCP fallback (domain's dgram): each
// attempt uses a new socket on a random source port and a new random
// message ID, and only an answer from the server's address, with that ID,
// the query's question and (once the server has shown it uses them) our
// DNS cookie is accepted; anything else is dropped and the wait goes on
// (RFC 5452). A truncated answer is returned as it is.
type Dgram struct {
	addr    netip.AddrPort
	timeout time.Duration
	retries int
	payload int
	recv    int
	sem     chan struct{}
	jar     *cookieJar // nil without cookies
	closed  atomic.Bool
	dropped atomic.Uint64
}

// NewDgram returns a UDP transport to addr ("127.0.0.1#53", "[::1]:53", an
// address alone means port 53). The address must be allowed by
// LJDNS_OUTGOING_ALLOW.
func NewDgram(addr string, o DgramOptions) (*Dgram, error) {
	ap, err := serverAddr(addr, 53)
	if err != nil {
		return nil, err
	}
	return newDgram(ap, o), nil
}

func newDgram(ap netip.AddrPort, o DgramOptions) *Dgram {
	d := &Dgram{
		addr:    ap,
		timeout: clampDur(o.Timeout, defaultDgramTimeout, time.Millisecond, time.Minute),
		retries: clampInt(o.Retries, defaultRetries, 0, 100),
		payload: clampInt(o.UDPPayloadSize, defaultUDPPayload, 512, 65535),
		recv:    clampInt(o.RecvSize, defaultRecvSize, 512, 65535),
		sem:     make(chan struct{}, clampInt(o.MaxParallel, defaultMaxParallel, 1, 1000)),
	}
	if o.Retries < 0 {
		d.retries = 0
	}
	if o.UDPPayloadSize < 0 {
		d.payload = 0
	}
	if !o.NoCookies {
		d.jar = newCookieJar()
	}
	return d
}

// Addr returns the server address.
func (d *Dgram) Addr() netip.AddrPort { return d.addr }

// Dropped returns how many received datagrams were dropped as not being
// the answer awaited (wrong source, ID, question, cookie, or garbage).
func (d *Dgram) Dropped() uint64 { return d.dropped.Load() }

// ServerCookie returns the server cookie last received from the server
// (nil before any, or with cookies off).
func (d *Dgram) ServerCookie() []byte {
	if d.jar == nil {
		return nil
	}
	return d.jar.serverCookie(d.addr.Addr())
}

// Close implements Transport. Queries in flight finish.
func (d *Dgram) Close() error {
	d.closed.Store(true)
	return nil
}

// Query implements Transport.
func (d *Dgram) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if isMulti(q) {
		return nil, ErrMultiMessage
	}
	return d.query(ctx, q)
}

// Stream implements Transport: one message (IXFR over UDP is allowed,
// RFC 1995 §2; AXFR needs a stream transport).
func (d *Dgram) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	if _, t, _, _ := q.Question(); t == typeAXFR {
		return fmt.Errorf("%w: AXFR needs a stream transport", ErrMultiMessage)
	}
	a, err := d.query(ctx, q)
	if err != nil {
		return err
	}
	return fn(a)
}

func (d *Dgram) query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if d.closed.Load() {
		return nil, ErrClosed
	}
	qw := q.Bytes()
	qi, err := inspectQuery(qw)
	if err != nil {
		return nil, err
	}
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctxErr(ctx)
	}
	defer func() { <-d.sem }()
	retriedBadCookie, noCookieDrops := false, false
	for attempt := 0; attempt <= d.retries; attempt++ {
		w, cookie, known := d.prepare(qw, qi)
		a, ncd, err := d.exchange(ctx, w, qi, cookie, known)
		noCookieDrops = noCookieDrops || ncd
		if err != nil {
			if errors.Is(err, ErrTimeout) && ctx.Err() == nil {
				continue
			}
			return nil, err
		}
		if cookie != nil && d.jar != nil {
			if c, ok := wireOption(a.Bytes(), dnsmsg.OptionCookie); ok {
				d.jar.learn(d.addr.Addr(), c)
			}
			if a.Rcode() == rcodeBadCookie && !retriedBadCookie {
				retriedBadCookie = true // once more with the fresh server cookie
				attempt--
				continue
			}
		}
		a.SetID(q.ID())
		return a, nil
	}
	if noCookieDrops && d.jar != nil {
		d.jar.forget(d.addr.Addr()) // the server stopped sending cookies: stop insisting
	}
	return nil, fmt.Errorf("%w: no answer from %s (udp) in %d attempts of %v", ErrTimeout, d.addr, d.retries+1, d.timeout)
}

// prepare returns a fresh wire copy of the query with EDNS and cookie
// added, the client cookie it carries (nil if none), and whether the
// server is known to answer with cookies.
func (d *Dgram) prepare(qw []byte, qi queryInfo) (w, cookie []byte, known bool) {
	var opts []ednsOption
	if d.jar != nil && !qi.signed {
		var c []byte
		c, known = d.jar.option(d.addr.Addr())
		opts = append(opts, ednsOption{dnsmsg.OptionCookie, c})
	}
	w = addEDNS(qw, qi, d.payload, opts)
	if len(w) > 0 && len(qw) > 0 && &w[0] == &qw[0] {
		w = append([]byte(nil), qw...)
	}
	if c, ok := wireOption(w, dnsmsg.OptionCookie); ok && len(c) >= 8 {
		cookie = c[:8]
	}
	return w, cookie, known && cookie != nil
}

// exchange makes one attempt: new socket, new ID, one send, then reads
// until an acceptable answer or the deadline. noCookie reports answers
// dropped for lacking a cookie.
func (d *Dgram) exchange(ctx context.Context, w []byte, qi queryInfo, cookie []byte, needCookie bool) (a *dnsmsg.Packet, noCookie bool, err error) {
	conn, err := dialUDP(d.addr)
	if err != nil {
		return nil, false, err
	}
	defer conn.Close()
	setID(w, uint16(rand.Uint32()))
	if err := conn.SetDeadline(deadline(ctx, d.timeout)); err != nil {
		return nil, false, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write(w); err != nil {
		return nil, false, fmt.Errorf("dnsclient: send to %s: %w", d.addr, err)
	}
	size := max(d.recv, qi.payload, 512)
	if ph := payloadOf(w); ph > size {
		size = ph
	}
	buf := make([]byte, size)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if ctx.Err() != nil {
					return nil, noCookie, ctxErr(ctx)
				}
				return nil, noCookie, ErrTimeout
			}
			return nil, noCookie, fmt.Errorf("dnsclient: receive from %s: %w", d.addr, err)
		}
		if unmapPort(from) != d.addr {
			d.dropped.Add(1)
			continue
		}
		p, err := matchAnswer(w, qi, buf[:n], cookie, needCookie, false)
		if err != nil {
			d.dropped.Add(1)
			noCookie = noCookie || err == errNoCookie
			continue
		}
		return p, noCookie, nil
	}
}

// payloadOf returns the EDNS UDP payload size of query w (0 without OPT).
func payloadOf(w []byte) int {
	p := 0
	_ = walkRRs(w, func(r rrPos) bool {
		if r.typ == dnsmsg.TypeOPT {
			p = int(w[r.ttlOff-2])<<8 | int(w[r.ttlOff-1])
			return false
		}
		return true
	})
	return p
}

// dialUDP opens a UDP socket connected to addr, bound to a random port of
// the system's ephemeral range (a few tries, then any port the kernel
// gives).
func dialUDP(addr netip.AddrPort) (*net.UDPConn, error) {
	raddr := net.UDPAddrFromAddrPort(addr)
	lo, hi := ephemeralPorts()
	for range 10 {
		port := lo + rand.IntN(hi-lo+1)
		c, err := net.DialUDP("udp", &net.UDPAddr{Port: port}, raddr)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("dnsclient: udp socket to %s: %w", addr, err)
		}
	}
	c, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("dnsclient: udp socket to %s: %w", addr, err)
	}
	return c, nil
}

var ephemeral struct {
	once   sync.Once
	lo, hi int
}

// ephemeralPorts returns the kernel's local port range (Linux), else the
// IANA dynamic range.
func ephemeralPorts() (int, int) {
	ephemeral.once.Do(func() {
		ephemeral.lo, ephemeral.hi = 49152, 65535
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
		if err != nil {
			return
		}
		f := strings.Fields(string(b))
		if len(f) != 2 {
			return
		}
		lo, err1 := strconv.Atoi(f[0])
		hi, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil && 1024 <= lo && lo < hi && hi <= 65535 {
			ephemeral.lo, ephemeral.hi = lo, hi
		}
	})
	return ephemeral.lo, ephemeral.hi
}

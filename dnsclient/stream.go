package dnsclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/dnsmsg"
)

// StreamOptions configures Stream and MultiStream. Zero values give the
// default in brackets; values out of range are clamped.
type StreamOptions struct {
	// ResponseTimeout bounds the wait for an answer [Stream 19 s,
	// MultiStream 30 s] (1 ms..600 s). For MultiStream it is the overall
	// time per query, connection attempts and retries included; for a
	// transfer it applies to each message.
	ResponseTimeout time.Duration
	// IdleTimeout is how long an idle connection stays open [10 s]
	// (0..3600 s); negative closes it as soon as it is idle. The server's
	// edns-tcp-keepalive (RFC 7828) overrides it.
	IdleTimeout time.Duration
	// ConnectTimeout bounds the TCP connect and TLS handshake [5 s]
	// (1 ms..60 s).
	ConnectTimeout time.Duration
	// MaxOutstanding is the number of queries in flight on one
	// connection [1000] (1..65535); more fail with ErrTooManyOutstanding.
	MaxOutstanding int
	// NoKeepalive: do not send edns-tcp-keepalive [sent with the first
	// query of each connection].
	NoKeepalive bool
	// TLS makes it DNS over TLS (RFC 7858; default port 853); nil: TCP.
	TLS *TLSOptions
}

// TLSOptions configures DNS over TLS. With CAFile, Hostname or Pins the
// server is authenticated strictly (RFC 8310); with none of them the
// connection is encrypted but the server not authenticated
// (opportunistic).
type TLSOptions struct {
	Hostname string   // name the certificate must be valid for (and SNI); alone: system roots
	CAFile   string   // PEM file of the roots to verify the server with
	Pins     []string // base64 SHA-256 digests of acceptable SPKIs (RFC 7858 §4.2)
	Config   *tls.Config
	// Config, when set, is used as it is instead of the fields above.
}

const (
	defaultStreamTimeout      = 19 * time.Second
	defaultMultiStreamTimeout = 30 * time.Second
	defaultIdleTimeout        = 10 * time.Second
	defaultConnectTimeout     = 5 * time.Second
	defaultMaxOutstanding     = 1000
)

// streamConf is StreamOptions resolved.
type streamConf struct {
	response, idle, connect time.Duration
	maxOut                  int
	keepalive               bool
	tls                     *tls.Config
}

func resolveStream(o StreamOptions, defResponse time.Duration, addr netip.AddrPort) (streamConf, error) {
	c := streamConf{
		response:  clampDur(o.ResponseTimeout, defResponse, time.Millisecond, 600*time.Second),
		idle:      clampDur(o.IdleTimeout, defaultIdleTimeout, 0, time.Hour),
		connect:   clampDur(o.ConnectTimeout, defaultConnectTimeout, time.Millisecond, time.Minute),
		maxOut:    clampInt(o.MaxOutstanding, defaultMaxOutstanding, 1, 65535),
		keepalive: !o.NoKeepalive,
	}
	if o.IdleTimeout < 0 {
		c.idle = 0
	}
	if o.TLS != nil {
		cfg, err := tlsConfig(o.TLS, addr)
		if err != nil {
			return c, err
		}
		c.tls = cfg
	}
	return c, nil
}

// Stream is DNS over one TCP or TLS connection at a time (domain's
// stream): queries are pipelined with random IDs and answered in any order
// (RFC 7766 §6.2.1.1), the first query of a connection carries
// edns-tcp-keepalive and the server's timeout replaces the idle timeout
// (RFC 7828). Unlike domain's stream, a closed connection is reopened by
// the next query, and a query sent on a reused connection that the server
// had just closed is sent once more on a new one.
type Stream struct {
	addr    netip.AddrPort
	conf    streamConf
	mu      sync.Mutex
	cur     *streamConn
	dialing chan struct{} // closed when the dial in progress ends
	done    bool
}

// NewStream returns a stream transport to addr (port 53, or 853 with TLS,
// when none is given), allowed by LJDNS_OUTGOING_ALLOW. It connects at
// the first query.
func NewStream(addr string, o StreamOptions) (*Stream, error) {
	return newStream(addr, o, defaultStreamTimeout)
}

func newStream(addr string, o StreamOptions, defResponse time.Duration) (*Stream, error) {
	port := uint16(53)
	if o.TLS != nil {
		port = 853
	}
	ap, err := serverAddr(addr, port)
	if err != nil {
		return nil, err
	}
	conf, err := resolveStream(o, defResponse, ap)
	if err != nil {
		return nil, err
	}
	return &Stream{addr: ap, conf: conf}, nil
}

// Addr returns the server address.
func (s *Stream) Addr() netip.AddrPort { return s.addr }

// Close implements Transport: it closes the connection; queries in flight
// fail with ErrConnClosed.
func (s *Stream) Close() error {
	s.mu.Lock()
	c := s.cur
	s.cur, s.done = nil, true
	s.mu.Unlock()
	if c != nil {
		c.fail(ErrClosed)
	}
	return nil
}

// Query implements Transport.
func (s *Stream) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if isMulti(q) {
		return nil, ErrMultiMessage
	}
	var a *dnsmsg.Packet
	_, err := s.exchange(ctx, q, func(p *dnsmsg.Packet) error { a = p; return nil }, time.Time{})
	return a, err
}

// Stream implements Transport: every message of an AXFR or IXFR answer, in
// order, the last included; one message for other queries.
func (s *Stream) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	_, err := s.exchange(ctx, q, fn, time.Time{})
	return err
}

// IdleTimeout returns the idle timeout of the current connection: the
// configured one, or the server's edns-tcp-keepalive once it sent one
// (the configured one without a connection).
func (s *Stream) IdleTimeout() time.Duration {
	s.mu.Lock()
	c := s.cur
	s.mu.Unlock()
	if c == nil {
		return s.conf.idle
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idle
}

// exchange sends q on the current connection (opening one if needed) and
// passes the answer's messages to fn. delivered reports whether fn was
// called (then nothing may be retried). A non-zero end bounds the
// connection attempt and every wait, besides the configured timeouts
// (MultiStream's time per query, without a context of its own).
func (s *Stream) exchange(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error, end time.Time) (delivered bool, err error) {
	qw := q.Bytes()
	qi, err := inspectQuery(qw)
	if err != nil {
		return false, err
	}
	for try := 0; ; try++ {
		c, err := s.conn(ctx, end)
		if err != nil {
			return false, err
		}
		delivered, err = c.do(ctx, qw, qi, q.ID(), fn, end)
		if err != nil && !delivered && try == 0 && c.reused.Load() && errors.Is(err, ErrConnClosed) {
			continue // the server closed the idle connection as we sent
		}
		return delivered, err
	}
}

// conn returns the open connection, or dials a new one (one dial at a
// time: queries arriving meanwhile wait for it).
func (s *Stream) conn(ctx context.Context, end time.Time) (*streamConn, error) {
	for {
		s.mu.Lock()
		if s.done {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		if c := s.cur; c != nil && c.alive() {
			c.reused.Store(true)
			s.mu.Unlock()
			return c, nil
		}
		if wait := s.dialing; wait != nil {
			s.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctxErr(ctx)
			}
		}
		wait := make(chan struct{})
		s.dialing = wait
		s.mu.Unlock()
		dctx, cancel := ctx, context.CancelFunc(func() {})
		if !end.IsZero() {
			dctx, cancel = context.WithDeadline(ctx, end)
		}
		nc, err := dialStream(dctx, s.addr, s.conf)
		cancel()
		s.mu.Lock()
		s.dialing = nil
		close(wait)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		c := newStreamConn(s, nc)
		if s.done {
			s.mu.Unlock()
			c.fail(ErrClosed)
			return nil, ErrClosed
		}
		s.cur = c
		s.mu.Unlock()
		return c, nil
	}
}

// dialStream connects to addr with TCP, then TLS if configured.
func dialStream(ctx context.Context, addr netip.AddrPort, conf streamConf) (net.Conn, error) {
	if err := checkAllowed(addr.Addr()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, conf.connect)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w to %s within %v", ErrTimeout, errConnect, addr, conf.connect)
		}
		return nil, fmt.Errorf("dnsclient: %w to %s: %w", errConnect, addr, err)
	}
	if conf.tls == nil {
		return nc, nil
	}
	tc := tls.Client(nc, conf.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w: handshake with %s: %v", ErrTLS, addr, err)
	}
	return tc, nil
}

// streamConn is one connection: a writer lock, the table of queries in
// flight by ID, and a reader goroutine dispatching answers.
type streamConn struct {
	s      *Stream
	nc     net.Conn
	wmu    sync.Mutex    // guards wbuf
	wbuf   []byte        // frames waiting for the writer
	wkick  chan struct{} // wakes the writer
	mu     sync.Mutex
	wait   map[uint16]*waiter
	err    error         // set once the connection is dead
	dead   chan struct{} // closed with err
	idle   time.Duration
	timer  *time.Timer // idle close
	ka     bool        // keepalive sent
	reused atomic.Bool // used for an earlier query
	last   time.Time   // last message received
}

// waiter is a query in flight.
type waiter struct {
	q    []byte
	qi   queryInfo
	ch   chan *dnsmsg.Packet
	done chan struct{} // closed when the query gives up
	sent time.Time
	got  atomic.Bool // a message was delivered
}

func newStreamConn(s *Stream, nc net.Conn) *streamConn {
	c := &streamConn{s: s, nc: nc, wait: map[uint16]*waiter{}, idle: s.conf.idle, dead: make(chan struct{}), wkick: make(chan struct{}, 1)}
	go c.read()
	go c.writer()
	return c
}

func (c *streamConn) alive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == nil
}

// fail closes the connection; every query in flight sees err.
func (c *streamConn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.timer != nil {
		c.timer.Stop()
	}
	c.wait = map[uint16]*waiter{}
	close(c.dead)
	c.mu.Unlock()
	c.nc.Close()
	c.s.mu.Lock()
	if c.s.cur == c {
		c.s.cur = nil
	}
	c.s.mu.Unlock()
}

// do sends one query and delivers its answer messages to fn.
func (c *streamConn) do(ctx context.Context, qw []byte, qi queryInfo, id uint16, fn func(*dnsmsg.Packet) error, end time.Time) (delivered bool, err error) {
	var opts []ednsOption
	c.mu.Lock()
	if c.s.conf.keepalive && !c.ka && !qi.signed {
		opts = append(opts, ednsOption{optKeepalive, nil})
		c.ka = true
	}
	c.mu.Unlock()
	var w []byte
	if len(opts) > 0 {
		w = addEDNS(qw, qi, defaultUDPPayload, opts)
	}
	if len(w) <= len(qw) {
		w = append([]byte(nil), qw...)
		if len(opts) > 0 { // could not add it: try again with the next query
			c.mu.Lock()
			c.ka = false
			c.mu.Unlock()
		}
	}
	wt := &waiter{qi: qi, ch: make(chan *dnsmsg.Packet, 8), done: make(chan struct{}), sent: time.Now()}
	wid, err := c.register(wt)
	if err != nil {
		return false, err
	}
	defer c.unregister(wid, wt)
	setID(w, wid)
	wt.q = w
	if err := c.write(w); err != nil {
		return false, err
	}
	multi := isMultiWire(w)
	var xfr *xfrTracker
	if multi {
		xfr = &xfrTracker{qtype: binary.BigEndian.Uint16(w[qi.qEnd-4:])}
	}
	timer := time.NewTimer(c.waitFor(end))
	defer timer.Stop()
	for {
		var p *dnsmsg.Packet
		select {
		case p = <-wt.ch:
		case <-c.dead:
			select {
			case p = <-wt.ch: // answered before the connection closed
			default:
				c.mu.Lock()
				err := c.err
				c.mu.Unlock()
				if errors.Is(err, ErrClosed) {
					return delivered, err
				}
				return delivered, fmt.Errorf("%w: %s: %v", ErrConnClosed, c.s.addr, err)
			}
		case <-timer.C:
			c.mu.Lock()
			silent := c.last.Before(wt.sent)
			c.mu.Unlock()
			if silent || multi {
				c.fail(ErrTimeout) // nothing came back since: the connection is of no use
			}
			return delivered, fmt.Errorf("%w: no answer from %s (tcp) within %v", ErrTimeout, c.s.addr, c.s.conf.response)
		case <-ctx.Done():
			if multi && delivered {
				c.fail(ctx.Err()) // an abandoned transfer would keep coming
			}
			return delivered, ctxErr(ctx)
		}
		p.SetID(id)
		if !multi {
			return true, fn(p)
		}
		last, xerr := xfr.add(p)
		if ferr := fn(p); ferr != nil {
			return true, ferr
		}
		delivered = true
		if xerr != nil {
			c.fail(xerr) // the rest of the stream is of no use
			return true, xerr
		}
		if last {
			return true, nil
		}
		timer.Reset(c.waitFor(end))
	}
}

// waitFor is how long to wait for the next message: the response timeout,
// or less when end comes first.
func (c *streamConn) waitFor(end time.Time) time.Duration {
	d := c.s.conf.response
	if !end.IsZero() {
		d = min(d, time.Until(end))
	}
	return d
}

// isMultiWire reports whether the query w asks for AXFR or IXFR.
func isMultiWire(w []byte) bool {
	end, err := questionEnd(w)
	if err != nil || end == dnsmsg.HeaderLen {
		return false
	}
	t := binary.BigEndian.Uint16(w[end-4:])
	return t == typeAXFR || t == typeIXFR
}

// register assigns a random free ID to w.
func (c *streamConn) register(w *waiter) (uint16, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, fmt.Errorf("%w: %v", ErrConnClosed, c.err)
	}
	if len(c.wait) >= c.s.conf.maxOut {
		return 0, ErrTooManyOutstanding
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	for {
		id := uint16(rand.Uint32())
		if _, used := c.wait[id]; !used {
			c.wait[id] = w
			return id, nil
		}
	}
}

// unregister removes a finished query; the last one arms the idle timer.
func (c *streamConn) unregister(id uint16, w *waiter) {
	close(w.done)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wait[id] == w {
		delete(c.wait, id)
	}
	if c.err != nil || len(c.wait) > 0 {
		return
	}
	if c.idle <= 0 {
		go c.fail(errIdle)
		return
	}
	if c.timer == nil {
		c.timer = time.AfterFunc(c.idle, c.idleCheck)
	} else {
		c.timer.Reset(c.idle)
	}
}

var (
	errIdle    = errors.New("idle timeout")
	errConnect = errors.New("connecting")
)

func (c *streamConn) idleCheck() {
	c.mu.Lock()
	idle := len(c.wait) == 0
	c.mu.Unlock()
	if idle {
		c.fail(errIdle)
	}
}

// write queues one length-prefixed message (RFC 1035 §4.2.2) for the
// connection's writer goroutine, which sends everything queued in one
// system call: a busy connection makes one call for many queries. A write
// error fails the connection (the query then sees ErrConnClosed).
func (c *streamConn) write(w []byte) error {
	c.wmu.Lock()
	c.wbuf = binary.BigEndian.AppendUint16(c.wbuf, uint16(len(w)))
	c.wbuf = append(c.wbuf, w...)
	c.wmu.Unlock()
	select {
	case c.wkick <- struct{}{}:
	default:
	}
	return nil
}

// writer sends the queued messages until the connection fails.
func (c *streamConn) writer() {
	var buf []byte
	for {
		select {
		case <-c.wkick:
		case <-c.dead:
			return
		}
		c.wmu.Lock()
		buf, c.wbuf = c.wbuf, buf[:0]
		c.wmu.Unlock()
		if len(buf) == 0 {
			continue
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.conf.response))
		if _, err := c.nc.Write(buf); err != nil {
			c.fail(fmt.Errorf("write: %w", err))
			return
		}
	}
}

// read dispatches the answers until the connection fails.
func (c *streamConn) read() {
	r := bufio.NewReaderSize(c.nc, 16<<10)
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			c.fail(readErr(err))
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(r, msg); err != nil {
			c.fail(readErr(err))
			return
		}
		c.deliver(msg)
	}
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("closed by the server")
	}
	return err
}

// deliver hands one received message to the query it answers, or drops it.
func (c *streamConn) deliver(msg []byte) {
	if len(msg) < dnsmsg.HeaderLen {
		return
	}
	c.mu.Lock()
	c.last = time.Now()
	w := c.wait[wireID(msg)]
	c.mu.Unlock()
	if w == nil {
		return
	}
	p, err := matchAnswer(w.q, w.qi, msg, nil, false, w.got.Load())
	if err != nil {
		return
	}
	if ka, ok := wireOption(msg, optKeepalive); ok && len(ka) == 2 {
		c.mu.Lock()
		c.idle = time.Duration(binary.BigEndian.Uint16(ka)) * 100 * time.Millisecond
		c.mu.Unlock()
	}
	select {
	case w.ch <- p:
		w.got.Store(true)
	case <-w.done:
	case <-c.dead:
	}
}

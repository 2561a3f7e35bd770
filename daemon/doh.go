package daemon

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"ljdns/dnsmsg"
)

// DoHPath is the path of DNS over HTTPS queries (RFC 8484 §3, kresd's doh2).
const DoHPath = "/dns-query"

const dohMediaType = "application/dns-message"

// serveDoH serves a doh2 group: per worker an accept loop, TLS with ALPN
// h2 (or HTTP/2 with prior knowledge when Plain), and HTTP/2 connections
// with the stream limits; queries at /dns-query (GET and POST).
func (s *Server) serveDoH(lg *listenerGroup) {
	for w, ln := range lg.tcp {
		// the TLS layer and the limits are ours; net/http then speaks
		// HTTP/2 with prior knowledge over the (decrypted) connection
		conns := newConnQueue(ln.Addr())
		g := s.gen.Load()
		var protos http.Protocols
		protos.SetUnencryptedHTTP2(true)
		srv := &http.Server{
			Handler:           s.dohHandler(w),
			Protocols:         &protos,
			HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: max(g.cfg.Limits.H2Streams, 1)},
			ReadHeaderTimeout: g.cfg.TCPIdle,
			IdleTimeout:       g.cfg.TCPIdle,
			BaseContext:       func(net.Listener) context.Context { return s.ctx },
			ErrorLog:          nil,
		}
		lg.mu.Lock()
		lg.closers = append(lg.closers, func() { srv.Close(); conns.Close() })
		lg.mu.Unlock()
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			srv.Serve(conns)
		}()
		go func() {
			defer s.wg.Done()
			s.acceptHTTP(ln, lg, conns)
		}()
	}
}

// acceptHTTP accepts doh2 connections within the limits, runs the TLS
// handshake (ALPN h2) and queues them for the HTTP/2 server.
func (s *Server) acceptHTTP(ln net.Listener, lg *listenerGroup, q *connQueue) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if isClosed(err) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		client, ok := s.admit(c)
		if !ok {
			continue
		}
		if !lg.track(c, true) {
			s.unadmit(client)
			c.Close()
			return
		}
		go func() {
			release := func() {
				lg.track(c, false)
				s.unadmit(client)
			}
			var conn net.Conn = c
			if !lg.spec.Plain {
				tc, err := s.tlsHandshake(c, []string{"h2"})
				if err != nil || tc.ConnectionState().NegotiatedProtocol != "h2" {
					// RFC 8484 §5.2: HTTP/2 is the minimum here, as in kresd's doh2
					c.Close()
					release()
					return
				}
				conn = tc
			}
			lim := s.gen.Load().cfg.Limits
			rc := &resetCounter{Conn: conn, limit: lim.H2ResetsPerSec, release: release,
				onLimit: func() { s.counters.LimitH2Resets.Add(1) }}
			if !q.put(rc) {
				rc.Close()
			}
		}()
	}
}

// connQueue is a net.Listener fed with connections accepted elsewhere.
type connQueue struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnQueue(a net.Addr) *connQueue {
	return &connQueue{addr: a, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (q *connQueue) put(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

// Accept implements net.Listener.
func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

// Addr implements net.Listener.
func (q *connQueue) Addr() net.Addr { return q.addr }

// dohHandler answers RFC 8484 queries received by worker w.
func (s *Server) dohHandler(w int) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		s.serveDoHRequest(w, rw, req)
	})
}

// serveDoHRequest runs one DNS over HTTPS exchange (GET ?dns= or POST).
func (s *Server) serveDoHRequest(w int, rw http.ResponseWriter, req *http.Request) {
	if req.URL.Path != DoHPath {
		http.NotFound(rw, req)
		return
	}
	var wire []byte
	switch req.Method {
	case http.MethodGet:
		q := req.URL.Query().Get("dns")
		if q == "" {
			http.Error(rw, "missing dns parameter", http.StatusBadRequest)
			return
		}
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(q, "="))
		if err != nil {
			http.Error(rw, "bad base64url in dns parameter", http.StatusBadRequest)
			return
		}
		wire = b
	case http.MethodPost:
		if ct := req.Header.Get("Content-Type"); !strings.EqualFold(strings.TrimSpace(strings.Split(ct, ";")[0]), dohMediaType) {
			http.Error(rw, "content type must be "+dohMediaType, http.StatusUnsupportedMediaType)
			return
		}
		b, err := io.ReadAll(io.LimitReader(req.Body, 65536))
		if err != nil {
			http.Error(rw, "bad body", http.StatusBadRequest)
			return
		}
		if len(b) > 65535 {
			http.Error(rw, "message too long", http.StatusRequestEntityTooLarge)
			return
		}
		wire = b
	default:
		rw.Header().Set("Allow", "GET, POST")
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	client, _ := netip.ParseAddrPort(req.RemoteAddr)
	client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	var local netip.AddrPort
	if la, ok := req.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		local = addrPortOf(la)
	}
	out, ok := s.Exchange(wire, client, local, DoH, w)
	if !ok {
		http.Error(rw, "not a DNS query", http.StatusBadRequest)
		return
	}
	if out == nil {
		// NO_ANSWER: an HTTP exchange must end somehow; kresd closes the stream
		http.Error(rw, "no answer", http.StatusServiceUnavailable)
		return
	}
	h := rw.Header()
	h.Set("Content-Type", dohMediaType)
	h.Set("Content-Length", strconv.Itoa(len(out)))
	if ttl, ok := minTTL(out); ok {
		h.Set("Cache-Control", "max-age="+strconv.FormatUint(uint64(ttl), 10))
	}
	rw.Write(out)
}

// Exchange runs one query through the pipeline on the calling goroutine
// and returns a copy of the answer (nil: nothing to send, as for
// NO_ANSWER). ok is false when the parse rules dropped the message. The
// client's in-flight limit applies.
func (s *Server) Exchange(wire []byte, client, local netip.AddrPort, proto Proto, worker int) (out []byte, ok bool) {
	s.counters.Requests.Add(1)
	g := s.acquire()
	defer g.release()
	if !s.clients.add(client.Addr(), 0, 1, 0, g.cfg.Limits.InflightPerClient) {
		s.counters.LimitInflight.Add(1)
		return nil, false
	}
	defer s.clients.add(client.Addr(), 0, -1, 0, 0)
	s.reqs.Add(1)
	defer s.reqs.Done()
	r := newRequest(wire)
	defer releaseRequest(r)
	r.Client, r.Local, r.Proto, r.Worker = client, local, proto, worker
	v := g.prepare(r)
	switch v {
	case drop:
		s.counters.Dropped.Add(1)
		return nil, false
	case answered:
		out = g.encode(r)
	default:
		out = g.runRest(r)
	}
	if out == nil {
		return nil, true
	}
	return append([]byte(nil), out...), true
}

// Resolve runs a query for qname (wire form), qtype and qclass through the
// pipeline as if it came from 127.0.0.1 over UDP with RD set (kresd's
// resolve()), on the calling goroutine, and returns the parsed answer; nil
// when nothing answered (NO_ANSWER). flags are added to the request's.
func (s *Server) Resolve(qname []byte, qtype, qclass uint16, flags Flags, worker int) (*dnsmsg.Packet, error) {
	q := dnsmsg.NewPacket(512)
	if ok, err := q.SetQuestion(qname, qtype, qclass); err != nil || !ok {
		return nil, fmt.Errorf("daemon: resolve: bad question")
	}
	q.SetFlag("rd", true)
	q.Begin(dnsmsg.SectionAR)
	q.Put(dnsmsg.NewOPT(0, 65535), false)
	s.counters.Requests.Add(1)
	g := s.acquire()
	defer g.release()
	s.reqs.Add(1)
	defer s.reqs.Done()
	r := newRequest(q.Bytes())
	defer releaseRequest(r)
	r.Client, r.Local, r.Proto, r.Worker = internalClient, internalClient, TCP, worker
	if g.prepare(r) != proceed {
		return nil, fmt.Errorf("daemon: resolve: the query did not pass the parse rules (rcode %d)", r.Rcode())
	}
	r.Options |= flags
	out := g.runRest(r)
	if out == nil {
		return nil, nil
	}
	a := dnsmsg.NewPacketFrom(len(out), out)
	if code := a.Parse(false); code != 0 {
		return nil, fmt.Errorf("daemon: resolve: %s", dnsmsg.StrError(code))
	}
	return a, nil
}

// internalClient is the client address of Resolve's requests.
var internalClient = netip.MustParseAddrPort("127.0.0.1:0")

// minTTL returns the smallest TTL of the records of an answer (RFC 8484
// §5.1 freshness), OPT excluded.
func minTTL(wire []byte) (uint32, bool) {
	p := dnsmsg.NewPacketFrom(len(wire), wire)
	if p.Parse(false) != 0 {
		return 0, false
	}
	var m uint32
	found := false
	for sec := dnsmsg.SectionAN; sec <= dnsmsg.SectionAR; sec++ {
		for _, rr := range p.Records(sec) {
			if rr.Type == dnsmsg.TypeOPT {
				continue
			}
			if !found || rr.TTL < m {
				m, found = rr.TTL, true
			}
		}
	}
	return m, found
}

// HTTP/2 wire facts (RFC 9113 §3.4, §6.4).
const (
	h2Preface        = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	h2FrameRSTStream = 0x3
)

// resetCounter closes an HTTP/2 connection whose client resets more
// than limit streams in a second (the rapid-reset attack, CVE-2023-44487).
// It follows the frame headers of the bytes read: the 24-byte client
// preface, then 9-byte frame headers and their payloads.
type resetCounter struct {
	net.Conn
	limit   int
	onLimit func()
	release func() // the connection's limits and tracking, undone at Close
	closed  sync.Once

	mu      sync.Mutex
	skip    int     // bytes of the preface or of a payload still to pass
	hdr     [9]byte // a frame header being read
	hdrN    int
	started bool
	window  time.Time
	resets  int
}

// Close closes the connection and releases its place in the limits.
func (rc *resetCounter) Close() error {
	err := rc.Conn.Close()
	rc.closed.Do(func() {
		if rc.release != nil {
			rc.release()
		}
	})
	return err
}

// Read implements net.Conn, counting the client's RST_STREAM frames.
func (rc *resetCounter) Read(b []byte) (int, error) {
	n, err := rc.Conn.Read(b)
	if n > 0 && rc.limit > 0 && rc.scan(b[:n]) {
		rc.onLimit()
		rc.Conn.Close()
		return 0, net.ErrClosed
	}
	return n, err
}

// scan follows the frames in b and reports whether the reset limit was passed.
func (rc *resetCounter) scan(b []byte) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !rc.started {
		rc.started = true
		rc.skip = len(h2Preface)
	}
	for len(b) > 0 {
		if rc.skip > 0 {
			k := min(rc.skip, len(b))
			rc.skip -= k
			b = b[k:]
			continue
		}
		k := copy(rc.hdr[rc.hdrN:], b)
		rc.hdrN += k
		b = b[k:]
		if rc.hdrN < len(rc.hdr) {
			break
		}
		rc.hdrN = 0
		length := int(rc.hdr[0])<<16 | int(rc.hdr[1])<<8 | int(rc.hdr[2])
		rc.skip = length
		if rc.hdr[3] == h2FrameRSTStream {
			now := time.Now()
			if now.Sub(rc.window) >= time.Second {
				rc.window, rc.resets = now, 0
			}
			rc.resets++
			if rc.resets > rc.limit {
				return true
			}
		}
	}
	return false
}

// serveWeb serves a webmgmt group: HTTP/1.1 and HTTP/2 (TLS unless Plain)
// with the configuration's Web handler, plus the legacy /dns-query.
func (s *Server) serveWeb(lg *listenerGroup) {
	for w, ln := range lg.tcp {
		mux := http.NewServeMux()
		mux.Handle(DoHPath, s.dohHandler(w))
		mux.HandleFunc("/", func(rw http.ResponseWriter, req *http.Request) {
			h := s.gen.Load().cfg.Web
			if h == nil {
				http.NotFound(rw, req)
				return
			}
			h.ServeHTTP(rw, req)
		})
		g := s.gen.Load()
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: g.cfg.TCPIdle, IdleTimeout: g.cfg.TCPIdle,
			BaseContext: func(net.Listener) context.Context { return s.ctx }}
		var l net.Listener = &limitListener{Listener: ln, s: s}
		if !lg.spec.Plain {
			srv.TLSConfig = s.tlsConfig([]string{"h2", "http/1.1"})
			srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: max(g.cfg.Limits.H2Streams, 1)}
			l = &tlsListener{Listener: l, s: s}
		}
		lg.mu.Lock()
		lg.closers = append(lg.closers, func() { srv.Close() })
		lg.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			srv.Serve(l)
		}()
	}
}

// limitListener applies the connection limits to accepted connections.
type limitListener struct {
	net.Listener
	s *Server
}

// Accept implements net.Listener within the connection limits.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client, ok := l.s.admit(c)
		if !ok {
			continue
		}
		return &admittedConn{Conn: c, s: l.s, client: client}, nil
	}
}

type admittedConn struct {
	net.Conn
	s      *Server
	client netip.AddrPort
	once   sync.Once
}

// Close implements net.Conn and releases the connection's place in the limits.
func (c *admittedConn) Close() error {
	c.once.Do(func() { c.s.unadmit(c.client) })
	return c.Conn.Close()
}

// tlsListener wraps accepted connections in TLS (handshake on first use).
type tlsListener struct {
	net.Listener
	s *Server
}

// Accept implements net.Listener.
func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tls.Server(c, l.s.tlsConfig([]string{"h2", "http/1.1"})), nil
}

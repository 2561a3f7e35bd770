package daemon

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// acceptLoop accepts stream connections (TCP, or TLS for KindTLS) on
// worker w's listener within the connection limits.
func (s *Server) acceptLoop(w int, ln net.Listener, lg *listenerGroup) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if isClosed(err) {
				return
			}
			s.log.Warnf("io", "accept %v: %v", lg.addr, err)
			time.Sleep(10 * time.Millisecond) // EMFILE and such: do not spin
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
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.unadmit(client)
			defer lg.track(c, false)
			defer c.Close()
			proto := TCP
			if lg.spec.Kind == KindTLS {
				tc, err := s.tlsHandshake(c, []string{"dot"})
				if err != nil {
					return
				}
				c = tc
				proto = DoT
			}
			s.serveStream(w, c, proto, client)
		}()
	}
}

// admit applies the connection limits to a new connection; it closes c
// and reports false when over.
func (s *Server) admit(c net.Conn) (netip.AddrPort, bool) {
	client := addrPortOf(c.RemoteAddr())
	g := s.gen.Load()
	if !s.conns.acquire() {
		s.counters.LimitConns.Add(1)
		c.Close()
		return client, false
	}
	if !s.clients.add(client.Addr(), 1, 0, g.cfg.Limits.ConnsPerClient, 0) {
		s.conns.release()
		s.counters.LimitConns.Add(1)
		c.Close()
		return client, false
	}
	return client, true
}

func (s *Server) unadmit(client netip.AddrPort) {
	s.clients.add(client.Addr(), -1, 0, 0, 0)
	s.conns.release()
}

func addrPortOf(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch v := a.(type) {
	case *net.TCPAddr:
		ap = v.AddrPort()
	case *net.UDPAddr:
		ap = v.AddrPort()
	default:
		ap, _ = netip.ParseAddrPort(a.String())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// tlsHandshake runs the server side of a TLS handshake within the
// generation's handshake timeout.
func (s *Server) tlsHandshake(c net.Conn, protos []string) (*tls.Conn, error) {
	g := s.gen.Load()
	cfg := s.tlsConfig(protos)
	tc := tls.Server(c, cfg)
	ctx, cancel := context.WithTimeout(s.ctx, g.cfg.TLSHandshake)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.log.Debugf("tls", "handshake with %v: %v", c.RemoteAddr(), err)
		return nil, err
	}
	return tc, nil
}

// streamConn is one TCP or TLS connection: queries read in order,
// answered as they complete (RFC 7766 §6.2.1.1), at most tcp_pipeline in
// flight.
type streamConn struct {
	c    net.Conn
	wmu  sync.Mutex
	werr error
	idle time.Duration
}

// reply writes one answer with its length prefix, or every message a
// layer gave with SetMessages (together: other answers wait meanwhile).
func (sc *streamConn) reply(r *Request, wire []byte) {
	msgs := [][]byte{wire}
	if r.messages != nil {
		msgs = r.messages
	}
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	var buf []byte
	for _, m := range msgs {
		if sc.werr != nil {
			return
		}
		buf = append(buf[:0], byte(len(m)>>8), byte(len(m)))
		buf = append(buf, m...)
		sc.c.SetWriteDeadline(time.Now().Add(sc.idle))
		if _, err := sc.c.Write(buf); err != nil {
			sc.werr = err
			sc.c.Close() // a client that does not read: drop it
		}
	}
}

// serveStream reads length-prefixed queries until EOF, error or idle
// timeout; a message that stalls halfway counts as idle.
func (s *Server) serveStream(w int, c net.Conn, proto Proto, client netip.AddrPort) {
	local := addrPortOf(c.LocalAddr())
	g0 := s.gen.Load()
	sc := &streamConn{c: c, idle: g0.cfg.TCPIdle}
	br := bufio.NewReaderSize(c, 4096)
	pipeline := make(chan struct{}, g0.cfg.TCPPipeline)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	var hdr [2]byte
	for {
		c.SetReadDeadline(time.Now().Add(sc.idle))
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				s.counters.Timeouts.Add(1)
			}
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		r := requestPool.Get().(*Request)
		q := r.Query
		if cap(q.Buf) < n {
			q.Buf = make([]byte, n, max(n, 512))
		}
		q.Buf = q.Buf[:n]
		if _, err := io.ReadFull(br, q.Buf); err != nil {
			releaseRequest(r)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				s.counters.Timeouts.Add(1)
			}
			return
		}
		q.Size = n
		s.counters.Requests.Add(1)
		r.Client, r.Local, r.Proto, r.Worker = client, local, proto, w
		r.multiOK = true
		g := s.acquire()
		wire, done := g.runInline(r)
		if done {
			g.release()
			if wire != nil {
				sc.reply(r, wire)
			}
			releaseRequest(r)
			if sc.failed() {
				return
			}
			continue
		}
		select {
		case pipeline <- struct{}{}:
		default:
			s.counters.LimitPipeline.Add(1)
			pipeline <- struct{}{} // wait for a slot: stop reading meanwhile
		}
		inflight.Add(1)
		s.goAsync(g, r, pipelineReplier{sc, pipeline, &inflight})
	}
}

func (sc *streamConn) failed() bool {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	return sc.werr != nil
}

// pipelineReplier frees a pipeline slot once the answer is written.
type pipelineReplier struct {
	sc       *streamConn
	slots    chan struct{}
	inflight *sync.WaitGroup
}

func (p pipelineReplier) reply(r *Request, wire []byte) {
	if wire != nil {
		p.sc.reply(r, wire)
	}
	p.done()
}

func (p pipelineReplier) done() {
	<-p.slots
	p.inflight.Done()
}

package daemon

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// udpBatch is the number of datagrams read (recvmmsg) and written
// (sendmmsg) per system call.
const udpBatch = 32

// udpConn is one worker's UDP socket.
type udpConn struct {
	c    *net.UDPConn
	v6   bool
	wild bool // bound to the unspecified address: answers name their source
}

// datagrams is a worker's batch of received datagrams and of the answers to
// send back (udp_linux.go: recvmmsg and sendmmsg on the socket without
// going through the scheduler's system call hand-off).
// The answers queued refer to the datagrams of the current batch: flush
// them before the next recv.
type datagrams interface {
	// recv reads a batch and returns how many datagrams it holds.
	recv() (int, error)
	// get returns datagram i: its payload, sender and control data (nil
	// unless the socket is bound to the unspecified address).
	get(i int) (data []byte, peer netip.AddrPort, oob []byte, ok bool)
	// queue adds wire (and control data oob) as the answer to datagram i.
	queue(i int, wire, oob []byte)
	// flush sends what was queued; it returns an error only when the
	// socket is closed.
	flush(log func(error)) error
}

// serveUDP reads batches of queries on worker w's socket, answers those
// that complete inline in one batched write, and hands the others to
// goroutines that answer on their own.
func (s *Server) serveUDP(w int, c *net.UDPConn, lg *listenerGroup) {
	la := c.LocalAddr().(*net.UDPAddr).AddrPort()
	uc := &udpConn{c: c, v6: !la.Addr().Unmap().Is4(), wild: la.Addr().IsUnspecified()}
	if uc.wild {
		if uc.v6 {
			ipv6.NewPacketConn(c).SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true)
		} else {
			ipv4.NewPacketConn(c).SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true)
		}
	}
	local := netip.AddrPortFrom(la.Addr().Unmap(), la.Port())
	b, err := newDatagrams(uc)
	if err != nil {
		s.log.Errorf("io", "udp %v: %v", local, err)
		return
	}
	pend := make([]*Request, 0, udpBatch)
	logWrite := func(err error) { s.log.Debugf("io", "udp %v: write: %v", local, err) }
	for {
		n, err := b.recv()
		if err != nil {
			if isClosed(err) {
				return
			}
			s.log.Warnf("io", "udp %v: %v", local, err)
			continue
		}
		for i := 0; i < n; i++ {
			data, peer, oob, ok := b.get(i)
			if !ok {
				continue
			}
			s.counters.Requests.Add(1)
			r := newRequest(data)
			r.Client = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
			r.Local = local
			r.Proto = UDP
			r.Worker = w
			r.peer = peer
			if uc.wild {
				r.oob, r.Local = uc.sourceOOB(oob, r.oob, local)
			}
			g := s.acquire()
			wire, done := g.runInline(r)
			if !done {
				s.goAsync(g, r, uc)
				continue
			}
			g.release()
			if wire == nil {
				releaseRequest(r)
				continue
			}
			b.queue(i, wire, r.oob)
			pend = append(pend, r)
		}
		if len(pend) > 0 {
			b.flush(logWrite)
			for _, r := range pend {
				releaseRequest(r)
			}
			clear(pend)
			pend = pend[:0]
		}
	}
}

// sourceOOB parses the destination of a received datagram from its
// control data and returns control data that sends the answer from it.
func (uc *udpConn) sourceOOB(oob, buf []byte, local netip.AddrPort) ([]byte, netip.AddrPort) {
	if uc.v6 {
		var cm ipv6.ControlMessage
		if cm.Parse(oob) != nil || cm.Dst == nil {
			return nil, local
		}
		dst, _ := netip.AddrFromSlice(cm.Dst)
		reply := ipv6.ControlMessage{Src: cm.Dst, IfIndex: cm.IfIndex}
		return reply.Marshal(), netip.AddrPortFrom(dst, local.Port())
	}
	var cm ipv4.ControlMessage
	if cm.Parse(oob) != nil || cm.Dst == nil {
		return nil, local
	}
	dst, _ := netip.AddrFromSlice(cm.Dst.To4())
	reply := ipv4.ControlMessage{Src: cm.Dst}
	return reply.Marshal(), netip.AddrPortFrom(dst, local.Port())
}

// reply sends an answer made off the reader goroutine.
func (uc *udpConn) reply(r *Request, wire []byte) {
	if wire != nil && r.peer.IsValid() {
		uc.c.WriteMsgUDPAddrPort(wire, r.oob, r.peer)
	}
}

// replier sends the answer of an asynchronous request; it is called once
// per request, with wire nil when there is nothing to send.
type replier interface {
	reply(r *Request, wire []byte)
}

// goAsync finishes r on a goroutine of its own (forwarding, blocking
// layers), within the client's in-flight limit.
func (s *Server) goAsync(g *generation, r *Request, rp replier) {
	a := r.Client.Addr()
	if !s.clients.add(a, 0, 1, 0, g.cfg.Limits.InflightPerClient) {
		s.counters.LimitInflight.Add(1)
		g.release()
		rp.reply(r, nil)
		releaseRequest(r)
		return
	}
	s.reqs.Add(1)
	s.spawn(func() {
		defer s.reqs.Done()
		wire := g.runRest(r)
		g.release()
		s.clients.add(a, 0, -1, 0, 0)
		rp.reply(r, wire)
		releaseRequest(r)
	})
}

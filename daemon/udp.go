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

// batchConn is what ipv4.PacketConn and ipv6.PacketConn share.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// udpConn is one worker's UDP socket.
type udpConn struct {
	c    *net.UDPConn
	v6   bool
	wild bool // bound to the unspecified address: answers name their source
}

// serveUDP reads batches of queries on worker w's socket, answers those
// that complete inline in one batched write, and hands the others to
// goroutines that answer on their own.
func (s *Server) serveUDP(w int, c *net.UDPConn, lg *listenerGroup) {
	la := c.LocalAddr().(*net.UDPAddr).AddrPort()
	uc := &udpConn{c: c, v6: !la.Addr().Unmap().Is4(), wild: la.Addr().IsUnspecified()}
	var bc batchConn
	if uc.v6 {
		p := ipv6.NewPacketConn(c)
		if uc.wild {
			p.SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true)
		}
		bc = p
	} else {
		p := ipv4.NewPacketConn(c)
		if uc.wild {
			p.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true)
		}
		bc = p
	}
	in := make([]ipv4.Message, udpBatch)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 65535)}
		if uc.wild {
			in[i].OOB = make([]byte, 128)
		}
	}
	out := make([]ipv4.Message, udpBatch)
	pend := make([]*Request, 0, udpBatch)
	for i := range out {
		out[i].Buffers = make([][]byte, 1)
	}
	local := netip.AddrPortFrom(la.Addr().Unmap(), la.Port())
	for {
		n, err := bc.ReadBatch(in, 0)
		if err != nil {
			if isClosed(err) {
				return
			}
			s.log.Warnf("io", "udp %v: %v", local, err)
			continue
		}
		k := 0
		for i := 0; i < n; i++ {
			m := &in[i]
			ua, ok := m.Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			s.counters.Requests.Add(1)
			r := newRequest(m.Buffers[0][:m.N])
			r.Client = ua.AddrPort()
			r.Client = netip.AddrPortFrom(r.Client.Addr().Unmap(), r.Client.Port())
			r.Local = local
			r.Proto = UDP
			r.Worker = w
			r.peer = ua
			if uc.wild {
				r.oob, r.Local = uc.sourceOOB(m.OOB[:m.NN], r.oob, local)
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
			o := &out[k]
			o.Buffers[0] = wire
			o.Addr = ua
			o.OOB = r.oob
			pend = append(pend, r)
			k++
		}
		for sent := 0; sent < k; {
			n, err := bc.WriteBatch(out[sent:k], 0)
			if err != nil {
				if !isClosed(err) {
					s.log.Debugf("io", "udp %v: write: %v", local, err)
				}
				break
			}
			sent += n
		}
		for i, r := range pend {
			out[i].Buffers[0] = nil
			out[i].Addr = nil
			out[i].OOB = nil
			releaseRequest(r)
		}
		pend = pend[:0]
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
	if ua, ok := r.peer.(*net.UDPAddr); ok && wire != nil {
		uc.c.WriteMsgUDP(wire, r.oob, ua)
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

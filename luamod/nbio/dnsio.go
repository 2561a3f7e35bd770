package nbio

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"

	"ljdns/dnsmsg"
	"ljdns/luabind"
	"ljdns/luamod/dns"
)

// DNS over UDP and TCP (RFC 1035 §4.2): nb.udpsend/udprecv/udpxchg and the
// length-prefixed nb.tcpsend/tcprecv/tcpxchg, the latter pipelined.

// rawSendto sends b to a without allocating.
func rawSendto(fd int, b []byte, a netip.AddrPort, af int) error {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	var r1 uintptr
	var e unix.Errno
	ip := a.Addr()
	if af == unix.AF_INET6 {
		var sa unix.RawSockaddrInet6
		sa.Family = unix.AF_INET6
		sa.Port = htons(a.Port())
		sa.Addr = ip.As16()
		r1, _, e = unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(b)),
			unix.MSG_NOSIGNAL, uintptr(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet6)
	} else {
		ip = ip.Unmap()
		if !ip.Is4() {
			return unix.EAFNOSUPPORT
		}
		var sa unix.RawSockaddrInet4
		sa.Family = unix.AF_INET
		sa.Port = htons(a.Port())
		sa.Addr = ip.As4()
		r1, _, e = unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(b)),
			unix.MSG_NOSIGNAL, uintptr(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet4)
	}
	_ = r1
	if e != 0 {
		return e
	}
	return nil
}

// rawRecvfrom reads one datagram into b and its source into from (if not
// nil) without allocating.
func rawRecvfrom(fd int, b []byte, from *luabind.Sockaddr) (int, error) {
	var rsa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(p), uintptr(len(b)), 0,
		uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return 0, e
	}
	if from != nil {
		switch rsa.Addr.Family {
		case unix.AF_INET:
			sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
			from.Path = ""
			from.Addr = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), ntohs(sa.Port))
		case unix.AF_INET6:
			sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
			from.Path = ""
			from.Addr = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), ntohs(sa.Port))
		}
	}
	return int(n), nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
func ntohs(v uint16) uint16 { return v<<8 | v>>8 }

// nb.udpsend(sock, msg [, addr]) -> n | nil, err
func nbUDPSend(L *lua.LState) int {
	k := checkSocket(L, 1)
	p := dns.CheckPacket(L, 2)
	b := p.Bytes()
	if L.GetTop() < 3 || L.Get(3) == lua.LNil {
		return k.sendAll(L, b, lua.LNumber(len(b)))
	}
	a := luabind.CheckSockaddr(L, 3)
	if a.Path != "" || !a.Addr.IsValid() || k.family == unix.AF_UNIX {
		sa, err := toSockaddr(k.family, a)
		if err != nil {
			return luabind.FailErr(L, "", err)
		}
		return k.sendTo(L, b, sa, lua.LNumber(len(b)))
	}
	// Fast path: a ready socket sends at once, without a closure; inside
	// the scheduler the datagram joins the socket's sendmmsg batch.
	if k.fd < 0 {
		return luabind.Fail(L, "closed")
	}
	if len(k.s.cur) > 0 && k.queueDatagram(b, a.Addr) {
		L.Push(lua.LNumber(len(b)))
		return 1
	}
	k.flushBatch()
	switch err := rawSendto(k.fd, b, a.Addr, k.family); err {
	case nil:
		L.Push(lua.LNumber(len(b)))
		return 1
	case unix.EAGAIN, unix.EINTR:
	default:
		return luabind.FailErr(L, "", err)
	}
	dst := a.Addr
	b = append([]byte(nil), b...)
	return k.s.Wait(L, k.fd, waitWrite, k.Timeout(), func(L *lua.LState) int {
		if k.fd < 0 {
			return luabind.Fail(L, "closed")
		}
		switch err := rawSendto(k.fd, b, dst, k.family); err {
		case nil:
			L.Push(lua.LNumber(len(b)))
			return 1
		case unix.EAGAIN, unix.EINTR:
			return waitWrite
		default:
			return luabind.FailErr(L, "", err)
		}
	})
}

// nb.udprecv(sock, msg [, addr]) -> n | nil, err
func nbUDPRecv(L *lua.LState) int {
	k := checkSocket(L, 1)
	p := dns.CheckPacket(L, 2)
	var a *luabind.Sockaddr
	if L.GetTop() >= 3 && L.Get(3) != lua.LNil {
		a = luabind.CheckSockaddr(L, 3)
	}
	if n := udpRecvTry(L, k, p, a); n >= 0 {
		return n // a ready socket: no closure, no scheduler
	}
	return k.s.Wait(L, k.fd, waitRead, k.Timeout(), func(L *lua.LState) int {
		return udpRecvTry(L, k, p, a)
	})
}

func udpRecvTry(L *lua.LState, k *Socket, p *dnsmsg.Packet, a *luabind.Sockaddr) int {
	if k.fd < 0 {
		return luabind.Fail(L, "closed")
	}
	if n, ok := k.popQueued(p.Buf, a); ok {
		p.Size = n
		L.Push(lua.LNumber(n))
		return 1
	}
	var n int
	var err error
	if len(p.Buf) <= recvSlot {
		if err = k.readBatch(); err == nil {
			n, _ = k.popQueued(p.Buf, a)
		}
	} else {
		n, err = rawRecvfrom(k.fd, p.Buf, a)
	}
	switch err {
	case nil:
		p.Size = n
		L.Push(lua.LNumber(n))
		return 1
	case unix.EAGAIN, unix.EINTR:
		k.flushBatch() // about to wait: answers go out now
		return waitRead
	}
	return luabind.FailErr(L, "", err)
}

// nb.udpxchg(sock, q, r) -> n | nil, err: udpsend(q) then udprecv(r).
func nbUDPXchg(L *lua.LState) int {
	k := checkSocket(L, 1)
	q := dns.CheckPacket(L, 2)
	r := dns.CheckPacket(L, 3)
	sent := false
	k.flushBatch()
	b := append([]byte(nil), q.Bytes()...)
	try := func(L *lua.LState) int {
		if k.fd < 0 {
			return luabind.Fail(L, "closed")
		}
		if !sent {
			_, err := unix.Write(k.fd, b)
			switch err {
			case nil:
				sent = true
			case unix.EAGAIN, unix.EINTR:
				return waitWrite
			default:
				return luabind.FailErr(L, "", err)
			}
		}
		if n, ok := k.popQueued(r.Buf, nil); ok {
			r.Size = n
			L.Push(lua.LNumber(n))
			return 1
		}
		n, err := rawRecvfrom(k.fd, r.Buf, nil)
		switch err {
		case nil:
			r.Size = n
			L.Push(lua.LNumber(n))
			return 1
		case unix.EAGAIN, unix.EINTR:
			return waitRead
		}
		return luabind.FailErr(L, "", err)
	}
	n := try(L)
	if n >= 0 {
		return n
	}
	return k.s.Wait(L, k.fd, n, k.Timeout(), try)
}

// nb.tcpsend(sock, msg) -> msg.size | nil, err (2-byte length prefix).
func nbTCPSend(L *lua.LState) int {
	k := checkSocket(L, 1)
	p := dns.CheckPacket(L, 2)
	if k.fd < 0 {
		return luabind.Fail(L, "closed")
	}
	var hdr [2]byte
	binary.BigEndian.PutUint16(hdr[:], uint16(p.Size))
	mark, err := k.write(hdr[:], p.Bytes())
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	return k.waitWritten(L, mark, lua.LNumber(p.Size))
}

// tcprecv(sock, msg) -> n | nil, err [, raise]. The Lua wrapper nb.tcprecv
// raises when the third value is true (length over max_size).
func nbTCPRecv(L *lua.LState) int {
	k := checkSocket(L, 1)
	p := dns.CheckPacket(L, 2)
	try := func(L *lua.LState) int {
		for {
			in := k.pending()
			if len(in) >= 2 {
				l := int(binary.BigEndian.Uint16(in))
				if l > p.MaxSize() {
					L.Push(lua.LNil)
					L.Push(lua.LString("dns.nbio: message size " + itoa(l) + " exceeds max_size " + itoa(p.MaxSize())))
					L.Push(lua.LTrue)
					return 3
				}
				if len(in) >= 2+l {
					k.consume(2 + l)
					if l < 12 {
						return luabind.Fail(L, "message too short")
					}
					copy(p.Buf, in[2:2+l])
					p.Size = l
					L.Push(lua.LNumber(l))
					return 1
				}
			}
			if k.eof || k.fd < 0 {
				return luabind.Fail(L, "closed")
			}
			need := 2
			if len(in) >= 2 {
				need = 2 + int(binary.BigEndian.Uint16(in)) - len(in)
			}
			if err := k.fill(need); err != nil {
				if err == errAgain {
					return waitRead
				}
				return luabind.FailErr(L, "", err)
			}
		}
	}
	if n := try(L); n >= 0 {
		return n
	}
	return k.s.Wait(L, k.fd, waitRead, k.Timeout(), try)
}

// pipeline is the state of pipelined exchanges on one stream socket.
type pipeline struct {
	s        *Sched
	inflight map[uint16]*xchg
}

// xchg is one exchange waiting for its response.
type xchg struct {
	r    *dnsmsg.Packet
	w    *waiter
	n    int
	err  string
	done bool
}

// deliver hands a response to the exchange with its ID (unknown IDs are
// dropped).
func (pl *pipeline) deliver(msg []byte, self *xchg) {
	if len(msg) < 2 {
		return
	}
	id := binary.BigEndian.Uint16(msg)
	x := pl.inflight[id]
	if x == nil {
		return
	}
	delete(pl.inflight, id)
	if len(msg) > x.r.MaxSize() {
		x.err = "dns.nbio: message size " + itoa(len(msg)) + " exceeds max_size " + itoa(x.r.MaxSize())
	} else {
		copy(x.r.Buf, msg)
		x.r.Size = len(msg)
		x.n = len(msg)
	}
	x.done = true
	if x != self {
		pl.s.wake(x.w)
	}
}

// fail ends every exchange in flight with err.
func (pl *pipeline) fail(err string) {
	for id, x := range pl.inflight {
		delete(pl.inflight, id)
		x.err, x.done = err, true
		pl.s.wake(x.w)
	}
}

// nb.tcpxchg(sock, q, r [, copy]) -> n | false | nil, err
func nbTCPXchg(L *lua.LState) int {
	k := checkSocket(L, 1)
	q := dns.CheckPacket(L, 2)
	r := dns.CheckPacket(L, 3)
	if k.fd < 0 {
		return luabind.Fail(L, "closed")
	}
	if k.pipe == nil {
		k.pipe = &pipeline{s: k.s, inflight: map[uint16]*xchg{}}
	}
	pl := k.pipe
	id := q.ID()
	if pl.inflight[id] != nil {
		L.Push(lua.LFalse)
		return 1
	}
	x := &xchg{r: r}
	pl.inflight[id] = x
	var hdr [2]byte
	binary.BigEndian.PutUint16(hdr[:], uint16(q.Size))
	mark, err := k.write(hdr[:], q.Bytes())
	if err != nil {
		delete(pl.inflight, id)
		return luabind.FailErr(L, "", err)
	}
	result := func(L *lua.LState) int {
		if x.err != "" {
			return luabind.Fail(L, "%s", x.err)
		}
		L.Push(lua.LNumber(x.n))
		return 1
	}
	try := func(L *lua.LState) int {
		if x.done {
			return result(L)
		}
		if err := k.flush(); err != nil {
			pl.fail(err.Error())
			return result(L)
		}
		if !k.written(mark) {
			return waitWrite
		}
		for !x.done {
			in := k.pending()
			if len(in) >= 2 {
				l := int(binary.BigEndian.Uint16(in))
				if len(in) >= 2+l {
					msg := in[2 : 2+l]
					pl.deliver(msg, x)
					k.consume(2 + l)
					continue
				}
			}
			if k.eof || k.fd < 0 {
				pl.fail("closed")
				break
			}
			need := 2
			if len(in) >= 2 {
				need = 2 + int(binary.BigEndian.Uint16(in)) - len(in)
			}
			if err := k.fill(need); err != nil {
				if err == errAgain {
					return waitRead
				}
				pl.fail(err.Error())
			}
		}
		return result(L)
	}
	n := try(L)
	if n >= 0 {
		return n
	}
	w := &waiter{fd: k.fd, retry: try, hidx: -1}
	w.cancel = func() {
		if pl.inflight[id] == x {
			delete(pl.inflight, id)
		}
	}
	x.w = w
	return k.s.wait(L, w, n, k.Timeout())
}

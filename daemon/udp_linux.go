//go:build linux

package daemon

import (
	"errors"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is the kernel's struct mmsghdr (recvmmsg(2), sendmmsg(2)).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// mmsgBatch reads and writes a worker's datagrams with recvmmsg and
// sendmmsg on the non-blocking socket. The calls are raw system calls: they
// never block (EAGAIN waits in the runtime's poller instead), so they skip
// the scheduler's system call bookkeeping, which under load kept the
// runtime's monitor thread waking every few tens of microseconds to
// consider handing the worker's P to another thread. Received addresses
// are read from the kernel's sockaddrs without allocating, and an answer
// goes back to the very sockaddr its query came from.
type mmsgBatch struct {
	rc    syscall.RawConn
	wild  bool
	in    [udpBatch]mmsghdr
	inIov [udpBatch]unix.Iovec
	names [udpBatch]unix.RawSockaddrInet6 // large enough for IPv4 too
	bufs  [udpBatch][]byte
	oobs  [udpBatch][]byte

	out    [udpBatch]mmsghdr
	outIov [udpBatch]unix.Iovec
	nout   int
	sent   int

	// results of the last system call, set by doRecv and doSend
	n     int
	errno syscall.Errno

	recvFn, sendFn func(fd uintptr) bool // doRecv and doSend, bound once
}

func newDatagrams(uc *udpConn) (datagrams, error) {
	rc, err := uc.c.SyscallConn()
	if err != nil {
		return nil, err
	}
	b := &mmsgBatch{rc: rc, wild: uc.wild}
	for i := range b.in {
		b.bufs[i] = make([]byte, 65535)
		b.inIov[i].Base = &b.bufs[i][0]
		b.inIov[i].SetLen(len(b.bufs[i]))
		h := &b.in[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.inIov[i]
		h.SetIovlen(1)
		if uc.wild {
			b.oobs[i] = make([]byte, 128)
			h.Control = &b.oobs[i][0]
		}
		b.out[i].hdr.Iov = &b.outIov[i]
		b.out[i].hdr.SetIovlen(1)
	}
	b.recvFn, b.sendFn = b.doRecv, b.doSend
	return b, nil
}

func (b *mmsgBatch) doRecv(fd uintptr) bool {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.in[0])), uintptr(len(b.in)), 0, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait until readable
		}
		b.n, b.errno = int(n), e
		return true
	}
}

func (b *mmsgBatch) recv() (int, error) {
	for i := range b.in {
		h := &b.in[i].hdr
		h.Namelen = unix.SizeofSockaddrInet6
		if b.wild {
			h.SetControllen(len(b.oobs[i]))
		}
		h.Flags = 0
	}
	if err := b.rc.Read(b.recvFn); err != nil {
		return 0, err
	}
	if b.errno != 0 {
		return 0, os.NewSyscallError("recvmmsg", b.errno)
	}
	return b.n, nil
}

func (b *mmsgBatch) get(i int) ([]byte, netip.AddrPort, []byte, bool) {
	m := &b.in[i]
	sa := &b.names[i]
	var peer netip.AddrPort
	switch {
	case sa.Family == unix.AF_INET && m.hdr.Namelen >= unix.SizeofSockaddrInet4:
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		peer = netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), portOf(s4.Port))
	case sa.Family == unix.AF_INET6 && m.hdr.Namelen >= unix.SizeofSockaddrInet6:
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			a = a.WithZone(itoa(int(sa.Scope_id)))
		}
		peer = netip.AddrPortFrom(a, portOf(sa.Port))
	default:
		return nil, peer, nil, false
	}
	var oob []byte
	if b.wild {
		oob = b.oobs[i][:m.hdr.Controllen]
	}
	return b.bufs[i][:m.n], peer, oob, true
}

// portOf reads a sockaddr's port (network byte order in memory).
func portOf(p uint16) uint16 {
	bs := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(bs[0])<<8 | uint16(bs[1])
}

func (b *mmsgBatch) queue(i int, wire, oob []byte) {
	o := &b.out[b.nout].hdr
	o.Name = b.in[i].hdr.Name
	o.Namelen = b.in[i].hdr.Namelen
	b.outIov[b.nout].Base = &wire[0]
	b.outIov[b.nout].SetLen(len(wire))
	if len(oob) > 0 {
		o.Control = &oob[0]
		o.SetControllen(len(oob))
	} else {
		o.Control = nil
		o.SetControllen(0)
	}
	b.nout++
}

func (b *mmsgBatch) doSend(fd uintptr) bool {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.out[b.sent])), uintptr(b.nout-b.sent), 0, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait until writable
		}
		b.n, b.errno = int(n), e
		return true
	}
}

func (b *mmsgBatch) flush(log func(error)) error {
	defer b.reset()
	for b.sent = 0; b.sent < b.nout; {
		if err := b.rc.Write(b.sendFn); err != nil {
			return err
		}
		if b.errno != 0 {
			// the answer at b.sent failed (an unreachable client, a
			// firewall): skip it, send the others
			if log != nil {
				log(os.NewSyscallError("sendmmsg", b.errno))
			}
			b.sent++
			continue
		}
		if b.n <= 0 {
			return errors.New("sendmmsg sent nothing")
		}
		b.sent += b.n
	}
	return nil
}

// reset drops the references the queued answers hold.
func (b *mmsgBatch) reset() {
	for i := 0; i < b.nout; i++ {
		b.out[i].hdr.Name = nil
		b.out[i].hdr.Control = nil
		b.outIov[i].Base = nil
	}
	b.nout, b.sent = 0, 0
}

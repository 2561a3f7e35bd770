package nbio

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"

	"ljdns/luabind"
)

// Datagram send batching: inside the scheduler, nb.udpsend with an address
// queues the datagram on the socket and sendmmsg(2) writes the batch when
// it is full, when the socket's next receive would block, before the
// scheduler waits, and before any other send or close on the socket. A
// busy server thus pays one send system call per batch instead of one per
// answer, and an idle one sends each answer before it waits again.

// batchSize is the number of datagrams per sendmmsg.
const batchSize = 32

// udpBatch is the queue of one socket.
type udpBatch struct {
	n      int
	bufs   [batchSize][]byte
	v4     [batchSize]unix.RawSockaddrInet4
	v6     [batchSize]unix.RawSockaddrInet6
	iovs   [batchSize]unix.Iovec
	msgs   [batchSize]unix.Mmsghdr
	queued bool // the socket is in Sched.batched
}

// queueDatagram appends b for dst; it reports false when the datagram
// cannot be queued (the caller sends it directly).
func (k *Socket) queueDatagram(b []byte, dst netip.AddrPort) bool {
	if k.batch == nil {
		k.batch = &udpBatch{}
	}
	q := k.batch
	i := q.n
	q.bufs[i] = append(q.bufs[i][:0], b...)
	m := &q.msgs[i]
	*m = unix.Mmsghdr{}
	ip := dst.Addr()
	if k.family == unix.AF_INET6 {
		sa := &q.v6[i]
		*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Port: htons(dst.Port()), Addr: ip.As16()}
		m.Hdr.Name = (*byte)(unsafe.Pointer(sa))
		m.Hdr.Namelen = unix.SizeofSockaddrInet6
	} else {
		ip = ip.Unmap()
		if !ip.Is4() {
			return false
		}
		sa := &q.v4[i]
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Port: htons(dst.Port()), Addr: ip.As4()}
		m.Hdr.Name = (*byte)(unsafe.Pointer(sa))
		m.Hdr.Namelen = unix.SizeofSockaddrInet4
	}
	iov := &q.iovs[i]
	iov.Base = nil
	if len(q.bufs[i]) > 0 {
		iov.Base = &q.bufs[i][0]
	}
	iov.SetLen(len(q.bufs[i]))
	m.Hdr.Iov = iov
	m.Hdr.Iovlen = 1
	q.n++
	if !q.queued {
		q.queued = true
		k.s.batched = append(k.s.batched, k)
	}
	if q.n == batchSize {
		k.flushBatch()
	}
	return true
}

// flushBatch sends the queued datagrams. Datagrams the kernel refuses
// (full buffers after a short wait, unreachable destinations) are dropped,
// as a network would drop them.
func (k *Socket) flushBatch() {
	q := k.batch
	if q == nil || q.n == 0 {
		return
	}
	sent := 0
	for sent < q.n && k.fd >= 0 {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(k.fd), uintptr(unsafe.Pointer(&q.msgs[sent])),
			uintptr(q.n-sent), unix.MSG_NOSIGNAL, 0, 0)
		switch {
		case e == 0:
			sent += int(r)
		case e == unix.EINTR:
		case e == unix.EAGAIN:
			pfd := []unix.PollFd{{Fd: int32(k.fd), Events: unix.POLLOUT}}
			if n, _ := unix.Poll(pfd, 100); n <= 0 {
				sent = q.n
			}
		default:
			sent++ // skip the datagram the error is about
		}
	}
	q.n = 0
}

// flushBatches sends every queued datagram of the scheduler.
func (s *Sched) flushBatches() {
	for _, k := range s.batched {
		k.flushBatch()
		k.batch.queued = false
	}
	clear(s.batched)
	s.batched = s.batched[:0]
}

// Datagram receive batching: nb.udprecv into packets of at most
// recvSlot bytes reads up to batchSize datagrams per recvmmsg(2) and hands
// them out one per call. (A datagram longer than a slot would have been
// truncated to the packet's size by a plain receive as well.) Every other
// receive on the socket takes the queued datagrams first, in order.

// recvSlot is the size of one read-ahead datagram slot.
const recvSlot = 4096

// recvBatch is the read-ahead queue of one socket.
type recvBatch struct {
	head, n int
	bufs    [batchSize][recvSlot]byte
	names   [batchSize]unix.RawSockaddrAny
	iovs    [batchSize]unix.Iovec
	msgs    [batchSize]unix.Mmsghdr
}

// readBatch fills the queue; it returns unix.EAGAIN when nothing is ready.
func (k *Socket) readBatch() error {
	if k.rbatch == nil {
		k.rbatch = &recvBatch{}
	}
	q := k.rbatch
	for i := range q.msgs {
		q.iovs[i].Base = &q.bufs[i][0]
		q.iovs[i].SetLen(recvSlot)
		q.msgs[i] = unix.Mmsghdr{}
		q.msgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&q.names[i]))
		q.msgs[i].Hdr.Namelen = unix.SizeofSockaddrAny
		q.msgs[i].Hdr.Iov = &q.iovs[i]
		q.msgs[i].Hdr.Iovlen = 1
	}
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(k.fd), uintptr(unsafe.Pointer(&q.msgs[0])),
		batchSize, unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return e
	}
	q.head, q.n = 0, int(r)
	return nil
}

// popQueued copies the next read-ahead datagram into dst (truncating) and
// its source into from (if not nil); ok is false when none is queued.
func (k *Socket) popQueued(dst []byte, from *luabind.Sockaddr) (n int, ok bool) {
	q := k.rbatch
	if q == nil || q.head >= q.n {
		return 0, false
	}
	i := q.head
	q.head++
	n = copy(dst, q.bufs[i][:min(int(q.msgs[i].Len), recvSlot)])
	if from != nil {
		rawToSockaddr(&q.names[i], from)
	}
	return n, true
}

// rawToSockaddr converts a kernel address of family inet or inet6.
func rawToSockaddr(rsa *unix.RawSockaddrAny, from *luabind.Sockaddr) {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		from.Path = ""
		from.Addr = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), ntohs(sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		from.Path = ""
		from.Addr = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), ntohs(sa.Port))
	}
}

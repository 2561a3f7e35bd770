package nbio

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
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

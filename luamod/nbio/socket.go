package nbio

import (
	"bytes"
	"time"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"

	"ljdns/luabind"
)

// socketTypeName is the registry name of socket objects.
const socketTypeName = "dns.nbio.socket"

// Socket is a non-blocking OS socket owned by one Lua state.
type Socket struct {
	s       *Sched
	fd      int     // -1 after close
	family  int     // unix.AF_*
	stype   int     // unix.SOCK_STREAM / SOCK_DGRAM
	timeout float64 // milliseconds, 0 = none (settimeout)

	rb     []byte // read-ahead storage; rb[r0:r1] is pending input
	r0, r1 int
	eof    bool

	out          []byte // stream output not written yet
	queued, sent uint64 // stream bytes accepted / written so far

	pipe   *pipeline  // pipelined tcpxchg state
	batch  *udpBatch  // datagrams queued for sendmmsg
	rbatch *recvBatch // datagrams read ahead with recvmmsg
	closed bool       // Close was called

	// Peer and Local override getpeername/getsockname (TLS sessions run
	// over a local socket pair but report the network addresses).
	Peer, Local *luabind.Sockaddr
}

// SocketHolder is implemented by userdata values that stand for a socket
// (sockets themselves and TLS sessions), so the nb.* helpers accept them.
type SocketHolder interface {
	NbioSocket() *Socket
}

// NbioSocket implements SocketHolder.
func (k *Socket) NbioSocket() *Socket { return k }

// FD returns the descriptor (-1 after close).
func (k *Socket) FD() int { return k.fd }

// Timeout returns the I/O timeout set with settimeout (0: none).
func (k *Socket) Timeout() time.Duration {
	return time.Duration(k.timeout * float64(time.Millisecond))
}

// Closed reports whether Close was called.
func (k *Socket) Closed() bool { return k.closed }

// SetTimeout sets the I/O timeout in milliseconds (0: none).
func (k *Socket) SetTimeout(ms float64) { k.timeout = max(ms, 0) }

// Send writes b completely (stream) or as one datagram, waiting while the
// socket would block, and pushes the byte count or nil, err.
func (k *Socket) Send(L *lua.LState, b []byte) int {
	return k.sendAll(L, b, lua.LNumber(len(b)))
}

// Sched returns the scheduler the socket belongs to.
func (k *Socket) Sched() *Sched { return k.s }

func (s *Sched) newSocket(fd, family, stype int) *Socket {
	s.res.add(fd)
	return &Socket{s: s, fd: fd, family: family, stype: stype}
}

// Detach hands the descriptor over to the caller: the socket forgets it
// (waiters are resumed with "closed") without closing it, and stays open
// with fd -1 until Attach gives it a new one.
func (k *Socket) Detach() int {
	fd := k.fd
	if fd < 0 {
		return -1
	}
	k.s.forget(fd)
	k.s.res.remove(fd)
	k.fd = -1
	return fd
}

// Attach makes fd (non-blocking) the socket's descriptor; the socket then
// becomes a stream socket of family AF_UNIX at OS level while keeping its
// reported addresses in Peer and Local.
func (k *Socket) Attach(fd int) {
	k.fd = fd
	k.stype = unix.SOCK_STREAM
	k.r0, k.r1, k.eof = 0, 0, false
	k.out, k.queued, k.sent = nil, 0, 0
	k.s.res.add(fd)
}

// Close closes the socket once; later calls do nothing.
func (k *Socket) Close() {
	k.closed = true
	if k.fd < 0 {
		return
	}
	k.flushBatch()
	fd := k.fd
	k.fd = -1
	k.s.forget(fd)
	if k.pipe != nil {
		k.pipe.fail("closed")
	}
	k.s.res.remove(fd)
	unix.Close(fd)
}

// pending returns the buffered input.
func (k *Socket) pending() []byte { return k.rb[k.r0:k.r1] }

// consume drops n bytes of buffered input.
func (k *Socket) consume(n int) {
	k.r0 += n
	if k.r0 >= k.r1 {
		k.r0, k.r1 = 0, 0
	}
}

// fill reads once into the read-ahead buffer. It returns errAgain when the
// socket would block; EOF sets k.eof.
func (k *Socket) fill(hint int) error {
	if k.fd < 0 {
		return ErrClosed
	}
	if hint < 4096 {
		hint = 4096
	}
	if k.r0 > 0 && k.r0 == k.r1 {
		k.r0, k.r1 = 0, 0
	}
	if len(k.rb)-k.r1 < hint {
		if k.r0 > 0 {
			k.r1 = copy(k.rb, k.rb[k.r0:k.r1])
			k.r0 = 0
		}
		if len(k.rb)-k.r1 < hint {
			nb := make([]byte, k.r1+hint)
			copy(nb, k.rb[:k.r1])
			k.rb = nb
		}
	}
	n, err := unix.Read(k.fd, k.rb[k.r1:])
	switch {
	case err == unix.EINTR:
		return errAgain
	case err != nil:
		return err
	case n == 0:
		k.eof = true
	}
	k.r1 += n
	return nil
}

// write queues b on a stream socket and writes what it can. It returns the
// mark that k.sent must reach for b to be fully written.
func (k *Socket) write(b ...[]byte) (uint64, error) {
	if k.fd < 0 {
		return 0, ErrClosed
	}
	total := 0
	for _, x := range b {
		total += len(x)
	}
	k.queued += uint64(total)
	mark := k.queued
	if len(k.out) == 0 {
		var n int
		var err error
		for {
			if len(b) == 1 {
				n, err = unix.Write(k.fd, b[0])
			} else {
				n, err = unix.Writev(k.fd, b)
			}
			if err != unix.EINTR {
				break
			}
		}
		if err != nil && err != unix.EAGAIN {
			k.queued -= uint64(total)
			return 0, err
		}
		if n < 0 {
			n = 0
		}
		k.sent += uint64(n)
		for _, x := range b {
			if n >= len(x) {
				n -= len(x)
				continue
			}
			k.out = append(k.out, x[n:]...)
			n = 0
		}
		return mark, nil
	}
	for _, x := range b {
		k.out = append(k.out, x...)
	}
	return mark, k.flush()
}

// flush writes queued output; errAgain-free: a would-block leaves it queued.
func (k *Socket) flush() error {
	for len(k.out) > 0 {
		if k.fd < 0 {
			return ErrClosed
		}
		n, err := unix.Write(k.fd, k.out)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return nil
		}
		if err != nil {
			k.out = nil
			return err
		}
		k.sent += uint64(n)
		k.out = k.out[n:]
	}
	k.out = nil
	return nil
}

// written reports whether output up to mark has been written.
func (k *Socket) written(mark uint64) bool { return k.sent >= mark }

func registerSocket(L *lua.LState, s *Sched) *lua.LTable {
	mt := luabind.RegisterType(L, luabind.TypeSpec{
		Name:    socketTypeName,
		Methods: socketMethods,
		Meta: map[string]lua.LGFunction{
			"__index":    sockIndex,
			"__newindex": sockNewIndex,
			"__tostring": sockString,
			"__eq":       func(L *lua.LState) int { return luabind.Bool(L, L.Get(1) == L.Get(2)) },
		},
	})
	// __index with the method table at hand (no registry lookup per call).
	methods := luabind.Methods(L, socketTypeName)
	mt.RawSetString("__index", L.NewFunction(luabind.Guard(socketTypeName+".__index", func(L *lua.LState) int {
		k := luabind.Check[*Socket](L, 1, socketTypeName)
		key := L.Get(2)
		if name, ok := key.(lua.LString); ok {
			switch name {
			case "fd":
				L.Push(lua.LNumber(k.fd))
				return 1
			case "timeout":
				L.Push(lua.LNumber(k.timeout))
				return 1
			}
		}
		L.Push(methods.RawGet(key))
		return 1
	})))
	return mt
}

// checkSocket returns argument n as a socket (a socket or a TLS session).
func checkSocket(L *lua.LState, n int) *Socket {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if h, ok := ud.Value.(SocketHolder); ok {
			return h.NbioSocket()
		}
	}
	L.ArgError(n, socketTypeName+" expected, got "+luabind.TypeName(L.Get(n)))
	return nil
}

// CheckSocket returns argument n as a socket (or the socket under a TLS
// session), raising otherwise.
func CheckSocket(L *lua.LState, n int) *Socket { return checkSocket(L, n) }

// PushSocket pushes k as a socket object.
func PushSocket(L *lua.LState, k *Socket) { luabind.Push(L, socketTypeName, k) }

func sockIndex(L *lua.LState) int {
	k := luabind.Check[*Socket](L, 1, socketTypeName)
	key := L.Get(2)
	switch key.String() {
	case "fd":
		L.Push(lua.LNumber(k.fd))
		return 1
	case "timeout":
		L.Push(lua.LNumber(k.timeout))
		return 1
	}
	L.Push(luabind.Methods(L, socketTypeName).RawGet(key))
	return 1
}

func sockNewIndex(L *lua.LState) int {
	k := luabind.Check[*Socket](L, 1, socketTypeName)
	switch L.CheckString(2) {
	case "timeout":
		k.timeout = luabind.OptNumber(L, 3, 0)
	default:
		L.RaiseError("cannot set field %s of socket", L.CheckString(2))
	}
	return 0
}

func sockString(L *lua.LState) int {
	k := luabind.Check[*Socket](L, 1, socketTypeName)
	L.Push(lua.LString("socket: " + familyName(k.family) + " fd " + itoa(k.fd)))
	return 1
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// socketMethods are the socket object methods (API.md §2.5).
var socketMethods = map[string]lua.LGFunction{
	"bind":        sockBind,
	"accept":      sockAccept,
	"connect":     sockConnect,
	"setpeername": sockConnect,
	"send":        sockSend,
	"sendto":      sockSendTo,
	"sendv":       sockSendv,
	"receive":     sockReceive,
	"recv":        sockReceive,
	"receivefrom": sockReceiveFrom,
	"getsockname": sockGetSockName,
	"getpeername": sockGetPeerName,
	"settimeout":  sockSetTimeout,
	"setsockopt":  sockSetSockOpt,
	"close":       sockClose,
}

// openSocket returns argument 1 as an open socket, raising when closed.
func openSocket(L *lua.LState) *Socket {
	k := checkSocket(L, 1)
	return k
}

// sock:bind(host, port [, backlog]) / sock:bind(path) -> true; raises on failure.
func sockBind(L *lua.LState) int {
	k := openSocket(L)
	if k.fd < 0 {
		L.RaiseError("dns.nbio: bind: socket closed")
	}
	var a *luabind.Sockaddr
	if sa, ok := luabind.As[*luabind.Sockaddr](L.Get(2)); ok {
		a = sa
	} else {
		var err error
		if a, err = resolve(k.family, L.CheckString(2), luabind.OptInt(L, 3, 0)); err != nil {
			L.RaiseError("dns.nbio: bind: %v", err)
		}
	}
	sa, err := toSockaddr(k.family, a)
	if err != nil {
		L.RaiseError("dns.nbio: bind: %v", err)
	}
	if k.family != unix.AF_UNIX {
		if unix.SetsockoptInt(k.fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) != nil {
			unix.SetsockoptInt(k.fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		}
	}
	if k.stype == unix.SOCK_DGRAM {
		tuneBuffers(k.fd)
	}
	if err := unix.Bind(k.fd, sa); err != nil {
		L.RaiseError("dns.nbio: bind: %v", err)
	}
	if k.stype == unix.SOCK_STREAM {
		backlog := luabind.OptInt(L, 4, 64)
		if k.family == unix.AF_UNIX {
			backlog = luabind.OptInt(L, 3, 64)
		} else {
			unix.SetsockoptInt(k.fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN, 16)
		}
		if err := unix.Listen(k.fd, backlog); err != nil {
			L.RaiseError("dns.nbio: listen: %v", err)
		}
	}
	L.Push(lua.LTrue)
	return 1
}

// sock:accept() -> socket | nil, err
func sockAccept(L *lua.LState) int {
	k := openSocket(L)
	try := func(L *lua.LState) int {
		if k.fd < 0 {
			return luabind.Fail(L, "closed")
		}
		nfd, _, err := unix.Accept4(k.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch err {
		case nil:
			c := k.s.newSocket(nfd, k.family, unix.SOCK_STREAM)
			c.timeout = k.timeout
			PushSocket(L, c)
			return 1
		case unix.EAGAIN, unix.EINTR, unix.ECONNABORTED:
			return waitRead
		}
		return luabind.FailErr(L, "", err)
	}
	if n := try(L); n >= 0 {
		return n
	}
	return k.s.Wait(L, k.fd, waitRead, k.Timeout(), try)
}

// targetArgs reads (host, port) or (sockaddr) at argument i and returns
// the address and the index of the next argument.
func targetArgs(L *lua.LState, k *Socket, i int) (*luabind.Sockaddr, int, error) {
	if sa, ok := luabind.As[*luabind.Sockaddr](L.Get(i)); ok {
		return sa, i + 1, nil
	}
	host := L.CheckString(i)
	if k.family == unix.AF_UNIX {
		// connect(path [, data]) — a number after the path is ignored.
		if _, ok := L.Get(i + 1).(lua.LNumber); ok {
			return &luabind.Sockaddr{Path: host}, i + 2, nil
		}
		return &luabind.Sockaddr{Path: host}, i + 1, nil
	}
	port := 53
	next := i + 1
	switch v := L.Get(i + 1).(type) {
	case lua.LNumber:
		port = int(v)
		next = i + 2
	case *lua.LNilType:
		next = i + 2
	}
	a, err := resolve(k.family, host, port)
	return a, next, err
}

// sock:connect(host, port [, data [, len]]) / connect(sockaddr [, data [, len]])
// -> true | bytes sent | nil, err. With data on a TCP socket it tries TCP
// Fast Open, falling back to connect + send.
func sockConnect(L *lua.LState) int {
	k := openSocket(L)
	if k.fd < 0 {
		return luabind.Fail(L, "closed")
	}
	a, next, err := targetArgs(L, k, 2)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	sa, err := toSockaddr(k.family, a)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	var data []byte
	hasData := L.Get(next) != lua.LNil
	if hasData {
		data = append([]byte(nil), luabind.CheckBytes(L, next, next+1)...)
	}
	total := len(data)
	var mark uint64
	connected := false
	if hasData && k.stype == unix.SOCK_STREAM && k.family != unix.AF_UNIX {
		n, err := unix.SendmsgN(k.fd, data, nil, sa, unix.MSG_FASTOPEN|unix.MSG_NOSIGNAL)
		switch {
		case err == nil: // data went out with the SYN (or is queued behind it)
			k.queued += uint64(len(data))
			k.sent += uint64(n)
			k.out = append(k.out, data[n:]...)
			mark = k.queued
			connected = true
			data = nil
		case err == unix.EINPROGRESS, err == unix.EALREADY, err == unix.EISCONN:
			connected = true
		case err == unix.EOPNOTSUPP, err == unix.EINVAL, err == unix.ENOPROTOOPT, err == unix.EPIPE:
		default:
			return luabind.FailErr(L, "", err)
		}
	}
	if !connected {
		err := unix.Connect(k.fd, sa)
		if err != nil && err != unix.EINPROGRESS && err != unix.EINTR && err != unix.EAGAIN {
			return luabind.FailErr(L, "", err)
		}
	}
	established := false
	try := func(L *lua.LState) int {
		if k.fd < 0 {
			return luabind.Fail(L, "closed")
		}
		if !established {
			if v, err := unix.GetsockoptInt(k.fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && v != 0 {
				return luabind.Fail(L, "failed to connect")
			}
			if _, err := unix.Getpeername(k.fd); err != nil {
				return waitWrite
			}
			established = true
			if data != nil {
				var err error
				if mark, err = k.write(data); err != nil {
					return luabind.FailErr(L, "", err)
				}
				data = nil
			}
		}
		if hasData {
			if err := k.flush(); err != nil {
				return luabind.FailErr(L, "", err)
			}
			if !k.written(mark) {
				return waitWrite
			}
			L.Push(lua.LNumber(total))
			return 1
		}
		L.Push(lua.LTrue)
		return 1
	}
	if n := try(L); n >= 0 {
		return n
	}
	return k.s.Wait(L, k.fd, waitWrite, k.Timeout(), try)
}

// sendAll writes b completely on a stream socket, or as one datagram.
func (k *Socket) sendAll(L *lua.LState, b []byte, result lua.LValue) int {
	if k.fd < 0 {
		return luabind.Fail(L, "closed")
	}
	k.flushBatch()
	if k.stype != unix.SOCK_STREAM {
		try := func(L *lua.LState) int {
			if k.fd < 0 {
				return luabind.Fail(L, "closed")
			}
			_, err := unix.Write(k.fd, b)
			switch err {
			case nil:
				L.Push(result)
				return 1
			case unix.EAGAIN, unix.EINTR:
				return waitWrite
			}
			return luabind.FailErr(L, "", err)
		}
		if n := try(L); n >= 0 {
			return n
		}
		b = append([]byte(nil), b...) // the string may go away while waiting
		return k.s.Wait(L, k.fd, waitWrite, k.Timeout(), try)
	}
	mark, err := k.write(b)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	return k.waitWritten(L, mark, result)
}

// waitWritten waits until the stream output up to mark is written, then
// pushes result.
func (k *Socket) waitWritten(L *lua.LState, mark uint64, result lua.LValue) int {
	try := func(L *lua.LState) int {
		if err := k.flush(); err != nil {
			return luabind.FailErr(L, "", err)
		}
		if !k.written(mark) {
			if k.fd < 0 {
				return luabind.Fail(L, "closed")
			}
			return waitWrite
		}
		L.Push(result)
		return 1
	}
	if k.written(mark) {
		L.Push(result)
		return 1
	}
	return k.s.Wait(L, k.fd, waitWrite, k.Timeout(), try)
}

// sock:send(data [, len]) -> bytes | nil, err
func sockSend(L *lua.LState) int {
	k := openSocket(L)
	b := luabind.CheckBytes(L, 2, 3)
	return k.sendAll(L, b, lua.LNumber(len(b)))
}

// sock:sendv(b1, l1, b2, l2) -> total bytes | nil, err
func sockSendv(L *lua.LState) int {
	k := openSocket(L)
	b1 := luabind.CheckBytes(L, 2, 3)
	b2 := luabind.CheckBytes(L, 4, 5)
	if k.fd < 0 {
		return luabind.Fail(L, "closed")
	}
	if k.stype != unix.SOCK_STREAM {
		return k.sendAll(L, append(append([]byte(nil), b1...), b2...), lua.LNumber(len(b1)+len(b2)))
	}
	mark, err := k.write(b1, b2)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	return k.waitWritten(L, mark, lua.LNumber(len(b1)+len(b2)))
}

// addrArg reads a destination at argument i: a sockaddr, or host and port.
func addrArg(L *lua.LState, k *Socket, i int) (unix.Sockaddr, error) {
	a, _, err := targetArgs(L, k, i)
	if err != nil {
		return nil, err
	}
	return toSockaddr(k.family, a)
}

// sock:sendto(buf, len, addr) -> bytes | nil, err
func sockSendTo(L *lua.LState) int {
	k := openSocket(L)
	b := luabind.CheckBytes(L, 2, 3)
	sa, err := addrArg(L, k, 4)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	return k.sendTo(L, b, sa, lua.LNumber(len(b)))
}

// sendTo sends one datagram to sa and pushes result.
func (k *Socket) sendTo(L *lua.LState, b []byte, sa unix.Sockaddr, result lua.LValue) int {
	k.flushBatch()
	try := func(L *lua.LState) int {
		if k.fd < 0 {
			return luabind.Fail(L, "closed")
		}
		err := unix.Sendto(k.fd, b, unix.MSG_NOSIGNAL, sa)
		switch err {
		case nil:
			L.Push(result)
			return 1
		case unix.EAGAIN, unix.EINTR:
			return waitWrite
		}
		return luabind.FailErr(L, "", err)
	}
	if n := try(L); n >= 0 {
		return n
	}
	b = append([]byte(nil), b...)
	return k.s.Wait(L, k.fd, waitWrite, k.Timeout(), try)
}

// receive modes
const (
	recvCount = iota
	recvAll
	recvLine
)

// sock:receive([n | '*a' | '*l' [, buf [, oneshot]]]) -> string | count | nil, err
func sockReceive(L *lua.LState) int {
	k := openSocket(L)
	mode, n, oneshot := recvCount, 512, false
	switch v := L.Get(2).(type) {
	case *lua.LNilType:
		oneshot = true
	case lua.LNumber:
		n = int(v)
	case lua.LString:
		switch {
		case len(v) >= 2 && v[:2] == "*a":
			mode = recvAll
		case len(v) >= 2 && v[:2] == "*l":
			mode = recvLine
		default:
			L.RaiseError("only receive(size?) supported")
		}
	default:
		L.RaiseError("only receive(size?) supported")
	}
	if n < 0 {
		n = 0
	}
	var dst []byte
	hasBuf := false
	if L.Get(3) != lua.LNil {
		v, ok := luabind.As[*luabind.View](L.Get(3))
		if !ok || v.ReadOnly {
			L.ArgError(3, "writable buffer expected, got "+luabind.TypeName(L.Get(3)))
		}
		dst, hasBuf = v.LuaBytes(), true
		if mode == recvCount && n > len(dst) {
			L.ArgError(2, "size exceeds buffer")
		}
	}
	if luabind.Truthy(L, 4) {
		oneshot = true
	}
	return k.receive(L, mode, n, dst, hasBuf, oneshot)
}

// Receive is sock:receive for Go callers (TLS sessions): mode "*a", "*l"
// or a count n; dst non-nil receives the bytes (the count is returned).
func (k *Socket) Receive(L *lua.LState, n int, dst []byte, oneshot bool) int {
	return k.receive(L, recvCount, n, dst, dst != nil, oneshot)
}

func (k *Socket) receive(L *lua.LState, mode, n int, dst []byte, hasBuf, oneshot bool) int {
	if k.stype != unix.SOCK_STREAM && mode == recvCount {
		return k.receiveDatagram(L, n, dst, hasBuf)
	}
	push := func(L *lua.LState, b []byte) int {
		if hasBuf {
			copy(dst, b)
			L.Push(lua.LNumber(len(b)))
		} else {
			L.Push(lua.LString(b))
		}
		return 1
	}
	try := func(L *lua.LState) int {
		for {
			p := k.pending()
			switch mode {
			case recvCount:
				if len(p) >= n || (oneshot && len(p) > 0) || k.eof {
					m := min(n, len(p))
					r := push(L, p[:m])
					k.consume(m)
					return r
				}
			case recvLine:
				if i := bytes.IndexByte(p, '\n'); i >= 0 {
					line := bytes.TrimSuffix(p[:i], []byte{'\r'})
					r := push(L, line)
					k.consume(i + 1)
					return r
				}
				if k.eof {
					if len(p) == 0 {
						return luabind.Fail(L, "closed")
					}
					r := push(L, p)
					k.consume(len(p))
					return r
				}
			case recvAll:
				if k.eof {
					r := push(L, p)
					k.consume(len(p))
					return r
				}
			}
			if k.fd < 0 {
				return luabind.Fail(L, "closed")
			}
			hint := 4096
			if mode == recvCount {
				hint = n - len(p)
			}
			if err := k.fill(hint); err != nil {
				if err == errAgain {
					return waitRead
				}
				return luabind.FailErr(L, "", err)
			}
		}
	}
	if r := try(L); r >= 0 {
		return r
	}
	return k.s.Wait(L, k.fd, waitRead, k.Timeout(), try)
}

// receiveDatagram reads one datagram of up to n bytes.
func (k *Socket) receiveDatagram(L *lua.LState, n int, dst []byte, hasBuf bool) int {
	var tmp []byte
	if hasBuf {
		tmp = dst[:n]
	} else {
		tmp = make([]byte, n)
	}
	try := func(L *lua.LState) int {
		if k.fd < 0 {
			return luabind.Fail(L, "closed")
		}
		if m, ok := k.popQueued(tmp, nil); ok {
			if hasBuf {
				L.Push(lua.LNumber(m))
			} else {
				L.Push(lua.LString(tmp[:m]))
			}
			return 1
		}
		m, _, err := unix.Recvfrom(k.fd, tmp, 0)
		switch err {
		case nil:
		case unix.EAGAIN, unix.EINTR:
			return waitRead
		default:
			return luabind.FailErr(L, "", err)
		}
		if hasBuf {
			L.Push(lua.LNumber(m))
		} else {
			L.Push(lua.LString(tmp[:m]))
		}
		return 1
	}
	if r := try(L); r >= 0 {
		return r
	}
	return k.s.Wait(L, k.fd, waitRead, k.Timeout(), try)
}

// sock:receivefrom(n, buf, addr) -> count, addr | nil, err. Without buf
// the datagram is returned as a string; without addr a new one is made.
func sockReceiveFrom(L *lua.LState) int {
	k := openSocket(L)
	n := luabind.OptInt(L, 2, 512)
	var dst []byte
	hasBuf := false
	if L.Get(3) != lua.LNil {
		v, ok := luabind.As[*luabind.View](L.Get(3))
		if !ok || v.ReadOnly {
			L.ArgError(3, "writable buffer expected, got "+luabind.TypeName(L.Get(3)))
		}
		dst, hasBuf = v.LuaBytes(), true
		n = min(n, len(dst))
	} else {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	addrv := L.Get(4)
	addr, ok := luabind.As[*luabind.Sockaddr](addrv)
	if !ok {
		addr = &luabind.Sockaddr{}
		luabind.PushSockaddr(L, addr)
		addrv = L.Get(-1)
		L.Pop(1)
	}
	try := func(L *lua.LState) int {
		if k.fd < 0 {
			return luabind.Fail(L, "closed")
		}
		if m, ok := k.popQueued(dst, addr); ok {
			if hasBuf {
				L.Push(lua.LNumber(m))
			} else {
				L.Push(lua.LString(dst[:m]))
			}
			L.Push(addrv)
			return 2
		}
		m, from, err := unix.Recvfrom(k.fd, dst, 0)
		switch err {
		case nil:
		case unix.EAGAIN, unix.EINTR:
			return waitRead
		default:
			return luabind.FailErr(L, "", err)
		}
		if from != nil {
			fromSockaddr(from, addr)
		}
		if hasBuf {
			L.Push(lua.LNumber(m))
		} else {
			L.Push(lua.LString(dst[:m]))
		}
		L.Push(addrv)
		return 2
	}
	if r := try(L); r >= 0 {
		return r
	}
	return k.s.Wait(L, k.fd, waitRead, k.Timeout(), try)
}

// pushName pushes host, port of sa (or the path of a unix address).
func pushName(L *lua.LState, a *luabind.Sockaddr) int {
	if a.Path != "" || !a.Addr.IsValid() {
		L.Push(lua.LString(a.Path))
		return 1
	}
	L.Push(lua.LString(a.Addr.Addr().Unmap().String()))
	L.Push(lua.LNumber(a.Addr.Port()))
	return 2
}

// SockName returns the local address.
func (k *Socket) SockName() (*luabind.Sockaddr, error) {
	return k.address(k.Local, unix.Getsockname)
}

// PeerName returns the remote address.
func (k *Socket) PeerName() (*luabind.Sockaddr, error) {
	return k.address(k.Peer, unix.Getpeername)
}

// address returns cached when known, else asks the kernel with get.
func (k *Socket) address(cached *luabind.Sockaddr, get func(int) (unix.Sockaddr, error)) (*luabind.Sockaddr, error) {
	if cached != nil {
		return cached, nil
	}
	if k.fd < 0 {
		return nil, ErrClosed
	}
	sa, err := get(k.fd)
	if err != nil {
		return nil, err
	}
	a := &luabind.Sockaddr{}
	fromSockaddr(sa, a)
	return a, nil
}

// sock:getsockname() -> host, port | nil, err
func sockGetSockName(L *lua.LState) int {
	a, err := openSocket(L).SockName()
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	return pushName(L, a)
}

// sock:getpeername() -> host, port | nil, err
func sockGetPeerName(L *lua.LState) int {
	a, err := openSocket(L).PeerName()
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	return pushName(L, a)
}

// sock:settimeout(ms) -> true. The value is the I/O deadline of every
// later blocking operation (0 or nil: none).
func sockSetTimeout(L *lua.LState) int {
	k := openSocket(L)
	k.timeout = luabind.OptNumber(L, 2, 0)
	if k.timeout < 0 {
		k.timeout = 0
	}
	L.Push(lua.LTrue)
	return 1
}

// sock:setsockopt(level, option, value) -> true | nil, err. Level and
// option are numbers or ljsyscall names ('socket', 'reuseport', ...).
func sockSetSockOpt(L *lua.LState) int {
	k := openSocket(L)
	if k.fd < 0 {
		return luabind.Fail(L, "closed")
	}
	level, opt := -1, -1
	switch v := L.Get(2).(type) {
	case lua.LNumber:
		level = int(v)
	case lua.LString:
		lv, ok := levelNames[string(v)]
		if !ok {
			L.ArgError(2, "unknown level "+string(v))
		}
		level = lv
	}
	switch v := L.Get(3).(type) {
	case lua.LNumber:
		opt = int(v)
	case lua.LString:
		o, ok := sockoptNames[string(v)]
		if !ok {
			L.ArgError(3, "unknown option "+string(v))
		}
		opt = o[1]
		if level < 0 {
			level = o[0]
		}
	default:
		L.ArgError(3, "option expected")
	}
	val := 0
	switch v := L.Get(4).(type) {
	case lua.LBool:
		if v {
			val = 1
		}
	case lua.LNumber:
		val = int(v)
	case *lua.LNilType:
		val = 1
	default:
		L.ArgError(4, "number or boolean expected")
	}
	if err := unix.SetsockoptInt(k.fd, level, opt, val); err != nil {
		return luabind.FailErr(L, "", err)
	}
	L.Push(lua.LTrue)
	return 1
}

// sock:close() -> true (idempotent).
func sockClose(L *lua.LState) int {
	checkSocket(L, 1).Close()
	L.Push(lua.LTrue)
	return 1
}

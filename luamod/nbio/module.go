// Package nbio provides the Lua module dns.nbio: a coroutine scheduler
// over non-blocking sockets and DNS-over-UDP/TCP helpers (API.md §2.5).
//
// One scheduler exists per Lua state. nb.go(f, ...) runs f in a coroutine;
// a socket operation first tries the non-blocking system call, and only
// when it would block does the coroutine register the wait (epoll) and
// yield; nb.step/nb.run wait for readiness on the state's goroutine, redo
// the operation and resume the coroutine with its results. Outside a
// scheduler coroutine (main chunk, REPL, a user's coroutine.create) the
// same calls block in poll(2). Work that must run on a goroutine (TLS
// handshakes) completes through an eventfd in the same epoll set.
//
// Lua API:
//
//	nb.go(f, ...) / nb(f, ...)   -> co | true, ret1, co | false, err, co | nil
//	nb.step([timeout])           -> true | false, err, co
//	nb.run([timeout])            -> true | false, err, co | false, 'timeout'
//	nb.sleep(seconds)            suspends the coroutine (blocks outside one)
//	nb.now()                     -> seconds (float)
//	nb.family(addr)              -> 'unix' | 'inet6' | 'inet'
//	nb.socket(family [, type])   -> socket (raises on failure)
//	nb.socket_t(fd [, timeout])  -> socket wrapping an OS descriptor
//	nb.addr()                    -> empty sockaddr
//	nb.udpsend(sock, msg [, addr]), nb.udprecv(sock, msg [, addr]), nb.udpxchg(sock, q, r)
//	nb.tcpsend(sock, msg), nb.tcprecv(sock, msg), nb.tcpxchg(sock, q, r [, copy])
//	nb.readers, nb.writers       yield protocol: coroutine.yield(nb.readers, fd)
//	nb.coroutines, nb.backend    -> blocked coroutine count, 'epoll'
//
// Socket methods: bind, accept, connect/setpeername, send, sendto, sendv,
// receive/recv, receivefrom, getsockname, getpeername, settimeout (ms, an
// I/O deadline), setsockopt, close; fields fd and timeout.
package nbio

import (
	_ "embed"
	"runtime"
	"time"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"

	"ljdns/luabind"
)

// Modules lists the Lua modules this package provides.
var Modules = []luabind.Module{{Name: "dns.nbio", Load: Loader}}

// schedKey is the registry key of the state's scheduler userdata.
const schedKey = "dns.nbio.sched"

//go:embed nbio.lua
var nbioLua string

// SchedOf returns the scheduler of L's state, creating it on first use.
func SchedOf(L *lua.LState) *Sched {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if ud, ok := reg.RawGetString(schedKey).(*lua.LUserData); ok {
		if s, ok := ud.Value.(*Sched); ok {
			return s
		}
	}
	s, err := newSched()
	if err != nil {
		L.RaiseError("%v", err)
	}
	ud := L.NewUserData()
	ud.Value = s
	reg.RawSetString(schedKey, ud)
	main := L.G.MainThread
	if main == nil {
		main = L
	}
	runtime.AddCleanup(main, func(r *resources) { r.closeAll() }, s.res)
	return s
}

// Close closes every socket and the poller of L's state (the host may
// call it when it is done with a state; otherwise they close when the
// state is garbage collected).
func Close(L *lua.LState) {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if ud, ok := reg.RawGetString(schedKey).(*lua.LUserData); ok {
		if s, ok := ud.Value.(*Sched); ok {
			s.res.closeAll()
		}
	}
}

// Loader opens dns.nbio.
func Loader(L *lua.LState) int {
	s := SchedOf(L)
	registerSocket(L, s)
	luabind.PushSockaddr(L, &luabind.Sockaddr{}) // registers the sockaddr type
	L.Pop(1)
	mod := L.NewTable()
	s.readers, s.writers = L.NewTable(), L.NewTable()
	mod.RawSetString("readers", s.readers)
	mod.RawSetString("writers", s.writers)
	mod.RawSetString("backend", lua.LString("epoll"))
	luabind.SetFuncs(L, mod, "dns.nbio", map[string]lua.LGFunction{
		"go":      func(L *lua.LState) int { return nbGo(L, s, 1) },
		"step":    func(L *lua.LState) int { return nbStep(L, s) },
		"run":     func(L *lua.LState) int { return nbRun(L, s) },
		"sleep":   func(L *lua.LState) int { return nbSleep(L, s) },
		"socket":  func(L *lua.LState) int { return nbSocket(L, s) },
		"now":     nbNow,
		"family":  nbFamily,
		"addr":    nbAddr,
		"udpsend": nbUDPSend,
		"udprecv": nbUDPRecv,
		"udpxchg": nbUDPXchg,
		"tcpsend": nbTCPSend,
		"tcpxchg": nbTCPXchg,
	})
	ctor := L.NewTable()
	luabind.SetConstructor(L, ctor, socketTypeName, func(L *lua.LState) int { return nbSocketT(L, s) })
	mod.RawSetString("socket_t", ctor)
	mt := L.NewTable()
	luabind.SetFuncs(L, mt, "dns.nbio", map[string]lua.LGFunction{
		"__call": func(L *lua.LState) int { return nbGo(L, s, 2) },
		"__index": func(L *lua.LState) int {
			if L.CheckString(2) == "coroutines" {
				L.Push(lua.LNumber(s.blocked()))
				return 1
			}
			return 0
		},
	})
	L.SetMetatable(mod, mt)
	// The Lua part: nb.tcprecv raises on oversized messages.
	fn, err := L.LoadString(nbioLua)
	if err != nil {
		L.RaiseError("dns.nbio: %v", err)
	}
	L.Push(fn)
	L.Push(mod)
	L.Push(L.NewFunction(luabind.Guard("dns.nbio.tcprecv", nbTCPRecv)))
	L.Call(2, 1)
	s.body = L.CheckFunction(-1)
	L.Pop(1)
	L.Push(mod)
	return 1
}

// nb.go(f, ...): first is the index of f (2 when called as nb(f, ...)).
func nbGo(L *lua.LState, s *Sched, first int) int {
	fn, ok := L.Get(first).(*lua.LFunction)
	if !ok {
		if L.Get(first) == lua.LNil {
			L.Push(lua.LNil)
			return 1
		}
		L.ArgError(first, "function expected, got "+luabind.TypeName(L.Get(first)))
	}
	args := []lua.LValue{fn}
	for i := first + 1; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	return s.spawn(L, s.body, args)
}

// timeoutArg reads an optional timeout in seconds (-1: none).
func timeoutArg(L *lua.LState, n int) time.Duration {
	if L.Get(n) == lua.LNil {
		return -1
	}
	f := luabind.OptNumber(L, n, 0)
	if f < 0 {
		return -1
	}
	return time.Duration(f * float64(time.Second))
}

func pushStepError(L *lua.LState, e *stepError) int {
	L.Push(lua.LFalse)
	L.Push(e.msg)
	if e.co != nil {
		L.Push(e.co)
	} else {
		L.Push(lua.LNil)
	}
	return 3
}

// nb.step([timeout]) -> true | false, err, co
func nbStep(L *lua.LState, s *Sched) int {
	timeout := timeoutArg(L, 1)
	if len(s.tasks) == 0 && len(s.errs) == 0 {
		L.Push(lua.LTrue)
		return 1
	}
	if _, e := s.step(L, timeout); e != nil {
		return pushStepError(L, e)
	}
	L.Push(lua.LTrue)
	return 1
}

// nb.run([timeout]) -> true | false, err, co | false, 'timeout'
func nbRun(L *lua.LState, s *Sched) int {
	timeout := timeoutArg(L, 1)
	// timeout is an idle limit: a step that returns without progress
	// (EINTR, a spurious wake-up) only ends the run once the whole limit
	// has passed since the last progress.
	idleSince := time.Now()
	for len(s.tasks) > 0 || len(s.errs) > 0 {
		wait := timeout
		if timeout >= 0 {
			wait = timeout - time.Since(idleSince)
			if wait < 0 {
				wait = 0
			}
		}
		progress, e := s.step(L, wait)
		if e != nil {
			return pushStepError(L, e)
		}
		if progress {
			idleSince = time.Now()
		} else if timeout >= 0 && time.Since(idleSince) >= timeout {
			L.Push(lua.LFalse)
			L.Push(lua.LString("timeout"))
			return 2
		}
	}
	L.Push(lua.LTrue)
	return 1
}

// nb.sleep(seconds)
func nbSleep(L *lua.LState, s *Sched) int {
	d := time.Duration(luabind.OptNumber(L, 1, 0) * float64(time.Second))
	return s.Sleep(L, d)
}

// nb.now() -> wall-clock seconds
func nbNow(L *lua.LState) int {
	L.Push(lua.LNumber(float64(time.Now().UnixNano()) / 1e9))
	return 1
}

// nb.family(addr) -> 'unix' | 'inet6' | 'inet'
func nbFamily(L *lua.LState) int {
	L.Push(lua.LString(addrFamily(L.CheckString(1))))
	return 1
}

// nb.addr() -> empty sockaddr
func nbAddr(L *lua.LState) int {
	luabind.PushSockaddr(L, &luabind.Sockaddr{})
	return 1
}

// nb.socket(family [, type]) -> socket; raises on failure.
func nbSocket(L *lua.LState, s *Sched) int {
	name, _ := L.Get(1).(lua.LString)
	af, ok := familyOf(string(name))
	if !ok {
		L.RaiseError("nbio.socket(family[, proto]) expects family = {inet, inet6, unix}")
	}
	typ := unix.SOCK_DGRAM
	switch v := L.Get(2).(type) {
	case lua.LString:
		switch v {
		case "stream", "tcp":
			typ = unix.SOCK_STREAM
		case "dgram", "udp":
		default:
			L.ArgError(2, "expected 'dgram' or 'stream'")
		}
	case *lua.LNilType:
	default:
		L.ArgError(2, "expected 'dgram' or 'stream'")
	}
	fd, err := newSocketFD(af, typ)
	if err != nil {
		L.RaiseError("dns.nbio: socket: %v", err)
	}
	PushSocket(L, s.newSocket(fd, af, typ))
	return 1
}

// nb.socket_t(fd [, timeout]) -> socket wrapping fd (made non-blocking).
func nbSocketT(L *lua.LState, s *Sched) int {
	fd := luabind.CheckInt(L, 2)
	if fd < 0 {
		L.ArgError(2, "invalid descriptor")
	}
	af, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		L.RaiseError("dns.nbio: socket_t: %v", err)
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		L.RaiseError("dns.nbio: socket_t: %v", err)
	}
	unix.SetNonblock(fd, true)
	k := s.newSocket(fd, af, typ)
	k.timeout = luabind.OptNumber(L, 3, 0)
	PushSocket(L, k)
	return 1
}

package tls

import (
	"context"
	gotls "crypto/tls"
	_ "embed"
	"io"
	"net"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"

	"ljdns/luabind"
	"ljdns/luamod/nbio"
)

// sessionTypeName is the registry name of TLS session objects.
const sessionTypeName = "dns.tls.session"

// defaultHandshakeTimeout bounds a handshake on a socket without a timeout.
const defaultHandshakeTimeout = 10 * time.Second

// Session is an established TLS connection. The Lua side talks plaintext
// over one end of a local socket pair (a non-blocking nbio socket, so all
// nb helpers, timeouts and pipelining work unchanged); two goroutines
// copy between the other end and the crypto/tls connection. Closing the
// socket ends both goroutines.
type Session struct {
	k     *nbio.Socket
	state gotls.ConnectionState
}

// NbioSocket implements nbio.SocketHolder.
func (s *Session) NbioSocket() *nbio.Socket { return s.k }

// upgrade is the result of a handshake goroutine.
type upgrade struct {
	fd    int // plaintext end for Lua
	state gotls.ConnectionState
	err   error
}

// handshake runs on a goroutine: TLS over conn, then the plaintext pumps.
func handshake(conn net.Conn, cfg *gotls.Config, server bool, timeout time.Duration) upgrade {
	var tc *gotls.Conn
	if server {
		tc = gotls.Server(conn, cfg)
	} else {
		tc = gotls.Client(conn, cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return upgrade{fd: -1, err: err}
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tc.Close()
		return upgrade{fd: -1, err: err}
	}
	inner, err := fileConn(fds[1])
	if err != nil {
		unix.Close(fds[0])
		tc.Close()
		return upgrade{fd: -1, err: err}
	}
	unix.SetNonblock(fds[0], true)
	go func() { // network -> Lua
		io.Copy(inner, tc)
		if uc, ok := inner.(*net.UnixConn); ok {
			uc.CloseWrite()
		}
	}()
	go func() { // Lua -> network
		io.Copy(tc, inner)
		tc.Close()
		inner.Close()
	}()
	return upgrade{fd: fds[0], state: tc.ConnectionState()}
}

// fileConn turns a descriptor into a net.Conn (the descriptor is consumed).
func fileConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "tls")
	defer f.Close()
	return net.FileConn(f)
}

// start upgrades argument 1 (a connected stream socket) to TLS.
func start(L *lua.LState, st *state, server bool) int {
	k := nbio.CheckSocket(L, 1)
	if _, ok := luabind.As[*Session](L.Get(1)); ok {
		return luabind.Fail(L, "dns.tls: already a TLS session")
	}
	creds := credsArg(L, 2, st)
	if k.FD() < 0 {
		return luabind.Fail(L, "dns.tls: socket closed")
	}
	peer, perr := k.PeerName()
	local, _ := k.SockName()
	if perr != nil {
		return luabind.FailErr(L, "dns.tls", perr)
	}
	var cfg *gotls.Config
	if server {
		var err error
		if cfg, err = creds.ServerConfig(); err != nil {
			return luabind.FailErr(L, "dns.tls", err)
		}
	} else {
		cfg = creds.ClientConfig(peer.String())
	}
	timeout := k.Timeout()
	if timeout <= 0 {
		timeout = defaultHandshakeTimeout
	}
	fd := k.Detach()
	conn, err := fileConn(fd)
	if err != nil {
		return luabind.FailErr(L, "dns.tls", err)
	}
	work := func() any { return handshake(conn, cfg, server, timeout) }
	finish := func(L *lua.LState, v any) int {
		u := v.(upgrade)
		if u.err != nil {
			return luabind.FailErr(L, "dns.tls: handshake", u.err)
		}
		if k.FD() >= 0 || k.Closed() { // closed (or reused) meanwhile
			unix.Close(u.fd)
			return luabind.Fail(L, "dns.tls: socket closed during handshake")
		}
		k.Attach(u.fd)
		k.Peer, k.Local = peer, local
		luabind.Push(L, sessionTypeName, &Session{k: k, state: u.state})
		return 1
	}
	discard := func(v any) {
		if u := v.(upgrade); u.fd >= 0 {
			unix.Close(u.fd) // ends the pump goroutines
		}
	}
	return k.Sched().Async(L, work, finish, discard)
}

//go:embed session.lua
var sessionLua string

func registerSession(L *lua.LState) {
	if luabind.Methods(L, sessionTypeName) != nil {
		return
	}
	luabind.RegisterType(L, luabind.TypeSpec{
		Name: sessionTypeName,
		Methods: map[string]lua.LGFunction{
			"send":        sessSend,
			"receive":     sessReceive,
			"recv":        sessReceive,
			"getpeername": sessGetPeerName,
			"getsockname": sessGetSockName,
			"settimeout":  sessSetTimeout,
			"close":       sessClose,
			"info":        sessInfo,
		},
		Meta: map[string]lua.LGFunction{
			"__index": func(L *lua.LState) int {
				s := luabind.Check[*Session](L, 1, sessionTypeName)
				switch L.Get(2).String() {
				case "fd":
					L.Push(lua.LNumber(s.k.FD()))
					return 1
				case "timeout":
					L.Push(lua.LNumber(s.k.Timeout() / time.Millisecond))
					return 1
				}
				L.Push(luabind.Methods(L, sessionTypeName).RawGet(L.Get(2)))
				return 1
			},
			"__tostring": func(L *lua.LState) int {
				s := luabind.Check[*Session](L, 1, sessionTypeName)
				L.Push(lua.LString("tls session: " + gotls.VersionName(s.state.Version)))
				return 1
			},
		},
	})
	methods := luabind.Methods(L, sessionTypeName)
	fn, err := L.LoadString(sessionLua)
	if err != nil {
		L.RaiseError("dns.tls: %v", err)
	}
	L.Push(fn)
	L.Push(methods)
	L.Push(methods.RawGetString("send"))
	L.Push(methods.RawGetString("receive"))
	L.Call(3, 0)
}

func checkSession(L *lua.LState) *Session { return luabind.Check[*Session](L, 1, sessionTypeName) }

// session:send(data [, len]) -> bytes | nil, err
func sessSend(L *lua.LState) int {
	s := checkSession(L)
	return s.k.Send(L, luabind.CheckBytes(L, 2, 3))
}

// session:receive([n [, buf]]) -> string | count | nil, err: one read of
// up to n (default 512) bytes.
func sessReceive(L *lua.LState) int {
	s := checkSession(L)
	n := luabind.OptInt(L, 2, 512)
	var dst []byte
	if L.Get(3) != lua.LNil {
		v, ok := luabind.As[*luabind.View](L.Get(3))
		if !ok || v.ReadOnly {
			L.ArgError(3, "writable buffer expected")
		}
		dst = v.LuaBytes()
		if n > len(dst) {
			L.ArgError(2, "size exceeds buffer")
		}
	}
	return s.k.Receive(L, n, dst, true)
}

// session:getpeername() -> sockaddr
func sessGetPeerName(L *lua.LState) int {
	a, err := checkSession(L).k.PeerName()
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	luabind.PushSockaddr(L, a)
	return 1
}

// session:getsockname() -> sockaddr
func sessGetSockName(L *lua.LState) int {
	a, err := checkSession(L).k.SockName()
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	luabind.PushSockaddr(L, a)
	return 1
}

// session:settimeout(ms) -> true
func sessSetTimeout(L *lua.LState) int {
	s := checkSession(L)
	s.k.SetTimeout(luabind.OptNumber(L, 2, 0))
	L.Push(lua.LTrue)
	return 1
}

// session:close() -> true (idempotent)
func sessClose(L *lua.LState) int {
	checkSession(L).k.Close()
	L.Push(lua.LTrue)
	return 1
}

// session:info() -> {version=, cipher=, resumed=, server_name=, alpn=}
func sessInfo(L *lua.LState) int {
	s := checkSession(L)
	t := L.NewTable()
	t.RawSetString("version", lua.LString(gotls.VersionName(s.state.Version)))
	t.RawSetString("cipher", lua.LString(gotls.CipherSuiteName(s.state.CipherSuite)))
	t.RawSetString("resumed", lua.LBool(s.state.DidResume))
	t.RawSetString("server_name", lua.LString(s.state.ServerName))
	t.RawSetString("alpn", lua.LString(s.state.NegotiatedProtocol))
	L.Push(t)
	return 1
}

// Package tls provides the Lua module dns.tls: DNS over TLS (RFC 7858) on
// dns.nbio stream sockets, backed by crypto/tls (API.md §2.6).
//
// Lua API:
//
//	tls.client(sock [, cred])  -> session | nil, err
//	tls.server(sock [, cred])  -> session | nil, err
//	tls.creds.x509{cafile=, certfile=, keyfile=, hostname=} -> creds | nil, err
//	tls.creds.client_x509, tls.creds.anon, tls.creds.open
//	tls.debug(level [, cb])
//
// Without credentials a client encrypts without authenticating the server
// (the opportunistic privacy profile of RFC 7858) and a server presents an
// ephemeral self-signed certificate made once per process. With 'x509'
// (system roots) or a credentials object with cafile or hostname the
// client verifies the server strictly (name: hostname, else the peer
// address). Clients resume sessions (one session cache per credentials
// object). The handshake runs on a goroutine; the calling coroutine
// yields meanwhile, so other coroutines go on.
//
// Session methods: send(data [, len]), receive([n [, buf]]) (one read of
// up to n bytes, default 512), getpeername() (sockaddr), getsockname(),
// settimeout(ms), info() ({version, cipher, resumed, server_name}),
// close(); field fd. nb.tcpsend/tcprecv/tcpxchg accept sessions.
package tls

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// Modules lists the Lua modules this package provides.
var Modules = []luabind.Module{{Name: "dns.tls", Load: Loader}}

// state is the per-Lua-state part of dns.tls: default credentials.
type state struct {
	anon *Creds      // opportunistic client / ephemeral server
	x509 *Creds      // system roots, strict
	open *lua.LTable // every credentials object created
}

// Loader opens dns.tls (and loads dns.nbio, which it builds on).
func Loader(L *lua.LState) int {
	L.Push(L.GetGlobal("require"))
	L.Push(lua.LString("dns.nbio"))
	L.Call(1, 0)
	registerCreds(L)
	registerSession(L)
	st := &state{
		anon: &Creds{Name: "anon"},
		x509: &Creds{Name: "x509", Strict: true},
		open: L.NewTable(),
	}
	mod := luabind.NewModule(L, "dns.tls", map[string]lua.LGFunction{
		"client": func(L *lua.LState) int { return start(L, st, false) },
		"server": func(L *lua.LState) int { return start(L, st, true) },
		"debug": func(L *lua.LState) int {
			L.CheckNumber(1)
			return 0
		},
	})
	creds := luabind.NewModule(L, "dns.tls.creds", map[string]lua.LGFunction{
		"x509": func(L *lua.LState) int { return credsX509(L, st) },
	})
	creds.RawSetString("client_x509", luabind.NewUserData(L, credsTypeName, st.x509))
	creds.RawSetString("anon", luabind.NewUserData(L, credsTypeName, st.anon))
	creds.RawSetString("open", st.open)
	mod.RawSetString("creds", creds)
	L.Push(mod)
	return 1
}

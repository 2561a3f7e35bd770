package client

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsclient"
	"ljdns/luabind"
)

// addrArg reads the server address argument (raising when it is not a
// string).
func addrArg(L *lua.LState, n int) string {
	v, ok := L.Get(n).(lua.LString)
	if !ok {
		L.ArgError(n, "server address string expected ('127.0.0.1#53'), got "+luabind.TypeName(L.Get(n)))
	}
	return string(v)
}

// made pushes the client made by a constructor, or nil, err.
func made(L *lua.LState, t dnsclient.Transport, err error, desc string, validate bool) int {
	if err != nil {
		return luabind.Fail(L, "%s", errText(err))
	}
	return pushClient(L, &Client{t: t, desc: desc, validate: validate})
}

// client.dgram(addr [, opts])
func clientDgram(L *lua.LState) int {
	addr := addrArg(L, 1)
	o := optsArg(L, 2, "dns.client.dgram")
	do := o.dgramOptions()
	o.done()
	d, err := dnsclient.NewDgram(addr, do)
	if err != nil {
		return made(L, nil, err, "", false)
	}
	return made(L, d, nil, "dgram "+d.Addr().String(), false)
}

// client.stream(addr [, opts])
func clientStream(L *lua.LState) int {
	addr := addrArg(L, 1)
	o := optsArg(L, 2, "dns.client.stream")
	so := o.streamOptions(addr, true)
	o.done()
	s, err := dnsclient.NewStream(addr, so)
	if err != nil {
		return made(L, nil, err, "", false)
	}
	return made(L, s, nil, streamDesc("stream", s.Addr().String(), so), false)
}

// client.multi_stream(addr [, opts])
func clientMultiStream(L *lua.LState) int {
	addr := addrArg(L, 1)
	o := optsArg(L, 2, "dns.client.multi_stream")
	so := o.streamOptions(addr, true)
	o.done()
	m, err := dnsclient.NewMultiStream(addr, so)
	if err != nil {
		return made(L, nil, err, "", false)
	}
	return made(L, m, nil, streamDesc("multi_stream", m.Addr().String(), so), false)
}

func streamDesc(kind, addr string, so dnsclient.StreamOptions) string {
	if so.TLS != nil {
		return kind + " " + addr + " tls"
	}
	return kind + " " + addr
}

// client.dgram_stream(addr [, opts])
func clientDgramStream(L *lua.LState) int {
	addr := addrArg(L, 1)
	o := optsArg(L, 2, "dns.client.dgram_stream")
	var dso dnsclient.DgramStreamOptions
	dso.Dgram = o.dgramOptions()
	dso.Stream = o.streamOptions(addr, false)
	o.done()
	ds, err := dnsclient.NewDgramStream(addr, dso)
	if err != nil {
		return made(L, nil, err, "", false)
	}
	return made(L, ds, nil, "dgram_stream "+ds.Addr().String(), false)
}

// upArg reads the client object a wrapper goes over (raising on anything
// else, or on a closed one).
func upArg(L *lua.LState, n int) *Client {
	return openClient(L, n)
}

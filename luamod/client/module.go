// Package client provides the Lua module dns.client (SERVE.md §7): the
// upstream transports of ljdns/dnsclient for scripts. Each constructor
// returns a client object; wrappers take other client objects, so a chain
// is built from the inside out:
//
//	local client = require('dns.client')
//	local up = client.dgram_stream('127.0.0.1#53', {timeout = 1.5, retries = 2})
//	local c = client.cache(up, {max_entries = 10000})
//	local answer, err = c:query('example.com', 'AAAA')
//
// Lua API (options are tables, times in seconds; an unknown option or a
// value of the wrong type raises; an address that does not parse or that
// LJDNS_OUTGOING_ALLOW refuses gives nil, err):
//
//	client.dgram(addr [, {timeout, retries, udp_payload_size, cookies, max_parallel}])
//	client.stream(addr [, {response_timeout, idle_timeout, connect_timeout, max_outstanding, keepalive, tls}])
//	client.multi_stream(addr [, {connect_timeout, response_timeout, idle_timeout, max_outstanding, keepalive, tls}])
//	client.dgram_stream(addr [, dgram's and multi_stream's options but tls])
//	client.redundant({c1, c2, ...} [, {probe_ratio}])
//	client.cache(c [, {max_entries, max_ttl, negative_ttl, serve_stale, prefetch}])
//	client.tsig(c, 'alg:name:BASE64' | 'name:alg:BASE64' | dns.tsig object)
//	client.validator(c [, {trust_anchors, nta, iterations_cap}])
//	                                    -> client | nil, err
//	client.https(url [, {timeout, method, tls}])   DNS over HTTPS (RFC 8484)
//
// addr is "127.0.0.1#53", "127.0.0.1@53", "[::1]:53", or an address alone
// (port 53, 853 with tls). tls is true (encrypted, server not
// authenticated), a table {hostname=, ca_file=, pins={base64 SPKI
// digests}} (strict, RFC 8310) or a dns.tls.creds object.
//
// Client methods:
//
//	c:query(name, type)   -> packet | nil, err
//	c:query(packet)       -> packet | nil, err
//	c:stream(packet)      -> iterator | nil, err
//	c:stats()             -> table | nil (cache counters; dgram drops)
//	c:close()
//
// query(name, type) builds a query with RD and AD set, as dig does, and
// DO (with an EDNS OPT) when a validator is in the chain; name is text
// or a dns.dname, type a number or a mnemonic. query(packet) sends a copy
// of packet. The answer is a dns.packet carrying the query's ID. A bogus
// answer (validator) is the SERVFAIL packet with a second value
// 'bogus: <reason>'. AXFR and IXFR are multi-message: query() refuses them
// (nil, err) and stream() iterates over their messages:
//
//	local s = c:stream(axfr)
//	for msg in s do ... end
//	if s:err() then ... end
//
// Inside a dns.nbio coroutine query() and stream() yield while a goroutine
// does the I/O, so the scheduler runs the other coroutines meanwhile;
// elsewhere (main chunk, REPL, a coroutine of the script's own) they
// block. A for loop cannot yield in gopher-lua, so inside a scheduler
// coroutine stream() waits (yielding) for the whole transfer before it
// returns; elsewhere it returns after the first message and the loop
// waits for the next ones.
package client

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// Modules lists the Lua modules this package provides.
var Modules = []luabind.Module{{Name: "dns.client", Load: Loader}}

// Loader opens dns.client (loading dns and dns.nbio, which it builds on).
func Loader(L *lua.LState) int {
	for _, m := range []string{"dns", "dns.nbio"} {
		L.Push(L.GetGlobal("require"))
		L.Push(lua.LString(m))
		L.Call(1, 0)
	}
	registerClient(L)
	registerStream(L)
	L.Push(luabind.NewModule(L, "dns.client", exports))
	return 1
}

var exports = map[string]lua.LGFunction{
	"dgram":        clientDgram,
	"stream":       clientStream,
	"multi_stream": clientMultiStream,
	"dgram_stream": clientDgramStream,
	"redundant":    clientRedundant,
	"cache":        clientCache,
	"tsig":         clientTSIG,
	"validator":    clientValidator,
	"https":        clientHTTPS,
}

// Package compat provides the LuaJIT / ljsyscall / lua-cjson compatibility
// modules of ljdns (API.md §3); README.md has the full Lua reference.
//
// ffi (byte buffers and views are luabind.View):
//
//	ffi.new(ct [, n] [, init...]) -> buffer | number | nil
//	ffi.cast(ct, x)               -> view | number | dname | nil
//	ffi.string(p [, len])         -> string
//	ffi.copy(dst, src [, len]); ffi.fill(dst, len [, byte])
//	ffi.sizeof(ct_or_obj [, n]), ffi.alignof(ct) -> number
//	ffi.typeof(x) -> ctype | constructor; ffi.istype(ct, obj) -> boolean
//	ffi.gc(obj) -> obj; ffi.abi(p); ffi.errno([e]); ffi.os; ffi.arch; ffi.cdef(s); ffi.C
//
// bit (LuaJIT BitOp, signed 32-bit results):
//
//	bit.tobit, tohex(x [, n]), bnot, band, bor, bxor, lshift, rshift, arshift, rol, ror, bswap
//
// syscall (failures return nil, err with err.errno):
//
//	S.socketpair(domain, type) -> true, nil, fd1, fd2
//	fd:getfd(), fd.fileno, fd:nonblock(), fd:block(), fd:nogc(), fd:close(), fd:read(), fd:write()
//	S.getcwd(), S.chdir(p), S.mkdir(p, mode), S.stat(p), S.lstat(p), S.util.rm(p), S.util.dirtable(p)
//	S.t.buffer(n), S.t.sockaddr_in/in6/un/storage(...), S.t.error(e), S.c.E/AF/SOCK/O/MODE
//	require('syscall.helpers').multiflags(t); require('syscall.abi')
//
// cjson and cjson.safe:
//
//	cjson.encode(v) -> string; cjson.decode(s) -> value; cjson.null; cjson.new()
//
// http (blocking, over net/http):
//
//	http.get(url [, headers [, timeout]]) -> status, body, headers | nil, err
//	http.request(method, url [, body [, headers [, timeout]]]) -> same
//	http.server([addr], routes) -> server with .addr, .port, :url(p), :requests(), :close()
package compat

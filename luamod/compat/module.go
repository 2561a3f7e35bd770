// Package compat provides the LuaJIT / ljsyscall / lua-cjson compatibility
// modules of ljdns (API.md §3): ffi, bit, syscall (+ syscall.helpers,
// syscall.abi), cjson (+ cjson.safe) and a small http client/server.
// See README.md for the Lua API.
package compat

import "ljdns/luabind"

// Modules lists the Lua modules this package provides.
var Modules = []luabind.Module{
	{Name: "ffi", Load: ffiLoader},
	{Name: "bit", Load: bitLoader},
	{Name: "syscall", Load: syscallLoader},
	{Name: "syscall.helpers", Load: helpersLoader},
	{Name: "syscall.abi", Load: abiLoader},
	{Name: "cjson", Load: cjsonLoader},
	{Name: "cjson.safe", Load: cjsonSafeLoader},
	{Name: "http", Load: httpLoader},
}

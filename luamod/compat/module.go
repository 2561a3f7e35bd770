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

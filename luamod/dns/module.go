// Package dns implements the Lua modules `dns`, `dns.utils` and
// `dns.rrparser` of ljdns (API.md §2.1–2.3).
package dns

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// Modules lists the Lua modules this package provides.
var Modules = []luabind.Module{
	{Name: "dns", Load: Loader},
	utilsModule,
	rrparserModule,
}

// Loader opens the `dns` module.
func Loader(L *lua.LState) int {
	L.Push(luabind.NewModule(L, "dns", map[string]lua.LGFunction{}))
	return 1
}

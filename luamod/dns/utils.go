package dns

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// utilsModule is dns.utils (API.md §2.2).
var utilsModule = luabind.Module{Name: "dns.utils", Load: utilsLoader}

func utilsLoader(L *lua.LState) int {
	L.Push(luabind.NewModule(L, "dns.utils", map[string]lua.LGFunction{"hexdump": utilsHexdump}))
	return 1
}

func utilsHexdump(L *lua.LState) int { return 0 }

package dns

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// rrparserModule is dns.rrparser (API.md §2.3): the streaming zone parser,
// rrparser.file, the sorted RR-set array and the name set.
var rrparserModule = luabind.Module{Name: "dns.rrparser", Load: rrparserLoader}

func rrparserLoader(L *lua.LState) int {
	L.Push(luabind.NewModule(L, "dns.rrparser", map[string]lua.LGFunction{}))
	return 1
}

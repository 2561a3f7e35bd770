package serve

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon/mod/nsid"
)

func init() { registerModuleBinding("nsid", openNSID) }

// openNSID is kresd 5's nsid module (RFC 5001) over daemon/mod/nsid:
// nsid.name('id') sets the identifier answered to queries asking for it,
// nsid.name() returns it (nil while none is set). The identifier is kept
// across reloads.
func openNSID(L *lua.LState, env *Env) lua.LValue {
	n := env.Persistent("nsid", func() any { return nsid.New("") }).(*nsid.NSID)
	env.AddLayer(n)
	M := L.NewTable()
	L.SetFuncs(M, map[string]lua.LGFunction{
		"name": func(L *lua.LState) int {
			if L.GetTop() >= 1 && L.Get(1) != lua.LNil {
				n.SetName(L.CheckString(1))
			}
			if id := n.Get(); id != "" {
				L.Push(lua.LString(id))
			} else {
				L.Push(lua.LNil)
			}
			return 1
		},
	})
	return M
}

package serve

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon/mod/workarounds"
)

func init() { registerModuleBinding("workarounds", openWorkarounds) }

// openWorkarounds is kresd 5's workarounds module over
// daemon/mod/workarounds: NO_0X20 for the zones kresd lists (its
// config() takes no arguments and is accepted).
func openWorkarounds(L *lua.LState, env *Env) lua.LValue {
	env.AddLayer(env.Shared("workarounds", func() any { return workarounds.New() }).(*workarounds.Workarounds))
	M := L.NewTable()
	M.RawSetString("config", L.NewFunction(func(L *lua.LState) int { return 0 }))
	return M
}

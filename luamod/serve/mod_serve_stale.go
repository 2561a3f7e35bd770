package serve

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon/cache"
)

func init() { registerModuleBinding("serve_stale", openServeStale) }

// openServeStale is kresd's serve_stale over daemon/cache's StaleLayer:
// when the upstream fails, answers come from RR cache entries expired less
// than a day ago (TTL 1, extended error 3 "Stale Answer"). Load it as
// 'serve_stale < cache'. kresd's fields (timeout) are kept but the
// answer comes as soon as the upstream has failed.
func openServeStale(L *lua.LState, env *Env) lua.LValue {
	cs, ok := env.gen.ld.persistentGet("cache").(*cacheState)
	if !ok {
		L.RaiseError("serve_stale: the RR cache is not built in")
	}
	l := env.Persistent("serve_stale", func() any { return &cache.StaleLayer{C: cs.c} }).(*cache.StaleLayer)
	env.AddLayer(l)
	M := L.NewTable()
	M.RawSetString("timeout", lua.LNumber(3000)) // kresd: 3*sec
	return M
}

package serve

import (
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon/cache"
)

func init() { registerModuleBinding("serve_stale", openServeStale) }

// defaultStaleTimeout is kresd's serve_stale.timeout (3*sec).
const defaultStaleTimeout = 3 * time.Second

// openServeStale is kresd's serve_stale over daemon/cache's StaleLayer:
// when the upstream fails, or has not answered within serve_stale.timeout
// milliseconds (default 3000, as kresd) while the RR cache holds entries
// expired less than a day ago for the question, those answer with TTL 1
// and extended error 3 ("Stale Answer"); the upstream query goes on and
// its late answer refreshes the cache. Load it as 'serve_stale < cache'.
// serve_stale.timeout = 0 answers stale data only when the upstream fails.
func openServeStale(L *lua.LState, env *Env) lua.LValue {
	cs, ok := env.gen.ld.persistentGet("cache").(*cacheState)
	if !ok {
		L.RaiseError("serve_stale: the RR cache is not built in")
	}
	l := env.Persistent("serve_stale", func() any { return &cache.StaleLayer{C: cs.c} }).(*cache.StaleLayer)
	l.SetTimeout(defaultStaleTimeout) // a reload starts from the default, as a new kresd would
	env.AddLayer(l)
	M := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		if L.CheckString(2) == "timeout" {
			L.Push(lua.LNumber(l.Timeout().Milliseconds()))
			return 1
		}
		return 0
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		k := L.CheckString(2)
		if k != "timeout" {
			L.RawSet(L.CheckTable(1), lua.LString(k), L.Get(3))
			return 0
		}
		n, ok := L.Get(3).(lua.LNumber)
		if !ok || n < 0 {
			L.RaiseError("serve_stale.timeout: milliseconds (a number >= 0) expected")
		}
		l.SetTimeout(time.Duration(float64(n) * float64(time.Millisecond)))
		return 0
	}))
	L.SetMetatable(M, mt)
	return M
}

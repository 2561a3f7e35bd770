package serve

import (
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon/mod/stats"
)

func init() { registerModuleBinding("stats", openStats) }

// openStats is kresd's stats module over daemon/mod/stats; the counters
// are kept across reloads (one Stats per process).
func openStats(L *lua.LState, env *Env) lua.LValue {
	st := env.Persistent("stats", func() any { return stats.New() }).(*stats.Stats)
	env.AddLayer(st)
	M := L.NewTable()
	set := func(L *lua.LState, key string, v lua.LValue) {
		n, ok := v.(lua.LNumber)
		if !ok {
			L.RaiseError("stats.set: number expected for %q", key)
		}
		st.Set(key, int64(n))
	}
	L.SetFuncs(M, map[string]lua.LGFunction{
		"get": func(L *lua.LState) int {
			v, ok := st.Get(L.CheckString(1))
			if !ok {
				L.Push(lua.LNil)
				return 1
			}
			L.Push(lua.LNumber(v))
			return 1
		},
		"set": func(L *lua.LState) int {
			if L.GetTop() >= 2 { // old form stats.set(key, val)
				set(L, L.CheckString(1), L.Get(2))
				return 0
			}
			f := strings.Fields(L.CheckString(1)) // 5.x form 'key val'
			if len(f) != 2 {
				L.ArgError(1, "'key value' expected")
			}
			n, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				L.ArgError(1, "number expected")
			}
			st.Set(f[0], int64(n))
			return 0
		},
		"list": func(L *lua.LState) int {
			t := L.NewTable()
			m := st.List(L.OptString(1, ""))
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				t.RawSetString(k, lua.LNumber(m[k]))
			}
			L.Push(t)
			return 1
		},
		"frequent": func(L *lua.LState) int {
			t := L.NewTable()
			for _, f := range st.Frequent() {
				e := L.NewTable()
				e.RawSetString("name", lua.LString(f.Name))
				e.RawSetString("type", lua.LString(f.Type))
				e.RawSetString("count", lua.LNumber(f.Count))
				t.Append(e)
			}
			L.Push(t)
			return 1
		},
		"clear_frequent": func(L *lua.LState) int { st.ClearFrequent(); return 0 },
		"upstreams": func(L *lua.LState) int {
			t := L.NewTable()
			for a, rtts := range st.Upstreams() {
				l := L.NewTable()
				for _, d := range rtts {
					l.Append(lua.LNumber(float64(d.Microseconds()) / 1000))
				}
				t.RawSetString(a, l)
			}
			L.Push(t)
			return 1
		},
	})
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		if v, ok := st.Get(L.CheckString(2)); ok {
			L.Push(lua.LNumber(v))
			return 1
		}
		return 0
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		set(L, L.CheckString(2), L.Get(3))
		return 0
	}))
	L.SetMetatable(M, mt)
	return M
}

package serve

import (
	_ "embed"
	"math"
	"os"
	"runtime/debug"
	"time"

	lua "github.com/yuin/gopher-lua"
)

//go:embed compat.lua
var compatLua string

// cacheTable returns the cache functions of the Go cache module when one
// is built in (registered as "cache"), or nil for the sandbox's stand-in.
func (w *worker) cacheTable(L *lua.LState) lua.LValue {
	open, ok := binding("cache")
	if !ok {
		return lua.LNil
	}
	w.env.cur = "cache"
	v, err := w.openGo(open)
	w.env.cur = ""
	if err != nil {
		L.RaiseError("cache: %v", err)
	}
	if len(w.pendingGo) > 0 {
		w.cacheLayers = w.pendingGo
		w.pendingGo = nil
	}
	return v
}

// extraNatives adds the natives compat.lua and the budget use.
func (w *worker) extraNatives(L *lua.LState, S *lua.LTable) {
	w.taNatives(L, S)
	S.RawSetString("spawn", L.NewFunction(func(L *lua.LState) int {
		fn := L.CheckFunction(1)
		var args []lua.LValue
		for i := 2; i <= L.GetTop(); i++ {
			args = append(args, L.Get(i))
		}
		w.spawn(L, fn, args)
		return 0
	}))
	S.RawSetString("log_group_const", L.NewFunction(func(L *lua.LState) int {
		if n, ok := logGroupConst[L.CheckString(1)]; ok {
			L.Push(lua.LNumber(n))
			return 1
		}
		return 0
	}))
	S.RawSetString("lua_budget", L.NewFunction(func(L *lua.LState) int {
		if v, ok := L.Get(1).(lua.LNumber); ok {
			if v < 0 {
				L.ArgError(1, "milliseconds >= 0 expected (0: no budget)")
			}
			for _, x := range w.gen.workers {
				x.budget = time.Duration(float64(v) * float64(time.Millisecond))
			}
			w.budget = time.Duration(float64(v) * float64(time.Millisecond))
		}
		L.Push(lua.LNumber(float64(w.budget) / float64(time.Millisecond)))
		return 1
	}))
	// worker.memory_limit([bytes]): the Go runtime's soft memory limit
	// (GOMEMLIMIT) for the whole process; 0 or less: none.
	S.RawSetString("memory_limit", L.NewFunction(func(L *lua.LState) int {
		if v, ok := L.Get(1).(lua.LNumber); ok {
			lim := int64(v)
			if lim <= 0 {
				lim = math.MaxInt64
			}
			if !w.gen.ld.o.CheckConfig {
				debug.SetMemoryLimit(lim)
			}
		}
		cur := debug.SetMemoryLimit(-1)
		if cur == math.MaxInt64 {
			L.Push(lua.LNumber(0))
		} else {
			L.Push(lua.LNumber(cur))
		}
		return 1
	}))
	// type(): kresd's objects are cdata in LuaJIT; tables and userdata
	// whose metatable has __type = 'cdata' say so here.
	orig := L.GetGlobal("type").(*lua.LFunction)
	L.SetGlobal("type", L.NewFunction(func(L *lua.LState) int {
		v := L.Get(1)
		var mt lua.LValue
		switch x := v.(type) {
		case *lua.LUserData:
			mt = x.Metatable
		case *lua.LTable:
			mt = x.Metatable
		}
		if t, ok := mt.(*lua.LTable); ok {
			if s, ok := t.RawGetString("__type").(lua.LString); ok {
				L.Push(s)
				return 1
			}
		}
		L.Push(orig)
		L.Push(v)
		L.Call(1, 1)
		return 1
	}))
}

// readFile reads a whole file.
func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

package host

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// coYield replaces coroutine.yield: a yield from inside a metamethod or a
// callback of a Go function raises a clear error instead of corrupting
// the VM (gopher-lua cannot resume across those boundaries).
func coYield(L *lua.LState) int {
	if !luabind.CanYield() {
		L.RaiseError("attempt to yield across a C-call boundary (metamethod, iterator or Go callback)")
	}
	return L.Yield(argsOf(L)...)
}

func argsOf(L *lua.LState) []lua.LValue {
	n := L.GetTop()
	vals := make([]lua.LValue, n)
	for i := 1; i <= n; i++ {
		vals[i-1] = L.Get(i)
	}
	return vals
}

func installCoroutine(L *lua.LState) {
	co := L.GetGlobal("coroutine").(*lua.LTable)
	co.RawSetString("yield", L.NewFunction(coYield))
}

// baseNext is next() with LuaJIT's order for key 0: LuaJIT keeps t[0] in
// the array part, so next visits 0 first and next(t, 0) continues with
// t[1] (namepile iterates `for k, v in next, arg, 0`).
func baseNext(L *lua.LState) int {
	t := L.CheckTable(1)
	k := L.Get(2)
	var nk, nv lua.LValue
	switch {
	case k == lua.LNil:
		if v0 := t.RawGet(lua.LNumber(0)); v0 != lua.LNil {
			nk, nv = lua.LNumber(0), v0
		} else {
			nk, nv = t.Next(lua.LNil)
		}
	case k == lua.LNumber(0):
		nk, nv = t.Next(lua.LNil)
		if nk == lua.LNumber(0) {
			nk, nv = t.Next(nk)
		}
	default:
		nk, nv = t.Next(k)
		if nk == lua.LNumber(0) {
			nk, nv = t.Next(nk)
		}
	}
	if nk == lua.LNil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(nk)
	L.Push(nv)
	return 2
}

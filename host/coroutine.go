package host

import (
	"sync"

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
	if n := luabind.WantResults(L); n >= 0 {
		yieldWant.Store(L, n)
	}
	return L.Yield(argsOf(L)...)
}

// yieldWant maps a suspended coroutine to the number of values its
// pending coroutine.yield call expects (absent: any number).
var yieldWant sync.Map // *lua.LState → int

// coResume wraps coroutine.resume: the values passed in are padded with
// nil or trimmed to what the suspended yield expects (gopher-lua copies
// them unadjusted, and a short list leaves Go nils in registers).
func coResume(orig *lua.LFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		th := L.CheckThread(1)
		luabind.ShareContext(L, th)
		if want, ok := yieldWant.LoadAndDelete(th); ok {
			n := want.(int)
			switch have := L.GetTop() - 1; {
			case have > n:
				L.SetTop(1 + n)
			case have < n:
				for ; have < n; have++ {
					L.Push(lua.LNil)
				}
			}
		}
		top := L.GetTop()
		L.Insert(orig, 1)
		L.Call(top, lua.MultRet)
		return L.GetTop()
	}
}

// coCreate wraps coroutine.create: the new coroutine shares the context
// of its creator (luabind.NewThread) instead of gopher-lua's child context,
// which a REPL line or a dying pcall helper would cancel for good.
func coCreate(orig lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		ctx := L.Context()
		if ctx == nil {
			return orig(L)
		}
		L.RemoveContext() // orig then makes no child context
		defer L.SetContext(ctx)
		n := orig(L)
		if th, ok := L.Get(-1).(*lua.LState); ok {
			th.SetContext(ctx)
		}
		return n
	}
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
	// the prelude's helper coroutines yield from their base frame, which is
	// always safe: they get the unchecked yield (read once, then removed)
	L.SetGlobal("__ljdns_rawyield", co.RawGetString("yield"))
	co.RawSetString("yield", L.NewFunction(coYield))
	co.RawSetString("resume", L.NewFunction(coResume(co.RawGetString("resume").(*lua.LFunction))))
	co.RawSetString("create", L.NewFunction(coCreate(co.RawGetString("create").(*lua.LFunction).GFunction)))
	dbg := L.GetGlobal("debug").(*lua.LTable)
	dbg.RawSetString("traceback", L.NewFunction(debugTraceback(dbg.RawGetString("traceback").(*lua.LFunction))))
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

// debugTraceback extends gopher-lua's debug.traceback with the Lua 5.1
// forms traceback(thread, msg) and traceback(obj) for non-string errors.
func debugTraceback(orig *lua.LFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		first := L.Get(1)
		switch v := first.(type) {
		case *lua.LState:
			L.Push(orig)
			L.Push(v)
			L.Call(1, 1)
			tb := L.Get(-1).String()
			if msg, ok := L.Get(2).(lua.LString); ok {
				tb = string(msg) + "\n" + tb
			}
			L.Push(lua.LString(tb))
			return 1
		case lua.LString, *lua.LNilType:
		default:
			if L.GetTop() > 0 {
				L.Push(first) // error objects pass through unchanged
				return 1
			}
		}
		top := L.GetTop()
		L.Push(orig)
		for i := 1; i <= top; i++ {
			L.Push(L.Get(i))
		}
		L.Call(top, 1)
		return 1
	}
}

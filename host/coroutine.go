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
		n := L.GetTop()
		if n >= 2 && L.Get(1) == lua.LFalse && L.Get(2) == lua.LString(gopherOverflow) {
			// gopher-lua's Go panic for a full call stack, caught by the
			// coroutine: LuaJIT's "stack overflow" at the deepest level left
			L.Replace(2, overflowMessage(th.Where(0)))
		}
		return n
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
	create := L.NewFunction(coCreate(co.RawGetString("create").(*lua.LFunction).GFunction))
	co.RawSetString("running", L.NewFunction(coRunning))
	co.RawSetString("status", L.NewFunction(coStatus))
	L.SetField(L.GetGlobal("debug"), "traceback", L.NewFunction(debugTraceback))
	L.SetGlobal("error", L.NewFunction(baseError))
	// the prelude's pcall helpers arm themselves (read once, then removed)
	L.SetGlobal("__ljdns_arm", L.NewFunction(armHelper))
	L.SetGlobal("__ljdns_create", create)
	handled := L.NewTable()
	L.G.Registry.RawSetString(handledKey, handled)
	L.SetGlobal("__ljdns_handled", handled)
	// a script's coroutines go through a trampoline that arms them
	tramp, err := LoadString(L, threadTrampoline, threadChunkName)
	if err != nil {
		panic(err)
	}
	L.Push(tramp)
	L.Push(create)
	L.Push(L.NewFunction(armThread))
	L.Call(2, 1)
	co.RawSetString("create", L.Get(-1))
	L.Pop(1)
}

// threadTrampoline returns coroutine.create: the coroutine first arms its
// Panic function (threadPanic), then runs f.
const threadTrampoline = `local create, arm = ...
local type, error = type, error
local function pass(...) return ... end
return function(f)
	if type(f) ~= 'function' then
		error("bad argument #1 to 'create' (function expected)", 2)
	end
	return create(function(...)
		arm()
		return pass(f(...))
	end)
end
`

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

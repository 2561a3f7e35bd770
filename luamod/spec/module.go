// Package spec is the busted-compatible test runner behind `ljdns test`
// (API.md §4). The DSL (describe/it/hooks/insulate), luassert's assert,
// spies, stubs, mocks and matchers are Lua embedded with go:embed
// (lua/*.lua); this package finds the spec files, reads .busted, drives the
// Lua core file by file and writes the plain, TAP and JUnit reports.
//
// Lua modules provided (all backed by one runner instance per state):
//
//	busted          describe, it, pending, setup, teardown, before_each, ... (the DSL)
//	busted.runner   callable: no-op under `ljdns test`; run directly
//	                (`ljdns x_spec.lua`) it runs that file's tests and exits
//	luassert        the assert object (also the global `assert` during a run)
//	luassert.spy    spy.new(fn), spy.on(tbl, key), spy.is_spy(v)
//	luassert.stub   stub(tbl, key, ...), stub.new(...)
//	luassert.mock   mock(tbl [, dostub]), mock.revert(tbl)
//	luassert.match  match._, match.is_string(), match.is_not.same(x), ...
//	say             the message table luassert formats failures with
//
// Go callers use Configure + Run (per-test results, see Report) or Main
// (the command line).
package spec

import (
	"embed"
	"fmt"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"ljdns/luabind"
)

// Modules lists the Lua modules this package provides (busted, luassert).
var Modules = []luabind.Module{
	{Name: "busted", Load: field("dsl")},
	{Name: "busted.runner", Load: loadRunner},
	{Name: "luassert", Load: field("assert")},
	{Name: "luassert.assert", Load: field("assert")},
	{Name: "luassert.spy", Load: field("spy")},
	{Name: "luassert.stub", Load: field("stub")},
	{Name: "luassert.mock", Load: field("mock")},
	{Name: "luassert.match", Load: field("match")},
	{Name: "luassert.say", Load: field("say")},
	{Name: "say", Load: field("say")},
}

//go:embed lua/*.lua
var luaFS embed.FS

// chunk names of the embedded Lua: frames from them are skipped when a
// failure's file:line is looked up.
const (
	sayChunk      = "busted/say.lua"
	luassertChunk = "busted/luassert.lua"
	coreChunk     = "busted/core.lua"
)

// registryKey holds the per-state runner (core and luassert tables).
const registryKey = "ljdns.spec.runner"

// runner is one state's Lua side: the core module and the luassert module.
type runner struct {
	core     *lua.LTable
	luassert *lua.LTable
	dsl      *lua.LTable
}

// field returns a Loader that pushes one of the runner's module tables.
func field(name string) lua.LGFunction {
	return func(L *lua.LState) int {
		r := stateRunner(L)
		switch name {
		case "dsl":
			L.Push(r.dsl)
		default:
			L.Push(L.GetField(r.luassert, name))
		}
		return 1
	}
}

// compile compiles embedded Lua with a fixed chunk name (gopher-lua's own
// loader, no ljdns rewriting: the runner compares through the host's
// equality helper explicitly).
func compile(L *lua.LState, name string) *lua.LFunction {
	src, err := luaFS.ReadFile("lua/" + strings.TrimPrefix(name, "busted/"))
	if err != nil {
		panic(err)
	}
	chunk, err := parse.Parse(strings.NewReader(string(src)), name)
	if err != nil {
		panic(fmt.Sprintf("spec: embedded %s: %v", name, err))
	}
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		panic(fmt.Sprintf("spec: embedded %s: %v", name, err))
	}
	return L.NewFunctionFromProto(proto)
}

// guardChunk is the host prelude's chunk name (host/prelude.lua): the
// coroutine each piece of spec code runs in (core.timed) starts with this
// function, so that, like the prelude's pcall helpers, it is seen through
// by coroutine.running, tracebacks and nbio (a test body runs "in the main
// thread", as in busted).
const guardChunk = "prelude"

// guardFunction compiles guard(fn, handler, ...) = xpcall(fn, handler, ...).
func guardFunction(L *lua.LState) *lua.LFunction {
	chunk, err := parse.Parse(strings.NewReader(
		"local xpcall = xpcall\nreturn function(fn, handler, ...) return xpcall(fn, handler, ...) end"), guardChunk)
	if err != nil {
		panic(err)
	}
	proto, err := lua.Compile(chunk, guardChunk)
	if err != nil {
		panic(err)
	}
	L.Push(L.NewFunctionFromProto(proto))
	L.Call(0, 1)
	fn := L.CheckFunction(-1)
	L.Pop(1)
	return fn
}

// stateRunner returns the runner of L, creating it on first use.
func stateRunner(L *lua.LState) *runner {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if ud, ok := reg.RawGetString(registryKey).(*lua.LUserData); ok {
		if r, ok := ud.Value.(*runner); ok {
			return r
		}
	}
	call := func(fn *lua.LFunction, args ...lua.LValue) *lua.LTable {
		L.Push(fn)
		for _, a := range args {
			L.Push(a)
		}
		L.Call(len(args), 1)
		t := L.CheckTable(-1)
		L.Pop(1)
		return t
	}
	internal := L.NewTable()
	// "prelude" is the host's chunk (its Lua pcall/xpcall wrappers)
	for _, n := range []string{sayChunk, luassertChunk, coreChunk, "prelude"} {
		internal.RawSetString(n, lua.LTrue)
	}
	say := call(compile(L, sayChunk))
	eq := L.GetGlobal("__ljdns_eq") // the host's cross-type equality (nil outside ljdns)
	las := call(compile(L, luassertChunk), say, eq, internal)
	start := time.Now()
	now := L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(time.Since(start).Seconds()))
		return 1
	})
	core := call(compile(L, coreChunk), las, now, guardFunction(L))
	dsl := L.NewTable()
	L.GetField(core, "dsl").(*lua.LTable).ForEach(func(k, v lua.LValue) { dsl.RawSet(k, v) })
	for _, k := range []string{"assert", "spy", "stub", "mock", "match"} {
		dsl.RawSetString(k, L.GetField(las, k))
	}
	r := &runner{core: core, luassert: las, dsl: dsl}
	ud := L.NewUserData()
	ud.Value = r
	reg.RawSetString(registryKey, ud)
	return r
}

// loadRunner opens busted.runner: a callable that does nothing while a
// run is in progress, and otherwise runs the calling script (arg[0]) as a
// spec file with the options in arg[1..], then exits with the run's status.
func loadRunner(L *lua.LState) int {
	L.Push(L.NewFunction(func(L *lua.LState) int {
		r := stateRunner(L)
		if lua.LVAsBool(L.GetField(r.core, "active")) {
			return 0
		}
		return standalone(L)
	}))
	return 1
}

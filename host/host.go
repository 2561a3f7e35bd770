// Package host builds the one Lua state ljdns runs scripts in: the standard
// library with its LuaJIT-compatibility fixes, the ordered module registry,
// package.path, the chunk loader (LuaJIT escapes and cross-type equality),
// yield-transparent pcall, and error/traceback formatting.
package host

import (
	"embed"
	"io/fs"
	"os"
	"slices"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
	"ljdns/luamod/client"
	"ljdns/luamod/compat"
	"ljdns/luamod/dns"
	"ljdns/luamod/dnssec"
	"ljdns/luamod/etcdzone"
	"ljdns/luamod/nbio"
	"ljdns/luamod/sift"
	"ljdns/luamod/spec"
	"ljdns/luamod/tls"
)

// modules is the one ordered registry of every Lua module the binary provides.
var modules = slices.Concat(dns.Modules, nbio.Modules, tls.Modules, client.Modules, sift.Modules,
	dnssec.Modules, compat.Modules, spec.Modules, etcdzone.Modules)

// Modules returns the registered module names in registration order.
func Modules() []string {
	names := make([]string, len(modules))
	for i, m := range modules {
		names[i] = m.Name
	}
	return names
}

// Options configures a new state.
type Options struct {
	Scripts fs.FS // embedded Lua tools, searched by require after package.path (may be nil)
}

//go:embed prelude.lua
var preludeFS embed.FS

// defaultPath is package.path without LUA_PATH: the current directory
// (API.md §3.6), then the system Lua 5.1 directories luajit searches, so
// pure-Lua rocks installed there load.
const defaultPath = "./?.lua;./?/init.lua;" +
	"/usr/local/share/lua/5.1/?.lua;/usr/local/share/lua/5.1/?/init.lua;" +
	"/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"

// New returns a fresh Lua state with everything ljdns provides.
func New(opts Options) *lua.LState {
	L := lua.NewState(lua.Options{
		RegistrySize:        256,
		RegistryMaxSize:     1024 * 1024 * 4,
		RegistryGrowStep:    256,
		CallStackSize:       20000,
		MinimizeStackMemory: true,
	})
	for _, m := range modules {
		L.PreloadModule(m.Name, luabind.Guard("require "+m.Name, m.Load))
	}
	installLoader(L, opts.Scripts)
	installBase(L)
	installStdlib(L)
	installCoroutine(L)
	installPatterns(L)
	setPackagePath(L)
	runPrelude(L)
	return L
}

func setPackagePath(L *lua.LState) {
	pkg := L.GetGlobal("package").(*lua.LTable)
	path := defaultPath
	if env := os.Getenv("LUA_PATH"); env != "" {
		path = strings.ReplaceAll(env, ";;", ";"+defaultPath+";")
		if !strings.Contains(env, ";;") {
			path = env + ";" + defaultPath
		}
	}
	L.SetField(pkg, "path", lua.LString(path))
}

func runPrelude(L *lua.LState) {
	src, _ := preludeFS.ReadFile("prelude.lua")
	fn, err := LoadString(L, string(src), "prelude")
	if err != nil {
		panic(err)
	}
	L.Push(fn)
	L.Call(0, 0)
}

// FormatError renders an error from Call as luajit(1) does: the message
// (the __tostring of an error object that has one) and the stack
// traceback when one is known.
func FormatError(err error) string {
	if ae, ok := err.(*lua.ApiError); ok {
		var msg string
		switch v := ae.Object.(type) {
		case nil, *lua.LNilType:
			msg = ae.Error()
		case lua.LNumber:
			msg = NumberString(float64(v))
		default:
			msg = v.String()
		}
		if re, ok := ae.Cause.(reportError); ok {
			if !re.trace {
				return re.text
			}
			msg = re.text
		}
		if ae.Type == lua.ApiErrorPanic {
			msg = "internal error: " + msg
		}
		if ae.StackTrace != "" {
			if strings.Contains(msg, "stack traceback:") {
				return msg
			}
			return msg + "\n" + ae.StackTrace
		}
		return msg
	}
	return err.Error()
}

// Call runs fn with args in protected mode, its results left on the
// stack. An error comes back as a *lua.ApiError holding the value raised
// (runtime errors worded as LuaJIT words them) and the traceback taken
// where it was raised.
func Call(L *lua.LState, fn *lua.LFunction, args ...lua.LValue) error {
	L.Push(L.NewFunction(armMain))
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	err := L.PCall(len(args)+1, lua.MultRet, nil)
	if ae, ok := err.(*lua.ApiError); ok && ae.Type == lua.ApiErrorPanic && ae.Object.String() == gopherOverflow {
		// a Go panic from gopher-lua's call stack: a Lua error in LuaJIT
		ae.Type = lua.ApiErrorRun
		ae.Object = overflowMessage(firstFrame(ae.StackTrace))
	}
	return err
}

// firstFrame is the "file:line:" of the innermost level of a gopher-lua
// traceback, or "".
func firstFrame(trace string) string {
	_, rest, ok := strings.Cut(trace, "\n\t")
	if !ok {
		return ""
	}
	pos, _, ok := strings.Cut(rest, " in ")
	if !ok || strings.HasPrefix(pos, "[G]") {
		return ""
	}
	return pos
}

package sift

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luamod/dns"
)

// newTestState returns a plain Lua state with dns, dns.sift and dns.lmdb
// preloaded (no host, so these tests depend on no other module package).
func newTestState(t testing.TB) *lua.LState {
	t.Helper()
	L := lua.NewState()
	for _, m := range slices.Concat(dns.Modules, Modules) {
		L.PreloadModule(m.Name, m.Load)
	}
	// The host's ipairs/pairs honour __ipairs/__pairs on userdata; mimic it.
	if err := L.DoString(`
local ripairs, rpairs = ipairs, pairs
ipairs = function(t) local mt = getmetatable(t)
	if type(mt) == 'table' and mt.__ipairs then return mt.__ipairs(t) end
	return ripairs(t) end
pairs = function(t) local mt = getmetatable(t)
	if type(mt) == 'table' and mt.__pairs then return mt.__pairs(t) end
	return rpairs(t) end`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(L.Close)
	return L
}

// TestScript runs the Lua file named by SIFT_SCRIPT (a development aid).
func TestScript(t *testing.T) {
	path := os.Getenv("SIFT_SCRIPT")
	if path == "" {
		t.Skip("SIFT_SCRIPT not set")
	}
	L := newTestState(t)
	L.SetGlobal("now", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(float64(time.Now().UnixNano()) / 1e9))
		return 1
	}))
	L.SetGlobal("memstats", L.NewFunction(func(L *lua.LState) int {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		L.Push(lua.LString(fmt.Sprintf("heapinuse=%dM idle=%dM released=%dM sys=%dM",
			m.HeapInuse>>20, m.HeapIdle>>20, m.HeapReleased>>20, m.Sys>>20)))
		return 1
	}))
	L.SetGlobal("heapprofile", L.NewFunction(func(L *lua.LState) int {
		f, _ := os.Create(L.CheckString(1))
		runtime.GC()
		pprof.WriteHeapProfile(f)
		f.Close()
		return 0
	}))
	if err := L.DoFile(path); err != nil {
		t.Fatal(err)
	}
}

func luaString(s string) lua.LString { return lua.LString(s) }

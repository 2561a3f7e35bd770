package luabind_test

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// TestCanYield calls CanYield from a Go function in each position Lua can
// call it from.
func TestCanYield(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	var got []bool
	L.SetGlobal("probe", L.NewFunction(func(L *lua.LState) int {
		got = append(got, luabind.CanYield())
		return 0
	}))
	if !luabind.CanYield() {
		t.Error("outside any VM loop: false")
	}
	src := `
		local co = coroutine.create(function()
			probe()                                            -- coroutine body: yes
			local t = setmetatable({}, {__index = function() probe() end})
			local _ = t.x                                      -- metamethod: no
			table.sort({3, 1, 2}, function(a, b) probe() return a < b end) -- Go callback: no
			for _ in function() probe() end do end             -- iterator: no
			coroutine.wrap(function() probe() end)()           -- nested coroutine: yes
		end)
		assert(coroutine.resume(co))
		probe()                                                -- main chunk: no
	`
	if err := L.DoString(src); err != nil {
		t.Fatal(err)
	}
	if len(got) < 6 {
		t.Fatalf("probes %v", got)
	}
	// probes: body, metamethod, comparator (several), iterator, nested coroutine, main chunk
	checks := map[int]bool{0: true, 1: false, len(got) - 2: true, len(got) - 1: false}
	for i, w := range checks {
		if got[i] != w {
			t.Errorf("probe %d: %v, want %v (all: %v)", i, got[i], w, got)
		}
	}
	for i := 2; i < len(got)-2; i++ {
		if got[i] {
			t.Errorf("probe %d (sort comparator or iterator): true, want false (all: %v)", i, got)
		}
	}
}

func BenchmarkCanYield(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	n := 0
	L.SetGlobal("probe", L.NewFunction(func(L *lua.LState) int {
		for range b.N {
			if luabind.CanYield() {
				n++
			}
		}
		return 0
	}))
	b.ResetTimer()
	if err := L.DoString(`coroutine.wrap(probe)()`); err != nil {
		b.Fatal(err)
	}
	if n != b.N {
		b.Fatalf("%d of %d", n, b.N)
	}
}

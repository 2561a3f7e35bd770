package luabind

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestSetConstructor(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	type thing struct{ n int }
	RegisterType(L, TypeSpec{Name: "test.thing"})
	ctor := SetConstructor(L, L.NewTable(), "test.thing", func(L *lua.LState) int {
		Push(L, "test.thing", &thing{L.CheckInt(2)})
		return 1
	})
	L.SetGlobal("thing", ctor)
	if err := L.DoString(`
		local x = thing(5)
		assert(getmetatable(x).__ctor == thing)
		assert(getmetatable(thing).__ctype == 'test.thing')
		obj = x
	`); err != nil {
		t.Fatal(err)
	}
	if got := ConstructorType(ctor); got != "test.thing" {
		t.Fatalf("ConstructorType = %q", got)
	}
	if !IsInstance(L, ctor, L.GetGlobal("obj")) {
		t.Fatal("IsInstance(ctor, obj) = false")
	}
	if IsInstance(L, ctor, lua.LString("x")) || IsInstance(L, lua.LNil, L.GetGlobal("obj")) {
		t.Fatal("IsInstance accepted a non-instance")
	}
}

package luabind

import lua "github.com/yuin/gopher-lua"

// Constructor convention (see luamod/compat/README.md): an object constructor
// such as nb.socket_t or dns.rrset is a table with a __call metamethod. Its
// metatable has the field __ctype holding the registry name of the instance
// type, and the instance type's metatable has the field __ctor holding the
// constructor table. ffi.istype(ctor, obj) and ffi.typeof(obj) rely on both.

// SetConstructor ties the constructor table ctor to the userdata type
// typeName (which must already be registered with RegisterType). It creates
// ctor's metatable when missing, sets its __ctype field, and sets __ctor in
// the type's metatable. When call is non-nil it becomes ctor's __call
// (guarded, named typeName); the first argument __call receives is ctor.
// It returns ctor.
func SetConstructor(L *lua.LState, ctor *lua.LTable, typeName string, call lua.LGFunction) *lua.LTable {
	mt, ok := ctor.Metatable.(*lua.LTable)
	if !ok {
		mt = L.NewTable()
		L.SetMetatable(ctor, mt)
	}
	mt.RawSetString("__ctype", lua.LString(typeName))
	if call != nil {
		mt.RawSetString("__call", L.NewFunction(Guard(typeName, call)))
	}
	if tmt, ok := L.GetTypeMetatable(typeName).(*lua.LTable); ok {
		tmt.RawSetString("__ctor", ctor)
	}
	return ctor
}

// ConstructorType returns the instance type name of a constructor table
// (its metatable's __ctype), or "" when v is not a constructor.
func ConstructorType(v lua.LValue) string {
	t, ok := v.(*lua.LTable)
	if !ok {
		return ""
	}
	mt, ok := t.Metatable.(*lua.LTable)
	if !ok {
		return ""
	}
	s, _ := mt.RawGetString("__ctype").(lua.LString)
	return string(s)
}

// IsInstance reports whether obj is an instance of the constructor ctor:
// obj's metatable is the metatable registered under ctor's __ctype.
func IsInstance(L *lua.LState, ctor, obj lua.LValue) bool {
	name := ConstructorType(ctor)
	if name == "" {
		return false
	}
	tmt, ok := L.GetTypeMetatable(name).(*lua.LTable)
	if !ok {
		return false
	}
	return L.GetMetatable(obj) == tmt
}

// Package luabind holds the few Lua⇄Go helpers every ljdns module shares:
// the Module registration record, one metatable per userdata type, checked
// argument getters, byte-string access for strings and buffers, `nil, err`
// returns, and the panic→Lua-error boundary wrapped around every Go function.
package luabind

import (
	"fmt"
	"runtime/debug"

	lua "github.com/yuin/gopher-lua"
)

// Module names one Lua module and the loader that opens it. The host
// registers every Module with (*lua.LState).PreloadModule.
type Module struct {
	Name string         // require name, e.g. "dns.nbio"
	Load lua.LGFunction // returns the module table
}

// Guard wraps fn so that a Go panic inside it becomes a Lua error naming
// the function, instead of escaping to the user. Lua errors raised with
// L.RaiseError/ArgError pass through unchanged.
func Guard(name string, fn lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) (n int) {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(*lua.ApiError); ok {
					panic(r)
				}
				if debugPanics {
					fmt.Printf("panic in %s: %v\n%s", name, r, debug.Stack())
				}
				L.RaiseError("%s: internal error: %v", name, r)
			}
		}()
		return fn(L)
	}
}

var debugPanics = false

// SetFuncs sets every function of funcs into tbl, each behind Guard with the
// name prefix.name. It returns tbl.
func SetFuncs(L *lua.LState, tbl *lua.LTable, prefix string, funcs map[string]lua.LGFunction) *lua.LTable {
	for k, fn := range funcs {
		tbl.RawSetString(k, L.NewFunction(Guard(prefix+"."+k, fn)))
	}
	return tbl
}

// NewModule returns a fresh table holding funcs (guarded, named mod.func).
func NewModule(L *lua.LState, mod string, funcs map[string]lua.LGFunction) *lua.LTable {
	return SetFuncs(L, L.NewTable(), mod, funcs)
}

// TypeSpec describes a userdata type: its registry name, its methods
// (reachable through __index) and its metamethods.
type TypeSpec struct {
	Name    string                    // registry key, e.g. "dns.rrset"; appears in errors
	Methods map[string]lua.LGFunction // looked up by __index unless Meta has __index
	Meta    map[string]lua.LGFunction // __tostring, __eq, __len, __index, ...
}

// RegisterType creates (once per state) the one metatable for a userdata
// type and returns it. When Meta has no __index, __index is the method table.
// The method table is stored in the metatable as "methods".
func RegisterType(L *lua.LState, spec TypeSpec) *lua.LTable {
	if mt, ok := L.GetField(L.Get(lua.RegistryIndex), spec.Name).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTypeMetatable(spec.Name)
	methods := SetFuncs(L, L.NewTable(), spec.Name, spec.Methods)
	mt.RawSetString("methods", methods)
	mt.RawSetString("__name", lua.LString(spec.Name))
	if _, ok := spec.Meta["__index"]; !ok {
		mt.RawSetString("__index", methods)
	}
	SetFuncs(L, mt, spec.Name, spec.Meta)
	return mt
}

// Methods returns the method table of a registered type (nil if unknown).
func Methods(L *lua.LState, name string) *lua.LTable {
	if mt, ok := L.GetTypeMetatable(name).(*lua.LTable); ok {
		if m, ok := mt.RawGetString("methods").(*lua.LTable); ok {
			return m
		}
	}
	return nil
}

// NewUserData makes a userdata holding v with the metatable of type name
// (which must have been registered).
func NewUserData(L *lua.LState, name string, v any) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = v
	ud.Metatable = L.GetTypeMetatable(name)
	return ud
}

// Push pushes a new userdata of type name holding v.
func Push(L *lua.LState, name string, v any) {
	L.Push(NewUserData(L, name, v))
}

// Check returns argument n as a T held in a userdata, or raises
// "bad argument #n to f (name expected)".
func Check[T any](L *lua.LState, n int, name string) T {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if v, ok := ud.Value.(T); ok {
			return v
		}
	}
	L.ArgError(n, name+" expected, got "+TypeName(L.Get(n)))
	var zero T
	return zero
}

// Test returns argument n as a T if it is a userdata holding one.
func Test[T any](L *lua.LState, n int) (T, bool) {
	return As[T](L.Get(n))
}

// As returns v as a T if it is a userdata holding one.
func As[T any](v lua.LValue) (T, bool) {
	if ud, ok := v.(*lua.LUserData); ok {
		if t, ok := ud.Value.(T); ok {
			return t, true
		}
	}
	var zero T
	return zero, false
}

// TypeName names a value's type for error messages: the __name of its
// metatable for userdata, else the Lua type name.
func TypeName(v lua.LValue) string {
	if ud, ok := v.(*lua.LUserData); ok {
		if mt, ok := ud.Metatable.(*lua.LTable); ok {
			if s, ok := mt.RawGetString("__name").(lua.LString); ok {
				return string(s)
			}
		}
	}
	return v.Type().String()
}

// Fail pushes nil and a message and returns 2: the `nil, err` convention.
func Fail(L *lua.LState, format string, args ...any) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(fmt.Sprintf(format, args...)))
	return 2
}

// FailErr pushes nil and err's text (prefixed with prefix if not empty) and returns 2.
func FailErr(L *lua.LState, prefix string, err error) int {
	if prefix != "" {
		return Fail(L, "%s: %v", prefix, err)
	}
	return Fail(L, "%v", err)
}

// Bool pushes a Lua boolean and returns 1.
func Bool(L *lua.LState, b bool) int {
	L.Push(lua.LBool(b))
	return 1
}

// OptNumber returns argument n as a number, or def when it is nil/absent.
// Unlike L.OptNumber it accepts numeric strings, as Lua's arithmetic does.
func OptNumber(L *lua.LState, n int, def float64) float64 {
	switch v := L.Get(n).(type) {
	case lua.LNumber:
		return float64(v)
	case *lua.LNilType:
		return def
	case lua.LString:
		if f, err := parseNum(string(v)); err == nil {
			return f
		}
	}
	L.TypeError(n, lua.LTNumber)
	return 0
}

// OptInt is OptNumber truncated toward zero.
func OptInt(L *lua.LState, n int, def int) int {
	return int(OptNumber(L, n, float64(def)))
}

// CheckInt is OptInt with no default: nil raises.
func CheckInt(L *lua.LState, n int) int {
	if L.Get(n) == lua.LNil {
		L.TypeError(n, lua.LTNumber)
	}
	return int(OptNumber(L, n, 0))
}

// Truthy reports Lua truthiness of argument n.
func Truthy(L *lua.LState, n int) bool { return lua.LVAsBool(L.Get(n)) }

package compat

import (
	"bytes"
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
	"ljdns/luamod/dns"
)

// ffiLoader opens the ffi shim (API.md §3.2).
func ffiLoader(L *lua.LState) int {
	registerCType(L)
	mod := luabind.NewModule(L, "ffi", ffiExports)
	mod.RawSetString("os", lua.LString("Linux"))
	mod.RawSetString("arch", lua.LString("x64"))
	c := L.NewTable()
	cmt := L.NewTable()
	cmt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("ffi.C.%s: not supported (missing declaration for symbol '%s')", L.ToString(2), L.ToString(2))
		return 0
	}))
	L.SetMetatable(c, cmt)
	mod.RawSetString("C", c)
	L.Push(mod)
	return 1
}

var ffiExports = map[string]lua.LGFunction{
	"new":      ffiNew,
	"cast":     ffiCast,
	"string":   ffiString,
	"copy":     ffiCopy,
	"fill":     ffiFill,
	"sizeof":   ffiSizeof,
	"alignof":  ffiAlignof,
	"istype":   ffiIstype,
	"typeof":   ffiTypeof,
	"gc":       func(L *lua.LState) int { L.Push(L.Get(1)); return 1 },
	"abi":      ffiAbi,
	"errno":    ffiErrno,
	"cdef":     func(L *lua.LState) int { return 0 },
	"load":     ffiUnsupported("load"),
	"metatype": ffiUnsupported("metatype"),
	"offsetof": ffiUnsupported("offsetof"),
	"tonumber": func(L *lua.LState) int { L.Push(L.Get(1)); return 1 },
}

func ffiUnsupported(name string) lua.LGFunction {
	return func(L *lua.LState) int {
		L.RaiseError("ffi.%s: not supported", name)
		return 0
	}
}

// ffiNew implements ffi.new(ct [, nelem] [, init...]). A constructor table
// (nb.socket_t, ...) is called with the remaining arguments.
func ffiNew(L *lua.LState) int {
	if t, ok := L.Get(1).(*lua.LTable); ok && luabind.ConstructorType(t) != "" {
		top := L.GetTop()
		L.Push(t)
		for i := 2; i <= top; i++ {
			L.Push(L.Get(i))
		}
		L.Call(top-1, 1)
		return 1
	}
	return ffiNewCT(L, toCType(L, 1), 2)
}

// ffiNewCT creates an instance of ct; arguments start at stack index a.
// Scalars are returned as plain numbers (API.md §3.1 #12), pointers as nil.
func ffiNewCT(L *lua.LState, ct *CType, a int) int {
	top := L.GetTop()
	switch ct.Kind {
	case ctScalar:
		f := 0.0
		if a <= top {
			f = scalarInit(L, a)
		}
		L.Push(lua.LNumber(ct.Convert(f)))
		return 1
	case ctPtr:
		if a <= top {
			return ffiCastCT(L, ct, a)
		}
		L.Push(lua.LNil)
		return 1
	}
	if !ct.Known {
		L.RaiseError("ffi.new: unknown C type '%s'", ct.Text)
	}
	n := ct.N
	if ct.Kind == ctVLA {
		f, ok := L.Get(a).(lua.LNumber)
		if !ok || f < 0 || f > 1<<31 {
			L.RaiseError("ffi.new: size of C type '%s' is unknown or too large", ct.Text)
		}
		n = int(f)
		a++
	}
	v := &luabind.View{
		Mem:    &luabind.Memory{B: make([]byte, n*ct.Base.size)},
		Elem:   ct.Base.size,
		Signed: ct.Base.signed,
		CType:  ct.Text,
	}
	if a <= top {
		initArray(L, v, ct, n, a, top)
	}
	luabind.PushView(L, v)
	return 1
}

// scalarInit reads a numeric initialiser (numbers, numeric strings, booleans).
func scalarInit(L *lua.LState, i int) float64 {
	switch x := L.Get(i).(type) {
	case lua.LBool:
		if x {
			return 1
		}
		return 0
	case *lua.LNilType:
		return 0
	}
	return float64(L.CheckNumber(i))
}

// initArray applies LuaJIT's array initialiser rules: a Lua string fills a
// byte array (plus NUL while room remains); a table supplies elements from
// [0] (if non-nil) or [1] on, stopping at the first nil; a single
// initialiser is repeated over the whole array; otherwise the rest stays zero.
func initArray(L *lua.LState, v *luabind.View, ct *CType, n, a, top int) {
	if s, ok := L.Get(a).(lua.LString); ok && top == a && ct.Base.size == 1 {
		copy(v.Mem.B, s+"\x00")
		return
	}
	var vals []float64
	if t, ok := L.Get(a).(*lua.LTable); ok && top == a {
		start := 1
		if t.RawGet(lua.LNumber(0)) != lua.LNil {
			start = 0
		}
		for i := start; ; i++ {
			x := t.RawGet(lua.LNumber(i))
			if x == lua.LNil {
				break
			}
			f, ok := lua.LVAsNumber(x), true
			if _, isNum := x.(lua.LNumber); !isNum {
				if _, isStr := x.(lua.LString); !isStr {
					ok = false
				}
			}
			if !ok {
				L.RaiseError("ffi.new: cannot convert '%s' to '%s'", luabind.TypeName(x), ct.Name)
			}
			vals = append(vals, float64(f))
		}
	} else {
		for i := a; i <= top; i++ {
			vals = append(vals, scalarInit(L, i))
		}
	}
	if len(vals) > n {
		L.RaiseError("ffi.new: too many initializers for '%s'", ct.Text)
	}
	if len(vals) == 1 {
		for i := 0; i < n; i++ {
			_ = v.Set(i, vals[0])
		}
		return
	}
	for i, f := range vals {
		_ = v.Set(i, f)
	}
}

// ffiCast implements ffi.cast(ct, x).
func ffiCast(L *lua.LState) int {
	return ffiCastCT(L, toCType(L, 1), 2)
}

// ffiCastCT converts argument i to ct: numbers for scalar types; views for
// pointer/array types over a buffer, view or Lua string (read-only).
// NULL (nil, 0) becomes nil. knot_dname_t * gives a dns.dname object
// (from a wire-format string, buffer or dname). Other userdata cast to an unknown struct
// pointer pass through unchanged (ffi.cast('knot_dname_t *', d)).
func ffiCastCT(L *lua.LState, ct *CType, i int) int {
	x := L.Get(i)
	if ct.Kind == ctScalar {
		switch v := x.(type) {
		case lua.LNumber, lua.LString, lua.LBool:
			L.Push(lua.LNumber(ct.Convert(scalarInit(L, i))))
			return 1
		case *lua.LUserData:
			if view, ok := v.Value.(*luabind.View); ok {
				L.Push(lua.LNumber(ct.Convert(float64(view.Off)))) // no real addresses: the offset
				return 1
			}
		}
		L.RaiseError("ffi.cast: cannot convert '%s' to '%s'", luabind.TypeName(x), ct.Text)
	}
	if ct.Name == "knot_dname_t" && x != lua.LNil { // dname pointers are dname objects
		if n, ok := dns.ToName(x); ok {
			if _, isName := luabind.As[*dnsmsg.Name](x); isName {
				L.Push(x)
			} else {
				dns.PushName(L, n)
			}
			return 1
		}
		L.RaiseError("ffi.cast: cannot convert '%s' to 'knot_dname_t *' (not a wire-format name)", luabind.TypeName(x))
	}
	var w luabind.View
	switch v := x.(type) {
	case *lua.LNilType:
		L.Push(lua.LNil)
		return 1
	case lua.LNumber:
		if v == 0 {
			L.Push(lua.LNil)
			return 1
		}
		L.RaiseError("ffi.cast: integer to pointer conversion is not supported")
	case lua.LString:
		w = luabind.View{Mem: &luabind.Memory{B: luabind.StringBytes(string(v))}, ReadOnly: true}
	case *lua.LUserData:
		switch src := v.Value.(type) {
		case *luabind.View:
			w = *src
		case luabind.ByteSource:
			if !ct.Known {
				L.Push(x)
				return 1
			}
			w = luabind.View{Mem: &luabind.Memory{B: src.LuaBytes()}, ReadOnly: true}
		default:
			if !ct.Known {
				L.Push(x)
				return 1
			}
			L.RaiseError("ffi.cast: cannot convert '%s' to '%s'", luabind.TypeName(x), ct.Text)
		}
	default:
		if !ct.Known {
			L.Push(x)
			return 1
		}
		L.RaiseError("ffi.cast: cannot convert '%s' to '%s'", luabind.TypeName(x), ct.Text)
	}
	w.Elem, w.Signed, w.CType = ct.Base.size, ct.Base.signed, ct.Text
	luabind.PushView(L, &w)
	return 1
}

// ffiString implements ffi.string(p [, len]): len bytes of p, or (for
// buffers and views) the bytes up to the first NUL.
func ffiString(L *lua.LState) int {
	if L.Get(1) == lua.LNil {
		L.ArgError(1, "cannot convert 'nil' to 'const char *'")
	}
	if L.Get(2) != lua.LNil {
		n := L.CheckNumber(2)
		b := luabind.CheckBytes(L, 1, 0)
		if n < 0 || int(n) > len(b) {
			L.ArgError(2, fmt.Sprintf("length %d out of range (%d bytes available)", int(n), len(b)))
		}
		L.Push(lua.LString(b[:int(n)]))
		return 1
	}
	if s, ok := L.Get(1).(lua.LString); ok {
		L.Push(s)
		return 1
	}
	b := luabind.CheckBytes(L, 1, 0)
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	L.Push(lua.LString(b))
	return 1
}

// checkDst returns argument n as a writable view.
func checkDst(L *lua.LState, n int) *luabind.View {
	v, ok := luabind.Test[*luabind.View](L, n)
	if !ok {
		L.ArgError(n, "buffer expected, got "+luabind.TypeName(L.Get(n)))
	}
	if v.ReadOnly {
		L.ArgError(n, "attempt to write to constant location")
	}
	return v
}

// ffiCopy implements ffi.copy(dst, src [, len]). Without len, src is a
// C string: a Lua string or the bytes of a buffer up to its first NUL, copied
// with a terminating NUL while the destination has room.
func ffiCopy(L *lua.LState) int {
	dst := checkDst(L, 1)
	d := dst.LuaBytes()
	src := luabind.CheckBytes(L, 2, 0)
	if L.Get(3) == lua.LNil {
		if _, ok := L.Get(2).(lua.LString); !ok { // a C string: up to its NUL
			if i := bytes.IndexByte(src, 0); i >= 0 {
				src = src[:i]
			}
		}
		if len(src) > len(d) {
			L.RaiseError("ffi.copy: %d bytes do not fit in the destination (%d bytes)", len(src), len(d))
		}
		copy(d, src)
		if len(src) < len(d) {
			d[len(src)] = 0
		}
		return 0
	}
	n := int(L.CheckNumber(3))
	if n < 0 || n > len(src) || n > len(d) {
		L.ArgError(3, fmt.Sprintf("length %d out of range (source %d, destination %d bytes)", n, len(src), len(d)))
	}
	copy(d[:n], src[:n])
	return 0
}

// ffiFill implements ffi.fill(dst, len [, byte]).
func ffiFill(L *lua.LState) int {
	d := checkDst(L, 1).LuaBytes()
	n := int(L.CheckNumber(2))
	if n < 0 || n > len(d) {
		L.ArgError(2, fmt.Sprintf("length %d out of range (%d bytes)", n, len(d)))
	}
	c := byte(luabind.OptInt(L, 3, 0))
	for i := range d[:n] {
		d[i] = c
	}
	return 0
}

// ffiSizeof implements ffi.sizeof(ct_or_obj [, nelem]).
func ffiSizeof(L *lua.LState) int {
	switch x := L.Get(1).(type) {
	case lua.LNumber:
		L.Push(lua.LNumber(8))
		return 1
	case *lua.LUserData:
		if v, ok := x.Value.(*luabind.View); ok {
			ct := viewCType(v)
			if ct.Kind == ctPtr {
				L.Push(lua.LNumber(8))
			} else {
				L.Push(lua.LNumber(len(v.LuaBytes())))
			}
			return 1
		}
		if _, ok := x.Value.(*CType); !ok {
			if b, ok := luabind.ToBytes(x); ok {
				L.Push(lua.LNumber(len(b)))
				return 1
			}
		}
	}
	ct := toCType(L, 1)
	size := ct.Size()
	if ct.Kind == ctVLA {
		if n, ok := L.Get(2).(lua.LNumber); ok && n >= 0 {
			L.Push(lua.LNumber(int(n) * ct.Base.size))
			return 1
		}
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LNumber(size))
	return 1
}

// ffiAlignof implements ffi.alignof(ct).
func ffiAlignof(L *lua.LState) int {
	ct := toCType(L, 1)
	a := ct.Base.size
	if ct.Kind == ctPtr {
		a = 8
	}
	L.Push(lua.LNumber(a))
	return 1
}

// isCTypeLike reports whether v can stand as the ct argument of istype.
func isCTypeLike(v lua.LValue) bool {
	switch x := v.(type) {
	case lua.LString:
		return true
	case *lua.LUserData:
		_, ok := x.Value.(*CType)
		return ok
	case *lua.LTable:
		return luabind.ConstructorType(x) != ""
	}
	return false
}

// ffiIstype implements ffi.istype(ct, obj) (arguments may be swapped).
func ffiIstype(L *lua.LState) int {
	ct, obj := L.Get(1), L.Get(2)
	if !isCTypeLike(ct) && isCTypeLike(obj) {
		ct, obj = obj, ct
	}
	if luabind.ConstructorType(ct) != "" {
		return luabind.Bool(L, luabind.IsInstance(L, ct, obj))
	}
	view, ok := luabind.As[*luabind.View](obj)
	if !ok {
		return luabind.Bool(L, false)
	}
	var want *CType
	switch x := ct.(type) {
	case lua.LString:
		c, err := ParseCType(string(x))
		if err != nil {
			L.ArgError(1, err.Error())
		}
		want = c
	case *lua.LUserData:
		want, _ = x.Value.(*CType)
	}
	if want == nil {
		L.ArgError(1, "C type expected, got "+luabind.TypeName(ct))
	}
	return luabind.Bool(L, want.Same(viewCType(view)))
}

// ffiTypeof implements ffi.typeof(x): a declaration → ctype; a buffer or
// view → its ctype; an object → its constructor (the __ctor of its type).
func ffiTypeof(L *lua.LState) int {
	x := L.Get(1)
	switch v := x.(type) {
	case lua.LString:
		pushCType(L, toCType(L, 1))
		return 1
	case lua.LNumber:
		ct, _ := ParseCType("double")
		pushCType(L, ct)
		return 1
	case *lua.LUserData:
		switch u := v.Value.(type) {
		case *CType:
			L.Push(v)
			return 1
		case *luabind.View:
			pushCType(L, viewCType(u))
			return 1
		}
	case *lua.LTable:
		if luabind.ConstructorType(v) != "" {
			L.Push(v)
			return 1
		}
	}
	if mt, ok := L.GetMetatable(x).(*lua.LTable); ok {
		if ctor := mt.RawGetString("__ctor"); ctor != lua.LNil {
			L.Push(ctor)
			return 1
		}
	}
	L.ArgError(1, "cannot determine the C type of "+luabind.TypeName(x))
	return 0
}

// ffiAbi implements ffi.abi(param) for the emulated x64 Linux host.
func ffiAbi(L *lua.LState) int {
	switch L.CheckString(1) {
	case "le", "64bit", "fpu", "gc64":
		return luabind.Bool(L, true)
	}
	return luabind.Bool(L, false)
}

// errnoKey is the registry key of the last errno seen by syscall/ffi.
const errnoKey = "compat.errno"

// setErrno records the last errno of the state (ffi.errno()).
func setErrno(L *lua.LState, e int) {
	L.G.Registry.RawSetString(errnoKey, lua.LNumber(e))
}

// ffiErrno implements ffi.errno([newerrno]): returns the last errno, and sets it if given.
func ffiErrno(L *lua.LState) int {
	old := L.G.Registry.RawGetString(errnoKey)
	if old == lua.LNil {
		old = lua.LNumber(0)
	}
	if L.GetTop() >= 1 {
		setErrno(L, L.CheckInt(1))
	}
	L.Push(old)
	return 1
}

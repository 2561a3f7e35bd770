package host

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// installBase replaces the base-library functions whose gopher-lua
// behaviour differs from LuaJIT's in ways existing scripts notice
// (DESIGN.md hard point 4, API.md §3.1).
func installBase(L *lua.LState) {
	// the stock ipairs iterator, taken from one call of the stock ipairs
	L.Push(L.GetGlobal("ipairs"))
	L.Push(L.NewTable())
	L.Call(1, 3)
	ipairsAux := L.Get(-3).(*lua.LFunction)
	L.Pop(3)
	next := L.NewFunction(baseNext)
	L.SetGlobal("next", next)
	L.SetGlobal("pairs", L.NewFunction(metaIter("__pairs", next, lua.LNil)))
	L.SetGlobal("ipairs", L.NewFunction(metaIter("__ipairs", ipairsAux, lua.LNumber(0))))
	L.SetGlobal("tostring", L.NewFunction(baseToString))
	L.SetGlobal("print", L.NewFunction(basePrint))
	L.SetGlobal("tonumber", L.NewFunction(baseToNumber))
	L.SetGlobal("assert", L.NewFunction(baseAssert))

	str := L.GetGlobal("string").(*lua.LTable)
	str.RawSetString("format", L.NewFunction(strFormat))
	str.RawSetString("rep", L.NewFunction(strRep))

	// io.write and file:write print numbers as LuaJIT does
	io := L.GetGlobal("io").(*lua.LTable)
	io.RawSetString("write", L.NewFunction(numbersAsText(io.RawGetString("write").(*lua.LFunction), 1)))
	if fileMT, ok := L.GetTypeMetatable("FILE*").(*lua.LTable); ok {
		fileMT.RawSetString("write", L.NewFunction(numbersAsText(fileMT.RawGetString("write").(*lua.LFunction), 2)))
	}

	math := L.GetGlobal("math").(*lua.LTable)
	math.RawSetString("huge", lua.LNumber(posInf))

	tbl := L.GetGlobal("table").(*lua.LTable)
	for name, fn := range map[string]lua.LGFunction{"new": tableNew, "clear": tableClear} {
		f := L.NewFunction(fn)
		tbl.RawSetString(name, f)
		// LuaJIT: require('table.new') returns the function
		L.PreloadModule("table."+name, func(L *lua.LState) int { L.Push(f); return 1 })
	}

	L.SetField(L.GetGlobal("os"), "exit", L.NewFunction(osExit))
	L.SetField(L.GetGlobal("os"), "date", L.NewFunction(osDate))

	jit := L.NewTable()
	jit.RawSetString("os", lua.LString("Linux"))
	jit.RawSetString("arch", lua.LString("x64"))
	jit.RawSetString("version", lua.LString("LuaJIT 2.1 (ljdns clone)"))
	jit.RawSetString("version_num", lua.LNumber(20100))
	noop := L.NewFunction(func(L *lua.LState) int { return 0 })
	for _, k := range []string{"on", "off", "flush"} {
		jit.RawSetString(k, noop)
	}
	L.SetGlobal("jit", jit)
	L.SetField(L.GetField(L.GetGlobal("package"), "loaded"), "jit", jit)
}

var posInf = math.Inf(1)

// metaIter returns pairs/ipairs: the metamethod event (__pairs or
// __ipairs) of a table or userdata decides when present; otherwise a
// table is iterated with (iter, t, init).
func metaIter(event string, iter *lua.LFunction, init lua.LValue) lua.LGFunction {
	return func(L *lua.LState) int {
		v := L.CheckAny(1)
		if mm := L.GetMetaField(v, event); mm != lua.LNil {
			L.Push(mm)
			L.Push(v)
			L.Call(1, 3)
			return 3
		}
		if _, ok := v.(*lua.LTable); !ok {
			L.ArgError(1, "table expected, got "+v.Type().String())
		}
		L.Push(iter)
		L.Push(v)
		L.Push(init)
		return 3
	}
}

// numbersAsText wraps a write function so that its number arguments (from
// index first on) are written in LuaJIT's number format.
func numbersAsText(orig *lua.LFunction, first int) lua.LGFunction {
	return func(L *lua.LState) int {
		top := L.GetTop()
		for i := first; i <= top; i++ {
			if n, ok := L.Get(i).(lua.LNumber); ok {
				L.Replace(i, lua.LString(NumberString(float64(n))))
			}
		}
		L.Insert(orig, 1)
		L.Call(top, lua.MultRet)
		return L.GetTop()
	}
}

// NumberString formats a number as LuaJIT does ("%.14g", inf, -inf, nan, -0).
func NumberString(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		if f == 0 && math.Signbit(f) {
			return "-0"
		}
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

// ToString is Lua's tostring with __tostring and LuaJIT number formatting.
func ToString(L *lua.LState, v lua.LValue) string {
	switch x := v.(type) {
	case lua.LNumber:
		return NumberString(float64(x))
	case lua.LString:
		return string(x)
	case *lua.LNilType:
		return "nil"
	case lua.LBool:
		if x {
			return "true"
		}
		return "false"
	}
	if mm := L.GetMetaField(v, "__tostring"); mm != lua.LNil {
		L.Push(mm)
		L.Push(v)
		L.Call(1, 1)
		r := L.Get(-1)
		L.Pop(1)
		if s, ok := r.(lua.LString); ok {
			return string(s)
		}
		if n, ok := r.(lua.LNumber); ok {
			return NumberString(float64(n))
		}
		L.RaiseError("'__tostring' must return a string")
	}
	return v.String()
}

func baseToString(L *lua.LState) int {
	L.Push(lua.LString(ToString(L, L.CheckAny(1))))
	return 1
}

func basePrint(L *lua.LState) int {
	top := L.GetTop()
	var sb strings.Builder
	for i := 1; i <= top; i++ {
		if i > 1 {
			sb.WriteByte('\t')
		}
		sb.WriteString(ToString(L, L.Get(i)))
	}
	sb.WriteByte('\n')
	writeStdout(L, sb.String())
	return 0
}

// writeStdout writes through io.stdout so buffering and redirection agree
// with io.write.
func writeStdout(L *lua.LState, s string) {
	out := L.GetField(L.GetGlobal("io"), "stdout")
	if w := L.GetField(out, "write"); w != lua.LNil {
		L.Push(w)
		L.Push(out)
		L.Push(lua.LString(s))
		L.Call(2, 0)
		return
	}
	fmt.Print(s)
}

func baseToNumber(L *lua.LState) int {
	v := L.CheckAny(1)
	if L.Get(2) != lua.LNil {
		base := L.CheckInt(2)
		s := strings.ToLower(strings.TrimSpace(ToString(L, v)))
		if base < 2 || base > 36 {
			L.ArgError(2, "base out of range")
		}
		if n, err := strconv.ParseInt(s, base, 64); err == nil {
			L.Push(lua.LNumber(n))
		} else if n, err := strconv.ParseUint(s, base, 64); err == nil {
			L.Push(lua.LNumber(n))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	}
	switch x := v.(type) {
	case lua.LNumber:
		L.Push(x)
	case lua.LString:
		if f, ok := ParseNumber(string(x)); ok {
			L.Push(lua.LNumber(f))
		} else {
			L.Push(lua.LNil)
		}
	default:
		L.Push(lua.LNil)
	}
	return 1
}

// ParseNumber converts a string as Lua's tonumber does: decimal with
// optional exponent, or 0x hex, surrounded by optional whitespace.
func ParseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "_") {
		return 0, false
	}
	neg := false
	body := s
	if body[0] == '-' || body[0] == '+' {
		neg = body[0] == '-'
		body = body[1:]
	}
	if len(body) > 2 && (body[:2] == "0x" || body[:2] == "0X") {
		if n, err := strconv.ParseUint(body[2:], 16, 64); err == nil {
			f := float64(n)
			if neg {
				f = -f
			}
			return f, true
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	for _, c := range body {
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

func baseAssert(L *lua.LState) int {
	if !lua.LVAsBool(L.Get(1)) {
		if L.GetTop() < 2 || L.Get(2) == lua.LNil {
			L.RaiseError("assertion failed!")
		}
		L.Error(L.Get(2), 1)
	}
	return L.GetTop()
}

func strRep(L *lua.LState) int {
	s := L.CheckString(1)
	n := L.CheckInt(2)
	sep := L.OptString(3, "")
	if n <= 0 {
		L.Push(lua.LString(""))
		return 1
	}
	if int64(len(s)+len(sep))*int64(n) > 1<<31 {
		L.RaiseError("resulting string too large")
	}
	var sb strings.Builder
	sb.Grow((len(s) + len(sep)) * n)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(sep)
		}
		sb.WriteString(s)
	}
	L.Push(lua.LString(sb.String()))
	return 1
}

func tableNew(L *lua.LState) int {
	L.Push(L.CreateTable(L.OptInt(1, 0), L.OptInt(2, 0)))
	return 1
}

func tableClear(L *lua.LState) int {
	t := L.CheckTable(1)
	var keys []lua.LValue
	t.ForEach(func(k, _ lua.LValue) { keys = append(keys, k) })
	for _, k := range keys {
		t.RawSet(k, lua.LNil)
	}
	return 0
}

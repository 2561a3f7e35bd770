package host

import (
	"bufio"
	"math"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// installStdlib replaces the standard-library functions whose gopher-lua
// results differ from LuaJIT's: byte-wise case mapping, math.log with a
// base, collectgarbage's results, debug.getinfo's short_src and
// io.read's number and line formats.
func installStdlib(L *lua.LState) {
	str := L.GetGlobal("string").(*lua.LTable)
	str.RawSetString("lower", L.NewFunction(strLower))
	str.RawSetString("upper", L.NewFunction(strUpper))

	L.SetField(L.GetGlobal("table"), "concat", L.NewFunction(tableConcat))

	m := L.GetGlobal("math").(*lua.LTable)
	m.RawSetString("log", L.NewFunction(mathLog))

	gc := &gcParams{pause: 200, stepmul: 200}
	L.SetGlobal("collectgarbage", L.NewFunction(gc.collect))

	L.SetField(L.GetGlobal("debug"), "getinfo", L.NewFunction(debugGetInfo))

	iot := L.GetGlobal("io").(*lua.LTable)
	ioInput := iot.RawGetString("input").(*lua.LFunction)
	if fileMT, ok := L.GetTypeMetatable("FILE*").(*lua.LTable); ok {
		methods, _ := fileMT.RawGetString("__index").(*lua.LTable)
		if methods == nil {
			methods = fileMT
		}
		if read, ok := methods.RawGetString("read").(*lua.LFunction); ok {
			methods.RawSetString("read", L.NewFunction(func(L *lua.LState) int {
				return fileRead(L, read, L.CheckUserData(1), 2)
			}))
			iot.RawSetString("read", L.NewFunction(func(L *lua.LState) int {
				L.Push(ioInput)
				L.Call(0, 1)
				f, ok := L.Get(-1).(*lua.LUserData)
				L.Pop(1)
				if !ok {
					L.RaiseError("no default input file")
				}
				return fileRead(L, read, f, 1)
			}))
		}
	}
}

// strLower is string.lower in the C locale: only A-Z change, every other
// byte is kept (gopher-lua's maps UTF-8 and turns other bytes into U+FFFD).
func strLower(L *lua.LState) int {
	s := L.CheckString(1)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			L.Push(lua.LString(b))
			return 1
		}
	}
	L.Push(lua.LString(s))
	return 1
}

// strUpper is string.upper in the C locale (see strLower).
func strUpper(L *lua.LState) int {
	s := L.CheckString(1)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'a' && c <= 'z' {
					b[j] = c - 'a' + 'A'
				}
			}
			L.Push(lua.LString(b))
			return 1
		}
	}
	L.Push(lua.LString(s))
	return 1
}

// tableConcat is table.concat(t [, sep [, i [, j]]]) as LuaJIT's: numbers
// written as tostring writes them, any range of integer keys (gopher-lua
// clamps i and j to 1..#t), an error for a value that is not a string or
// number.
func tableConcat(L *lua.LState) int {
	t := L.CheckTable(1)
	sep := ""
	if v := L.Get(2); v != lua.LNil {
		switch x := v.(type) {
		case lua.LString:
			sep = string(x)
		case lua.LNumber:
			sep = NumberString(float64(x))
		default:
			L.ArgError(2, "string expected, got "+v.Type().String())
		}
	}
	i := L.OptInt(3, 1)
	j := 0
	if L.Get(4) == lua.LNil {
		j = t.Len()
	} else {
		j = L.CheckInt(4)
	}
	var sb strings.Builder
	for k := i; k <= j; k++ {
		switch v := t.RawGet(lua.LNumber(k)).(type) {
		case lua.LString:
			sb.WriteString(string(v))
		case lua.LNumber:
			sb.WriteString(NumberString(float64(v)))
		default:
			L.RaiseError("invalid value (%s) at index %d in table for 'concat'", v.Type().String(), k)
		}
		if k < j {
			sb.WriteString(sep)
		}
	}
	L.Push(lua.LString(sb.String()))
	return 1
}

// mathLog is LuaJIT's math.log(x [, base]): exact for bases 2 and 10.
func mathLog(L *lua.LState) int {
	x := float64(L.CheckNumber(1))
	var r float64
	switch {
	case L.Get(2) == lua.LNil:
		r = math.Log(x)
	default:
		switch base := float64(L.CheckNumber(2)); base {
		case 2:
			r = math.Log2(x)
		case 10:
			r = math.Log10(x)
		default:
			r = math.Log(x) / math.Log(base)
		}
	}
	L.Push(lua.LNumber(r))
	return 1
}

// gcParams holds the values setpause and setstepmul hand back; Go's
// collector has no such knobs, so they are only remembered.
type gcParams struct{ pause, stepmul int }

var gcOptions = []string{"stop", "restart", "collect", "count", "step", "setpause", "setstepmul"}

// collect is collectgarbage with Lua 5.1's results: "count" the heap in
// KB, "step" true (a full collection, which finishes a cycle), setpause
// and setstepmul the previous value, the others 0.
func (gc *gcParams) collect(L *lua.LState) int {
	opt := "collect"
	if L.Get(1) != lua.LNil {
		opt = gcOptions[L.CheckOption(1, gcOptions)]
	}
	switch opt {
	case "count":
		L.Push(lua.LNumber(float64(heapBytes()) / 1024))
	case "step":
		runtime.GC()
		L.Push(lua.LTrue)
	case "setpause":
		prev := gc.pause
		gc.pause = L.OptInt(2, 0)
		L.Push(lua.LNumber(prev))
	case "setstepmul":
		prev := gc.stepmul
		gc.stepmul = L.OptInt(2, 0)
		L.Push(lua.LNumber(prev))
	case "collect":
		runtime.GC()
		L.Push(lua.LNumber(0))
	default:
		L.Push(lua.LNumber(0))
	}
	return 1
}

// heapBytes is the size of the live and not yet swept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		return s[0].Value.Uint64()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// debugGetInfo is debug.getinfo([thread,] f | level [, what]) as in
// LuaJIT: levels see through the host's pcall helpers (pcall is a C
// level), what is "main", "Lua" or "C", short_src is the chunk name as
// error messages show it, and source has Lua's "@" before a file name.
func debugGetInfo(L *lua.LState) int {
	th, arg := L, 1
	if t, ok := L.Get(1).(*lua.LState); ok {
		th, arg = t, 2
	}
	what := L.OptString(arg+1, "flnSu")
	var dbg *lua.Debug
	var fn *lua.LFunction
	name := ""
	switch v := L.Get(arg).(type) {
	case *lua.LFunction:
		dbg, fn = &lua.Debug{}, v
		if _, err := L.GetInfo(">Slu", dbg, v); err != nil {
			L.Push(lua.LNil)
			return 1
		}
	case lua.LNumber:
		level := int(v)
		frames := virtualStack(th, level+1)
		if level < 0 || level >= len(frames) {
			L.Push(lua.LNil)
			return 1
		}
		f := frames[level]
		name = f.name
		if f.dbg != nil {
			dbg, fn = f.dbg, f.fn
			if _, err := f.th.GetInfo("Slu", dbg, lua.LNil); err != nil {
				L.Push(lua.LNil)
				return 1
			}
		}
	default:
		L.ArgError(arg, "function or level expected")
	}
	info := L.CreateTable(0, 10)
	for _, c := range what {
		switch c {
		case 'S':
			if fn == nil || fn.IsG {
				info.RawSetString("source", lua.LString("=[C]"))
				info.RawSetString("short_src", lua.LString("[C]"))
				info.RawSetString("what", lua.LString("C"))
				info.RawSetString("linedefined", lua.LNumber(-1))
				info.RawSetString("lastlinedefined", lua.LNumber(-1))
				continue
			}
			kind := "Lua"
			if fn.Proto.LineDefined == 0 {
				kind = "main"
			}
			info.RawSetString("source", lua.LString(chunkSource(L, dbg.Source)))
			info.RawSetString("short_src", lua.LString(dbg.Source))
			info.RawSetString("what", lua.LString(kind))
			info.RawSetString("linedefined", lua.LNumber(dbg.LineDefined))
			info.RawSetString("lastlinedefined", lua.LNumber(dbg.LastLineDefined))
		case 'l':
			line := -1
			if fn != nil && !fn.IsG && dbg.CurrentLine > 0 {
				line = dbg.CurrentLine
			}
			info.RawSetString("currentline", lua.LNumber(line))
		case 'u':
			nups := 0
			if fn != nil {
				nups = len(fn.Upvalues)
			}
			info.RawSetString("nups", lua.LNumber(nups))
		case 'n':
			if name != "" {
				info.RawSetString("name", lua.LString(name))
			}
		case 'f':
			if fn != nil {
				info.RawSetString("func", fn)
			}
		}
	}
	L.Push(info)
	return 1
}

// fileRead is file:read / io.read with LuaJIT's formats: "n" reads a
// number as fscanf("%lf") does, "L" a line with its end, and the "*" is
// optional. Other formats go to gopher-lua's read one at a time. Reading
// stops at the first format that gives nil.
func fileRead(L *lua.LState, stock *lua.LFunction, f *lua.LUserData, first int) int {
	top := L.GetTop()
	r := fileReader(f)
	if r == nil || top < first {
		L.Push(stock)
		L.Push(f)
		for i := first; i <= top; i++ {
			L.Push(L.Get(i))
		}
		L.Call(top-first+2, lua.MultRet)
		return L.GetTop() - top
	}
	var vals []lua.LValue
	for i := first; i <= top; i++ {
		format := L.Get(i)
		var v lua.LValue = lua.LNil
		stockFormat := true
		if s, ok := format.(lua.LString); ok {
			opt := strings.TrimPrefix(string(s), "*")
			if opt == "" {
				L.ArgError(i, "invalid format")
			}
			switch opt[0] {
			case 'n':
				stockFormat = false
				if x, ok := readNumber(r); ok {
					v = lua.LNumber(x)
				}
			case 'L':
				stockFormat = false
				if line, err := r.ReadString('\n'); line != "" || err == nil {
					v = lua.LString(line)
				}
			case 'l', 'a':
				format = lua.LString("*" + opt[:1])
			default:
				L.ArgError(i, "invalid format")
			}
		}
		if stockFormat {
			// one format at a time: one value, or nil, message, code
			base := L.GetTop()
			L.Push(stock)
			L.Push(f)
			L.Push(format)
			L.Call(2, lua.MultRet)
			got := L.GetTop() - base
			if got > 1 && L.Get(base+1) == lua.LNil {
				return got
			}
			if got > 0 {
				v = L.Get(base + 1)
			}
			L.SetTop(base)
		}
		vals = append(vals, v)
		if v == lua.LNil {
			break
		}
	}
	for _, v := range vals {
		L.Push(v)
	}
	return len(vals)
}

// readNumber reads a number as C's fscanf("%lf"): skip white space, take
// the longest prefix that can start a decimal, hexadecimal, inf or nan
// number (the first byte that cannot extend it stays unread), then
// convert it. A prefix that is not a whole number gives false.
func readNumber(r *bufio.Reader) (float64, bool) {
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, false
		}
		if !(c == ' ' || c >= '\t' && c <= '\r') {
			_ = r.UnreadByte()
			break
		}
	}
	var sb strings.Builder
	peek := func() (byte, bool) {
		b, err := r.Peek(1)
		if err != nil || len(b) == 0 {
			return 0, false
		}
		return b[0], true
	}
	take := func() { c, _ := r.ReadByte(); sb.WriteByte(c) }
	accept := func(set func(byte) bool) bool {
		if c, ok := peek(); ok && set(c) {
			take()
			return true
		}
		return false
	}
	is := func(chars string) func(byte) bool {
		return func(c byte) bool { return strings.IndexByte(chars, c) >= 0 }
	}
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	hex := func(c byte) bool { return digit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	word := func(w string) bool { // case-insensitive, consumed while it matches
		for i := 0; i < len(w); i++ {
			if !accept(func(c byte) bool { return c|0x20 == w[i] }) {
				return i == len(w)
			}
		}
		return true
	}
	accept(is("+-"))
	c, ok := peek()
	switch {
	case !ok:
		return 0, false
	case c|0x20 == 'i':
		if !word("inf") {
			return 0, false
		}
		if c, ok := peek(); ok && c|0x20 == 'i' && !word("inity") {
			return 0, false
		}
	case c|0x20 == 'n':
		if !word("nan") {
			return 0, false
		}
		if accept(is("(")) {
			for accept(func(c byte) bool { return c == '_' || digit(c) || c|0x20 >= 'a' && c|0x20 <= 'z' }) {
			}
			if !accept(is(")")) {
				return 0, false
			}
		}
	default:
		// glibc's scanf: the leading 0 of 0x is not a digit, an exponent
		// needs a digit before it, its sign must follow it directly
		digits, expChar := digit, byte('e')
		gotDigit, gotDot, gotE, hexa := false, false, false, false
		if accept(is("0")) {
			if accept(is("xX")) {
				digits, expChar, hexa = hex, 'p', true
			} else {
				gotDigit = true
			}
		}
		for {
			c, ok := peek()
			switch {
			case !ok:
			case !gotE && digits(c) || gotE && digit(c):
				take()
				gotDigit = true
				continue
			case c == '.' && !gotDot:
				take()
				gotDot = true
				continue
			case gotDigit && !gotE && c|0x20 == expChar:
				take()
				gotE, gotDot = true, true
				continue
			case gotE && (c == '+' || c == '-') && sb.Len() > 0 && sb.String()[sb.Len()-1]|0x20 == expChar:
				take()
				continue
			}
			break
		}
		if hexa && len(strings.TrimLeft(sb.String(), "+-")) == 2 {
			return 0, false
		}
	}
	return parseCNumber(sb.String())
}

// parseCNumber converts the text readNumber took as strtod does: the
// longest prefix that is a number counts, and none gives false.
func parseCNumber(s string) (float64, bool) {
	body := strings.TrimLeft(s, "+-")
	neg := len(body) < len(s) && s[len(s)-len(body)-1] == '-'
	if len(s)-len(body) > 1 {
		return 0, false
	}
	var v float64
	switch lower := strings.ToLower(body); {
	case lower == "inf" || lower == "infinity":
		v = math.Inf(1)
	case strings.HasPrefix(lower, "nan"):
		v = math.NaN()
	case strings.HasPrefix(lower, "0x"):
		mant, exp, _ := strings.Cut(lower[2:], "p")
		if strings.Trim(mant, ".") == "" {
			break // "0x." reads as the 0 before the x
		}
		if exp == "" || exp == "+" || exp == "-" {
			exp = "0"
		}
		f, ok := parseFloat("0x" + mant + "p" + exp)
		if !ok {
			return 0, false
		}
		v = f
	default:
		mant, exp, found := strings.Cut(lower, "e")
		if found && (exp == "" || exp == "+" || exp == "-") {
			lower = mant
		}
		if strings.Trim(mant, ".") == "" {
			return 0, false
		}
		f, ok := parseFloat(lower)
		if !ok {
			return 0, false
		}
		v = f
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseFloat is strconv.ParseFloat where overflow gives ±inf (or 0) as
// in C, instead of an error.
func parseFloat(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

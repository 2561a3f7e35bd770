package host

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// strFormat is string.format with C/LuaJIT semantics: %s uses tostring
// (so __tostring applies and nil prints "nil"), %d truncates fractions,
// %q quotes as Lua does, and numbers in %s print as LuaJIT prints them.
func strFormat(L *lua.LState) int {
	f := L.CheckString(1)
	var out strings.Builder
	arg := 2
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			out.WriteByte(c)
			continue
		}
		i++
		if i >= len(f) {
			L.RaiseError("invalid option '%%' to 'format'")
		}
		if f[i] == '%' {
			out.WriteByte('%')
			continue
		}
		start := i
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			i++
		}
		if i < len(f) && f[i] == '.' {
			i++
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				i++
			}
		}
		if i >= len(f) {
			L.RaiseError("invalid format string to 'format'")
		}
		spec := f[start:i]
		verb := f[i]
		if arg > L.GetTop() && verb != '%' {
			L.ArgError(arg, "no value")
		}
		v := L.Get(arg)
		arg++
		switch verb {
		case 'd', 'i':
			n := checkFormatNumber(L, arg-1, v)
			out.WriteString(fmt.Sprintf("%"+spec+"d", int64(truncate(n))))
		case 'u':
			n := checkFormatNumber(L, arg-1, v)
			out.WriteString(fmt.Sprintf("%"+spec+"d", uint64(int64(truncate(n)))))
		case 'c':
			n := checkFormatNumber(L, arg-1, v)
			out.WriteByte(byte(int64(n)))
		case 'x', 'X', 'o':
			n := checkFormatNumber(L, arg-1, v)
			x := int64(truncate(n))
			if x < 0 {
				out.WriteString(fmt.Sprintf("%"+spec+string(verb), uint64(x)))
			} else {
				out.WriteString(fmt.Sprintf("%"+spec+string(verb), x))
			}
		case 'e', 'E', 'f', 'F', 'g', 'G':
			n := checkFormatNumber(L, arg-1, v)
			if math.IsInf(n, 0) || math.IsNaN(n) {
				s := NumberString(n)
				if verb == 'E' || verb == 'G' || verb == 'F' {
					s = strings.ToUpper(s)
				}
				out.WriteString(fmt.Sprintf("%"+strings.Trim(spec, "0")+"s", s))
				continue
			}
			out.WriteString(fmt.Sprintf("%"+spec+string(verb), n))
		case 'a', 'A':
			n := checkFormatNumber(L, arg-1, v)
			out.WriteString(strconv.FormatFloat(n, 'x', -1, 64))
		case 's':
			formatBytes(&out, spec, ToString(L, v))
		case 'q':
			out.WriteString(quoteLua(ToString(L, v)))
		default:
			L.RaiseError("invalid option '%%%c' to 'format'", verb)
		}
	}
	L.Push(lua.LString(out.String()))
	return 1
}

func truncate(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Trunc(f)
}

func checkFormatNumber(L *lua.LState, n int, v lua.LValue) float64 {
	switch x := v.(type) {
	case lua.LNumber:
		return float64(x)
	case lua.LString:
		if f, ok := ParseNumber(string(x)); ok {
			return f
		}
	}
	L.ArgError(n, "number expected, got "+v.Type().String())
	return 0
}

func quoteLua(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\n':
			sb.WriteString("\\\n")
		case c == '\r':
			sb.WriteString("\\r")
		case c == 0:
			if i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
				sb.WriteString("\\000")
			} else {
				sb.WriteString("\\0")
			}
		case c < 32 || c == 127:
			if i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
				fmt.Fprintf(&sb, "\\%03d", c)
			} else {
				fmt.Fprintf(&sb, "\\%d", c)
			}
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// formatBytes writes s as C's printf("%<spec>s") does: precision and
// width count bytes (Go's fmt counts runes, which shifts columns of
// UTF-8 or binary text).
func formatBytes(out *strings.Builder, spec, s string) {
	left := false
	i := 0
	for i < len(spec) && strings.IndexByte("-+ #0", spec[i]) >= 0 {
		left = left || spec[i] == '-'
		i++
	}
	width := 0
	for ; i < len(spec) && spec[i] >= '0' && spec[i] <= '9'; i++ {
		width = width*10 + int(spec[i]-'0')
	}
	if i < len(spec) && spec[i] == '.' {
		prec := 0
		for i++; i < len(spec) && spec[i] >= '0' && spec[i] <= '9'; i++ {
			prec = prec*10 + int(spec[i]-'0')
		}
		if prec < len(s) {
			s = s[:prec]
		}
	}
	pad := strings.Repeat(" ", max(0, width-len(s)))
	if left {
		out.WriteString(s)
		out.WriteString(pad)
		return
	}
	out.WriteString(pad)
	out.WriteString(s)
}

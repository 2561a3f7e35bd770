package compat

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// cjsonConfig holds the settings of one cjson instance (cjson.new()).
type cjsonConfig struct {
	sparseConvert  bool // encode excessively sparse arrays as objects instead of raising
	sparseRatio    int  // default 2
	sparseSafe     int  // default 10
	encodeMaxDepth int  // default 1000
	decodeMaxDepth int  // default 1000
	precision      int  // significant digits of numbers, default 14
	encodeInvalid  int  // NaN/Inf: 0 raise (default), 1 allow, 2 encode as null
	decodeInvalid  bool // accept NaN/Infinity, default true
	emptyAsObject  bool // {} for empty tables (default true), else []
	null, emptyArr lua.LValue
	safe           bool // cjson.safe: errors are returned as nil, err
	keepBuffer     bool // accepted and ignored
	arrayMT        bool // accepted and ignored
}

func newCJSONConfig(L *lua.LState, safe bool) *cjsonConfig {
	return &cjsonConfig{
		sparseRatio: 2, sparseSafe: 10, encodeMaxDepth: 1000, decodeMaxDepth: 1000,
		precision: 14, decodeInvalid: true, emptyAsObject: true, safe: safe,
		null: cjsonSentinel(L, "cjson.null"), emptyArr: cjsonSentinel(L, "cjson.empty_array"),
		keepBuffer: true,
	}
}

// cjsonSentinel returns the per-state userdata stored in the registry under key
// (cjson.null, cjson.empty_array): every cjson instance shares them.
func cjsonSentinel(L *lua.LState, key string) lua.LValue {
	if v := L.G.Registry.RawGetString(key); v != lua.LNil {
		return v
	}
	ud := L.NewUserData()
	L.G.Registry.RawSetString(key, ud)
	return ud
}

// cjsonLoader opens cjson; cjsonSafeLoader opens cjson.safe.
func cjsonLoader(L *lua.LState) int     { L.Push(cjsonModule(L, false)); return 1 }
func cjsonSafeLoader(L *lua.LState) int { L.Push(cjsonModule(L, true)); return 1 }

// cjsonModule builds one cjson instance with its own configuration.
func cjsonModule(L *lua.LState, safe bool) *lua.LTable {
	cfg := newCJSONConfig(L, safe)
	name := "cjson"
	if safe {
		name = "cjson.safe"
	}
	fail := func(L *lua.LState, err error) int {
		if cfg.safe {
			return luabind.Fail(L, "%v", err)
		}
		L.RaiseError("%v", err)
		return 0
	}
	intOpt := func(p *int, lo, hi int) lua.LGFunction {
		return func(L *lua.LState) int {
			if L.Get(1) != lua.LNil {
				n := luabind.CheckInt(L, 1)
				if n < lo || n > hi {
					L.ArgError(1, fmt.Sprintf("expected integer between %d and %d", lo, hi))
				}
				*p = n
			}
			L.Push(lua.LNumber(*p))
			return 1
		}
	}
	boolOpt := func(p *bool) lua.LGFunction {
		return func(L *lua.LState) int {
			if L.GetTop() >= 1 && L.Get(1) != lua.LNil {
				*p = optBoolish(L, 1)
			}
			L.Push(lua.LBool(*p))
			return 1
		}
	}
	funcs := map[string]lua.LGFunction{
		"encode": func(L *lua.LState) int {
			if L.GetTop() != 1 {
				L.RaiseError("bad argument #1 to 'encode' (expected 1 argument)")
			}
			var b strings.Builder
			if err := cfg.encode(&b, L.Get(1), 0); err != nil {
				return fail(L, err)
			}
			L.Push(lua.LString(b.String()))
			return 1
		},
		"decode": func(L *lua.LState) int {
			s := L.CheckString(1)
			v, err := cfg.decode(L, s)
			if err != nil {
				return fail(L, err)
			}
			L.Push(v)
			return 1
		},
		"new": func(L *lua.LState) int { L.Push(cjsonModule(L, safe)); return 1 },
		"encode_sparse_array": func(L *lua.LState) int {
			if L.GetTop() >= 1 && L.Get(1) != lua.LNil {
				cfg.sparseConvert = optBoolish(L, 1)
			}
			if L.Get(2) != lua.LNil {
				cfg.sparseRatio = luabind.CheckInt(L, 2)
			}
			if L.Get(3) != lua.LNil {
				cfg.sparseSafe = luabind.CheckInt(L, 3)
			}
			L.Push(lua.LBool(cfg.sparseConvert))
			L.Push(lua.LNumber(cfg.sparseRatio))
			L.Push(lua.LNumber(cfg.sparseSafe))
			return 3
		},
		"encode_max_depth":             intOpt(&cfg.encodeMaxDepth, 1, math.MaxInt32),
		"decode_max_depth":             intOpt(&cfg.decodeMaxDepth, 1, math.MaxInt32),
		"encode_number_precision":      intOpt(&cfg.precision, 1, 16),
		"encode_keep_buffer":           boolOpt(&cfg.keepBuffer),
		"decode_invalid_numbers":       boolOpt(&cfg.decodeInvalid),
		"decode_array_with_array_mt":   boolOpt(&cfg.arrayMT),
		"encode_empty_table_as_object": boolOpt(&cfg.emptyAsObject),
		"encode_invalid_numbers": func(L *lua.LState) int {
			if v := L.Get(1); v == lua.LString("null") {
				cfg.encodeInvalid = 2
			} else if L.GetTop() >= 1 && v != lua.LNil {
				cfg.encodeInvalid = 0
				if optBoolish(L, 1) {
					cfg.encodeInvalid = 1
				}
			}
			switch cfg.encodeInvalid {
			case 1:
				L.Push(lua.LTrue)
			case 2:
				L.Push(lua.LString("null"))
			default:
				L.Push(lua.LFalse)
			}
			return 1
		},
	}
	mod := luabind.NewModule(L, name, funcs)
	mod.RawSetString("null", cfg.null)
	mod.RawSetString("empty_array", cfg.emptyArr)
	mod.RawSetString("_NAME", lua.LString(name))
	mod.RawSetString("_VERSION", lua.LString("2.1.0"))
	return mod
}

// optBoolish reads lua-cjson's boolean options: booleans, "on"/"off", 1/0.
func optBoolish(L *lua.LState, n int) bool {
	switch v := L.Get(n).(type) {
	case lua.LBool:
		return bool(v)
	case lua.LString:
		switch v {
		case "on", "true", "1":
			return true
		case "off", "false", "0":
			return false
		}
	case lua.LNumber:
		return v != 0
	}
	L.ArgError(n, "invalid option (expected boolean, 'on' or 'off')")
	return false
}

// Error texts in this file copy lua-cjson's messages, capitals included, so
// scripts matching them keep working.

// cjsonEscapes is lua-cjson's escape table: control characters, '"', '\\',
// '/' and DEL are escaped; other bytes (UTF-8 included) pass through.
var cjsonEscapes = func() [256]string {
	var t [256]string
	for c := 0; c < 0x20; c++ {
		t[c] = fmt.Sprintf("\\u%04x", c)
	}
	t['\b'], t['\f'], t['\n'], t['\r'], t['\t'] = `\b`, `\f`, `\n`, `\r`, `\t`
	t['"'], t['\\'], t['/'], t[0x7f] = `\"`, `\\`, `\/`, `\u007f`
	return t
}()

func encodeString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if e := cjsonEscapes[s[i]]; e != "" {
			b.WriteString(e)
		} else {
			b.WriteByte(s[i])
		}
	}
	b.WriteByte('"')
}

func (c *cjsonConfig) number(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		switch c.encodeInvalid {
		case 1:
			if math.IsNaN(f) {
				return "NaN", nil
			} else if f > 0 {
				return "Infinity", nil
			}
			return "-Infinity", nil
		case 2:
			return "null", nil
		}
		return "", errors.New("Cannot serialise number: must not be NaN or Inf")
	}
	return strconv.FormatFloat(f, 'g', c.precision, 64), nil
}

// encode appends the JSON text of v.
func (c *cjsonConfig) encode(b *strings.Builder, v lua.LValue, depth int) error {
	switch x := v.(type) {
	case *lua.LNilType:
		b.WriteString("null")
	case lua.LBool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case lua.LNumber:
		s, err := c.number(float64(x))
		if err != nil {
			return err
		}
		b.WriteString(s)
	case lua.LString:
		encodeString(b, string(x))
	case *lua.LTable:
		return c.encodeTable(b, x, depth+1)
	case *lua.LUserData:
		switch v {
		case c.null:
			b.WriteString("null")
			return nil
		case c.emptyArr:
			b.WriteString("[]")
			return nil
		}
		return fmt.Errorf("Cannot serialise %s: type not supported", v.Type())
	default:
		return fmt.Errorf("Cannot serialise %s: type not supported", v.Type())
	}
	return nil
}

// arrayLength is lua-cjson's array detection: the largest key when every
// key is a positive integer (0 for an empty table), -1 for an object.
func (c *cjsonConfig) arrayLength(t *lua.LTable) (int, error) {
	maxKey, items := 0, 0
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		n, ok := k.(lua.LNumber)
		if !ok || n < 1 || float64(n) != math.Floor(float64(n)) || n > math.MaxInt32 {
			return -1, nil
		}
		maxKey = max(maxKey, int(n))
		items++
	}
	if c.sparseRatio > 0 && maxKey > items*c.sparseRatio && maxKey > c.sparseSafe {
		if !c.sparseConvert {
			return 0, errors.New("Cannot serialise table: excessively sparse array")
		}
		return -1, nil
	}
	return maxKey, nil
}

func (c *cjsonConfig) encodeTable(b *strings.Builder, t *lua.LTable, depth int) error {
	if depth > c.encodeMaxDepth {
		return fmt.Errorf("Cannot serialise, excessive nesting (%d)", depth)
	}
	n, err := c.arrayLength(t)
	if err != nil {
		return err
	}
	if n > 0 || n == 0 && !c.emptyAsObject {
		b.WriteByte('[')
		for i := 1; i <= n; i++ {
			if i > 1 {
				b.WriteByte(',')
			}
			if err := c.encode(b, t.RawGetInt(i), depth); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	}
	b.WriteByte('{')
	first := true
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		switch key := k.(type) {
		case lua.LString:
			encodeString(b, string(key))
		case lua.LNumber:
			s, err := c.number(float64(key))
			if err != nil {
				return err
			}
			encodeString(b, s)
		default:
			return errors.New("Cannot serialise table: table key must be a number or string")
		}
		b.WriteByte(':')
		if err := c.encode(b, v, depth); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

// jsonParser decodes JSON text into Lua values as lua-cjson does.
type jsonParser struct {
	L     *lua.LState
	c     *cjsonConfig
	s     string
	pos   int
	depth int
}

func (c *cjsonConfig) decode(L *lua.LState, s string) (lua.LValue, error) {
	p := &jsonParser{L: L, c: c, s: s}
	p.skipSpace()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.s) {
		return nil, p.errorf("the end", p.tokenName())
	}
	return v, nil
}

func (p *jsonParser) errorf(expected, found string) error {
	return fmt.Errorf("Expected %s but found %s at character %d", expected, found, p.pos+1)
}

// tokenName describes the token at the current position for error messages.
func (p *jsonParser) tokenName() string {
	if p.pos >= len(p.s) {
		return "T_END"
	}
	switch p.s[p.pos] {
	case '{':
		return "T_OBJ_BEGIN"
	case '}':
		return "T_OBJ_END"
	case '[':
		return "T_ARR_BEGIN"
	case ']':
		return "T_ARR_END"
	case ',':
		return "T_COMMA"
	case ':':
		return "T_COLON"
	case '"':
		return "T_STRING"
	}
	return "invalid token"
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value() (lua.LValue, error) {
	if p.pos >= len(p.s) {
		return nil, p.errorf("value", "T_END")
	}
	switch ch := p.s[p.pos]; {
	case ch == '{':
		return p.object()
	case ch == '[':
		return p.array()
	case ch == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return lua.LString(s), nil
	case ch == '-' || ch >= '0' && ch <= '9' || ch == 'N' || ch == 'I':
		return p.number()
	case strings.HasPrefix(p.s[p.pos:], "true"):
		p.pos += 4
		return lua.LTrue, nil
	case strings.HasPrefix(p.s[p.pos:], "false"):
		p.pos += 5
		return lua.LFalse, nil
	case strings.HasPrefix(p.s[p.pos:], "null"):
		p.pos += 4
		return p.c.null, nil
	}
	return nil, p.errorf("value", p.tokenName())
}

func (p *jsonParser) enter() error {
	p.depth++
	if p.depth > p.c.decodeMaxDepth {
		return fmt.Errorf("Found too many nested data structures (%d) at character %d", p.depth, p.pos+1)
	}
	return nil
}

func (p *jsonParser) object() (lua.LValue, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // {
	t := p.L.NewTable()
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '}' {
		p.pos++
		p.depth--
		return t, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != '"' {
			return nil, p.errorf("object key string", p.tokenName())
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			return nil, p.errorf("colon", p.tokenName())
		}
		p.pos++
		p.skipSpace()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		t.RawSetString(k, v)
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.s) && p.s[p.pos] == '}' {
			p.pos++
			p.depth--
			return t, nil
		}
		return nil, p.errorf("comma or object end", p.tokenName())
	}
}

func (p *jsonParser) array() (lua.LValue, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // [
	t := p.L.NewTable()
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == ']' {
		p.pos++
		p.depth--
		return t, nil
	}
	for i := 1; ; i++ {
		p.skipSpace()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		t.RawSetInt(i, v)
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.s) && p.s[p.pos] == ']' {
			p.pos++
			p.depth--
			return t, nil
		}
		return nil, p.errorf("comma or array end", p.tokenName())
	}
}

func (p *jsonParser) number() (lua.LValue, error) {
	start := p.pos
	rest := p.s[p.pos:]
	for _, lit := range []struct {
		text string
		v    float64
	}{{"-Infinity", math.Inf(-1)}, {"Infinity", math.Inf(1)}, {"NaN", math.NaN()}, {"-NaN", math.NaN()}} {
		if strings.HasPrefix(rest, lit.text) {
			if !p.c.decodeInvalid {
				return nil, p.errorf("value", "invalid number")
			}
			p.pos += len(lit.text)
			return lua.LNumber(lit.v), nil
		}
	}
	i := p.pos
	digits := func() int {
		n := 0
		for i < len(p.s) && p.s[i] >= '0' && p.s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(p.s) && p.s[i] == '-' {
		i++
	}
	if digits() == 0 {
		return nil, p.errorf("value", "invalid number")
	}
	if i < len(p.s) && p.s[i] == '.' {
		i++
		if digits() == 0 {
			return nil, p.errorf("value", "invalid number")
		}
	}
	if i < len(p.s) && (p.s[i] == 'e' || p.s[i] == 'E') {
		i++
		if i < len(p.s) && (p.s[i] == '+' || p.s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, p.errorf("value", "invalid number")
		}
	}
	f, err := strconv.ParseFloat(p.s[start:i], 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, p.errorf("value", "invalid number")
	}
	p.pos = i
	return lua.LNumber(f), nil
}

// str parses a JSON string at p.pos (the opening quote).
func (p *jsonParser) str() (string, error) {
	p.pos++
	// Fast path: no escapes before the closing quote.
	for i := p.pos; i < len(p.s); i++ {
		if c := p.s[i]; c == '"' {
			s := p.s[p.pos:i]
			p.pos = i + 1
			return s, nil
		} else if c == '\\' {
			break
		}
	}
	var b strings.Builder
	for {
		if p.pos >= len(p.s) {
			return "", p.errorf("string end", "T_END")
		}
		ch := p.s[p.pos]
		switch ch {
		case '"':
			p.pos++
			return b.String(), nil
		case '\\':
			if p.pos+1 >= len(p.s) {
				return "", p.errorf("escape", "T_END")
			}
			e := p.s[p.pos+1]
			p.pos += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.errorf("value", "invalid unicode escape code")
				}
				if r >= 0xd800 && r < 0xdc00 { // high surrogate: needs a low one
					if !strings.HasPrefix(p.s[p.pos:], `\u`) {
						return "", p.errorf("value", "invalid unicode escape code")
					}
					p.pos += 2
					lo, ok := p.hex4()
					if !ok || lo < 0xdc00 || lo > 0xdfff {
						return "", p.errorf("value", "invalid unicode escape code")
					}
					r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
				} else if r >= 0xdc00 && r <= 0xdfff {
					return "", p.errorf("value", "invalid unicode escape code")
				}
				var buf [4]byte
				b.Write(buf[:utf8.EncodeRune(buf[:], r)])
			default:
				p.pos -= 2
				return "", p.errorf("value", "invalid escape code")
			}
		default:
			b.WriteByte(ch)
			p.pos++
		}
	}
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.pos+4 > len(p.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(p.s[p.pos:p.pos+4], 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(n), true
}

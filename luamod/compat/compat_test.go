package compat

import (
	"math"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

func TestToBit(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want int32
	}{
		{"zero", 0, 0},
		{"max int32", 2147483647, 2147483647},
		{"2^31 wraps", 2147483648, -2147483648},
		{"2^32-1", 4294967295, -1},
		{"2^32+5", 4294967301, 5},
		{"below int32", -2147483649, 2147483647},
		{"1e10", 1e10, 1410065408},
		{"2^52", 1 << 52, 0},
		{"half rounds to even 0.5", 0.5, 0},
		{"half rounds to even 1.5", 1.5, 2},
		{"half rounds to even 2.5", 2.5, 2},
		{"negative half", -1.5, -2},
		{"fraction", 7.3, 7},
		{"negative fraction", -7.7, -8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ToBit(tc.in); got != tc.want {
				t.Fatalf("ToBit(%v) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestToHex(t *testing.T) {
	tests := []struct {
		x, n int32
		want string
	}{
		{1, 8, "00000001"},
		{-1, 8, "ffffffff"},
		{-1, -4, "FFFF"},
		{0x12345678, 2, "78"},
		{0x12345678, 20, "12345678"},
		{0x12345678, 0, ""},
		{0xabc, math.MinInt32, "00000ABC"},
	}
	for _, tc := range tests {
		if got := ToHex(tc.x, tc.n); got != tc.want {
			t.Fatalf("ToHex(%#x, %d) = %q, want %q", tc.x, tc.n, got, tc.want)
		}
	}
}

func TestParseCType(t *testing.T) {
	tests := []struct {
		decl       string
		text       string
		kind       ctKind
		elem, size int
		signed     bool
	}{
		{"uint8_t [?]", "uint8_t [?]", ctVLA, 1, -1, false},
		{"char[?]", "char [?]", ctVLA, 1, -1, true},
		{"unsigned char [?]", "unsigned char [?]", ctVLA, 1, -1, false},
		{"int [3]", "int [3]", ctArray, 4, 12, true},
		{"char [16]", "char [16]", ctArray, 1, 16, true},
		{"uint64_t [1]", "uint64_t [1]", ctArray, 8, 8, false},
		{"const char*", "const char *", ctPtr, 1, 8, true},
		{"uint16_t *", "uint16_t *", ctPtr, 2, 8, false},
		{"void *", "void *", ctPtr, 1, 8, false},
		{"knot_dname_t *", "knot_dname_t *", ctPtr, 1, 8, false},
		{"uint32_t", "uint32_t", ctScalar, 4, 4, false},
		{"unsigned long", "unsigned long", ctScalar, 8, 8, false},
		{"char **", "char **", ctPtr, 8, 8, false},
	}
	for _, tc := range tests {
		t.Run(tc.decl, func(t *testing.T) {
			ct, err := ParseCType(tc.decl)
			if err != nil {
				t.Fatal(err)
			}
			if ct.Text != tc.text || ct.Kind != tc.kind || ct.ElemSize() != tc.elem || ct.Size() != tc.size || ct.Base.signed != tc.signed {
				t.Fatalf("ParseCType(%q) = %+v", tc.decl, ct)
			}
		})
	}
	for _, bad := range []string{"struct foo", "int [x]", "double [2]", "void", "int ]"} {
		if _, err := ParseCType(bad); err == nil {
			t.Errorf("ParseCType(%q) succeeded", bad)
		}
	}
	a, _ := ParseCType("unsigned char *")
	b, _ := ParseCType("const uint8_t*")
	c, _ := ParseCType("char *")
	if !a.Same(b) || a.Same(c) {
		t.Fatalf("Same: unsigned char * vs uint8_t * = %v, vs char * = %v", a.Same(b), a.Same(c))
	}
}

func TestCTypeConvert(t *testing.T) {
	tests := []struct {
		decl string
		in   float64
		want float64
	}{
		{"uint8_t", 257, 1},
		{"int8_t", 255, -1},
		{"uint16_t", -1, 65535},
		{"int", 4294967295, -1},
		{"uint32_t", -1, 4294967295},
		{"int", -3.9, -3},
		{"bool", 5, 1},
		{"double", 0.25, 0.25},
	}
	for _, tc := range tests {
		ct, err := ParseCType(tc.decl)
		if err != nil {
			t.Fatal(err)
		}
		if got := ct.Convert(tc.in); got != tc.want {
			t.Errorf("(%s)%v = %v, want %v", tc.decl, tc.in, got, tc.want)
		}
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"0755", 0o755, true},
		{"755", 0o755, true},
		{"rwxu", 0o700, true},
		{"RWXU, rgrp,xgrp", 0o750, true},
		{"rusr,wusr,roth", 0o604, true},
		{"rwxq", 0, false},
		{"0789", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseMode(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseMode(%q) = %o, %v; want %o (ok=%v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseFlags(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	tab := L.NewTable()
	tab.RawSetString("A", lua.LNumber(1))
	tab.RawSetString("B", lua.LNumber(4))
	tab.RawSetString("HIGH", lua.LNumber(0x80000000))
	tests := []struct {
		in   string
		want int32
		err  string
	}{
		{"a", 1, ""},
		{"a, b", 5, ""},
		{" A ,B ", 5, ""},
		{"", 0, ""},
		{"high", math.MinInt32, ""},
		{"C", 0, "absent"},
		{"c", 0, "invalid flag C"},
		{"a,,b", 0, "empty flag in 'a,,b'"},
	}
	for _, tc := range tests {
		got, err := parseFlags(tab, tc.in)
		if got != tc.want || err != tc.err {
			t.Errorf("parseFlags(%q) = %d, %q; want %d, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// newTestState returns a plain gopher-lua state with this package's modules.
func newTestState(t *testing.T) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	for _, m := range Modules {
		L.PreloadModule(m.Name, luabind.Guard("require "+m.Name, m.Load))
	}
	return L
}

func TestCJSONEncode(t *testing.T) {
	L := newTestState(t)
	tests := []struct{ src, want string }{
		{`return {}`, `{}`},
		{`return {1, 'two', false}`, `[1,"two",false]`},
		{`return {[2] = 1}`, `[null,1]`},
		{`return {a = {b = {}}}`, `{"a":{"b":{}}}`},
		{`return '\0\31 "/\\'`, `"\u0000\u001f \"\/\\"`},
		{`return 123456789012`, `123456789012`},
		{`return 1234567890123456`, `1.2345678901235e+15`},
		{`return -0.0`, `-0`},
		{`return 2^53`, `9.007199254741e+15`},
	}
	for _, tc := range tests {
		fn, err := L.LoadString(`local cjson = require('cjson'); local src = ...; return cjson.encode(loadstring(src)())`)
		if err != nil {
			t.Fatal(err)
		}
		L.Push(fn)
		L.Push(lua.LString(tc.src))
		if err := L.PCall(1, 1, nil); err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if got := L.Get(-1).String(); got != tc.want {
			t.Errorf("encode(%s) = %s, want %s", tc.src, got, tc.want)
		}
		L.Pop(1)
	}
}

func TestCJSONDecodeErrors(t *testing.T) {
	L := newTestState(t)
	tests := []struct{ in, want string }{
		{``, "Expected value but found T_END at character 1"},
		{`[1 2]`, "Expected comma or array end but found invalid token at character 4"},
		{`{"a":1,}`, "Expected object key string but found T_OBJ_END at character 8"},
		{`"abc`, "Expected string end but found T_END at character 5"},
		{`-`, "Expected value but found invalid number at character 1"},
		{`1.`, "Expected value but found invalid number at character 1"},
		{`"\ud800"`, "invalid unicode escape code"},
		{`[1]]`, "Expected the end but found T_ARR_END at character 4"},
	}
	for _, tc := range tests {
		fn, _ := L.LoadString(`return require('cjson').decode(...)`)
		L.Push(fn)
		L.Push(lua.LString(tc.in))
		err := L.PCall(1, 1, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("decode(%q): error %v, want %q", tc.in, err, tc.want)
		}
	}
}

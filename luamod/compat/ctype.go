package compat

import (
	"fmt"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// ctypeTypeName is the registry name of ffi ctype objects (ffi.typeof('...')).
const ctypeTypeName = "ffi.ctype"

// ctKind classifies a C type.
type ctKind int

const (
	ctScalar ctKind = iota // uint32_t
	ctPtr                  // uint8_t *
	ctArray                // int [3]
	ctVLA                  // uint8_t [?]
)

// cbase describes a scalar C type.
type cbase struct {
	canon  string // canonical name: typedefs resolved (unsigned char → uint8_t)
	size   int    // bytes
	signed bool
	float  bool // float/double: scalars only
}

// cbases maps every scalar type name the shim knows to its description.
var cbases = map[string]cbase{
	"char":               {"char", 1, true, false},
	"signed char":        {"int8_t", 1, true, false},
	"int8_t":             {"int8_t", 1, true, false},
	"unsigned char":      {"uint8_t", 1, false, false},
	"uint8_t":            {"uint8_t", 1, false, false},
	"bool":               {"bool", 1, false, false},
	"_Bool":              {"bool", 1, false, false},
	"void":               {"void", 1, false, false},
	"short":              {"int16_t", 2, true, false},
	"short int":          {"int16_t", 2, true, false},
	"int16_t":            {"int16_t", 2, true, false},
	"unsigned short":     {"uint16_t", 2, false, false},
	"unsigned short int": {"uint16_t", 2, false, false},
	"uint16_t":           {"uint16_t", 2, false, false},
	"int":                {"int32_t", 4, true, false},
	"signed":             {"int32_t", 4, true, false},
	"signed int":         {"int32_t", 4, true, false},
	"int32_t":            {"int32_t", 4, true, false},
	"unsigned":           {"uint32_t", 4, false, false},
	"unsigned int":       {"uint32_t", 4, false, false},
	"uint32_t":           {"uint32_t", 4, false, false},
	"long":               {"int64_t", 8, true, false},
	"long int":           {"int64_t", 8, true, false},
	"long long":          {"int64_t", 8, true, false},
	"int64_t":            {"int64_t", 8, true, false},
	"ssize_t":            {"int64_t", 8, true, false},
	"intptr_t":           {"int64_t", 8, true, false},
	"ptrdiff_t":          {"int64_t", 8, true, false},
	"off_t":              {"int64_t", 8, true, false},
	"time_t":             {"int64_t", 8, true, false},
	"unsigned long":      {"uint64_t", 8, false, false},
	"unsigned long int":  {"uint64_t", 8, false, false},
	"unsigned long long": {"uint64_t", 8, false, false},
	"uint64_t":           {"uint64_t", 8, false, false},
	"size_t":             {"uint64_t", 8, false, false},
	"uintptr_t":          {"uint64_t", 8, false, false},
	"float":              {"float", 4, true, true},
	"double":             {"double", 8, true, true},
}

// CType is a parsed C type declaration of the subset the ffi shim supports:
// a scalar, a pointer to a scalar (or to an unknown struct), a fixed array
// or a variable-length array ([?]).
type CType struct {
	Text  string // normalised declaration, e.g. "uint8_t [?]", "const char *"
	Base  cbase  // element (or scalar) type
	Kind  ctKind //
	N     int    // element count of a fixed array
	Known bool   // false for pointers to types the shim does not know (knot_dname_t *)
	Name  string // base type name as written, without qualifiers
}

// ElemSize is the size of one element (the pointee or array element).
func (c *CType) ElemSize() int { return c.Base.size }

// Size is sizeof(type): -1 for a VLA (size unknown without a count).
func (c *CType) Size() int {
	switch c.Kind {
	case ctPtr:
		return 8
	case ctArray:
		return c.N * c.Base.size
	case ctVLA:
		return -1
	}
	return c.Base.size
}

// Same reports whether a and b denote the same type (typedefs and
// qualifiers ignored), as ffi.istype compares them.
func (c *CType) Same(o *CType) bool {
	if c.Kind != o.Kind || c.Base.canon != o.Base.canon {
		return false
	}
	if !c.Known || !o.Known {
		return c.Name == o.Name
	}
	return c.Kind != ctArray || c.N == o.N
}

// ParseCType parses a C type declaration such as "uint8_t [?]",
// "const char *", "int[3]" or "uint32_t".
func ParseCType(decl string) (*CType, error) {
	s := strings.TrimSpace(decl)
	ct := &CType{Kind: ctScalar}
	switch {
	case strings.HasSuffix(s, "]"):
		i := strings.LastIndexByte(s, '[')
		if i < 0 {
			return nil, fmt.Errorf("ffi: invalid C type '%s'", decl)
		}
		dim := strings.TrimSpace(s[i+1 : len(s)-1])
		s = strings.TrimSpace(s[:i])
		if dim == "?" || dim == "" {
			ct.Kind = ctVLA
		} else {
			n, err := strconv.ParseUint(dim, 0, 31)
			if err != nil {
				return nil, fmt.Errorf("ffi: invalid array size in '%s'", decl)
			}
			ct.Kind, ct.N = ctArray, int(n)
		}
	case strings.HasSuffix(s, "*"):
		ct.Kind = ctPtr
		s = strings.TrimSpace(strings.TrimSuffix(s, "*"))
		if strings.HasSuffix(s, "*") { // pointer to pointer: elements are pointers
			ct.Name = "void *"
			ct.Base = cbase{"void *", 8, false, false}
			ct.Known = true
			ct.Text = normText(decl)
			return ct, nil
		}
	}
	var words []string
	for _, w := range strings.Fields(s) {
		if w != "const" && w != "volatile" && w != "struct" && w != "union" {
			words = append(words, w)
		}
	}
	ct.Name = strings.Join(words, " ")
	b, ok := cbases[ct.Name]
	switch {
	case ok:
		ct.Base, ct.Known = b, true
	case ct.Kind == ctPtr && len(words) > 0:
		ct.Base = cbase{ct.Name, 1, false, false} // opaque struct: byte pointer
	default:
		return nil, fmt.Errorf("ffi: unknown C type '%s'", decl)
	}
	if ct.Base.float && ct.Kind != ctScalar {
		return nil, fmt.Errorf("ffi: arrays of %s are not supported", ct.Name)
	}
	if ct.Name == "void" && ct.Kind != ctPtr {
		return nil, fmt.Errorf("ffi: invalid use of void in '%s'", decl)
	}
	ct.Text = normText(decl)
	return ct, nil
}

// normText spaces a declaration as LuaJIT prints it: "uint8_t [?]", "char *".
func normText(decl string) string {
	s := strings.Join(strings.Fields(decl), " ")
	s = strings.ReplaceAll(s, " [", "[")
	s = strings.ReplaceAll(s, "[", " [")
	s = strings.ReplaceAll(s, " *", "*")
	s = strings.ReplaceAll(s, "*", " *")
	return strings.ReplaceAll(s, "* *", "**")
}

// Convert reduces a Lua number to a value of scalar type c, as a C cast does
// (integers truncate toward zero and wrap to the width).
func (c *CType) Convert(f float64) float64 {
	b := c.Base
	if b.float {
		if b.size == 4 {
			return float64(float32(f))
		}
		return f
	}
	if b.canon == "bool" {
		if f != 0 {
			return 1
		}
		return 0
	}
	var x uint64
	if f >= 1<<63 {
		x = uint64(f)
	} else {
		x = uint64(int64(f))
	}
	switch b.size {
	case 1:
		if b.signed {
			return float64(int8(x))
		}
		return float64(uint8(x))
	case 2:
		if b.signed {
			return float64(int16(x))
		}
		return float64(uint16(x))
	case 4:
		if b.signed {
			return float64(int32(x))
		}
		return float64(uint32(x))
	}
	if b.signed {
		return float64(int64(x))
	}
	return float64(x)
}

// pushCType pushes a ctype object.
func pushCType(L *lua.LState, ct *CType) {
	registerCType(L)
	luabind.Push(L, ctypeTypeName, ct)
}

func registerCType(L *lua.LState) {
	if _, ok := L.GetTypeMetatable(ctypeTypeName).(*lua.LTable); ok {
		return
	}
	luabind.RegisterType(L, luabind.TypeSpec{Name: ctypeTypeName, Meta: map[string]lua.LGFunction{
		"__call": func(L *lua.LState) int {
			ct := luabind.Check[*CType](L, 1, ctypeTypeName)
			return ffiNewCT(L, ct, 2)
		},
		"__tostring": func(L *lua.LState) int {
			ct := luabind.Check[*CType](L, 1, ctypeTypeName)
			L.Push(lua.LString("ctype<" + ct.Text + ">"))
			return 1
		},
		"__eq": func(L *lua.LState) int {
			a, _ := luabind.Test[*CType](L, 1)
			b, _ := luabind.Test[*CType](L, 2)
			return luabind.Bool(L, a != nil && b != nil && a.Same(b))
		},
		"__index": func(L *lua.LState) int { return 0 },
	}})
}

// toCType returns argument n as a ctype: a declaration string or a ctype
// object. It raises on anything else.
func toCType(L *lua.LState, n int) *CType {
	switch v := L.Get(n).(type) {
	case lua.LString:
		ct, err := ParseCType(string(v))
		if err != nil {
			L.ArgError(n, err.Error())
		}
		return ct
	case *lua.LUserData:
		if ct, ok := v.Value.(*CType); ok {
			return ct
		}
		if view, ok := v.Value.(*luabind.View); ok {
			return viewCType(view)
		}
	}
	L.ArgError(n, "C type expected, got "+luabind.TypeName(L.Get(n)))
	return nil
}

// viewCType is the ctype of a buffer/view (uint8_t * when its text is unknown).
func viewCType(v *luabind.View) *CType {
	if ct, err := ParseCType(v.CType); err == nil {
		return ct
	}
	ct, _ := ParseCType("uint8_t *")
	return ct
}

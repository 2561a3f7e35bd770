package luabind

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// ByteSource is implemented by userdata values that can stand where a byte
// string is expected (buffers and views, domain names, lmdb values).
type ByteSource interface {
	LuaBytes() []byte
}

// Memory is byte storage shared by the views that point into it. Packets,
// ffi buffers and lmdb reserved values keep their bytes in one.
type Memory struct {
	B []byte
}

// View is the ffi buffer/pointer object: a typed pointer into a Memory.
// Element size and signedness come from the C type it was made as
// (char is signed, uint8_t unsigned); multi-byte elements are little-endian.
type View struct {
	Mem      *Memory
	Off      int    // byte offset into Mem.B
	Elem     int    // element size in bytes: 1, 2, 4 or 8
	Signed   bool   // elements read as signed integers
	ReadOnly bool   // views over Lua strings
	CType    string // C type text, for tostring and ffi.typeof
}

// ViewTypeName is the registry name of the buffer/view userdata.
const ViewTypeName = "ffi.cdata"

// LuaBytes implements ByteSource: the bytes from the view to the end of its memory.
func (v *View) LuaBytes() []byte {
	if v.Off > len(v.Mem.B) {
		return nil
	}
	return v.Mem.B[v.Off:]
}

// NewBuffer returns a zero-filled n-byte uint8_t buffer view.
func NewBuffer(n int) *View {
	return &View{Mem: &Memory{B: make([]byte, n)}, Elem: 1, CType: "uint8_t [?]"}
}

// ViewOf returns a byte view over mem at offset off.
func ViewOf(mem *Memory, off int) *View {
	return &View{Mem: mem, Off: off, Elem: 1, CType: "uint8_t *"}
}

// PushView pushes v as an ffi cdata userdata.
func PushView(L *lua.LState, v *View) {
	registerView(L)
	Push(L, ViewTypeName, v)
}

// Get reads element i.
func (v *View) Get(i int) (float64, error) {
	p := v.Off + i*v.Elem
	if i < 0 || p+v.Elem > len(v.Mem.B) || p < 0 {
		return 0, fmt.Errorf("index %d out of range", i)
	}
	b := v.Mem.B[p:]
	switch v.Elem {
	case 1:
		if v.Signed {
			return float64(int8(b[0])), nil
		}
		return float64(b[0]), nil
	case 2:
		x := binary.LittleEndian.Uint16(b)
		if v.Signed {
			return float64(int16(x)), nil
		}
		return float64(x), nil
	case 4:
		x := binary.LittleEndian.Uint32(b)
		if v.Signed {
			return float64(int32(x)), nil
		}
		return float64(x), nil
	default:
		x := binary.LittleEndian.Uint64(b)
		if v.Signed {
			return float64(int64(x)), nil
		}
		return float64(x), nil
	}
}

// Set writes element i (the value is truncated to the element width).
func (v *View) Set(i int, f float64) error {
	if v.ReadOnly {
		return fmt.Errorf("attempt to write to constant location")
	}
	p := v.Off + i*v.Elem
	if i < 0 || p+v.Elem > len(v.Mem.B) || p < 0 {
		return fmt.Errorf("index %d out of range", i)
	}
	x := uint64(int64(f))
	if f >= 1<<63 {
		x = uint64(f)
	}
	b := v.Mem.B[p:]
	switch v.Elem {
	case 1:
		b[0] = byte(x)
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(x))
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(x))
	default:
		binary.LittleEndian.PutUint64(b, x)
	}
	return nil
}

func registerView(L *lua.LState) {
	if _, ok := L.GetTypeMetatable(ViewTypeName).(*lua.LTable); ok {
		return
	}
	RegisterType(L, TypeSpec{Name: ViewTypeName, Meta: map[string]lua.LGFunction{
		"__index": func(L *lua.LState) int {
			v := Check[*View](L, 1, ViewTypeName)
			k, ok := L.Get(2).(lua.LNumber)
			if !ok {
				L.Push(lua.LNil)
				return 1
			}
			f, err := v.Get(int(k))
			if err != nil {
				L.RaiseError("%v", err)
			}
			L.Push(lua.LNumber(f))
			return 1
		},
		"__newindex": func(L *lua.LState) int {
			v := Check[*View](L, 1, ViewTypeName)
			if err := v.Set(L.CheckInt(2), float64(L.CheckNumber(3))); err != nil {
				L.RaiseError("%v", err)
			}
			return 0
		},
		"__add": func(L *lua.LState) int {
			v, ok := Test[*View](L, 1)
			n := 2
			if !ok {
				v, n = Check[*View](L, 2, ViewTypeName), 1
			}
			w := *v
			w.Off += L.CheckInt(n) * v.Elem
			if w.Off < 0 || w.Off > len(v.Mem.B) {
				L.RaiseError("pointer arithmetic out of range")
			}
			PushView(L, &w)
			return 1
		},
		"__sub": func(L *lua.LState) int {
			v := Check[*View](L, 1, ViewTypeName)
			if w, ok := Test[*View](L, 2); ok {
				L.Push(lua.LNumber((v.Off - w.Off) / v.Elem))
				return 1
			}
			w := *v
			w.Off -= L.CheckInt(2) * v.Elem
			if w.Off < 0 {
				L.RaiseError("pointer arithmetic out of range")
			}
			PushView(L, &w)
			return 1
		},
		"__len": func(L *lua.LState) int {
			v := Check[*View](L, 1, ViewTypeName)
			L.Push(lua.LNumber((len(v.Mem.B) - v.Off) / v.Elem))
			return 1
		},
		"__eq": func(L *lua.LState) int {
			a, _ := Test[*View](L, 1)
			b, _ := Test[*View](L, 2)
			return Bool(L, a != nil && b != nil && sameMemory(a.Mem, b.Mem) && a.Off == b.Off)
		},
		"__tostring": func(L *lua.LState) int {
			v := Check[*View](L, 1, ViewTypeName)
			L.Push(lua.LString(fmt.Sprintf("cdata<%s>: %p", v.CType, v)))
			return 1
		},
	}})
}

// sameMemory reports whether two memories hold the same bytes: one Memory,
// or two made over one byte array (as a packet's wire is on each access).
func sameMemory(a, b *Memory) bool {
	return a == b || len(a.B) > 0 && len(b.B) > 0 && unsafe.SliceData(a.B) == unsafe.SliceData(b.B)
}

// ToBytes returns the bytes of a Lua string or ByteSource userdata. For
// strings the result aliases the string's memory and must not be modified.
func ToBytes(v lua.LValue) ([]byte, bool) {
	switch x := v.(type) {
	case lua.LString:
		return StringBytes(string(x)), true
	case *lua.LUserData:
		if s, ok := x.Value.(ByteSource); ok {
			return s.LuaBytes(), true
		}
	}
	return nil, false
}

// StringBytes views a string's bytes without copying. Do not modify them.
func StringBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// CheckBytes returns argument n as bytes (string or buffer), raising
// otherwise. With lenArg > 0 and that argument a number, only that many
// leading bytes are returned (raising if fewer are available). The result
// may alias a Lua string: do not modify it.
func CheckBytes(L *lua.LState, n int, lenArg int) []byte {
	b, ok := ToBytes(L.Get(n))
	if !ok {
		L.ArgError(n, "string or buffer expected, got "+TypeName(L.Get(n)))
	}
	if lenArg > 0 {
		if l, ok := L.Get(lenArg).(lua.LNumber); ok {
			if int(l) > len(b) || l < 0 {
				L.ArgError(lenArg, fmt.Sprintf("length %d exceeds data (%d bytes)", int(l), len(b)))
			}
			b = b[:int(l)]
		}
	}
	return b
}

// PushBytes pushes b as a Lua string (copied).
func PushBytes(L *lua.LState, b []byte) {
	L.Push(lua.LString(b))
}

func parseNum(s string) (float64, error) {
	return strconv.ParseFloat(s, 64)
}

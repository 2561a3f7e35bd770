package dns

import (
	"encoding/binary"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// utilsWireCursor builds utils.wire_writer(buf, max) / utils.wire_reader(buf, max):
// a table with fields len (cursor) and maxlen and methods u8, u16, u32
// (big-endian), bytes, tell and seek; any overflow raises.
func utilsWireCursor(write bool) lua.LGFunction {
	return func(L *lua.LState) int {
		v, ok := luabind.As[*luabind.View](L.Get(1))
		if !ok {
			L.ArgError(1, "buffer expected, got "+luabind.TypeName(L.Get(1)))
		}
		if write && v.ReadOnly {
			L.ArgError(1, "read-only buffer")
		}
		max := luabind.OptInt(L, 2, len(v.LuaBytes()))
		if max < 0 || max > len(v.LuaBytes()) {
			L.ArgError(2, "maxlen exceeds the buffer")
		}
		t := L.NewTable()
		t.RawSetString("len", lua.LNumber(0))
		t.RawSetString("maxlen", lua.LNumber(max))
		// reserve checks room for n bytes and returns the cursor.
		reserve := func(L *lua.LState, n int) int {
			cur := int(lua.LVAsNumber(t.RawGetString("len")))
			if n < 0 || cur+n > max {
				L.RaiseError("wire cursor overflow (%d + %d > %d)", cur, n, max)
			}
			t.RawSetString("len", lua.LNumber(cur+n))
			return cur
		}
		b := v.LuaBytes()
		num := func(size int) lua.LGFunction {
			return func(L *lua.LState) int {
				if write {
					x := uint32(int64(luabind.CheckInt(L, 2)))
					at := reserve(L, size)
					switch size {
					case 1:
						b[at] = byte(x)
					case 2:
						binary.BigEndian.PutUint16(b[at:], uint16(x))
					default:
						binary.BigEndian.PutUint32(b[at:], x)
					}
					return 0
				}
				at := reserve(L, size)
				switch size {
				case 1:
					L.Push(lua.LNumber(b[at]))
				case 2:
					L.Push(lua.LNumber(binary.BigEndian.Uint16(b[at:])))
				default:
					L.Push(lua.LNumber(binary.BigEndian.Uint32(b[at:])))
				}
				return 1
			}
		}
		luabind.SetFuncs(L, t, "dns.utils.wire", map[string]lua.LGFunction{
			"u8":  num(1),
			"u16": num(2),
			"u32": num(4),
			"bytes": func(L *lua.LState) int {
				if write {
					src := luabind.CheckBytes(L, 2, 3)
					at := reserve(L, len(src))
					copy(b[at:], src)
					return 0
				}
				n := luabind.CheckInt(L, 2)
				at := reserve(L, n)
				L.Push(lua.LString(b[at : at+n]))
				return 1
			},
			"tell": func(L *lua.LState) int {
				w := *v
				w.Off += int(lua.LVAsNumber(t.RawGetString("len")))
				luabind.PushView(L, &w)
				return 1
			},
			"seek": func(L *lua.LState) int {
				reserve(L, luabind.CheckInt(L, 2))
				return 0
			},
		})
		L.Push(t)
		return 1
	}
}

package sift

// val.go is lmdb.val_t: a (size, data) pair used for keys and values.

import (
	"bytes"
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// Val is an lmdb.val_t. Its bytes are one of: the store's memory map
// (result of get or a cursor; valid until src's transaction ends, copied
// on first .data access), Go memory it owns (reserve, or data assigned
// from a buffer), or an immutable Lua string.
type Val struct {
	b    []byte
	size int
	view *luabind.View // what .data returns, when already made
	src  *Txn          // b aliases the store map of this transaction...
	gen  uint64        // ...in this generation
	str  bool          // b aliases a Lua string
}

// LuaBytes implements luabind.ByteSource (the size bytes), so a val_t
// can stand where a string is expected (ffi.string, dns.dname, ...).
func (v *Val) LuaBytes() []byte {
	b, err := v.bytes()
	if err != nil {
		return nil
	}
	return b
}

// bytes returns the size bytes of the value.
func (v *Val) bytes() ([]byte, error) {
	if v.src != nil && (v.src.Gen != v.gen || !v.src.valid) {
		return nil, ErrTxnEnded
	}
	if v.src != nil && v.src.rdonly && v.src.lost() {
		return nil, ErrSnapshotLost
	}
	if v.size > len(v.b) {
		return nil, fmt.Errorf("lmdb.val_t: size %d exceeds data (%d bytes)", v.size, len(v.b))
	}
	return v.b[:v.size], nil
}

// setStore points v at bytes of the store map read in txn t.
func (v *Val) setStore(b []byte, t *Txn) {
	v.b, v.size, v.view, v.src, v.gen, v.str = b, len(b), nil, t, t.Gen, false
}

// reserve gives v fresh zeroed Go memory of v.size bytes, exposed as a
// writable .data buffer (put with 'reserve').
func (v *Val) reserve() {
	buf := luabind.NewBuffer(v.size)
	v.b, v.view, v.src, v.str = buf.Mem.B, buf, nil, false
}

// setData assigns .data from a Lua value (string, buffer/view, val_t, nil).
func (v *Val) setData(L *lua.LState, x lua.LValue) {
	v.src, v.view, v.str = nil, nil, false
	switch d := x.(type) {
	case *lua.LNilType:
		v.b = nil
	case lua.LString:
		v.b, v.str = luabind.StringBytes(string(d)), true
	case *lua.LUserData:
		switch s := d.Value.(type) {
		case *luabind.View:
			v.b, v.view = s.LuaBytes(), s
			v.str = s.ReadOnly
		case *Val:
			b, err := s.bytes()
			if err != nil {
				L.RaiseError("%v", err)
			}
			v.b = append([]byte(nil), b...)
		default:
			b, ok := luabind.ToBytes(d)
			if !ok {
				L.RaiseError("lmdb.val_t: data must be a string or buffer")
			}
			v.b = append([]byte(nil), b...)
		}
	default:
		L.RaiseError("lmdb.val_t: data must be a string or buffer, got %s", x.Type())
	}
}

// data returns the .data buffer view, copying store bytes out of the map
// so the view outlives the transaction.
func (v *Val) data(L *lua.LState) lua.LValue {
	if v.view != nil {
		return viewValue(L, v.view)
	}
	if v.b == nil {
		return lua.LNil
	}
	if v.src != nil {
		if v.src.Gen != v.gen || !v.src.valid {
			L.RaiseError("%v", ErrTxnEnded)
		}
		buf := luabind.NewBuffer(len(v.b))
		copy(buf.Mem.B, v.b)
		v.b, v.view, v.src = buf.Mem.B, buf, nil
	} else {
		mem := &luabind.Memory{B: v.b}
		v.view = luabind.ViewOf(mem, 0)
		v.view.ReadOnly = v.str
	}
	return viewValue(L, v.view)
}

// viewValue returns a new userdata for view w.
func viewValue(L *lua.LState, w *luabind.View) lua.LValue {
	luabind.PushView(L, w)
	ud := L.Get(-1)
	L.Pop(1)
	return ud
}

// lmdb.val_t([size [, data]]) -> val_t; arguments start at index first.
func lmdbValT(L *lua.LState, first int) int {
	v := &Val{}
	if L.Get(first+1) != lua.LNil {
		v.setData(L, L.Get(first+1))
	}
	if L.Get(first) != lua.LNil {
		v.size = luabind.CheckInt(L, first)
		if v.size < 0 {
			L.ArgError(first, "size must not be negative")
		}
	} else {
		v.size = len(v.b)
	}
	luabind.Push(L, valTypeName, v)
	return 1
}

func checkVal(L *lua.LState, n int) *Val {
	return luabind.Check[*Val](L, n, valTypeName)
}

func valIndex(L *lua.LState) int {
	v := checkVal(L, 1)
	switch L.CheckString(2) {
	case "size":
		L.Push(lua.LNumber(v.size))
	case "data":
		L.Push(v.data(L))
	default:
		L.Push(lua.LNil)
	}
	return 1
}

func valNewIndex(L *lua.LState) int {
	v := checkVal(L, 1)
	switch k := L.CheckString(2); k {
	case "size":
		n := luabind.CheckInt(L, 3)
		if n < 0 {
			L.ArgError(3, "size must not be negative")
		}
		v.size = n
	case "data":
		v.setData(L, L.Get(3))
	default:
		L.RaiseError("lmdb.val_t has no field %q", k)
	}
	return 0
}

func valString(L *lua.LState) int {
	b, err := checkVal(L, 1).bytes()
	if err != nil {
		L.RaiseError("%v", err)
	}
	L.Push(lua.LString(b))
	return 1
}

func valLen(L *lua.LState) int {
	L.Push(lua.LNumber(checkVal(L, 1).size))
	return 1
}

func valEq(L *lua.LState) int {
	a, ok1 := luabind.ToBytes(L.Get(1))
	b, ok2 := luabind.ToBytes(L.Get(2))
	return luabind.Bool(L, ok1 && ok2 && bytes.Equal(a, b))
}

// checkValBytes returns argument n (string, val_t or buffer) as key/value
// bytes; the slice may alias the argument.
func checkValBytes(L *lua.LState, n int) []byte {
	switch x := L.Get(n).(type) {
	case lua.LString:
		return luabind.StringBytes(string(x))
	case *lua.LUserData:
		if v, ok := x.Value.(*Val); ok {
			b, err := v.bytes()
			if err != nil {
				L.RaiseError("%v", err)
			}
			return b
		}
		if b, ok := luabind.ToBytes(x); ok {
			return b
		}
	}
	L.ArgError(n, "string or lmdb.val_t expected, got "+luabind.TypeName(L.Get(n)))
	return nil
}

// optValBytes is checkValBytes allowing nil.
func optValBytes(L *lua.LState, n int) []byte {
	if L.Get(n) == lua.LNil {
		return nil
	}
	return checkValBytes(L, n)
}

// ownedValBytes returns value bytes safe to hand to bbolt until commit:
// Lua strings are immutable and used as they are, anything else is copied.
func ownedValBytes(L *lua.LState, n int) []byte {
	b := checkValBytes(L, n)
	if _, ok := L.Get(n).(lua.LString); ok {
		return b
	}
	if v, ok := luabind.Test[*Val](L, n); ok && v.str {
		return b
	}
	return append([]byte{}, b...)
}

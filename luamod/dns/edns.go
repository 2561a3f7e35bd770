package dns

import (
	"encoding/binary"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// NewOPT returns an OPT RR (RFC 6891) with the given version and UDP
// payload, DO clear and an empty option list.
func NewOPT(version int, payload int) *RRSet {
	return &RRSet{Owner: &Name{Wire: []byte{0}}, Type: TypeOPT, Class: uint16(payload),
		TTL: uint32(version&0xFF) << 16, RData: [][]byte{{}}}
}

// ednsOptions returns the option list (the first RDATA).
func ednsOptions(rr *RRSet) []byte {
	if rr == nil || len(rr.RData) == 0 {
		return nil
	}
	return rr.RData[0]
}

// ednsOption returns the data of option code.
func ednsOption(rr *RRSet, code int) ([]byte, bool) {
	b := ednsOptions(rr)
	for len(b) >= 4 {
		c, l := int(binary.BigEndian.Uint16(b)), int(binary.BigEndian.Uint16(b[2:]))
		if 4+l > len(b) {
			return nil, false
		}
		if c == code {
			return b[4 : 4+l], true
		}
		b = b[4+l:]
	}
	return nil, false
}

// ednsSetOption adds option code (replacing one with the same code).
func ednsSetOption(rr *RRSet, code int, data []byte) {
	b := ednsOptions(rr)
	out := make([]byte, 0, len(b)+4+len(data))
	for len(b) >= 4 {
		c, l := int(binary.BigEndian.Uint16(b)), int(binary.BigEndian.Uint16(b[2:]))
		if 4+l > len(b) {
			break
		}
		if c != code {
			out = append(out, b[:4+l]...)
		}
		b = b[4+l:]
	}
	out = binary.BigEndian.AppendUint16(out, uint16(code))
	out = binary.BigEndian.AppendUint16(out, uint16(len(data)))
	out = append(out, data...)
	rr.RData = [][]byte{out}
}

// optRRArg returns argument n as an rrset or nil.
func optRRArg(L *lua.LState, n int) *RRSet {
	rr, _ := luabind.As[*RRSet](L.Get(n))
	return rr
}

var ednsFuncs map[string]lua.LGFunction

func init() {
	ednsFuncs = map[string]lua.LGFunction{
		"rrset": func(L *lua.LState) int {
			PushRRSet(L, NewOPT(luabind.OptInt(L, 1, 0), luabind.OptInt(L, 2, 4096)))
			return 1
		},
		"init": func(L *lua.LState) int {
			rr := CheckRRSet(L, 1)
			*rr = *NewOPT(luabind.OptInt(L, 2, 0), luabind.OptInt(L, 3, 4096))
			return 0
		},
		"version": func(L *lua.LState) int {
			rr := CheckRRSet(L, 1)
			if L.Get(2) != lua.LNil {
				rr.TTL = rr.TTL&^0x00FF0000 | uint32(luabind.CheckInt(L, 2)&0xFF)<<16
			}
			L.Push(lua.LNumber(rr.TTL >> 16 & 0xFF))
			return 1
		},
		"payload": func(L *lua.LState) int {
			rr := CheckRRSet(L, 1)
			if L.Get(2) != lua.LNil {
				rr.Class = uint16(luabind.CheckInt(L, 2))
			}
			L.Push(lua.LNumber(rr.Class))
			return 1
		},
		"dobit": func(L *lua.LState) int {
			rr := optRRArg(L, 1)
			if L.GetTop() < 2 {
				return luabind.Bool(L, rr != nil && rr.TTL&0x8000 != 0)
			}
			if rr == nil {
				return luabind.Bool(L, false)
			}
			if luabind.Truthy(L, 2) {
				rr.TTL |= 0x8000
			} else {
				rr.TTL &^= 0x8000
			}
			return luabind.Bool(L, true)
		},
		"flags": func(L *lua.LState) int {
			rr := optRRArg(L, 1)
			if rr == nil {
				L.Push(lua.LNumber(0))
			} else {
				L.Push(lua.LNumber(rr.TTL))
			}
			return 1
		},
		"has": func(L *lua.LState) int {
			_, ok := ednsOption(optRRArg(L, 1), luabind.CheckInt(L, 2))
			return luabind.Bool(L, ok)
		},
		"option": func(L *lua.LState) int {
			rr := optRRArg(L, 1)
			code := luabind.CheckInt(L, 2)
			if L.GetTop() < 3 || L.Get(3) == lua.LNil {
				if d, ok := ednsOption(rr, code); ok {
					L.Push(lua.LString(d))
					return 1
				}
				return 0
			}
			if rr == nil {
				L.Push(lua.LFalse)
				L.Push(lua.LString("nil rr"))
				return 2
			}
			data := luabind.CheckBytes(L, 3, 4)
			if len(data) > 65535 {
				L.Push(lua.LFalse)
				return 1
			}
			ednsSetOption(rr, code, data)
			_, ok := ednsOption(rr, code)
			return luabind.Bool(L, ok)
		},
	}
}

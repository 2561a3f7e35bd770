package dns

import (
	"encoding/binary"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// rdataParseL is dns.rdata.parse(text): wire RDATA or nil.
func rdataParseL(L *lua.LState) int {
	s, ok := L.Get(1).(lua.LString)
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	_, rd, err := ParseRData(string(s))
	if err != nil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LString(rd))
	return 1
}

// rdataTyped returns a constructor parse('<TYPE> ' .. s).
func rdataTyped(typ string) lua.LGFunction {
	return func(L *lua.LState) int {
		s, ok := L.Get(1).(lua.LString)
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		_, rd, err := ParseRData(typ + " " + string(s))
		if err != nil {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LString(rd))
		return 1
	}
}

// rdataMX is dns.rdata.mx(text) or dns.rdata.mx(pref, target).
func rdataMX(L *lua.LState) int {
	if _, ok := L.Get(1).(lua.LNumber); ok && L.Get(2) != lua.LNil {
		n, ok := ToName(L.Get(2))
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		b := binary.BigEndian.AppendUint16(nil, uint16(luabind.CheckInt(L, 1)))
		L.Push(lua.LString(append(b, n.Wire...)))
		return 1
	}
	return rdataTyped("MX")(L)
}

// rdataSRV is dns.rdata.srv(a, b, c, target): three 16-bit fields in argument order.
func rdataSRV(L *lua.LState) int {
	var b []byte
	for i := 1; i <= 3; i++ {
		b = binary.BigEndian.AppendUint16(b, uint16(luabind.CheckInt(L, i)))
	}
	n, ok := ToName(L.Get(4))
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LString(append(b, n.Wire...)))
	return 1
}

// soaFields splits SOA RDATA: both names and the five 32-bit fields.
func soaFields(rd []byte) (mname, rname []byte, nums [5]uint32, ok bool) {
	r := &rdReader{b: rd}
	mname = r.name()
	rname = r.name()
	for i := range nums {
		nums[i] = r.u32()
	}
	return mname, rname, nums, !r.bad
}

func soaGetter(which int) lua.LGFunction {
	return func(L *lua.LState) int {
		rd := luabind.CheckBytes(L, 1, 0)
		m, r, nums, ok := soaFields(rd)
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		switch which {
		case -2:
			PushName(L, &Name{Wire: append([]byte(nil), m...)})
		case -1:
			PushName(L, &Name{Wire: append([]byte(nil), r...)})
		default:
			L.Push(lua.LNumber(nums[which]))
		}
		return 1
	}
}

var rdataFuncs = map[string]lua.LGFunction{
	"parse":          rdataParseL,
	"a":              rdataTyped("A"),
	"aaaa":           rdataTyped("AAAA"),
	"ns":             rdataTyped("NS"),
	"cname":          rdataTyped("CNAME"),
	"ptr":            rdataTyped("PTR"),
	"soa":            rdataTyped("SOA"),
	"txt":            rdataTyped("TXT"),
	"mx":             rdataMX,
	"srv":            rdataSRV,
	"soa_primary_ns": soaGetter(-2),
	"soa_mailbox":    soaGetter(-1),
	"soa_serial":     soaGetter(0),
	"serial":         soaGetter(0),
	"soa_minttl":     soaGetter(4),
	"len":            func(L *lua.LState) int { L.Push(lua.LNumber(len(luabind.CheckBytes(L, 1, 0)))); return 1 },
	"data":           func(L *lua.LState) int { L.Push(L.Get(1)); return 1 },
}

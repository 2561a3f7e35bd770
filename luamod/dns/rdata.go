package dns

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// rdataParseL is dns.rdata.parse(text): wire RDATA or nil.
func rdataParseL(L *lua.LState) int {
	s, ok := L.Get(1).(lua.LString)
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	_, rd, err := dnsmsg.ParseRData(string(s))
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
		_, rd, err := dnsmsg.ParseRData(typ + " " + string(s))
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
		L.Push(lua.LString(dnsmsg.MXRData(uint16(luabind.CheckInt(L, 1)), n.Wire)))
		return 1
	}
	return rdataTyped("MX")(L)
}

// rdataSRV is dns.rdata.srv(a, b, c, target): three 16-bit fields in argument order.
func rdataSRV(L *lua.LState) int {
	var f [3]uint16
	for i := range f {
		f[i] = uint16(luabind.CheckInt(L, i+1))
	}
	n, ok := ToName(L.Get(4))
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LString(dnsmsg.SRVRData(f[0], f[1], f[2], n.Wire)))
	return 1
}

func soaGetter(which int) lua.LGFunction {
	return func(L *lua.LState) int {
		rd := luabind.CheckBytes(L, 1, 0)
		m, r, nums, ok := dnsmsg.SOAFields(rd)
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		switch which {
		case -2:
			PushName(L, &dnsmsg.Name{Wire: append([]byte(nil), m...)})
		case -1:
			PushName(L, &dnsmsg.Name{Wire: append([]byte(nil), r...)})
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

package dns

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// optRRArg returns argument n as an rrset or nil.
func optRRArg(L *lua.LState, n int) *dnsmsg.RRSet {
	rr, _ := luabind.As[*dnsmsg.RRSet](L.Get(n))
	return rr
}

var ednsFuncs map[string]lua.LGFunction

func init() {
	ednsFuncs = map[string]lua.LGFunction{
		"rrset": func(L *lua.LState) int {
			PushRRSet(L, dnsmsg.NewOPT(luabind.OptInt(L, 1, 0), luabind.OptInt(L, 2, 4096)))
			return 1
		},
		"init": func(L *lua.LState) int {
			rr := CheckRRSet(L, 1)
			*rr = *dnsmsg.NewOPT(luabind.OptInt(L, 2, 0), luabind.OptInt(L, 3, 4096))
			return 0
		},
		"version": func(L *lua.LState) int {
			rr := CheckRRSet(L, 1)
			if L.Get(2) != lua.LNil {
				dnsmsg.SetOPTVersion(rr, luabind.CheckInt(L, 2))
			}
			L.Push(lua.LNumber(dnsmsg.OPTVersion(rr)))
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
				return luabind.Bool(L, dnsmsg.OPTDo(rr))
			}
			if rr == nil {
				return luabind.Bool(L, false)
			}
			dnsmsg.SetOPTDo(rr, luabind.Truthy(L, 2))
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
			_, ok := dnsmsg.EDNSOption(optRRArg(L, 1), luabind.CheckInt(L, 2))
			return luabind.Bool(L, ok)
		},
		"option": func(L *lua.LState) int {
			rr := optRRArg(L, 1)
			code := luabind.CheckInt(L, 2)
			if L.GetTop() < 3 || L.Get(3) == lua.LNil {
				if d, ok := dnsmsg.EDNSOption(rr, code); ok {
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
			dnsmsg.SetEDNSOption(rr, code, data)
			_, ok := dnsmsg.EDNSOption(rr, code)
			return luabind.Bool(L, ok)
		},
	}
}

package dns

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// TSIGTypeName is the registry name of TSIG key objects.
const TSIGTypeName = "dns.tsig"

func registerTSIG(L *lua.LState) {
	luabind.RegisterType(L, luabind.TypeSpec{Name: TSIGTypeName, Methods: tsigMethods, Meta: map[string]lua.LGFunction{
		"__index": func(L *lua.LState) int {
			t := luabind.Check[*dnsmsg.TSIG](L, 1, TSIGTypeName)
			switch L.Get(2).String() {
			case "name":
				L.Push(lua.LString((&dnsmsg.Name{Wire: t.Name}).String()))
			case "algorithm":
				L.Push(lua.LString(t.Algorithm))
			default:
				L.Push(luabind.Methods(L, TSIGTypeName).RawGet(L.Get(2)))
			}
			return 1
		},
		"__tostring": func(L *lua.LState) int {
			t := luabind.Check[*dnsmsg.TSIG](L, 1, TSIGTypeName)
			L.Push(lua.LString("tsig: " + (&dnsmsg.Name{Wire: t.Name}).String() + " " + t.Algorithm))
			return 1
		},
	}})
}

var tsigMethods = map[string]lua.LGFunction{
	"copy": func(L *lua.LState) int {
		luabind.Push(L, TSIGTypeName, luabind.Check[*dnsmsg.TSIG](L, 1, TSIGTypeName).Copy())
		return 1
	},
	"sign": func(L *lua.LState) int {
		t := luabind.Check[*dnsmsg.TSIG](L, 1, TSIGTypeName)
		p := CheckPacket(L, 2)
		fudge := luabind.OptInt(L, 3, dnsmsg.DefaultFudge)
		if err := t.Sign(p, uint16(fudge)); err != nil {
			return luabind.FailErr(L, "", err)
		}
		return luabind.Bool(L, true)
	},
	"verify": func(L *lua.LState) int {
		t := luabind.Check[*dnsmsg.TSIG](L, 1, TSIGTypeName)
		if code := t.Verify(CheckPacket(L, 2)); code != 0 {
			L.Push(lua.LFalse)
			L.Push(lua.LNumber(code))
			return 2
		}
		return luabind.Bool(L, true)
	},
}

// tsigNew is dns.tsig('name:alg:base64secret').
func tsigNew(L *lua.LState) int {
	t, err := dnsmsg.ParseTSIGKey(L.CheckString(1))
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	registerTypes(L)
	luabind.Push(L, TSIGTypeName, t)
	return 1
}

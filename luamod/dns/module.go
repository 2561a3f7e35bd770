// Package dns implements the Lua modules `dns`, `dns.utils` and
// `dns.rrparser` of ljdns (API.md §2.1–2.3): the binding over the plain-Go
// DNS core ljdns/dnsmsg and its zone scanner ljdns/dnsmsg/zone. See
// README.md for the Lua API.
package dns

import (
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// Modules lists the Lua modules this package provides.
var Modules = []luabind.Module{
	{Name: "dns", Load: Loader},
	utilsModule,
	rrparserModule,
}

// Loader opens the `dns` module.
func Loader(L *lua.LState) int {
	registerTypes(L)
	// require('dns') loads dns.utils first (seeds math.random, table.clear).
	L.Push(L.GetGlobal("require"))
	L.Push(lua.LString("dns.utils"))
	L.Call(1, 1)
	utils := L.Get(-1)
	L.Pop(1)

	mod := luabind.NewModule(L, "dns", map[string]lua.LGFunction{
		"todname":  nameNew,
		"tordata":  identity,
		"torrset":  identity,
		"topacket": identity,
		"strerr": func(L *lua.LState) int {
			L.Push(lua.LString(dnsmsg.StrError(luabind.CheckInt(L, 1))))
			return 1
		},
		"hexdump": utilsHexdump,
	})
	mod.RawSetString("utils", utils)

	// constants and their inverse maps
	tostr := L.NewTable()
	for _, c := range dnsmsg.ConstTables {
		fwd, inv := L.NewTable(), L.NewTable()
		for _, e := range c.Entries {
			fwd.RawSetString(e.Name, lua.LNumber(e.Value))
			inv.RawSetInt(e.Value, lua.LString(e.Name))
		}
		mod.RawSetString(c.Name, fwd)
		tostr.RawSetString(c.Name, inv)
	}
	typeInv := tostr.RawGetString("type").(*lua.LTable)
	for t, s := range dnsmsg.TypeNames() {
		typeInv.RawSetInt(int(t), lua.LString(s))
	}
	typeInvMeta := L.NewTable()
	typeInvMeta.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		if n, ok := L.Get(2).(lua.LNumber); ok && float64(n) == float64(int(n)) && n >= 0 {
			L.Push(lua.LString(dnsmsg.TypeString(uint16(int(n)))))
			return 1
		}
		L.Push(lua.LNil)
		return 1
	}))
	L.SetMetatable(typeInv, typeInvMeta)
	typeMeta := L.NewTable()
	typeMore := luabind.NewModule(L, "dns.type", map[string]lua.LGFunction{
		"ismeta": func(L *lua.LState) int {
			t := luabind.CheckInt(L, 1)
			return luabind.Bool(L, (t > 127 && t <= 255) || t == int(dnsmsg.TypeOPT))
		},
	})
	// The other uppercase mnemonics miekg/dns knows (CAA, SVCB, HTTPS, ...)
	// are found by indexing too, but pairs(dns.type) still yields exactly
	// API.md's table (dnssec.denial builds its bitmap from it).
	fwdType := mod.RawGetString("type").(*lua.LTable)
	for t, s := range dnsmsg.TypeNames() {
		if s == strings.ToUpper(s) && fwdType.RawGetString(s) == lua.LNil {
			typeMore.RawSetString(s, lua.LNumber(t))
		}
	}
	typeMeta.RawSetString("__index", typeMore)
	L.SetMetatable(mod.RawGetString("type"), typeMeta)
	mod.RawSetString("tostring", tostr)

	registerTypes(L)
	// the constructors double as ctypes: ffi.istype(dns.rrset, rr) and
	// ffi.typeof(rr) == dns.rrset (luabind.SetConstructor convention)
	mod.RawSetString("dname", luabind.SetConstructor(L, callable(L, "dns.dname", nameMethods, nameNew), NameTypeName, nil))
	mod.RawSetString("rrset", luabind.SetConstructor(L, callable(L, "dns.rrset", rrsetMethods, rrsetNew), RRSetTypeName, nil))
	mod.RawSetString("packet", luabind.SetConstructor(L, callable(L, "dns.packet", packetMethods, packetNew), PacketTypeName, nil))
	mod.RawSetString("tsig", callable(L, "dns.tsig", tsigMethods, tsigNew))
	mod.RawSetString("rdata", luabind.NewModule(L, "dns.rdata", rdataFuncs))
	mod.RawSetString("edns", luabind.NewModule(L, "dns.edns", ednsFuncs))
	L.Push(mod)
	return 1
}

func identity(L *lua.LState) int {
	L.Push(L.Get(1))
	return 1
}

// callable returns a table holding methods whose __call is ctor (called
// without the table itself).
func callable(L *lua.LState, name string, methods map[string]lua.LGFunction, ctor lua.LGFunction) *lua.LTable {
	t := luabind.NewModule(L, name, methods)
	mt := L.NewTable()
	guarded := luabind.Guard(name, ctor)
	mt.RawSetString("__call", L.NewFunction(func(L *lua.LState) int {
		L.Remove(1)
		return guarded(L)
	}))
	L.SetMetatable(t, mt)
	return t
}

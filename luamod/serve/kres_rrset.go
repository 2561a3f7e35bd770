package serve

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// kresRRSetType is the registry name of kres rrsets (knot_rrset_t).
const kresRRSetType = "kres.rrset"

func pushRRSetValue(L *lua.LState, rr *dnsmsg.RRSet) lua.LValue {
	ud := L.NewUserData()
	ud.Value = rr
	L.SetMetatable(ud, L.GetTypeMetatable(kresRRSetType))
	return ud
}

func checkRRSet(L *lua.LState) *dnsmsg.RRSet {
	return luabind.Check[*dnsmsg.RRSet](L, 1, kresRRSetType)
}

func checkRRSetArg(L *lua.LState, n int) *dnsmsg.RRSet {
	return luabind.Check[*dnsmsg.RRSet](L, n, kresRRSetType)
}

// kresNewRRSet is kres.rrset(owner, type, [class, ttl]).
func kresNewRRSet(L *lua.LState, first int) int {
	owner := []byte(nameArg(L, first))
	if dnsmsg.DnameLen(owner) != len(owner) || len(owner) == 0 {
		L.ArgError(first, "wire-format owner expected")
	}
	rr := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: append([]byte(nil), owner...)},
		Type: uint16(L.CheckInt(first + 1)), Class: uint16(L.OptInt(first+2, 1)), TTL: uint32(L.OptInt(first+3, 0))}
	L.Push(pushRRSetValue(L, rr))
	return 1
}

// rdataIndex reads a 0-based RDATA index (kresd's convention).
func rdataIndex(L *lua.LState, rr *dnsmsg.RRSet, n int) int {
	i := L.CheckInt(n)
	if i < 0 || i >= len(rr.RData) {
		L.ArgError(n, fmt.Sprintf("index %d out of range 0..%d", i, len(rr.RData)-1))
	}
	return i
}

// ownerText pads the owner as knot's default dump style does.
func ownerText(rr *dnsmsg.RRSet) string {
	return (&dnsmsg.Name{Wire: rr.OwnerWire()}).String()
}

func rrLine(rr *dnsmsg.RRSet, i int) string {
	return fmt.Sprintf("%-20s\t%d\t%s\t%s\n", ownerText(rr), rr.TTL, dnsmsg.TypeString(rr.Type),
		dnsmsg.RDataText(rr.Type, rr.RData[i]))
}

var kresRRSetMethods = map[string]lua.LGFunction{
	"owner": func(L *lua.LState) int {
		L.Push(lua.LString(checkRRSet(L).OwnerWire()))
		return 1
	},
	"ttl": func(L *lua.LState) int {
		rr := checkRRSet(L)
		if L.GetTop() >= 2 {
			rr.TTL = uint32(L.CheckInt(2))
		}
		L.Push(lua.LNumber(rr.TTL))
		return 1
	},
	"class": func(L *lua.LState) int {
		rr := checkRRSet(L)
		if L.GetTop() >= 2 {
			rr.Class = uint16(L.CheckInt(2))
		}
		L.Push(lua.LNumber(rr.Class))
		return 1
	},
	"rdcount": func(L *lua.LState) int {
		L.Push(lua.LNumber(len(checkRRSet(L).RData)))
		return 1
	},
	"rdata": func(L *lua.LState) int {
		rr := checkRRSet(L)
		L.Push(lua.LString(rr.RData[rdataIndex(L, rr, 2)]))
		return 1
	},
	"get": func(L *lua.LState) int {
		rr := checkRRSet(L)
		i := rdataIndex(L, rr, 2)
		t := L.NewTable()
		t.RawSetString("owner", lua.LString(rr.OwnerWire()))
		t.RawSetString("ttl", lua.LNumber(rr.TTL))
		t.RawSetString("class", lua.LNumber(rr.Class))
		t.RawSetString("type", lua.LNumber(rr.Type))
		t.RawSetString("rdata", lua.LString(rr.RData[i]))
		L.Push(t)
		return 1
	},
	"add_rdata": func(L *lua.LState) int {
		rr := checkRRSet(L)
		rd := L.CheckString(2)
		n := L.OptInt(3, len(rd))
		if n < 0 || n > len(rd) {
			L.ArgError(3, "length out of range")
		}
		if L.GetTop() >= 4 {
			rr.TTL = uint32(L.CheckInt(4))
		}
		rr.Add([]byte(rd[:n]))
		L.Push(lua.LTrue)
		return 1
	},
	"merge_rdata": func(L *lua.LState) int {
		rr := checkRRSet(L)
		o := checkRRSetArg(L, 2)
		for _, rd := range o.RData {
			rr.Add(rd)
		}
		L.Push(lua.LTrue)
		return 1
	},
	"txt_dump": func(L *lua.LState) int {
		rr := checkRRSet(L)
		var sb strings.Builder
		for i := range rr.RData {
			sb.WriteString(rrLine(rr, i))
		}
		L.Push(lua.LString(sb.String()))
		return 1
	},
	"txt_fields": func(L *lua.LState) int {
		rr := checkRRSet(L)
		i := rdataIndex(L, rr, 2)
		t := L.NewTable()
		t.RawSetString("owner", lua.LString(ownerText(rr)))
		t.RawSetString("ttl", lua.LNumber(rr.TTL))
		t.RawSetString("class", lua.LString(dnsmsg.ClassString(rr.Class)))
		t.RawSetString("type", lua.LString(dnsmsg.TypeString(rr.Type)))
		t.RawSetString("rdata", lua.LString(dnsmsg.RDataText(rr.Type, rr.RData[i])))
		L.Push(t)
		return 1
	},
	"tostring": func(L *lua.LState) int {
		rr := checkRRSet(L)
		if L.GetTop() >= 2 {
			L.Push(lua.LString(rrLine(rr, rdataIndex(L, rr, 2))))
			return 1
		}
		var sb strings.Builder
		for i := range rr.RData {
			sb.WriteString(rrLine(rr, i))
		}
		L.Push(lua.LString(sb.String()))
		return 1
	},
	"type_covered": func(L *lua.LState) int {
		rr := checkRRSet(L)
		if rr.Type != 46 || len(rr.RData) == 0 || len(rr.RData[0]) < 2 {
			L.Push(lua.LNumber(0))
			return 1
		}
		L.Push(lua.LNumber(binary.BigEndian.Uint16(rr.RData[0])))
		return 1
	},
	"is_covered_by": func(L *lua.LState) int {
		rr := checkRRSet(L)
		sig := checkRRSetArg(L, 2)
		covered := false
		if sig.Type == 46 && bytes.Equal(dnsmsg.LowerName(sig.OwnerWire()), dnsmsg.LowerName(rr.OwnerWire())) {
			for _, rd := range sig.RData {
				if len(rd) >= 2 && binary.BigEndian.Uint16(rd) == rr.Type {
					covered = true
				}
			}
		}
		L.Push(lua.LBool(covered))
		return 1
	},
	"wire_size": func(L *lua.LState) int {
		rr := checkRRSet(L)
		n := 0
		for _, rd := range rr.RData {
			n += len(rr.OwnerWire()) + 10 + len(rd)
		}
		L.Push(lua.LNumber(n))
		return 1
	},
}

func registerRRSet(L *lua.LState) {
	methods := L.NewTable()
	luabind.SetFuncs(L, methods, kresRRSetType, kresRRSetMethods)
	luabind.RegisterType(L, luabind.TypeSpec{Name: kresRRSetType, Meta: map[string]lua.LGFunction{
		"__index": func(L *lua.LState) int {
			rr := checkRRSet(L)
			k := L.CheckString(2)
			if k == "type" {
				L.Push(lua.LNumber(rr.Type))
				return 1
			}
			L.Push(methods.RawGetString(k))
			return 1
		},
		"__tostring": func(L *lua.LState) int {
			rr := checkRRSet(L)
			var sb strings.Builder
			for i := range rr.RData {
				sb.WriteString(rrLine(rr, i))
			}
			L.Push(lua.LString(sb.String()))
			return 1
		},
	}})
}

package dns

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
)

func registerRRSet(L *lua.LState) {
	mt := luabind.RegisterType(L, luabind.TypeSpec{Name: RRSetTypeName, Methods: rrsetMethods, Meta: map[string]lua.LGFunction{
		"__index":    rrsetIndex,
		"__newindex": rrsetNewIndex,
		"__tostring": rrsetToString,
		"__len":      rrsetCount,
		"__lt":       rrsetLt,
		"__ipairs":   rrsetIpairs,
	}})
	fastIndex(L, mt, RRSetTypeName, rrsetIndex)
}

var rrsetMethods map[string]lua.LGFunction

func init() {
	rrsetMethods = map[string]lua.LGFunction{
		"owner":    rrsetOwner,
		"type":     func(L *lua.LState) int { L.Push(lua.LNumber(CheckRRSet(L, 1).Type)); return 1 },
		"class":    func(L *lua.LState) int { L.Push(lua.LNumber(CheckRRSet(L, 1).Class)); return 1 },
		"ttl":      rrsetTTL,
		"add":      rrsetAdd,
		"rdata":    rrsetRData,
		"count":    rrsetCount,
		"empty":    func(L *lua.LState) int { return luabind.Bool(L, len(CheckRRSet(L, 1).RData) == 0) },
		"get":      rrsetGet,
		"init":     rrsetInit,
		"copy":     rrsetCopy,
		"merge":    rrsetMerge,
		"clear":    func(L *lua.LState) int { CheckRRSet(L, 1).RData = nil; return 0 },
		"tostring": rrsetToStringI,
		"lt":       rrsetLt,
		"equals":   rrsetEquals,
	}
}

// optOwner converts an owner argument (dname, wire, nil) or raises.
func optOwner(L *lua.LState, n int) *dnsmsg.Name {
	v := L.Get(n)
	if v == lua.LNil {
		return nil
	}
	if nm, ok := luabind.As[*dnsmsg.Name](v); ok {
		return &dnsmsg.Name{Wire: append([]byte(nil), nm.Wire...)}
	}
	b, ok := luabind.ToBytes(v)
	if !ok {
		L.ArgError(n, "owner must be a dname, a wire string or nil")
	}
	w, err := dnsmsg.NameFromWire(b)
	if err != nil {
		L.ArgError(n, "malformed owner name")
	}
	return &dnsmsg.Name{Wire: w}
}

// rrsetNew is dns.rrset(owner, type [, class]).
func rrsetNew(L *lua.LState) int {
	rr := &dnsmsg.RRSet{Owner: optOwner(L, 1), Type: uint16(luabind.OptInt(L, 2, 0)), Class: uint16(luabind.OptInt(L, 3, int(dnsmsg.ClassINET)))}
	PushRRSet(L, rr)
	return 1
}

func rrsetIndex(L *lua.LState) int {
	rr := CheckRRSet(L, 1)
	k := L.Get(2)
	if m := upMethods(L).RawGet(k); m != lua.LNil {
		L.Push(m)
		return 1
	}
	if s, ok := k.(lua.LString); ok {
		switch s {
		case "_owner", "raw_owner":
			if rr.Owner == nil {
				L.Push(lua.LNil)
			} else {
				PushName(L, rr.Owner)
			}
			return 1
		case "_type", "raw_type":
			L.Push(lua.LNumber(rr.Type))
			return 1
		case "_ttl", "raw_ttl":
			L.Push(lua.LNumber(rr.TTL))
			return 1
		case "rclass", "raw_class":
			L.Push(lua.LNumber(rr.Class))
			return 1
		}
	}
	L.Push(lua.LNil)
	return 1
}

func rrsetNewIndex(L *lua.LState) int {
	rr := CheckRRSet(L, 1)
	k, _ := L.Get(2).(lua.LString)
	switch k {
	case "_owner", "raw_owner":
		rr.Owner = optOwner(L, 3)
	case "_type", "raw_type":
		rr.Type = uint16(luabind.CheckInt(L, 3))
	case "_ttl", "raw_ttl":
		rr.TTL = uint32(luabind.CheckInt(L, 3))
	case "rclass", "raw_class":
		rr.Class = uint16(luabind.CheckInt(L, 3))
	default:
		L.RaiseError("rrset field '%s' is read-only", L.Get(2).String())
	}
	return 0
}

func rrsetOwner(L *lua.LState) int {
	rr := CheckRRSet(L, 1)
	if rr.Owner == nil {
		PushName(L, &dnsmsg.Name{})
		return 1
	}
	PushName(L, rr.Owner)
	return 1
}

func rrsetTTL(L *lua.LState) int {
	rr := CheckRRSet(L, 1)
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		rr.TTL = uint32(luabind.CheckInt(L, 2))
	}
	L.Push(lua.LNumber(rr.TTL))
	return 1
}

// rrsetAdd is rr:add(rdata [, ttl [, len]]).
func rrsetAdd(L *lua.LState) int {
	rr := CheckRRSet(L, 1)
	b, ok := luabind.ToBytes(L.Get(2))
	if !ok {
		L.Push(lua.LFalse)
		return 1
	}
	if l, isNum := L.Get(4).(lua.LNumber); isNum {
		if int(l) < 0 || int(l) > len(b) {
			L.Push(lua.LFalse)
			return 1
		}
		b = b[:int(l)]
	}
	if len(b) > dnsmsg.MaxRDataLen {
		L.Push(lua.LFalse)
		return 1
	}
	if L.Get(3) != lua.LNil {
		rr.TTL = uint32(luabind.CheckInt(L, 3))
	}
	rr.Add(b)
	L.Push(L.Get(1))
	return 1
}

// rdIndex returns argument n as a 0-based RDATA index, raising when out of range.
func rdIndex(L *lua.LState, rr *dnsmsg.RRSet, n int) int {
	i := luabind.OptInt(L, n, 0)
	if i < 0 || i >= len(rr.RData) {
		L.RaiseError("rdata index %d out of range (count %d)", i, len(rr.RData))
	}
	return i
}

func rrsetRData(L *lua.LState) int {
	rr := CheckRRSet(L, 1)
	L.Push(lua.LString(rr.RData[rdIndex(L, rr, 2)]))
	return 1
}

func rrsetCount(L *lua.LState) int {
	L.Push(lua.LNumber(len(CheckRRSet(L, 1).RData)))
	return 1
}

func rrsetGet(L *lua.LState) int {
	rr := CheckRRSet(L, 1)
	i := rdIndex(L, rr, 2)
	t := L.NewTable()
	if rr.Owner == nil {
		PushName(L, &dnsmsg.Name{})
	} else {
		PushName(L, &dnsmsg.Name{Wire: append([]byte(nil), rr.Owner.Wire...)})
	}
	t.RawSetString("owner", L.Get(-1))
	L.Pop(1)
	t.RawSetString("ttl", lua.LNumber(rr.TTL))
	t.RawSetString("class", lua.LNumber(rr.Class))
	t.RawSetString("type", lua.LNumber(rr.Type))
	t.RawSetString("rdata", lua.LString(rr.RData[i]))
	L.Push(t)
	return 1
}

func rrsetInit(L *lua.LState) int {
	rr := CheckRRSet(L, 1)
	*rr = dnsmsg.RRSet{Owner: optOwner(L, 2), Type: uint16(luabind.OptInt(L, 3, 0)), Class: uint16(luabind.OptInt(L, 4, int(dnsmsg.ClassINET)))}
	L.Push(L.Get(1))
	return 1
}

func rrsetCopy(L *lua.LState) int {
	rr := CheckRRSet(L, 1)
	c := rr.Copy()
	if dst, ok := luabind.As[*dnsmsg.RRSet](L.Get(2)); ok {
		*dst = *c
		L.Push(L.Get(2))
		return 1
	}
	PushRRSet(L, c)
	return 1
}

func rrsetMerge(L *lua.LState) int {
	rr := CheckRRSet(L, 1)
	o := CheckRRSet(L, 2)
	for _, rd := range o.RData {
		rr.Add(rd)
	}
	return 0
}

func rrsetToString(L *lua.LState) int {
	L.Push(lua.LString(CheckRRSet(L, 1).String()))
	return 1
}

// rrsetToStringI is rr:tostring([i]).
func rrsetToStringI(L *lua.LState) int {
	rr := CheckRRSet(L, 1)
	if L.Get(2) == lua.LNil {
		return rrsetToString(L)
	}
	i := luabind.CheckInt(L, 2)
	if i < 0 || i >= len(rr.RData) {
		return luabind.Fail(L, "rdata index %d out of range", i)
	}
	L.Push(lua.LString(dnsmsg.RDataText(rr.Type, rr.RData[i])))
	return 1
}

func rrsetLt(L *lua.LState) int {
	return luabind.Bool(L, dnsmsg.LessRRSet(CheckRRSet(L, 1), CheckRRSet(L, 2)))
}

func rrsetEquals(L *lua.LState) int {
	a, b := CheckRRSet(L, 1), CheckRRSet(L, 2)
	return luabind.Bool(L, dnsmsg.SameSet(a, b))
}

// rrsetIpairs is __ipairs: (i, rdata) with i from 0.
func rrsetIpairs(L *lua.LState) int {
	CheckRRSet(L, 1)
	L.Push(L.NewFunction(func(L *lua.LState) int {
		rr := CheckRRSet(L, 1)
		i := L.CheckInt(2) + 1
		if i < 0 || i >= len(rr.RData) {
			return 0
		}
		L.Push(lua.LNumber(i))
		L.Push(lua.LString(rr.RData[i]))
		return 2
	}))
	L.Push(L.Get(1))
	L.Push(lua.LNumber(-1))
	return 3
}

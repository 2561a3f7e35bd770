package dns

import (
	"bytes"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// registerTypes registers the metatables of this package once per state.
func registerTypes(L *lua.LState) {
	if _, ok := L.GetTypeMetatable(PacketTypeName).(*lua.LTable); ok {
		return
	}
	registerName(L)
	registerRRSet(L)
	registerSection(L)
	registerTSIG(L)
	registerPacket(L) // last: its presence marks the registration done
}

// fastIndex replaces the __index of metatable mt with a closure holding
// the method table as upvalue 1 (saves the registry lookup per call).
func fastIndex(L *lua.LState, mt *lua.LTable, name string, fn lua.LGFunction) {
	methods := mt.RawGetString("methods")
	mt.RawSetString("__index", L.NewClosure(luabind.Guard(name+".__index", fn), methods))
}

// upMethods returns the method table captured by fastIndex.
func upMethods(L *lua.LState) *lua.LTable {
	return L.Get(lua.UpvalueIndex(1)).(*lua.LTable)
}

func registerName(L *lua.LState) {
	mt := luabind.RegisterType(L, luabind.TypeSpec{Name: NameTypeName, Methods: nameMethods, Meta: map[string]lua.LGFunction{
		"__index":    nameIndex,
		"__tostring": nameToString,
		"__len":      nameLen,
		"__eq":       nameEq,
		"__lt":       func(L *lua.LState) int { return luabind.Bool(L, nameCompare2(L) < 0) },
		"__le":       func(L *lua.LState) int { return luabind.Bool(L, nameCompare2(L) <= 0) },
	}})
	fastIndex(L, mt, NameTypeName, nameIndex)
}

var nameMethods map[string]lua.LGFunction

func init() {
	nameMethods = map[string]lua.LGFunction{
		"len":      nameLen,
		"labels":   nameLabelsL,
		"tostring": nameToString,
		"towire":   nameToWire,
		"split":    nameSplit,
		"lower":    nameLower,
		"copy":     nameCopy,
		"equals":   nameEquals,
		"compare":  func(L *lua.LState) int { L.Push(lua.LNumber(nameCompare2(L))); return 1 },
		"within":   nameWithinL,
		"parentof": nameParentOf,
		"wildcard": nameWildcard,
		"parse":    nameParse,
	}
}

// checkNameArg returns argument n as a Name, accepting wire strings.
func checkNameArg(L *lua.LState, n int) *dnsmsg.Name { return CheckName(L, n) }

func nameIndex(L *lua.LState) int {
	n := luabind.Check[*dnsmsg.Name](L, 1, NameTypeName)
	k := L.Get(2)
	if s, ok := k.(lua.LString); ok && s == "bytes" {
		if len(n.Wire) == 0 {
			L.Push(lua.LNil)
			return 1
		}
		luabind.PushView(L, luabind.ViewOf(&luabind.Memory{B: n.Wire}, 0))
		return 1
	}
	L.Push(upMethods(L).RawGet(k))
	return 1
}

func nameToString(L *lua.LState) int {
	L.Push(lua.LString(checkNameArg(L, 1).String()))
	return 1
}

func nameLen(L *lua.LState) int {
	L.Push(lua.LNumber(len(checkNameArg(L, 1).Wire)))
	return 1
}

func nameLabelsL(L *lua.LState) int {
	L.Push(lua.LNumber(dnsmsg.LabelCount(checkNameArg(L, 1).Wire)))
	return 1
}

func nameToWire(L *lua.LState) int {
	w := checkNameArg(L, 1).Wire
	if l, ok := L.Get(2).(lua.LNumber); ok && int(l) >= 0 && int(l) < len(w) {
		w = w[:int(l)]
	}
	L.Push(lua.LString(w))
	return 1
}

func nameSplit(L *lua.LState) int {
	w := checkNameArg(L, 1).Wire
	t := L.NewTable()
	for _, l := range dnsmsg.SplitName(w) {
		t.Append(lua.LString(l))
	}
	L.Push(t)
	return 1
}

func nameLower(L *lua.LState) int {
	PushName(L, &dnsmsg.Name{Wire: dnsmsg.LowerName(checkNameArg(L, 1).Wire)})
	return 1
}

func nameCopy(L *lua.LState) int {
	PushName(L, &dnsmsg.Name{Wire: append([]byte(nil), checkNameArg(L, 1).Wire...)})
	return 1
}

// nameEquals is d:equals(other [, len]).
func nameEquals(L *lua.LState) int {
	a, ok := ToName(L.Get(1))
	if !ok {
		return luabind.Bool(L, false)
	}
	if L.Get(2) == lua.LNil {
		return luabind.Bool(L, false)
	}
	if l, isNum := L.Get(3).(lua.LNumber); isNum {
		raw, ok := luabind.ToBytes(L.Get(2))
		n := int(l)
		return luabind.Bool(L, ok && len(a.Wire) == n && len(raw) >= n && bytes.Equal(a.Wire, raw[:n]))
	}
	b, ok := ToName(L.Get(2))
	return luabind.Bool(L, ok && bytes.Equal(a.Wire, b.Wire))
}

// nameEq is __eq: either operand may be a wire string.
func nameEq(L *lua.LState) int {
	a, ok1 := ToName(L.Get(1))
	b, ok2 := ToName(L.Get(2))
	return luabind.Bool(L, ok1 && ok2 && bytes.Equal(a.Wire, b.Wire))
}

func nameCompare2(L *lua.LState) int {
	return dnsmsg.CompareNames(checkNameArg(L, 1).Wire, checkNameArg(L, 2).Wire)
}

func nameWithinL(L *lua.LState) int {
	d := checkNameArg(L, 1)
	if L.Get(2) == lua.LNil {
		L.ArgError(2, "parent expected")
	}
	return luabind.Bool(L, dnsmsg.NameWithin(d.Wire, checkNameArg(L, 2).Wire))
}

func nameParentOf(L *lua.LState) int {
	d := checkNameArg(L, 1)
	c := luabind.Check[*dnsmsg.Name](L, 2, NameTypeName)
	return luabind.Bool(L, dnsmsg.NameWithin(c.Wire, d.Wire))
}

func nameWildcard(L *lua.LState) int {
	return luabind.Bool(L, dnsmsg.IsWildcard(checkNameArg(L, 1).Wire))
}

// nameParse is dns.dname.parse(text).
func nameParse(L *lua.LState) int {
	s, ok := L.Get(1).(lua.LString)
	if !ok {
		if n, isName := luabind.As[*dnsmsg.Name](L.Get(1)); isName {
			PushName(L, n)
			return 1
		}
		L.Push(lua.LNil)
		return 1
	}
	n, err := dnsmsg.NameFromText(string(s))
	if err != nil {
		L.Push(lua.LNil)
		return 1
	}
	PushName(L, n)
	return 1
}

// nameNew is dns.dname(wire [, len]) (also dns.todname).
func nameNew(L *lua.LState) int {
	v := L.Get(1)
	if v == lua.LNil {
		L.ArgError(1, "wire name expected, got nil")
	}
	if n, ok := luabind.As[*dnsmsg.Name](v); ok {
		w := n.Wire
		if l, isNum := L.Get(2).(lua.LNumber); isNum && int(l) >= 0 && int(l) < len(w) {
			w = w[:int(l)]
		}
		nw, err := dnsmsg.NameFromWire(w)
		if err != nil {
			L.Push(lua.LNil)
			return 1
		}
		PushName(L, &dnsmsg.Name{Wire: nw})
		return 1
	}
	b, ok := luabind.ToBytes(v)
	if !ok {
		L.ArgError(1, "string or buffer expected, got "+luabind.TypeName(v))
	}
	if l, isNum := L.Get(2).(lua.LNumber); isNum && int(l) >= 0 && int(l) < len(b) {
		b = b[:int(l)]
	}
	w, err := dnsmsg.NameFromWire(b)
	if err != nil {
		L.Push(lua.LNil)
		return 1
	}
	PushName(L, &dnsmsg.Name{Wire: w})
	return 1
}

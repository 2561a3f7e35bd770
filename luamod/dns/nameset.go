package dns

// Name set: rrparser.nameset() (API.md §2.3), the binding of
// dnsmsg.NameSet.
//
// Lua:
//
//	ns = rrparser.nameset()
//	ns.len              -- number of names
//	ns:put(dname)       -- append a copy (dname or wire string); returns ns
//	ns:sort()           -- sort and freeze; idempotent; returns ns
//	ns:get(i)           -- 0-based dname, nil past the end      (R before sort)
//	ns:search(name)     -- equal, else greatest below, else nil (R before sort)
//	ns:searcher()       -- function(name) like search          (R before sort)
//	ns.at[i]            -- before sort: 1-based put order; after: 0-based sorted

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// NameSetTypeName is the registry name of rrparser.nameset() objects.
const NameSetTypeName = "dns.rrparser.nameset"

const nameSetAtTypeName = "dns.rrparser.nameset.at"

// luaNameSet is the userdata value of a name set: the Go set and the dname
// userdata made for its names (one per name, reused).
type luaNameSet struct {
	*dnsmsg.NameSet
	uds []*lua.LUserData
}

// PushNameSet pushes ns as an rrparser.nameset() object.
func PushNameSet(L *lua.LState, ns *dnsmsg.NameSet) {
	registerNameSet(L)
	luabind.Push(L, NameSetTypeName, &luaNameSet{NameSet: ns})
}

// pushName pushes name i as a dname aliasing the set (cached userdata).
func (ns *luaNameSet) pushName(L *lua.LState, i int) {
	if i < 0 || i >= ns.Len() {
		L.Push(lua.LNil)
		return
	}
	if len(ns.uds) < ns.Len() {
		ns.uds = append(ns.uds, make([]*lua.LUserData, ns.Len()-len(ns.uds))...)
	}
	ud := ns.uds[i]
	if ud == nil {
		registerTypes(L)
		ud = luabind.NewUserData(L, NameTypeName, &dnsmsg.Name{Wire: ns.Get(i)})
		ns.uds[i] = ud
	}
	L.Push(ud)
}

func registerNameSet(L *lua.LState) {
	if _, ok := L.GetTypeMetatable(NameSetTypeName).(*lua.LTable); ok {
		return
	}
	luabind.RegisterType(L, luabind.TypeSpec{Name: NameSetTypeName, Methods: nameSetMethods, Meta: map[string]lua.LGFunction{
		"__index":    nsIndex,
		"__len":      func(L *lua.LState) int { L.Push(lua.LNumber(checkNameSet(L).Len())); return 1 },
		"__tostring": func(L *lua.LState) int { L.Push(lua.LString("rrparser.nameset")); return 1 },
	}})
	luabind.RegisterType(L, luabind.TypeSpec{Name: nameSetAtTypeName, Meta: map[string]lua.LGFunction{
		"__index": func(L *lua.LState) int {
			ns := luabind.Check[*nameSetAt](L, 1, nameSetAtTypeName).ns
			i, ok := L.Get(2).(lua.LNumber)
			if !ok {
				L.Push(lua.LNil)
				return 1
			}
			if ns.Sorted() {
				ns.pushName(L, int(i))
			} else {
				ns.pushName(L, int(i)-1)
			}
			return 1
		},
		"__len": func(L *lua.LState) int {
			L.Push(lua.LNumber(luabind.Check[*nameSetAt](L, 1, nameSetAtTypeName).ns.Len()))
			return 1
		},
	}})
}

type nameSetAt struct{ ns *luaNameSet }

var nameSetMethods = map[string]lua.LGFunction{
	"put":      nsPut,
	"sort":     nsSort,
	"get":      nsGet,
	"search":   nsSearch,
	"searcher": nsSearcher,
}

func checkNameSet(L *lua.LState) *luaNameSet {
	return luabind.Check[*luaNameSet](L, 1, NameSetTypeName)
}

func nsIndex(L *lua.LState) int {
	ns := checkNameSet(L)
	if k, ok := L.Get(2).(lua.LString); ok {
		switch k {
		case "len":
			L.Push(lua.LNumber(ns.Len()))
			return 1
		case "at":
			luabind.Push(L, nameSetAtTypeName, &nameSetAt{ns})
			return 1
		}
	}
	L.Push(luabind.Methods(L, NameSetTypeName).RawGet(L.Get(2)))
	return 1
}

func nsPut(L *lua.LState) int {
	ns := checkNameSet(L)
	ns.Put(CheckName(L, 2).Wire)
	L.Push(L.Get(1))
	return 1
}

func nsSort(L *lua.LState) int {
	ns := checkNameSet(L)
	if !ns.Sorted() {
		ns.Sort()
		ns.uds = nil // names moved
	}
	L.Push(L.Get(1))
	return 1
}

func nsMustBeSorted(L *lua.LState, ns *luaNameSet) {
	if !ns.Sorted() {
		L.RaiseError("%s", dnsmsg.ErrNameSetUnsorted.Error())
	}
}

func nsGet(L *lua.LState) int {
	ns := checkNameSet(L)
	nsMustBeSorted(L, ns)
	i, ok := L.Get(2).(lua.LNumber)
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	ns.pushName(L, int(i))
	return 1
}

func nsSearch(L *lua.LState) int {
	ns := checkNameSet(L)
	nsMustBeSorted(L, ns)
	i, _ := ns.Search(CheckName(L, 2).Wire)
	ns.pushName(L, i)
	return 1
}

func nsSearcher(L *lua.LState) int {
	ns := checkNameSet(L)
	nsMustBeSorted(L, ns)
	L.Push(L.NewFunction(luabind.Guard("rrparser.nameset.searcher", func(L *lua.LState) int {
		nm, ok := ToName(L.Get(1))
		if !ok {
			L.ArgError(1, NameTypeName+" expected, got "+luabind.TypeName(L.Get(1)))
		}
		i, _ := ns.Search(nm.Wire)
		ns.pushName(L, i)
		return 1
	})))
	return 1
}

package dns

// Name set: rrparser.nameset() (API.md §2.3), the binding of
// dnsmsg.NameSet (the shared part is sets.go).
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
)

// NameSetTypeName is the registry name of rrparser.nameset() objects.
const NameSetTypeName = "dns.rrparser.nameset"

// nameSetKind is rrparser.nameset(): elements are dname userdata aliasing
// the set's storage. Names move only at the one sort, which drops them.
var nameSetKind = &setKind[*dnsmsg.NameSet]{
	typeName: NameSetTypeName,
	atName:   NameSetTypeName + ".at",
	label:    "rrparser.nameset",
	readOnly: "rrparser.nameset: at[] is read-only, use put()",
	length:   (*dnsmsg.NameSet).Len,
	elemType: NameTypeName,
	value:    func(ns *dnsmsg.NameSet, i int) any { return &dnsmsg.Name{Wire: ns.Get(i)} },
	valid:    func(*dnsmsg.NameSet, int, any) bool { return true },
	atIndex: func(ns *dnsmsg.NameSet, i int) int {
		if ns.Sorted() {
			return i
		}
		return i - 1
	},
	ready: func(ns *dnsmsg.NameSet) error {
		if !ns.Sorted() {
			return dnsmsg.ErrNameSetUnsorted
		}
		return nil
	},
	search: func(ns *dnsmsg.NameSet, w []byte) int {
		i, _ := ns.Search(w)
		return i
	},
	sort: func(u *luaSet[*dnsmsg.NameSet]) {
		if !u.set.Sorted() {
			u.set.Sort()
			u.uds = nil
		}
	},
}

func init() {
	nameSetKind.methods = map[string]lua.LGFunction{"put": nsPut}
}

// PushNameSet pushes ns as an rrparser.nameset() object.
func PushNameSet(L *lua.LState, ns *dnsmsg.NameSet) { nameSetKind.pushSet(L, ns) }

// nsPut is ns:put(name): append a copy, return ns.
func nsPut(L *lua.LState) int {
	nameSetKind.check(L).set.Put(CheckName(L, 2).Wire)
	L.Push(L.Get(1))
	return 1
}

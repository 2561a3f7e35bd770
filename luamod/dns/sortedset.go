package dns

// Sorted RR-set array: rrparser.set() (API.md §2.3), the binding of
// dnsmsg.SortedSet (the shared part is sets.go).
//
// Lua (0-based):
//
//	s = rrparser.set()
//	s.len, #s           -- element count
//	s.at[i]             -- element i (rrset) or nil
//	s:get(i)            -- same, i truncated toward zero; nil for nil/out of range
//	s:newrr([noinit])   -- append an empty rrset (class IN) and return it
//	s:sort()            -- sort (stable), returns s
//	s:search(name)      -- rrset with equal owner, else the greatest below, nil if none
//	s:searcher()        -- function(name) equivalent to s:search(name)
//
// Elements appended after sort() are not searchable until the next sort().

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
)

// SortedSetTypeName is the registry name of rrparser.set() objects.
const SortedSetTypeName = "dns.rrparser.set"

// sortedSetKind is rrparser.set(): elements are rrset userdata holding the
// set's own *RRSet (changes made through them stay in the set).
var sortedSetKind = &setKind[*dnsmsg.SortedSet]{
	typeName: SortedSetTypeName,
	atName:   SortedSetTypeName + ".at",
	label:    "rrparser.set",
	readOnly: "rrparser.set: at[] is read-only, use newrr()",
	length:   (*dnsmsg.SortedSet).Len,
	elemType: RRSetTypeName,
	value:    func(s *dnsmsg.SortedSet, i int) any { return s.At(i) },
	valid:    func(s *dnsmsg.SortedSet, i int, v any) bool { return v == any(s.At(i)) },
	atIndex:  func(_ *dnsmsg.SortedSet, i int) int { return i },
	ready:    alwaysReady[*dnsmsg.SortedSet],
	search:   (*dnsmsg.SortedSet).Search,
	sort: func(u *luaSet[*dnsmsg.SortedSet]) {
		if u.uds == nil {
			u.set.Sort()
			return
		}
		u.set.SortWith(u.reorder)
	},
}

func init() {
	sortedSetKind.methods = map[string]lua.LGFunction{"newrr": setNewRR}
}

// PushSortedSet pushes s as an rrparser.set() object.
func PushSortedSet(L *lua.LState, s *dnsmsg.SortedSet) { sortedSetKind.pushSet(L, s) }

// setNewRR is s:newrr([noinit]).
func setNewRR(L *lua.LState) int {
	u := sortedSetKind.check(L)
	u.set.Append(&dnsmsg.RRSet{Class: dnsmsg.ClassINET})
	u.push(L, u.set.Len()-1)
	return 1
}

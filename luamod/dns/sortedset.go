package dns

// Sorted RR-set array: rrparser.set() (API.md §2.3), the binding of
// dnsmsg.SortedSet.
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
	"ljdns/luabind"
)

// SortedSetTypeName is the registry name of rrparser.set() objects.
const SortedSetTypeName = "dns.rrparser.set"

const setAtTypeName = "dns.rrparser.set.at"

// luaSortedSet is the userdata value of a set: the Go set and the rrset
// userdata made for its elements (one per element, reused, so repeated
// lookups return the same object and do not allocate).
type luaSortedSet struct {
	*dnsmsg.SortedSet
	uds []*lua.LUserData
}

// sort sorts the set, moving the element userdata along.
func (s *luaSortedSet) sort() {
	if s.uds == nil {
		s.Sort()
		return
	}
	s.SortWith(func(order []int32) {
		uds := make([]*lua.LUserData, len(order))
		for i, j := range order {
			if int(j) < len(s.uds) {
				uds[i] = s.uds[j]
			}
		}
		s.uds = uds
	})
}

// PushSortedSet pushes s as an rrparser.set() object.
func PushSortedSet(L *lua.LState, s *dnsmsg.SortedSet) {
	registerSortedSet(L)
	luabind.Push(L, SortedSetTypeName, &luaSortedSet{SortedSet: s})
}

// pushElement pushes element i as an rrset userdata, reusing one userdata
// per element so repeated lookups do not allocate.
func (s *luaSortedSet) pushElement(L *lua.LState, i int) {
	rr := s.At(i)
	if rr == nil {
		L.Push(lua.LNil)
		return
	}
	if len(s.uds) < s.Len() {
		s.uds = append(s.uds, make([]*lua.LUserData, s.Len()-len(s.uds))...)
	}
	ud := s.uds[i]
	if ud == nil || ud.Value != rr {
		registerTypes(L)
		ud = luabind.NewUserData(L, RRSetTypeName, rr)
		s.uds[i] = ud
	}
	L.Push(ud)
}

func registerSortedSet(L *lua.LState) {
	if _, ok := L.GetTypeMetatable(SortedSetTypeName).(*lua.LTable); ok {
		return
	}
	luabind.RegisterType(L, luabind.TypeSpec{Name: SortedSetTypeName, Methods: sortedSetMethods, Meta: map[string]lua.LGFunction{
		"__index":    setIndex,
		"__len":      setLen,
		"__tostring": func(L *lua.LState) int { L.Push(lua.LString("rrparser.set")); return 1 },
	}})
	luabind.RegisterType(L, luabind.TypeSpec{Name: setAtTypeName, Meta: map[string]lua.LGFunction{
		"__index": func(L *lua.LState) int {
			s := luabind.Check[*setAt](L, 1, setAtTypeName).s
			i, ok := L.Get(2).(lua.LNumber)
			if !ok {
				L.Push(lua.LNil)
				return 1
			}
			s.pushElement(L, int(i))
			return 1
		},
		"__len": func(L *lua.LState) int {
			L.Push(lua.LNumber(luabind.Check[*setAt](L, 1, setAtTypeName).s.Len()))
			return 1
		},
		"__newindex": func(L *lua.LState) int {
			L.RaiseError("rrparser.set: at[] is read-only, use newrr()")
			return 0
		},
	}})
}

// setAt is the s.at proxy.
type setAt struct{ s *luaSortedSet }

var sortedSetMethods = map[string]lua.LGFunction{
	"newrr":    setNewRR,
	"sort":     setSort,
	"search":   setSearch,
	"searcher": setSearcher,
	"get":      setGet,
}

func checkSet(L *lua.LState) *luaSortedSet {
	return luabind.Check[*luaSortedSet](L, 1, SortedSetTypeName)
}

func setIndex(L *lua.LState) int {
	s := checkSet(L)
	if k, ok := L.Get(2).(lua.LString); ok {
		switch k {
		case "len":
			L.Push(lua.LNumber(s.Len()))
			return 1
		case "at":
			luabind.Push(L, setAtTypeName, &setAt{s})
			return 1
		}
	}
	L.Push(luabind.Methods(L, SortedSetTypeName).RawGet(L.Get(2)))
	return 1
}

func setLen(L *lua.LState) int {
	L.Push(lua.LNumber(checkSet(L).Len()))
	return 1
}

// setNewRR is s:newrr([noinit]).
func setNewRR(L *lua.LState) int {
	s := checkSet(L)
	rr := &dnsmsg.RRSet{Class: dnsmsg.ClassINET}
	s.Append(rr)
	s.pushElement(L, s.Len()-1)
	return 1
}

func setSort(L *lua.LState) int {
	checkSet(L).sort()
	L.Push(L.Get(1))
	return 1
}

// setGet is s:get(i): nil for nil or out of range; fractions truncated.
func setGet(L *lua.LState) int {
	s := checkSet(L)
	n, ok := L.Get(2).(lua.LNumber)
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	s.pushElement(L, int(n))
	return 1
}

func setSearch(L *lua.LState) int {
	s := checkSet(L)
	s.pushElement(L, s.Search(CheckName(L, 2).Wire))
	return 1
}

func setSearcher(L *lua.LState) int {
	s := checkSet(L)
	L.Push(L.NewFunction(luabind.Guard("rrparser.set.searcher", func(L *lua.LState) int {
		nm, ok := ToName(L.Get(1))
		if !ok {
			L.ArgError(1, NameTypeName+" expected, got "+luabind.TypeName(L.Get(1)))
		}
		s.pushElement(L, s.Search(nm.Wire))
		return 1
	})))
	return 1
}

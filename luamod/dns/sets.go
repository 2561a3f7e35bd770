package dns

// The binding both set types share: rrparser.set() (sortedset.go) and
// rrparser.nameset() (nameset.go). A set userdata holds a luaSet: the Go
// set and the userdata made for its elements, one per element and reused,
// so repeated lookups return the same object and allocate nothing. What
// differs between the two types is a setKind.
//
// Both offer (API.md §2.3):
//
//	s.len, #s           -- element count
//	s.at[i]             -- element i (read-only proxy; setKind.atIndex maps i)
//	s:get(i)            -- element i, i truncated toward zero; nil for nil/out of range
//	s:sort()            -- returns s
//	s:search(name)      -- equal name, else the greatest below, else nil
//	s:searcher()        -- function(name) equivalent to s:search(name)

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// setKind describes one set type for the shared binding.
type setKind[S any] struct {
	typeName string                    // registry name of the set
	atName   string                    // registry name of its at[] proxy
	label    string                    // tostring() of the set and prefix of its errors
	readOnly string                    // error raised by assignments to at[]
	methods  map[string]lua.LGFunction // methods besides get, sort, search and searcher

	length   func(s S) int
	elemType string                       // registry name of the element userdata
	value    func(s S, i int) any         // Go value of element i (0 <= i < length)
	valid    func(s S, i int, v any) bool // whether v, made by value, still is element i
	atIndex  func(s S, i int) int         // element shown as at[i]
	ready    func(s S) error              // nil when get/search/searcher may be used
	search   func(s S, name []byte) int   // as dnsmsg.SortedSet.Search
	sort     func(u *luaSet[S])           // sorts u.set and keeps u.uds in step
}

// luaSet is the userdata value of a set.
type luaSet[S any] struct {
	set  S
	kind *setKind[S]
	uds  []*lua.LUserData // element userdata by index, made on first use
}

// setAt is the value of the s.at proxy.
type setAt[S any] struct{ u *luaSet[S] }

// register creates the metatables of the set and of its at[] proxy once
// per state.
func (k *setKind[S]) register(L *lua.LState) {
	if _, ok := L.GetTypeMetatable(k.typeName).(*lua.LTable); ok {
		return
	}
	methods := map[string]lua.LGFunction{"get": k.get, "sort": k.sortL, "search": k.searchL, "searcher": k.searcher}
	for name, f := range k.methods {
		methods[name] = f
	}
	luabind.RegisterType(L, luabind.TypeSpec{Name: k.typeName, Methods: methods, Meta: map[string]lua.LGFunction{
		"__index":    k.index,
		"__len":      func(L *lua.LState) int { L.Push(lua.LNumber(k.length(k.check(L).set))); return 1 },
		"__tostring": func(L *lua.LState) int { L.Push(lua.LString(k.label)); return 1 },
	}})
	luabind.RegisterType(L, luabind.TypeSpec{Name: k.atName, Meta: map[string]lua.LGFunction{
		"__index": func(L *lua.LState) int {
			u := luabind.Check[*setAt[S]](L, 1, k.atName).u
			i, ok := L.Get(2).(lua.LNumber)
			if !ok {
				L.Push(lua.LNil)
				return 1
			}
			u.push(L, k.atIndex(u.set, int(i)))
			return 1
		},
		"__len": func(L *lua.LState) int {
			L.Push(lua.LNumber(k.length(luabind.Check[*setAt[S]](L, 1, k.atName).u.set)))
			return 1
		},
		"__newindex": func(L *lua.LState) int {
			L.RaiseError("%s", k.readOnly)
			return 0
		},
	}})
}

// pushSet pushes s as a set userdata.
func (k *setKind[S]) pushSet(L *lua.LState, s S) {
	k.register(L)
	luabind.Push(L, k.typeName, &luaSet[S]{set: s, kind: k})
}

// check returns argument 1 as a set of this kind or raises.
func (k *setKind[S]) check(L *lua.LState) *luaSet[S] {
	return luabind.Check[*luaSet[S]](L, 1, k.typeName)
}

// checkReady is check, raising when the set cannot be searched yet.
func (k *setKind[S]) checkReady(L *lua.LState) *luaSet[S] {
	u := k.check(L)
	if err := k.ready(u.set); err != nil {
		L.RaiseError("%s", err.Error())
	}
	return u
}

// push pushes element i, nil when out of range.
func (u *luaSet[S]) push(L *lua.LState, i int) {
	k := u.kind
	n := k.length(u.set)
	if i < 0 || i >= n {
		L.Push(lua.LNil)
		return
	}
	if len(u.uds) < n {
		u.uds = append(u.uds, make([]*lua.LUserData, n-len(u.uds))...)
	}
	ud := u.uds[i]
	if ud == nil || !k.valid(u.set, i, ud.Value) {
		registerTypes(L)
		ud = luabind.NewUserData(L, k.elemType, k.value(u.set, i))
		u.uds[i] = ud
	}
	L.Push(ud)
}

// reorder moves the element userdata along a sort: element i is now the
// element that was at order[i].
func (u *luaSet[S]) reorder(order []int32) {
	uds := make([]*lua.LUserData, len(order))
	for i, j := range order {
		if int(j) < len(u.uds) {
			uds[i] = u.uds[j]
		}
	}
	u.uds = uds
}

func (k *setKind[S]) index(L *lua.LState) int {
	u := k.check(L)
	if key, ok := L.Get(2).(lua.LString); ok {
		switch key {
		case "len":
			L.Push(lua.LNumber(k.length(u.set)))
			return 1
		case "at":
			luabind.Push(L, k.atName, &setAt[S]{u})
			return 1
		}
	}
	L.Push(luabind.Methods(L, k.typeName).RawGet(L.Get(2)))
	return 1
}

func (k *setKind[S]) sortL(L *lua.LState) int {
	k.sort(k.check(L))
	L.Push(L.Get(1))
	return 1
}

// get is s:get(i): nil for nil or out of range; fractions truncated.
func (k *setKind[S]) get(L *lua.LState) int {
	u := k.checkReady(L)
	i, ok := L.Get(2).(lua.LNumber)
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	u.push(L, int(i))
	return 1
}

func (k *setKind[S]) searchL(L *lua.LState) int {
	u := k.checkReady(L)
	u.push(L, k.search(u.set, CheckName(L, 2).Wire))
	return 1
}

func (k *setKind[S]) searcher(L *lua.LState) int {
	u := k.checkReady(L)
	L.Push(L.NewFunction(luabind.Guard(k.label+".searcher", func(L *lua.LState) int {
		nm, ok := ToName(L.Get(1))
		if !ok {
			L.ArgError(1, NameTypeName+" expected, got "+luabind.TypeName(L.Get(1)))
		}
		u.push(L, k.search(u.set, nm.Wire))
		return 1
	})))
	return 1
}

// alwaysReady is setKind.ready for sets that can be searched any time.
func alwaysReady[S any](S) error { return nil }

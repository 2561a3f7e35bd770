package dns

// Name set: rrparser.nameset() (API.md §2.3).
//
// Go API (for dns.sift and other Go callers):
//
//	ns := dns.NewNameSet()
//	ns.Put(wire)          // append a copy (uncompressed wire incl. root)
//	ns.Sort()             // canonical order; idempotent: names put later are not indexed
//	i := ns.Search(wire)  // equal name, else greatest below; -1 if none (ErrNameSetUnsorted before Sort)
//	w := ns.Get(i)        // wire of name i (aliases the set's storage: do not modify)
//	dns.PushNameSet(L, ns)
//
// All names live in one byte arena with offsets (no per-name allocation);
// sorting and searching compare precomputed canonical keys (see
// appendSortKey in sortedset.go).
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
	"bytes"
	"errors"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// NameSetTypeName is the registry name of rrparser.nameset() objects.
const NameSetTypeName = "dns.rrparser.nameset"

const nameSetAtTypeName = "dns.rrparser.nameset.at"

// ErrNameSetUnsorted is returned by searches before Sort.
var ErrNameSetUnsorted = errors.New("nameset must be sorted first")

// NameSet is a set of domain names, sortable and searchable in canonical
// order. See the file comment.
type NameSet struct {
	arena   []byte   // wire names back to back
	offs    []uint32 // offs[i]..offs[i+1] is name i; len = Len()+1
	keys    []byte   // canonical keys of the sorted names
	koffs   []uint32 // key i is keys[koffs[i]:koffs[i+1]]
	sorted  bool
	nsorted int // names covered by the index
	scratch []byte
	uds     []*lua.LUserData
	index   keyIndex
	hash    hashIndex
}

// NewNameSet returns an empty name set.
func NewNameSet() *NameSet { return &NameSet{offs: []uint32{0}} }

// Len returns the number of names.
func (ns *NameSet) Len() int { return len(ns.offs) - 1 }

// Sorted reports whether Sort was called.
func (ns *NameSet) Sorted() bool { return ns.sorted }

// Put appends a copy of the wire name w.
func (ns *NameSet) Put(w []byte) {
	ns.arena = append(ns.arena, w...)
	if len(ns.arena) > 1<<32-1 {
		panic("name set too large")
	}
	ns.offs = append(ns.offs, uint32(len(ns.arena)))
}

// Get returns the wire form of name i (nil when out of range). The slice
// aliases the set's storage: do not modify it.
func (ns *NameSet) Get(i int) []byte {
	if i < 0 || i >= ns.Len() {
		return nil
	}
	a, b := ns.offs[i], ns.offs[i+1]
	return ns.arena[a:b:b]
}

// Sort orders the names canonically (RFC 4034 §6.1, case folded, ties on
// raw bytes) and builds the search index. Only the first call sorts.
func (ns *NameSet) Sort() {
	if ns.sorted {
		return
	}
	n := ns.Len()
	keys := make([]byte, 0, len(ns.arena)+n)
	items := make([]keyItem, n)
	for i := 0; i < n; i++ {
		o := len(keys)
		keys = appendSortKey(keys, ns.Get(i))
		if len(keys) > 1<<32-1 {
			panic("name set too large")
		}
		items[i] = keyItem{off: uint32(o), klen: uint16(len(keys) - o), idx: int32(i)}
	}
	sortKeyItems(items, keys, func(a, b int32) int { return bytes.Compare(ns.Get(int(a)), ns.Get(int(b))) })
	// rewrite arena and keys in sorted order
	arena := make([]byte, 0, len(ns.arena))
	offs := make([]uint32, 1, n+1)
	skeys := make([]byte, 0, len(keys))
	koffs := make([]uint32, 1, n+1)
	for _, it := range items {
		arena = append(arena, ns.Get(int(it.idx))...)
		offs = append(offs, uint32(len(arena)))
		skeys = append(skeys, keys[it.off:it.off+uint32(it.klen)]...)
		koffs = append(koffs, uint32(len(skeys)))
	}
	ns.arena, ns.offs, ns.keys, ns.koffs = arena, offs, skeys, koffs
	ns.sorted, ns.nsorted, ns.uds = true, n, nil
	ns.index.build(n, ns.key)
	ns.hash.build(n, ns.Get, func(i int) bool { return i == 0 || !bytes.Equal(ns.key(i), ns.key(i-1)) })
}

func (ns *NameSet) key(i int) []byte { return ns.keys[ns.koffs[i]:ns.koffs[i+1]] }

// Search returns the index of the name equal to w (canonical comparison),
// else of the greatest name below it, or -1. It does not allocate.
func (ns *NameSet) Search(w []byte) (int, error) {
	if !ns.sorted {
		return -1, ErrNameSetUnsorted
	}
	if i := ns.hash.lookup(w, ns.Get); i >= 0 && i < ns.nsorted {
		return i, nil
	}
	ns.scratch = appendSortKey(ns.scratch[:0], w)
	return ns.index.search(ns.nsorted, ns.scratch, ns.key), nil
}

// PushNameSet pushes ns as an rrparser.nameset() object.
func PushNameSet(L *lua.LState, ns *NameSet) {
	registerNameSet(L)
	luabind.Push(L, NameSetTypeName, ns)
}

// pushName pushes name i as a dname aliasing the set (cached userdata).
func (ns *NameSet) pushName(L *lua.LState, i int) {
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
		ud = luabind.NewUserData(L, NameTypeName, &Name{Wire: ns.Get(i)})
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
			if ns.sorted {
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

type nameSetAt struct{ ns *NameSet }

var nameSetMethods = map[string]lua.LGFunction{
	"put":      nsPut,
	"sort":     nsSort,
	"get":      nsGet,
	"search":   nsSearch,
	"searcher": nsSearcher,
}

func checkNameSet(L *lua.LState) *NameSet {
	return luabind.Check[*NameSet](L, 1, NameSetTypeName)
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
	checkNameSet(L).Sort()
	L.Push(L.Get(1))
	return 1
}

func nsMustBeSorted(L *lua.LState, ns *NameSet) {
	if !ns.sorted {
		L.RaiseError("%s", ErrNameSetUnsorted.Error())
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

package dns

// Sorted RR-set array: rrparser.set() (API.md §2.3).
//
// Go API (for dns.sift and other Go callers, no Lua calls needed):
//
//	s := dns.NewSortedSet()
//	s.AppendRecord(ownerWire, typ, class, ttl, rdata) // compact pointer-free storage, copies its arguments
//	s.Append(rr)                                      // or any *RRSet (kept by reference)
//	s.Last()                                          // last element, to merge RDATA of the same RR set
//	s.At(i)                                           // element i as an *RRSet (made on first use)
//	s.Sort()                                          // canonical owner order, then type; stable
//	i := s.Search(nameWire)                           // equal owner, else greatest below; -1 if none
//	dns.PushSortedSet(L, s)                           // hand it to Lua as a set object
//
// Ordering uses a precomputed canonical sort key per owner (sortKey): the
// labels from the root side, ASCII-lowercased, bytes 0x00/0x01 escaped,
// each label followed by 0x00. Comparing two keys with bytes.Compare gives
// exactly CompareNames' order up to case, so sorting and searching are
// memcmp; ties between names that differ only in case are broken on the
// raw wire bytes as CompareNames does. Keys live in one byte arena.
// Sort runs on two goroutines for large sets. Search first probes a hash
// table of case-folded owners (exact matches: no key, no binary search);
// a miss binary-searches the keys, comparing the 16 key bytes after the
// prefix common to all keys inline before touching the arena.
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
	"bytes"
	"encoding/binary"
	"runtime"
	"slices"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// SortedSetTypeName is the registry name of rrparser.set() objects.
const SortedSetTypeName = "dns.rrparser.set"

const setAtTypeName = "dns.rrparser.set.at"

// appendSortKey appends the canonical sort key of wire name w to dst:
// labels from the root side, lowercased, 0x00 → 01 01, 0x01 → 01 02,
// each label terminated by 0x00. Malformed data ends the name.
func appendSortKey(dst, w []byte) []byte {
	var offs [128]uint8
	n := 0
	for i := 0; i < len(w) && n < len(offs); {
		l := int(w[i])
		if l == 0 || l > 63 || i+1+l > len(w) {
			break
		}
		offs[n] = uint8(i)
		n++
		i += 1 + l
	}
	for n > 0 {
		n--
		o := int(offs[n])
		for _, c := range w[o+1 : o+1+int(w[o])] {
			switch {
			case c >= 'A' && c <= 'Z':
				dst = append(dst, c+('a'-'A'))
			case c <= 1:
				dst = append(dst, 1, c+1)
			default:
				dst = append(dst, c)
			}
		}
		dst = append(dst, 0)
	}
	return dst
}

// setEnt is the sort/search record of one element: its key in the arena.
type setEnt struct {
	off  uint32 // key offset in keys
	klen uint16 // key length
	typ  uint16 // RR type
}

// SortedSet is an array of RR sets that can be sorted in canonical order
// and binary-searched by owner. See the file comment.
//
// Elements added with AppendRecord are stored compactly without Go
// pointers (one setRec plus bytes in one arena), so a million-record set
// costs little memory and almost no GC work; an *RRSet is made for an
// element only when it is asked for (At, Lua access) and is then the
// element's authoritative form (changes made through it are kept).
type SortedSet struct {
	recs []setRec // compact elements
	objs []*RRSet // materialised elements (nil entries: use recs); nil until needed
	data []byte   // owner and RDATA bytes of recs

	keys    []byte   // key arena
	ents    []setEnt // keys of the first len(ents) elements, valid for searching
	scratch []byte   // search key
	uds     []*lua.LUserData
	sorted  bool // Sort was called
	index   keyIndex
	hash    hashIndex
}

// setRec is the compact, pointer-free form of one element.
type setRec struct {
	owner uint32 // owner offset in data
	rdata uint32 // RDATA offset in data
	rdlen uint16
	olen  uint8
	typ   uint16
	class uint16
	ttl   uint32
}

// NewSortedSet returns an empty set.
func NewSortedSet() *SortedSet { return &SortedSet{} }

// Len returns the number of elements.
func (s *SortedSet) Len() int { return len(s.recs) }

// At returns element i (0-based) or nil when out of range. The returned
// RR set is the element itself: changes made to it stay in the set.
func (s *SortedSet) At(i int) *RRSet {
	if i < 0 || i >= len(s.recs) {
		return nil
	}
	s.needObjs()
	if rr := s.objs[i]; rr != nil {
		return rr
	}
	r := &s.recs[i]
	oe, re := r.owner+uint32(r.olen), r.rdata+uint32(r.rdlen)
	rr := &RRSet{
		Owner: &Name{Wire: s.data[r.owner:oe:oe]},
		Type:  r.typ, Class: r.class, TTL: r.ttl,
		RData: [][]byte{s.data[r.rdata:re:re]},
	}
	s.objs[i] = rr
	return rr
}

// needObjs makes objs as long as recs.
func (s *SortedSet) needObjs() {
	if len(s.objs) < len(s.recs) {
		s.objs = append(s.objs, make([]*RRSet, len(s.recs)-len(s.objs))...)
	}
}

// ownerAt returns the owner wire of element i without materialising it.
func (s *SortedSet) ownerAt(i int) []byte {
	if i < len(s.objs) && s.objs[i] != nil {
		return s.objs[i].OwnerWire()
	}
	r := &s.recs[i]
	return s.data[r.owner : r.owner+uint32(r.olen)]
}

// typeAt returns the type of element i without materialising it.
func (s *SortedSet) typeAt(i int) uint16 {
	if i < len(s.objs) && s.objs[i] != nil {
		return s.objs[i].Type
	}
	return s.recs[i].typ
}

// Last returns the last element or nil when empty.
func (s *SortedSet) Last() *RRSet { return s.At(len(s.recs) - 1) }

// Append adds rr (by reference) at the end.
func (s *SortedSet) Append(rr *RRSet) {
	s.needObjs()
	s.recs = append(s.recs, setRec{})
	s.objs = append(s.objs, rr)
}

// AppendRecord adds a new RR set with one RDATA, copying owner (wire,
// at most 255 bytes) and rdata (at most 65535 bytes) into the set's
// compact storage (no allocation per record). Consecutive records with
// the same owner share its bytes. Longer arguments are truncated.
func (s *SortedSet) AppendRecord(owner []byte, typ, class uint16, ttl uint32, rdata []byte) {
	owner = owner[:min(len(owner), 255)]
	rdata = rdata[:min(len(rdata), 65535)]
	r := setRec{typ: typ, class: class, ttl: ttl, olen: uint8(len(owner)), rdlen: uint16(len(rdata))}
	if n := len(s.recs); n > 0 {
		if p := &s.recs[n-1]; int(p.olen) == len(owner) && bytes.Equal(s.data[p.owner:p.owner+uint32(p.olen)], owner) {
			r.owner = p.owner
		} else {
			r.owner = s.appendData(owner)
		}
	} else {
		r.owner = s.appendData(owner)
	}
	r.rdata = s.appendData(rdata)
	s.recs = append(s.recs, r)
	if s.objs != nil {
		s.objs = append(s.objs, nil)
	}
}

// appendData copies b to the arena and returns its offset.
func (s *SortedSet) appendData(b []byte) uint32 {
	o := len(s.data)
	if o+len(b) > 1<<32-1 {
		panic("sorted set too large")
	}
	s.data = append(s.data, b...)
	return uint32(o)
}

// buildKeys recomputes the key arena for every element (in current order).
func (s *SortedSet) buildKeys() {
	n := len(s.recs)
	if want := len(s.data)/2 + n; cap(s.keys) < want { // owners are about half the data
		s.keys = make([]byte, 0, want)
	}
	s.keys = s.keys[:0]
	if cap(s.ents) < n {
		s.ents = make([]setEnt, 0, n)
	}
	s.ents = s.ents[:0]
	for i := 0; i < n; i++ {
		off := len(s.keys)
		s.keys = appendSortKey(s.keys, s.ownerAt(i))
		if len(s.keys) > 1<<32-1 {
			panic("sorted set too large")
		}
		s.ents = append(s.ents, setEnt{off: uint32(off), klen: uint16(len(s.keys) - off), typ: s.typeAt(i)})
	}
	s.index.build(len(s.ents), func(i int) []byte { return s.key(s.ents[i]) })
}

func (s *SortedSet) key(e setEnt) []byte { return s.keys[e.off : e.off+uint32(e.klen)] }

// Sort orders the elements by owner (canonical order, RFC 4034 §6.1) and
// then type; elements that compare equal keep their order.
func (s *SortedSet) Sort() {
	s.buildKeys()
	n := len(s.recs)
	items := make([]keyItem, n)
	for i, e := range s.ents {
		items[i] = keyItem{off: e.off, klen: e.klen, typ: e.typ, idx: int32(i)}
	}
	sortKeyItems(items, s.keys, func(a, b int32) int {
		return bytes.Compare(s.ownerAt(int(a)), s.ownerAt(int(b)))
	})
	recs := make([]setRec, n)
	var objs []*RRSet
	if s.objs != nil {
		objs = make([]*RRSet, n)
	}
	var uds []*lua.LUserData
	if s.uds != nil {
		uds = make([]*lua.LUserData, n)
	}
	for i, it := range items {
		recs[i] = s.recs[it.idx]
		if objs != nil {
			objs[i] = s.objs[it.idx]
		}
		s.ents[i] = setEnt{off: it.off, klen: it.klen, typ: it.typ}
		if uds != nil && int(it.idx) < len(s.uds) {
			uds[i] = s.uds[it.idx]
		}
	}
	s.recs, s.objs, s.uds, s.sorted = recs, objs, uds, true
	s.index.build(len(s.ents), func(i int) []byte { return s.key(s.ents[i]) })
	s.hash.build(len(s.ents), s.ownerAt, func(i int) bool {
		return i == 0 || !bytes.Equal(s.key(s.ents[i]), s.key(s.ents[i-1]))
	})
}

// keyItem is one element being sorted: the 16 key bytes after the prefix
// common to all keys, inline (so most comparisons touch no other memory),
// the key's place in the arena, the type and the original index.
type keyItem struct {
	p0, p1 uint64
	off    uint32
	klen   uint16
	typ    uint16
	idx    int32
}

// sortKeyItems sorts items by (key, tie(idx), typ, idx): canonical name
// order, raw-bytes tie break, type, then original position (stable).
func sortKeyItems(items []keyItem, keys []byte, tie func(a, b int32) int) {
	if len(items) < 2 {
		return
	}
	key := func(it *keyItem) []byte { return keys[it.off : it.off+uint32(it.klen)] }
	common := commonPrefix(len(items), func(i int) []byte { return key(&items[i]) })
	for i := range items {
		items[i].p0, items[i].p1 = prefix16(key(&items[i]), common)
	}
	cmp := func(a, b keyItem) int {
		if a.p0 != b.p0 {
			if a.p0 < b.p0 {
				return -1
			}
			return 1
		}
		if a.p1 != b.p1 {
			if a.p1 < b.p1 {
				return -1
			}
			return 1
		}
		// equal inline bytes and both keys within them: equal keys (a key
		// ends with 0x00 and never has two 0x00 in a row, so zero padding
		// cannot hide a difference)
		if int(a.klen) > common+16 || int(b.klen) > common+16 {
			if c := bytes.Compare(key(&a), key(&b)); c != 0 {
				return c
			}
		}
		if c := tie(a.idx, b.idx); c != 0 {
			return c
		}
		if a.typ != b.typ {
			return int(a.typ) - int(b.typ)
		}
		return int(a.idx - b.idx)
	}
	parallelSort(items, cmp)
}

// parallelSort sorts items with cmp (a total order), using two goroutines
// and a merge for large inputs when more than one CPU is available.
func parallelSort(items []keyItem, cmp func(a, b keyItem) int) {
	if len(items) < 1<<15 || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(items, cmp)
		return
	}
	mid := len(items) / 2
	left, right := items[:mid], items[mid:]
	done := make(chan struct{})
	go func() {
		slices.SortFunc(left, cmp)
		close(done)
	}()
	slices.SortFunc(right, cmp)
	<-done
	out := make([]keyItem, 0, len(items))
	i, j := 0, 0
	for i < len(left) && j < len(right) {
		if cmp(right[j], left[i]) < 0 {
			out = append(out, right[j])
			j++
		} else {
			out = append(out, left[i])
			i++
		}
	}
	out = append(out, left[i:]...)
	out = append(out, right[j:]...)
	copy(items, out)
}

// Search returns the index of the first element whose owner equals name
// (wire, canonical comparison), else of the greatest element below name, or -1.
// Only the elements present at the last Sort are searched (all of them
// when the set was never sorted). It does not allocate.
func (s *SortedSet) Search(name []byte) int {
	if s.sorted {
		if i := s.hash.lookup(name, s.ownerAt); i >= 0 {
			return i
		}
	} else if len(s.ents) != len(s.recs) {
		s.buildKeys()
	}
	s.scratch = appendSortKey(s.scratch[:0], name)
	return s.index.search(len(s.ents), s.scratch, func(i int) []byte { return s.key(s.ents[i]) })
}

// keyIndex speeds up binary search over sorted keys: the prefix common
// to all keys, and the next 16 bytes of every key inline (big-endian,
// zero padded), so most comparisons touch neither the arena nor another
// cache line.
type keyIndex struct {
	common []byte   // prefix shared by every key
	pfx    []uint64 // 2 per key
}

// prefix16 returns bytes k[c:c+16] as two big-endian words, zero padded.
func prefix16(k []byte, c int) (uint64, uint64) {
	var b [16]byte
	if c < len(k) {
		copy(b[:], k[c:])
	}
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// commonPrefix returns the length of the prefix shared by key(0..n-1).
func commonPrefix(n int, key func(int) []byte) int {
	if n == 0 {
		return 0
	}
	first := key(0)
	common := len(first)
	for i := 1; i < n && common > 0; i++ {
		k := key(i)
		m := min(common, len(k))
		j := 0
		for j < m && k[j] == first[j] {
			j++
		}
		common = j
	}
	return common
}

// build indexes the n keys (in sorted order).
func (x *keyIndex) build(n int, key func(int) []byte) {
	c := commonPrefix(n, key)
	x.common = x.common[:0]
	if n > 0 {
		x.common = append(x.common, key(0)[:c]...)
	}
	if cap(x.pfx) < 2*n {
		x.pfx = make([]uint64, 2*n)
	}
	x.pfx = x.pfx[:2*n]
	for i := 0; i < n; i++ {
		x.pfx[2*i], x.pfx[2*i+1] = prefix16(key(i), c)
	}
}

// search returns the first index i < n whose key(i) == k, else the last
// index whose key(i) < k, or -1. The keys must be sorted and indexed.
func (x *keyIndex) search(n int, k []byte, key func(int) []byte) int {
	if n == 0 || len(x.pfx) < 2*n {
		return -1
	}
	c := len(x.common)
	if !bytes.HasPrefix(k, x.common) {
		if bytes.Compare(k, x.common) < 0 {
			return -1 // below every key
		}
		return n - 1 // above every key
	}
	k0, k1 := prefix16(k, c)
	lo, hi := 0, n // invariant: key(<lo) < k, key(>=hi) >= k
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		p0, p1 := x.pfx[2*m], x.pfx[2*m+1]
		var less bool
		switch {
		case p0 != k0:
			less = p0 < k0
		case p1 != k1:
			less = p1 < k1
		default:
			less = bytes.Compare(key(m), k) < 0
		}
		if less {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < n && bytes.Equal(key(lo), k) {
		return lo
	}
	return lo - 1
}

// hashIndex maps each distinct owner (ASCII case folded) of a sorted set
// to the first element with that owner, so exact-match searches skip both
// the key computation and the binary search. Open addressing, linear
// probing, entries are index+1 (0 = empty).
type hashIndex struct {
	slots []uint32
	mask  uint64
}

// foldHash is FNV-1a over the ASCII-lowercased wire name (label lengths
// are below 'A', so folding never changes them).
func foldHash(w []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range w {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h ^ h>>29
}

// equalFoldWire reports whether two wire names are equal up to ASCII case.
func equalFoldWire(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x != y {
			if x >= 'A' && x <= 'Z' {
				x += 'a' - 'A'
			}
			if y >= 'A' && y <= 'Z' {
				y += 'a' - 'A'
			}
			if x != y {
				return false
			}
		}
	}
	return true
}

// build indexes elements 0..n-1 (sorted); first(i) reports whether i is
// the first element of its owner run.
func (h *hashIndex) build(n int, wire func(int) []byte, first func(int) bool) {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if cap(h.slots) >= size {
		h.slots = h.slots[:size]
		clear(h.slots)
	} else {
		h.slots = make([]uint32, size)
	}
	h.mask = uint64(size - 1)
	for i := 0; i < n; i++ {
		if !first(i) {
			continue
		}
		j := foldHash(wire(i)) & h.mask
		for h.slots[j] != 0 {
			j = (j + 1) & h.mask
		}
		h.slots[j] = uint32(i + 1)
	}
}

// lookup returns the first element whose owner equals w (case folded), or -1.
func (h *hashIndex) lookup(w []byte, wire func(int) []byte) int {
	if len(h.slots) == 0 {
		return -1
	}
	j := foldHash(w) & h.mask
	for {
		e := h.slots[j]
		if e == 0 {
			return -1
		}
		if equalFoldWire(wire(int(e-1)), w) {
			return int(e - 1)
		}
		j = (j + 1) & h.mask
	}
}

// PushSortedSet pushes s as an rrparser.set() object.
func PushSortedSet(L *lua.LState, s *SortedSet) {
	registerSortedSet(L)
	luabind.Push(L, SortedSetTypeName, s)
}

// pushElement pushes element i as an rrset userdata, reusing one userdata
// per element so repeated lookups do not allocate.
func (s *SortedSet) pushElement(L *lua.LState, i int) {
	rr := s.At(i)
	if rr == nil {
		L.Push(lua.LNil)
		return
	}
	if len(s.uds) < len(s.recs) {
		s.uds = append(s.uds, make([]*lua.LUserData, len(s.recs)-len(s.uds))...)
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
type setAt struct{ s *SortedSet }

var sortedSetMethods = map[string]lua.LGFunction{
	"newrr":    setNewRR,
	"sort":     setSort,
	"search":   setSearch,
	"searcher": setSearcher,
	"get":      setGet,
}

func checkSet(L *lua.LState) *SortedSet {
	return luabind.Check[*SortedSet](L, 1, SortedSetTypeName)
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
	rr := &RRSet{Class: ClassINET}
	s.Append(rr)
	s.pushElement(L, s.Len()-1)
	return 1
}

func setSort(L *lua.LState) int {
	checkSet(L).Sort()
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

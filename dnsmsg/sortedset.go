package dnsmsg

// SortedSet is the Go side of ljdns's rrparser.set() (API.md §2.3).
//
//	s := dnsmsg.NewSortedSet()
//	s.AppendRecord(ownerWire, typ, class, ttl, rdata) // compact pointer-free storage, copies its arguments
//	s.Append(rr)                                      // or any *RRSet (kept by reference)
//	s.Last()                                          // last element, to merge RDATA of the same RR set
//	s.At(i)                                           // element i as an *RRSet (made on first use)
//	s.Sort()                                          // canonical owner order, then type; stable
//	i := s.Search(nameWire)                           // equal owner, else greatest below; -1 if none
//
// Ordering and searching use the canonical sort keys of sortkey.go; keys
// live in one byte arena. Sort runs on two goroutines for large sets.
// Elements appended after Sort are not searchable until the next Sort.

import (
	"bytes"
)

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
	objs elemObjs // materialised elements (nil: use recs)
	data []byte   // owner and RDATA bytes of recs

	keys    []byte   // key arena
	ents    []setEnt // keys of the first len(ents) elements, valid for searching
	scratch []byte   // search key
	sorted  bool     // Sort was called
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
	if rr := s.objs.Get(i); rr != nil {
		return rr
	}
	r := &s.recs[i]
	oe, re := r.owner+uint32(r.olen), r.rdata+uint32(r.rdlen)
	rr := &RRSet{
		Owner: &Name{Wire: s.data[r.owner:oe:oe]},
		Type:  r.typ, Class: r.class, TTL: r.ttl,
		RData: [][]byte{s.data[r.rdata:re:re]},
	}
	s.objs.Set(i, rr)
	return rr
}

// ownerAt returns the owner wire of element i without materialising it.
func (s *SortedSet) ownerAt(i int) []byte {
	if rr := s.objs.Get(i); rr != nil {
		return rr.OwnerWire()
	}
	r := &s.recs[i]
	return s.data[r.owner : r.owner+uint32(r.olen)]
}

// typeAt returns the type of element i without materialising it.
func (s *SortedSet) typeAt(i int) uint16 {
	if rr := s.objs.Get(i); rr != nil {
		return rr.Type
	}
	return s.recs[i].typ
}

// Last returns the last element or nil when empty.
func (s *SortedSet) Last() *RRSet { return s.At(len(s.recs) - 1) }

// Append adds rr (by reference) at the end.
func (s *SortedSet) Append(rr *RRSet) {
	s.recs = append(s.recs, setRec{})
	s.objs.Set(len(s.recs)-1, rr)
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

// buildKeys recomputes the key arena for every element (in current order);
// neighbours with the same owner, as the records of one RR set or owner
// arrive, share one key.
func (s *SortedSet) buildKeys() {
	n := len(s.recs)
	want := 0 // a key is as long as its wire name, less the root, plus escapes
	for i, prev := 0, []byte(nil); i < n; i++ {
		if owner := s.ownerAt(i); i == 0 || !bytes.Equal(owner, prev) {
			want += len(owner)
			prev = owner
		}
	}
	if cap(s.keys) < want {
		s.keys = make([]byte, 0, want)
	}
	s.keys = s.keys[:0]
	if cap(s.ents) < n {
		s.ents = make([]setEnt, 0, n)
	}
	s.ents = s.ents[:0]
	var prev []byte
	for i := 0; i < n; i++ {
		owner := s.ownerAt(i)
		if i > 0 && bytes.Equal(owner, prev) { // the RR sets of one owner share its key
			e := s.ents[i-1]
			e.typ = s.typeAt(i)
			s.ents = append(s.ents, e)
			continue
		}
		prev = owner
		off := len(s.keys)
		s.keys = appendSortKey(s.keys, owner)
		if len(s.keys) > 1<<32-1 {
			panic("sorted set too large")
		}
		s.ents = append(s.ents, setEnt{off: uint32(off), klen: uint16(len(s.keys) - off), typ: s.typeAt(i)})
	}
}

func (s *SortedSet) key(e setEnt) []byte { return s.keys[e.off : e.off+uint32(e.klen)] }

// Sort orders the elements by owner (canonical order, RFC 4034 §6.1) and
// then type; elements that compare equal keep their order.
func (s *SortedSet) Sort() { s.SortWith(nil) }

// SortWith sorts as Sort does, then, when reorder is not nil, calls it
// with the permutation applied: element i of the sorted set was element
// order[i] before. Bindings use it to carry per-element data along.
func (s *SortedSet) SortWith(reorder func(order []int32)) {
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
	var order []int32
	if reorder != nil || !s.objs.Empty() {
		order = make([]int32, n)
	}
	for i, it := range items {
		recs[i] = s.recs[it.idx]
		s.ents[i] = setEnt{off: it.off, klen: it.klen, typ: it.typ}
		if order != nil {
			order[i] = it.idx
		}
	}
	s.objs.Permute(order)
	s.recs, s.sorted = recs, true
	s.index.build(len(s.ents), func(i int) []byte { return s.key(s.ents[i]) })
	s.hash.build(len(s.ents), s.ownerAt, func(i int) bool {
		a, b := s.ents[i], s.ents[max(i-1, 0)]
		return i == 0 || a.off != b.off && !bytes.Equal(s.key(a), s.key(b))
	})
	if reorder != nil {
		reorder(order)
	}
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
		s.index.build(len(s.ents), func(i int) []byte { return s.key(s.ents[i]) })
	}
	s.scratch = appendSortKey(s.scratch[:0], name)
	return s.index.search(len(s.ents), s.scratch, func(i int) []byte { return s.key(s.ents[i]) })
}

// elemObjs holds the elements made into *RRSet, by index; nil for the
// others. It is a plain slice, only as long as the last index set: a page
// table here costs the searches 5% from Lua (an extra dependent load on
// the hot path).
type elemObjs struct{ s []*RRSet }

// Get returns element i, nil when it was never set.
func (a *elemObjs) Get(i int) *RRSet {
	if uint(i) >= uint(len(a.s)) {
		return nil
	}
	return a.s[i]
}

// Set sets element i (i >= 0).
func (a *elemObjs) Set(i int, v *RRSet) {
	if i >= len(a.s) {
		if v == nil {
			return
		}
		a.s = append(a.s, make([]*RRSet, i+1-len(a.s))...)
	}
	a.s[i] = v
}

// Empty reports whether no element was ever set.
func (a *elemObjs) Empty() bool { return len(a.s) == 0 }

// Permute reorders the elements: element i becomes the old element order[i].
func (a *elemObjs) Permute(order []int32) {
	if a.Empty() {
		return
	}
	s := make([]*RRSet, len(order))
	for i, j := range order {
		s[i] = a.Get(int(j))
	}
	a.s = s
}

package dnsmsg

// NameSet is the Go side of ljdns's rrparser.nameset() (API.md §2.3).
//
//	ns := dnsmsg.NewNameSet()
//	ns.Put(wire)          // append a copy (uncompressed wire incl. root)
//	ns.Sort()             // canonical order; idempotent: names put later are not indexed
//	i, err := ns.Search(wire) // equal name, else greatest below; -1 if none (ErrNameSetUnsorted before Sort)
//	w := ns.Get(i)        // wire of name i (aliases the set's storage: do not modify)
//
// All names live in one byte arena with offsets (no per-name allocation);
// sorting and searching compare precomputed canonical keys (sortkey.go).

import (
	"bytes"
	"errors"
)

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
	ns.sorted, ns.nsorted = true, n
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

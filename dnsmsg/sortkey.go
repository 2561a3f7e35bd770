package dnsmsg

// Canonical sort keys and the indexes shared by SortedSet and NameSet.
//
// The sort key of a name (appendSortKey) is its labels from the root side,
// ASCII-lowercased, bytes 0x00/0x01 escaped, each label followed by 0x00.
// Comparing two keys with bytes.Compare gives exactly CompareNames' order
// up to case, so sorting and searching are memcmp; ties between names that
// differ only in case are broken on the raw wire bytes as CompareNames
// does. Searches first probe a hash table of case-folded names (exact
// matches: no key, no binary search); a miss binary-searches the keys,
// comparing the 16 key bytes after the prefix common to all keys inline
// before touching the key arena.

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"slices"
)

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
	// Merge into items from the front with only the left half copied out:
	// the next place written is never past the next right item unread.
	left = slices.Clone(left)
	w, i, j := 0, 0, 0
	for i < len(left) && j < len(right) {
		if cmp(right[j], left[i]) < 0 {
			items[w] = right[j]
			j++
		} else {
			items[w] = left[i]
			i++
		}
		w++
	}
	copy(items[w:], left[i:]) // what is left of right is in place already
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
// the first element of its owner run. The table has at least twice as
// many slots as elements (sized by owner runs instead, genzone's 1M-record
// zone fills 44% of it, not 22%, and searches probe enough longer to cost
// 5 ns of 65).
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

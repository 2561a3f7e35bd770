package sift

// boltfile.go reads bbolt's on-disk format (version 2) directly from a
// read-only memory map of the store file: meta pages, the root bucket,
// bucket trees (inline or paged), branch and leaf pages. Read
// transactions use it instead of bbolt's cursors, for two reasons:
//
//   - speed: a lookup is a plain binary-search descent with no cursor
//     stack, node cache or closure per comparison (BenchmarkStoreGet);
//   - read-only environments need no bbolt handle at all, hence no file
//     lock, so another process can read while a writer has the store open
//     (the reader table in readers.go keeps their pages from being reused).
//
// The file is untrusted input: every offset is checked against the
// snapshot's bounds, and a malformed file gives errCorrupt or "not found",
// never a fault (FuzzBoltFile).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"math/bits"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bbolt file format constants.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	pageElementSize  = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	bucketLeafFlag   = 0x01 // leaf element holding a nested bucket
	bucketHeaderSize = 16   // root pgid u64, sequence u64
	metaChecksumEnd  = 56   // bytes of the meta covered by its checksum
	maxTreeDepth     = 64   // deeper means a corrupt (cyclic) file
)

var errCorrupt = errors.New("lmdb: MDB_CORRUPTED: store file is malformed")

// boltMeta is the decoded, validated meta page of one committed snapshot.
type boltMeta struct {
	pageSize uint32
	root     uint64 // root page of the root bucket (bucket names → buckets)
	pgid     uint64 // high-water mark: every page of the snapshot is below it
	txid     uint64
}

// parseMeta decodes the meta at the start of b (the bytes after a meta
// page's header) and checks magic, version and checksum.
func parseMeta(b []byte) (boltMeta, bool) {
	if len(b) < metaChecksumEnd+8 {
		return boltMeta{}, false
	}
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != boltMagic || le.Uint32(b[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(b[:metaChecksumEnd])
	if h.Sum64() != le.Uint64(b[metaChecksumEnd:]) {
		return boltMeta{}, false
	}
	m := boltMeta{pageSize: le.Uint32(b[8:]), root: le.Uint64(b[16:]), pgid: le.Uint64(b[40:]), txid: le.Uint64(b[48:])}
	if m.pageSize < 512 || m.pageSize > 1<<20 || m.pageSize&(m.pageSize-1) != 0 || m.root < 2 || m.root >= m.pgid {
		return boltMeta{}, false
	}
	return m, true
}

// metaPages returns the valid metas of the two meta pages of data (page
// size psize); ok0/ok1 tell which are valid.
func metaPages(data []byte, psize int) (m0, m1 boltMeta, ok0, ok1 bool) {
	if len(data) >= pageHeaderSize+metaChecksumEnd+8 {
		m0, ok0 = parseMeta(data[pageHeaderSize:])
		ok0 = ok0 && int(m0.pageSize) == psize
	}
	if len(data) >= psize+pageHeaderSize+metaChecksumEnd+8 {
		m1, ok1 = parseMeta(data[psize+pageHeaderSize:])
		ok1 = ok1 && int(m1.pageSize) == psize
	}
	return
}

// latestMeta returns the newest valid meta of data.
func latestMeta(data []byte, psize int) (boltMeta, error) {
	m0, m1, ok0, ok1 := metaPages(data, psize)
	switch {
	case ok0 && ok1 && m1.txid > m0.txid, !ok0 && ok1:
		return m1, nil
	case ok0:
		return m0, nil
	}
	return boltMeta{}, errCorrupt
}

// metaOf returns the valid meta of data whose txid is txid.
func metaOf(data []byte, psize int, txid uint64) (boltMeta, error) {
	m0, m1, ok0, ok1 := metaPages(data, psize)
	switch {
	case ok0 && m0.txid == txid:
		return m0, nil
	case ok1 && m1.txid == txid:
		return m1, nil
	}
	return boltMeta{}, errCorrupt
}

// filePageSize reads the page size of the store file f from whichever meta
// page is valid.
func filePageSize(f *os.File) (int, error) {
	buf := make([]byte, 64<<10)
	n, _ := f.ReadAt(buf, 0)
	buf = buf[:n]
	if m, ok := parseMeta(buf[min(len(buf), pageHeaderSize):]); ok {
		return int(m.pageSize), nil
	}
	// Meta page 0 torn: find meta page 1 at a plausible page size.
	for ps := 512; ps <= len(buf)/2; ps <<= 1 {
		if m, ok := parseMeta(buf[ps+pageHeaderSize:]); ok && int(m.pageSize) == ps {
			return ps, nil
		}
	}
	if n == 0 {
		return 0, errors.New("lmdb: store file is empty")
	}
	return 0, errCorrupt
}

// boltTree is one bucket's B+tree inside a snapshot of the mapped file.
type boltTree struct {
	data   []byte // the snapshot's pages (bounded by its high-water mark and the file size)
	psize  uint64
	npages uint64 // len(data) / psize
	root   uint64 // root page; 0 for an inline bucket
	inline []byte // the single leaf page of an inline bucket
}

// page returns the bytes of page id including its overflow pages, or nil
// when it does not lie inside the snapshot.
func (t *boltTree) page(id uint64) []byte {
	if id == 0 && t.inline != nil {
		return t.inline
	}
	if id < 2 || id >= t.npages {
		return nil
	}
	off := id * t.psize
	p := t.data[off:]
	n := (uint64(binary.LittleEndian.Uint32(p[12:])) + 1) * t.psize
	if n > uint64(len(p)) {
		return nil
	}
	return p[:n:n]
}

// pageCount returns the flags and element count of page p, with count 0
// when the elements would not fit the page.
func pageCount(p []byte) (flags uint16, count int) {
	if len(p) < pageHeaderSize {
		return 0, 0
	}
	flags = binary.LittleEndian.Uint16(p[8:])
	count = int(binary.LittleEndian.Uint16(p[10:]))
	if pageHeaderSize+count*pageElementSize > len(p) {
		count = 0
	}
	return
}

// branchElem returns key and child page of branch element i of p (count
// already checked); nil key when out of bounds.
func branchElem(p []byte, i int) (key []byte, child uint64) {
	if key = elemKey(p, i, 0); key == nil {
		return nil, 0
	}
	return key, binary.LittleEndian.Uint64(p[pageHeaderSize+i*pageElementSize+8:])
}

// leafElem returns flags, key and value of leaf element i of p; ok false
// when out of bounds.
func leafElem(p []byte, i int) (flags uint32, key, val []byte, ok bool) {
	e := pageHeaderSize + i*pageElementSize
	le := binary.LittleEndian
	pos := uint64(e) + uint64(le.Uint32(p[e+4:]))
	kend := pos + uint64(le.Uint32(p[e+8:]))
	vend := kend + uint64(le.Uint32(p[e+12:]))
	if vend > uint64(len(p)) {
		return 0, nil, nil, false
	}
	return le.Uint32(p[e:]), p[pos:kend:kend], p[kend:vend:vend], true
}

// elemKey returns the key of element i of p, a branch page (kOff 0) or a
// leaf page (kOff 4); nil when out of bounds.
func elemKey(p []byte, i, kOff int) []byte {
	// The element array was checked against the page (pageCount), so its
	// fields load without bounds checks; the key range is checked.
	e := unsafe.Add(unsafe.Pointer(unsafe.SliceData(p)), pageHeaderSize+i*pageElementSize+kOff)
	pos := uint64(pageHeaderSize+i*pageElementSize) + uint64(*(*uint32)(e))
	end := pos + uint64(*(*uint32)(unsafe.Add(e, 4)))
	if end > uint64(len(p)) {
		return nil
	}
	return p[pos:end:end]
}

// searchPage returns the index of the first of the n elements of p whose
// key is >= key (> key with upper): a plain binary search. (Comparing
// eight-byte words past the page's common prefix was tried: no faster,
// the cost is in reaching the keys, not in comparing them.)
func searchPage(p []byte, n int, key []byte, kOff int, upper bool) int {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		c := bytes.Compare(elemKey(p, m, kOff), key)
		if c < 0 || (upper && c == 0) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// searchBranch returns the index of the child whose range holds key: the
// last element with a key <= key (0 when key sorts first).
func searchBranch(p []byte, n int, key []byte) int {
	return max(searchPage(p, n, key, 0, true)-1, 0)
}

// searchLeaf returns the index of the first element with a key >= key.
func searchLeaf(p []byte, n int, key []byte) int {
	return searchPage(p, n, key, 4, false)
}

// get returns the value of key (nil when absent) and its leaf flags.
func (t *boltTree) get(key []byte) ([]byte, uint32) {
	if t.data == nil && t.inline == nil {
		return nil, 0
	}
	id := t.root
	for depth := 0; depth < maxTreeDepth; depth++ {
		p := t.page(id)
		flags, n := pageCount(p)
		switch {
		case flags&branchPageFlag != 0 && n > 0:
			_, id = branchElem(p, searchBranch(p, n, key))
		case flags&leafPageFlag != 0:
			return leafGet(p, n, key)
		default:
			return nil, 0
		}
	}
	return nil, 0
}

// bucket returns the tree of the nested bucket name of t (t being the
// root bucket of a snapshot); ok false when there is none.
func (t *boltTree) bucket(name []byte) (boltTree, bool) {
	v, f := t.get(name)
	if f&bucketLeafFlag == 0 || len(v) < bucketHeaderSize {
		return boltTree{}, false
	}
	sub := boltTree{data: t.data, psize: t.psize, npages: t.npages, root: binary.LittleEndian.Uint64(v)}
	if sub.root == 0 {
		sub.inline = v[bucketHeaderSize:]
		if len(sub.inline) < pageHeaderSize {
			return boltTree{}, false
		}
	}
	return sub, true
}

// treeStats counts the pages and entries of a tree.
type treeStats struct {
	depth, branch, leaf, overflow, entries int
}

// stats walks the whole tree.
func (t *boltTree) stats() treeStats {
	var s treeStats
	if t.data == nil && t.inline == nil {
		return s
	}
	seen := map[uint64]bool{} // a malformed file may share or loop pages
	var walk func(id uint64, depth int)
	walk = func(id uint64, depth int) {
		if depth > maxTreeDepth || seen[id] {
			return
		}
		seen[id] = true
		p := t.page(id)
		flags, n := pageCount(p)
		s.depth = max(s.depth, depth)
		if id != 0 || t.inline == nil {
			s.overflow += len(p)/int(t.psize) - 1
		}
		switch {
		case flags&branchPageFlag != 0:
			s.branch++
			for i := 0; i < n; i++ {
				if _, c := branchElem(p, i); c != 0 {
					walk(c, depth+1)
				}
			}
		case flags&leafPageFlag != 0:
			s.leaf++
			for i := 0; i < n; i++ {
				if f, _, _, ok := leafElem(p, i); ok && f&bucketLeafFlag == 0 {
					s.entries++
				}
			}
		}
	}
	walk(t.root, 1)
	return s
}

// boltCursor walks a tree in key order. Keys and values alias the map and
// stay valid while the snapshot does.
type boltCursor struct {
	t     *boltTree
	stack []cursorFrame
}

type cursorFrame struct {
	id    uint64
	p     []byte
	index int
	count int
	leaf  bool
}

// push enters page id at the first (or last) element; false when the page
// is not a usable tree page.
func (c *boltCursor) push(id uint64, last bool) bool {
	if len(c.stack) >= maxTreeDepth {
		return false
	}
	for _, f := range c.stack {
		if f.id == id {
			return false // a page inside itself: malformed
		}
	}
	p := c.t.page(id)
	flags, n := pageCount(p)
	leaf := flags&leafPageFlag != 0
	if !leaf && (flags&branchPageFlag == 0 || n == 0) {
		return false
	}
	i := 0
	if last {
		i = n - 1
	}
	c.stack = append(c.stack, cursorFrame{id: id, p: p, index: i, count: n, leaf: leaf})
	return true
}

// descend goes from the top frame down to a leaf along first (or last)
// children.
func (c *boltCursor) descend(last bool) bool {
	for {
		f := &c.stack[len(c.stack)-1]
		if f.leaf {
			return true
		}
		_, child := branchElem(f.p, f.index)
		if !c.push(child, last) {
			return false
		}
	}
}

// current returns the entry under the cursor, skipping nothing; nil key
// when the cursor is off the end or on a malformed element.
func (c *boltCursor) current() (flags uint32, k, v []byte) {
	if len(c.stack) == 0 {
		return 0, nil, nil
	}
	f := &c.stack[len(c.stack)-1]
	if !f.leaf || f.index < 0 || f.index >= f.count {
		return 0, nil, nil
	}
	fl, k, v, ok := leafElem(f.p, f.index)
	if !ok {
		return 0, nil, nil
	}
	return fl, k, v
}

// settle moves forward (or backward) from the position until it is on a
// plain key/value entry and returns it; nil key at the end.
func (c *boltCursor) settle(back bool) ([]byte, []byte) {
	for guard := 0; guard < 1<<20 && len(c.stack) > 0; guard++ {
		f := &c.stack[len(c.stack)-1]
		if f.index >= 0 && f.index < f.count {
			fl, k, v := c.current()
			if k != nil && fl&bucketLeafFlag == 0 {
				return k, v
			}
		}
		if !c.step(back) {
			break
		}
	}
	c.stack = c.stack[:0]
	return nil, nil
}

// step moves one element forward (or backward) across pages; false at the
// end of the tree.
func (c *boltCursor) step(back bool) bool {
	i := len(c.stack) - 1
	for ; i >= 0; i-- {
		f := &c.stack[i]
		if !back && f.index < f.count-1 {
			f.index++
			break
		}
		if back && f.index > 0 {
			f.index--
			break
		}
	}
	if i < 0 {
		return false
	}
	c.stack = c.stack[:i+1]
	if !c.stack[i].leaf {
		return c.descend(back)
	}
	return true
}

// First positions on the first entry.
func (c *boltCursor) First() ([]byte, []byte) {
	c.stack = c.stack[:0]
	if !c.push(c.t.root, false) || !c.descend(false) {
		c.stack = c.stack[:0]
		return nil, nil
	}
	return c.settle(false)
}

// Last positions on the last entry.
func (c *boltCursor) Last() ([]byte, []byte) {
	c.stack = c.stack[:0]
	if !c.push(c.t.root, true) || !c.descend(true) {
		c.stack = c.stack[:0]
		return nil, nil
	}
	return c.settle(true)
}

// Next moves to the following entry.
func (c *boltCursor) Next() ([]byte, []byte) { return c.move(false) }

// Prev moves to the preceding entry.
func (c *boltCursor) Prev() ([]byte, []byte) { return c.move(true) }

// move steps once; in a well-formed tree keys strictly increase (decrease
// backwards), so anything else ends the walk instead of repeating shared
// or looping pages of a malformed file.
func (c *boltCursor) move(back bool) ([]byte, []byte) {
	_, from, _ := c.current()
	if len(c.stack) == 0 || !c.step(back) {
		c.stack = c.stack[:0]
		return nil, nil
	}
	k, v := c.settle(back)
	if k != nil && from != nil {
		if cmp := bytes.Compare(k, from); (!back && cmp <= 0) || (back && cmp >= 0) {
			c.stack = c.stack[:0]
			return nil, nil
		}
	}
	return k, v
}

// Seek positions on the first entry with a key >= key.
func (c *boltCursor) Seek(key []byte) ([]byte, []byte) {
	c.stack = c.stack[:0]
	if !c.push(c.t.root, false) {
		return nil, nil
	}
	for {
		f := &c.stack[len(c.stack)-1]
		if f.leaf {
			f.index = searchLeaf(f.p, f.count, key)
			if f.index >= f.count {
				// Past this leaf: the answer is the next leaf's first entry.
				f.index = f.count - 1
				if f.count == 0 || !c.step(false) {
					c.stack = c.stack[:0]
					return nil, nil
				}
			}
			return c.settle(false)
		}
		f.index = searchBranch(f.p, f.count, key)
		_, child := branchElem(f.p, f.index)
		if !c.push(child, false) {
			c.stack = c.stack[:0]
			return nil, nil
		}
	}
}

// mapping is one read-only memory map of the store file, shared by the
// read transactions that began while it was current.
type mapping struct {
	data  []byte
	refs  int
	stale bool // replaced by a larger map: unmapped when refs drops to 0
}

// mappedFile maps the store file read-only and hands out snapshots.
type mappedFile struct {
	f     *os.File
	psize int
	cur   *mapping
}

// openMapped opens the store file at path for lock-free reading.
func openMapped(path string) (*mappedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	ps, err := filePageSize(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &mappedFile{f: f, psize: ps}, nil
}

// fileSize returns the current size of the store file.
func (m *mappedFile) fileSize() (int64, error) {
	st, err := m.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// acquire returns a map covering at least need bytes, taking a reference
// the caller gives back with release. The map reserves address space
// beyond the file (at least minMmapSize) so it rarely needs replacing.
func (m *mappedFile) acquire(need int64) (*mapping, error) {
	if m.cur == nil || int64(len(m.cur.data)) < need {
		size := max(int64(minMmapSize), 2*need)
		size = (size + int64(m.psize) - 1) / int64(m.psize) * int64(m.psize)
		data, err := unix.Mmap(int(m.f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			return nil, err
		}
		if old := m.cur; old != nil {
			old.stale = true
			if old.refs == 0 {
				unix.Munmap(old.data)
			}
		}
		m.cur = &mapping{data: data}
	}
	m.cur.refs++
	return m.cur, nil
}

// release gives back a reference taken by acquire.
func (m *mappedFile) release(mp *mapping) {
	mp.refs--
	if mp.stale && mp.refs == 0 {
		unix.Munmap(mp.data)
		mp.data = nil
	}
}

// close unmaps and closes the file; mappings still referenced are unmapped
// as their transactions end.
func (m *mappedFile) close() error {
	if m.cur != nil {
		m.cur.stale = true
		if m.cur.refs == 0 {
			unix.Munmap(m.cur.data)
		}
		m.cur = nil
	}
	return m.f.Close()
}

// snapshot is a read transaction's view of the file: its map reference
// and the root bucket of one committed meta.
type snapshot struct {
	mp   *mapping
	meta boltMeta
	root boltTree
}

// begin makes a snapshot of the meta pick chooses from the file's two
// meta pages (data holds at least both). The snapshot holds a reference
// on its map until end.
func (m *mappedFile) begin(pick func(data []byte) (boltMeta, error)) (*snapshot, error) {
	size, err := m.fileSize()
	if err != nil {
		return nil, err
	}
	if size < int64(2*m.psize) {
		return nil, errCorrupt
	}
	mp, err := m.acquire(int64(2 * m.psize))
	if err != nil {
		return nil, err
	}
	meta, err := pick(mp.data)
	if err != nil {
		m.release(mp)
		return nil, err
	}
	// The file only grows, and a meta is written after its pages: the
	// size read now covers every page of the snapshot.
	if size, err = m.fileSize(); err != nil {
		m.release(mp)
		return nil, err
	}
	need := min(int64(meta.pgid)*int64(m.psize), size)
	if need > int64(len(mp.data)) {
		m.release(mp)
		if mp, err = m.acquire(need); err != nil {
			return nil, err
		}
	}
	if meta.root*uint64(m.psize) >= uint64(need) {
		m.release(mp)
		return nil, errCorrupt
	}
	s := &snapshot{mp: mp, meta: meta}
	s.root = boltTree{data: mp.data[:need:need], psize: uint64(m.psize), npages: uint64(need) / uint64(m.psize), root: meta.root}
	return s, nil
}

// end gives back the snapshot's map reference (idempotent).
func (m *mappedFile) end(s *snapshot) {
	if s != nil && s.mp != nil {
		m.release(s.mp)
		s.mp = nil
	}
}

// copyTo writes the snapshot as a store file at dst: its pages, with both
// meta pages holding its meta (so the copy opens at this snapshot).
func (s *snapshot) copyTo(dst string, psize int) error {
	data := s.root.data
	n := min(uint64(len(data)), s.meta.pgid*uint64(psize))
	m0, _, ok0, _ := metaPages(data, psize)
	metaPage := data[psize : 2*psize]
	if ok0 && m0.txid == s.meta.txid {
		metaPage = data[:psize]
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	page := append([]byte(nil), metaPage...)
	for id := range uint64(2) {
		binary.LittleEndian.PutUint64(page, id)
		if _, err = f.WriteAt(page, int64(id)*int64(psize)); err != nil {
			break
		}
	}
	if err == nil && n > uint64(2*psize) {
		_, err = f.WriteAt(data[2*psize:n], int64(2*psize))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// fenceIndex is the lowest branch level of a tree (the first key of every
// leaf) flattened into one sorted array, so that a lookup finds its leaf
// with one binary search over machine words instead of descending through
// branch pages: past the prefix every separator shares, the next eight
// bytes of each separator are kept as a word, and only equal words need
// the full comparison. It is built from the pages of one snapshot and
// points into its map.
type fenceIndex struct {
	prefix []byte   // prefix shared by every separator
	heads  []uint64 // the eight bytes after prefix of each separator, zero-padded
	seps   [][]byte // the separators
	leaves []uint64 // the leaf page of each separator
}

// maxFenceLeaves bounds the size of a fence index (24 bytes per leaf).
const maxFenceLeaves = 1 << 20

// buildFence returns the fence index of t, or nil when the tree has fewer
// than two branch levels (the descent is short anyway), is too large, or
// is malformed.
func (t *boltTree) buildFence() *fenceIndex {
	f := &fenceIndex{}
	var walk func(id uint64, depth int) bool
	walk = func(id uint64, depth int) bool {
		p := t.page(id)
		flags, n := pageCount(p)
		if depth > maxTreeDepth || flags&branchPageFlag == 0 || n == 0 || len(f.leaves)+n > maxFenceLeaves {
			return false
		}
		_, first := branchElem(p, 0)
		if cf, _ := pageCount(t.page(first)); cf&leafPageFlag != 0 {
			for i := 0; i < n; i++ {
				k, c := branchElem(p, i)
				if k == nil {
					return false
				}
				f.seps = append(f.seps, k)
				f.leaves = append(f.leaves, c)
			}
			return true
		}
		for i := 0; i < n; i++ {
			if _, c := branchElem(p, i); !walk(c, depth+1) {
				return false
			}
		}
		return true
	}
	p := t.page(t.root)
	if flags, _ := pageCount(p); flags&branchPageFlag == 0 || !walk(t.root, 0) || len(f.seps) < 2 {
		return nil
	}
	if _, first := branchElem(p, 0); first != 0 {
		if cf, _ := pageCount(t.page(first)); cf&leafPageFlag != 0 {
			return nil // one branch level: the root page is its own fence
		}
	}
	for i := 1; i < len(f.seps); i++ {
		if bytes.Compare(f.seps[i-1], f.seps[i]) >= 0 {
			return nil // not sorted: malformed
		}
	}
	l := commonPrefix(f.seps[0], f.seps[len(f.seps)-1])
	f.prefix = f.seps[0][:l]
	f.heads = make([]uint64, len(f.seps))
	for i, s := range f.seps {
		f.heads[i] = keyHead(s, l)
	}
	return f
}

// leaf returns the leaf page whose range holds key: that of the last
// separator <= key (the first leaf when key sorts first).
func (f *fenceIndex) leaf(key []byte) uint64 {
	l := len(f.prefix)
	if len(key) < l || !bytes.Equal(key[:l], f.prefix) {
		// key leaves the shared prefix: before or after every separator.
		if bytes.Compare(key, f.prefix) < 0 {
			return f.leaves[0]
		}
		return f.leaves[len(f.leaves)-1]
	}
	kh := keyHead(key, l)
	lo, hi := 0, len(f.heads)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		h := f.heads[m]
		if h < kh || h == kh && bytes.Compare(f.seps[m], key) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return f.leaves[max(lo-1, 0)]
}

// getInLeaf is get for a key whose leaf page is known.
func (t *boltTree) getInLeaf(id uint64, key []byte) ([]byte, uint32) {
	p := t.page(id)
	flags, n := pageCount(p)
	if flags&leafPageFlag == 0 {
		return nil, 0
	}
	return leafGet(p, n, key)
}

// leafGet returns the value and flags of key in leaf page p of n
// elements (nil when absent).
func leafGet(p []byte, n int, key []byte) ([]byte, uint32) {
	i := searchLeaf(p, n, key)
	if i >= n {
		return nil, 0
	}
	f, k, v, ok := leafElem(p, i)
	if !ok || !bytes.Equal(k, key) {
		return nil, 0
	}
	return v, f
}

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := 0
	for len(a)-n >= 8 && len(b)-n >= 8 {
		if x := binary.BigEndian.Uint64(a[n:]) ^ binary.BigEndian.Uint64(b[n:]); x != 0 {
			return n + bits.LeadingZeros64(x)/8
		}
		n += 8
	}
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// keyHead returns the eight bytes of k from offset l as a big-endian word,
// zero-padded: a smaller word means a smaller key, a larger one a larger
// key; equal words need the full comparison.
func keyHead(k []byte, l int) uint64 {
	switch {
	case len(k) >= l+8:
		return binary.BigEndian.Uint64(k[l:])
	case len(k) >= 8:
		// The last eight bytes, shifted so k[l] comes first (a shift of
		// 64 or more gives 0).
		return binary.BigEndian.Uint64(k[len(k)-8:]) << (uint(l+8-len(k)) * 8)
	}
	var w uint64
	for i := 0; i < 8; i++ {
		w <<= 8
		if l+i < len(k) {
			w |= uint64(k[l+i])
		}
	}
	return w
}

package sift

// store.go is the plain-Go core of dns.lmdb: an LMDB-shaped environment,
// transaction and cursor over one bbolt file. It never imports gopher-lua.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Environment flags (LMDB values, API.md §2.8).
const (
	EnvFixedMap    = 0x01
	EnvNoSubdir    = 0x4000
	EnvNoSync      = 0x10000
	EnvRdonly      = 0x20000
	EnvNoMetaSync  = 0x40000
	EnvWriteMap    = 0x80000
	EnvMapAsync    = 0x100000
	EnvNoTLS       = 0x200000
	EnvNoLock      = 0x400000
	EnvNoReadAhead = 0x800000
	EnvNoMemInit   = 0x1000000
)

// Put flags.
const (
	PutNoOverwrite = 0x10
	PutNoDupData   = 0x20
	PutCurrent     = 0x40
	PutReserve     = 0x10000
	PutAppend      = 0x20000
	PutAppendDup   = 0x40000
	PutMultiple    = 0x80000
)

// DB-open flags.
const (
	DBReverseKey = 0x02
	DBDupSort    = 0x04
	DBIntegerKey = 0x08
	DBDupFixed   = 0x10
	DBIntegerDup = 0x20
	DBReverseDup = 0x40
	DBCreate     = 0x40000
)

// Store defaults and limits.
const (
	defaultMapSize = 100 << 20 // LMDB's advisory map size when none is given
	storeFileName  = "data.mdb"
	lockTimeout    = 500 * time.Millisecond // waiting for another process's file lock
)

// minMmapSize is the smallest initial bbolt mmap: large, so commits rarely
// remap (address space only; the file grows as needed). A variable for tests.
var minMmapSize = 1 << 30

// mainBucket is the bbolt bucket holding the unnamed (default) database.
var mainBucket = []byte("\x00main")

// stagingBucket holds a bulk load in progress (BulkLoad); a crash leaves
// it behind, and the next writable open removes it.
var stagingBucket = []byte("\x00load")

// bulkBatch is the number of pairs BulkLoad commits at a time: bbolt keeps
// a transaction's nodes and pages in memory until its commit.
const bulkBatch = 8192

// Sentinel errors of the store.
var (
	ErrTxnEnded     = errors.New("operation on aborted transaction")
	ErrReadOnlyTxn  = errors.New("lmdb: permission denied (read-only transaction)")
	ErrNotFound     = errors.New("lmdb: MDB_NOTFOUND: no matching key/data pair found")
	ErrEnvClosed    = errors.New("lmdb: environment is closed")
	ErrWriterActive = errors.New("lmdb: a write transaction is already active in this environment")
	ErrRemapBusy    = errors.New("lmdb: write would remap the store while a read transaction is open")
	ErrBadDBI       = errors.New("lmdb: invalid database handle")
	ErrNested       = errors.New("lmdb: nested transactions are not supported")
)

// fenceEntry caches a fence index for the transactions that read the same
// snapshot of the same tree through the same map.
type fenceEntry struct {
	mp    *mapping
	txid  uint64
	root  uint64
	index *fenceIndex // nil: the tree has none
}

// fenceAfter is the number of lookups in one read transaction after which
// it builds (or takes from the environment) the fence index of its tree.
const fenceAfter = 64

// Env is an open store: one bbolt file, one bucket per database handle.
// Writes go through bbolt; read transactions read the file's pages
// directly (boltfile.go), and a read-only environment does not open bbolt
// at all, so it takes no file lock and can read while a writer works.
type Env struct {
	db       *bolt.DB     // writable environments only
	mf       *mappedFile  // the read path
	table    *readerTable // the shared reader table (nil when it cannot be opened read-only)
	pins     map[uint64]*bolt.Tx
	fence    fenceEntry // the fence index of the newest snapshot read
	closed   bool
	path     string            // path as given to Open
	file     string            // the bbolt file
	flags    uint32            // environment flags
	mmapSize int               // bbolt InitialMmapSize
	names    []string          // dbi -> database name ("" for the unnamed DB at dbi 0)
	writer   *Txn              // active write transaction, if any
	readers  int               // open read transactions
	open     map[*Txn]struct{} // open read transactions, ended by Close
	remote   *etcdEnv          // an etcd store (etcd.go): none of the above but these maps
}

// OpenEnv opens (creating the file if needed) the store at path. Without
// EnvNoSubdir, path must be an existing directory holding data.mdb.
func OpenEnv(path string, flags uint32, mapSize int, mode os.FileMode) (*Env, error) {
	if isEtcdURI(path) {
		return openEtcdEnv(path, flags)
	}
	file := path
	if flags&EnvNoSubdir == 0 {
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("lmdb: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("lmdb: %s: not a directory", path)
		}
		file = filepath.Join(path, storeFileName)
	}
	if mapSize <= 0 {
		mapSize = defaultMapSize
	}
	e := &Env{path: path, file: file, flags: flags, mmapSize: max(mapSize, minMmapSize), names: []string{""}}
	if flags&EnvRdonly != 0 {
		return e, e.openReadOnly(mode)
	}
	opts := &bolt.Options{
		Timeout:         lockTimeout,
		InitialMmapSize: e.mmapSize,
		NoSync:          flags&(EnvNoSync|EnvMapAsync) != 0,
		NoFreelistSync:  flags&(EnvNoSync|EnvMapAsync) != 0,
		NoGrowSync:      flags&(EnvNoSync|EnvMapAsync|EnvNoMetaSync) != 0,
		FreelistType:    bolt.FreelistMapType,
	}
	db, err := bolt.Open(file, mode, opts)
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("lmdb: %s is locked by another process", file)
		}
		return nil, fmt.Errorf("lmdb: %w", err)
	}
	e.db = db
	err = db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(stagingBucket) != nil {
			if err := tx.DeleteBucket(stagingBucket); err != nil {
				return err
			}
		}
		_, err := tx.CreateBucketIfNotExists(mainBucket)
		return err
	})
	if err == nil && flags&EnvNoLock == 0 {
		if e.table, err = openReaderTable(lockFilePath(path, flags), mode); err == nil {
			err = e.table.bumpGeneration() // readers of older snapshots lose their pins
		}
	}
	if err == nil {
		e.mf, err = openMapped(file)
	}
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("lmdb: %w", err)
	}
	return e, nil
}

// openReadOnly opens the read path of a read-only environment: no bbolt
// handle, no file lock; its transactions register their snapshots in the
// reader table. Without write access to the table (read-only media, where
// no writer can run either), or with NOLOCK, it reads without registering.
func (e *Env) openReadOnly(mode os.FileMode) error {
	mf, err := openMapped(e.file)
	if err != nil {
		return fmt.Errorf("lmdb: %w", err)
	}
	e.mf = mf
	if e.flags&EnvNoLock != 0 {
		return nil // NOLOCK: the caller keeps writers away
	}
	if t, err := openReaderTable(lockFilePath(e.path, e.flags), mode); err == nil {
		e.table = t
		t.mapGeneration()
	}
	return nil
}

// pinSnapshots runs before each write transaction of a writable
// environment: it pins the newest snapshot with a bbolt read transaction
// and drops pins of snapshots no reader of the table uses (readers.go).
func (e *Env) pinSnapshots() {
	if e.table == nil {
		return
	}
	tx, err := e.db.Begin(false)
	if err != nil {
		return
	}
	newest := uint64(tx.ID())
	if e.pins == nil {
		e.pins = map[uint64]*bolt.Tx{}
	}
	if e.pins[newest] == nil {
		e.pins[newest] = tx
	} else {
		tx.Rollback()
	}
	used, err := e.table.inUse()
	if err != nil {
		return // keep every pin
	}
	for id, p := range e.pins {
		if id != newest && !used[id] {
			p.Rollback()
			delete(e.pins, id)
		}
	}
}

// dropPins ends every pin (before a commit that remaps, and on close).
func (e *Env) dropPins() {
	for id, p := range e.pins {
		p.Rollback()
		delete(e.pins, id)
	}
}

// Path returns the path the environment was opened with.
func (e *Env) Path() string { return e.path }

// Closed reports whether Close was called.
func (e *Env) Closed() bool { return e.closed }

// Close closes the store (idempotent). Open transactions are rolled back.
func (e *Env) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	// bbolt's Close waits for every read transaction: in one goroutine
	// that would never return, so end them first.
	if e.writer != nil {
		e.writer.Abort()
	}
	for t := range e.open {
		t.Abort()
	}
	if e.remote != nil {
		return e.remote.cl.Close()
	}
	e.dropPins()
	var err error
	if e.db != nil {
		err = e.db.Close()
		e.db = nil
	}
	if e.mf != nil {
		e.mf.close()
	}
	if e.table != nil {
		e.table.close()
	}
	return err
}

// bucketName returns the bbolt bucket of database handle dbi.
func (e *Env) bucketName(dbi int) ([]byte, error) {
	if dbi < 0 || dbi >= len(e.names) {
		return nil, ErrBadDBI
	}
	if dbi == 0 {
		return mainBucket, nil
	}
	return []byte(e.names[dbi]), nil
}

// DBI returns the handle of database name ("" = unnamed), creating the
// bucket inside txn when create is set and txn is writable.
func (e *Env) DBI(txn *Txn, name string, create bool) (int, error) {
	if name == "" {
		return 0, nil
	}
	if name[0] == 0 {
		return 0, fmt.Errorf("lmdb: invalid database name %q", name)
	}
	if e.remote != nil {
		return 0, ErrEtcdNamedDB
	}
	i := slices.Index(e.names, name)
	if txn.rdonly {
		if _, ok := txn.snap.root.bucket([]byte(name)); !ok {
			return 0, ErrNotFound
		}
	} else if txn.tx.Bucket([]byte(name)) == nil {
		if !create || !txn.tx.Writable() {
			return 0, ErrNotFound
		}
		if _, err := txn.tx.CreateBucket([]byte(name)); err != nil {
			return 0, fmt.Errorf("lmdb: %w", err)
		}
	}
	if i < 0 {
		e.names = append(e.names, name)
		i = len(e.names) - 1
	}
	return i, nil
}

// Begin starts a transaction on database dbi. A second write transaction
// in the same environment is refused (bbolt would block forever).
func (e *Env) Begin(dbi int, rdonly bool) (*Txn, error) {
	if e.closed {
		return nil, ErrEnvClosed
	}
	if !rdonly && e.writer != nil {
		return nil, ErrWriterActive
	}
	if !rdonly && e.flags&EnvRdonly != 0 {
		return nil, fmt.Errorf("lmdb: %w", bolt.ErrDatabaseReadOnly)
	}
	t := &Txn{env: e, dbi: dbi, rdonly: rdonly}
	if err := t.begin(); err != nil {
		return nil, err
	}
	return t, nil
}

// Stat returns statistics of the unnamed database: page size, depth,
// branch/leaf/overflow pages and entries.
func (e *Env) Stat() (psize, depth, branch, leaf, overflow, entries int, err error) {
	if e.remote != nil {
		if e.closed {
			return 0, 0, 0, 0, 0, 0, ErrEnvClosed
		}
		return e.statEtcd()
	}
	t, err := e.Begin(0, true)
	if err != nil {
		return 0, 0, 0, 0, 0, 0, err
	}
	defer t.Abort()
	st := t.tree.stats()
	if t.lost() {
		return 0, 0, 0, 0, 0, 0, ErrSnapshotLost
	}
	return e.mf.psize, st.depth, st.branch, st.leaf, st.overflow, st.entries, nil
}

// Copy writes a consistent copy of the store to dst (a directory, which
// receives data.mdb, or a file path).
func (e *Env) Copy(dst string) error {
	if e.closed {
		return ErrEnvClosed
	}
	if e.remote != nil {
		return ErrEtcdCopy
	}
	if st, err := os.Stat(dst); err == nil && st.IsDir() {
		dst = filepath.Join(dst, storeFileName)
	}
	if e.db != nil {
		return e.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(dst, 0o640) })
	}
	t, err := e.Begin(0, true)
	if err != nil {
		return err
	}
	defer t.Abort()
	if err := t.snap.copyTo(dst, e.mf.psize); err != nil {
		return err
	}
	if t.lost() {
		os.Remove(dst)
		return ErrSnapshotLost
	}
	return nil
}

// Txn is one transaction on one database of an Env.
type Txn struct {
	env    *Env
	tx     *bolt.Tx     // write transactions; in a writable env also pins a read's snapshot
	bucket *bolt.Bucket // write transactions: the database's bucket
	snap   *snapshot    // read transactions: the file snapshot
	tree   boltTree     // read transactions: the database's tree (empty when absent)
	fence  *fenceIndex  // read transactions: the tree's fence index, once looked up
	gets   int          // read transactions: lookups so far (until fenceAfter)
	slot   int          // read transactions of a read-only env: reader-table slot, or -1
	gen    uint64       // read transactions of a read-only env: writer generation at begin
	dbi    int
	rdonly bool
	valid  bool
	dirty  int64    // bytes put in this write transaction (remap estimate)
	r      *etcdTxn // transactions of an etcd store
	OnEnd  func()   // called whenever the transaction ends (the Lua binding refreshes txn.valid)
	Gen    uint64   // incremented whenever the transaction ends; values read before are stale
}

func (t *Txn) begin() error {
	e := t.env
	if e.closed {
		return ErrEnvClosed
	}
	name, err := e.bucketName(t.dbi)
	if err != nil {
		return err
	}
	if e.remote != nil {
		return t.beginEtcd()
	}
	if t.rdonly {
		if err := t.beginRead(); err != nil {
			return fmt.Errorf("lmdb: %w", err)
		}
		t.valid = true
		t.useDB(t.dbi)
		e.readers++
		if e.open == nil {
			e.open = make(map[*Txn]struct{})
		}
		e.open[t] = struct{}{}
		return nil
	}
	e.pinSnapshots()
	tx, err := e.db.Begin(true)
	if err != nil {
		return fmt.Errorf("lmdb: %w", err)
	}
	t.tx, t.valid = tx, true
	if t.bucket, err = tx.CreateBucketIfNotExists(name); err != nil {
		tx.Rollback()
		t.valid = false
		return fmt.Errorf("lmdb: %w", err)
	}
	e.writer = t
	return nil
}

// beginRead takes the snapshot of a read transaction: in a writable env,
// that of a bbolt read transaction (which keeps its pages); in a read-only
// env, the newest one, registered in the reader table.
func (t *Txn) beginRead() error {
	e, mf := t.env, t.env.mf
	t.slot = -1
	if e.db != nil {
		tx, err := e.db.Begin(false)
		if err != nil {
			return err
		}
		snap, err := mf.begin(func(data []byte) (boltMeta, error) { return metaOf(data, mf.psize, uint64(tx.ID())) })
		if err != nil {
			tx.Rollback()
			return err
		}
		t.tx, t.snap = tx, snap
		return nil
	}
	if e.table != nil {
		slot, err := e.table.acquire()
		if err != nil {
			return err
		}
		t.slot = slot
	}
	t.gen = e.table.generation() // before the snapshot: see readers.go
	snap, err := mf.begin(func(data []byte) (boltMeta, error) {
		for range 1000 {
			m, err := latestMeta(data, mf.psize)
			if err != nil || t.slot < 0 {
				return m, err
			}
			if err := e.table.set(t.slot, m.txid); err != nil {
				return m, err
			}
			// Still the newest once registered: a writer beginning from
			// now on sees the registration and keeps it.
			if again, err := latestMeta(data, mf.psize); err == nil && again.txid == m.txid {
				return m, nil
			}
		}
		return boltMeta{}, errors.New("store changing too fast to take a snapshot")
	})
	if err != nil {
		if t.slot >= 0 {
			e.table.release(t.slot)
			t.slot = -1
		}
		return err
	}
	t.snap = snap
	return nil
}

// fenceOf returns the fence index of read transaction t's tree, built
// once per snapshot and tree (nil when the tree has none).
func (e *Env) fenceOf(t *Txn) *fenceIndex {
	c := &e.fence
	if c.mp != t.snap.mp || c.txid != t.snap.meta.txid || c.root != t.tree.root || t.tree.inline != nil {
		*c = fenceEntry{mp: t.snap.mp, txid: t.snap.meta.txid, root: t.tree.root}
		if t.tree.inline == nil {
			c.index = t.tree.buildFence()
		}
	}
	return c.index
}

// lost reports whether a writer reopened the store since this read
// transaction of a read-only env began (its snapshot lost its pins).
func (t *Txn) lost() bool {
	return t.env.remote == nil && t.env.db == nil && t.env.table.generation() != t.gen
}

// useDB points the transaction at database dbi.
func (t *Txn) useDB(dbi int) {
	t.dbi = dbi
	if t.env.remote != nil {
		return
	}
	name, err := t.env.bucketName(dbi)
	if err != nil {
		return
	}
	if t.rdonly {
		t.tree, _ = t.snap.root.bucket(name)
		t.fence, t.gets = nil, 0
	} else {
		t.bucket = t.tx.Bucket(name)
	}
}

// Valid reports whether the transaction is still open.
func (t *Txn) Valid() bool { return t.valid }

// DBI returns the database handle of the transaction.
func (t *Txn) DBI() int { return t.dbi }

// ReadOnly reports whether the transaction is read-only.
func (t *Txn) ReadOnly() bool { return t.rdonly }

// Env returns the transaction's environment.
func (t *Txn) Env() *Env { return t.env }

func (t *Txn) end() {
	t.valid = false
	t.dirty = 0
	t.Gen++
	t.bucket, t.tree, t.fence, t.gets = nil, boltTree{}, nil, 0
	if t.r != nil {
		t.r = nil
		if t.rdonly {
			t.env.readers--
			delete(t.env.open, t)
		} else if t.env.writer == t {
			t.env.writer = nil
		}
	} else if t.rdonly {
		t.env.readers--
		delete(t.env.open, t)
		t.env.mf.end(t.snap)
		t.snap = nil
		if t.slot >= 0 {
			t.env.table.release(t.slot)
			t.slot = -1
		}
	} else if t.env.writer == t {
		t.env.writer = nil
	}
	t.tx = nil
	if t.OnEnd != nil {
		t.OnEnd()
	}
}

// Get returns the value of key, nil when absent. The slice points into the
// store's memory map and is valid until the transaction ends.
func (t *Txn) Get(key []byte) ([]byte, error) {
	if !t.valid {
		return nil, ErrTxnEnded
	}
	if t.r != nil {
		return t.getEtcd(key)
	}
	if t.rdonly {
		var v []byte
		var f uint32
		if t.fence != nil {
			v, f = t.tree.getInLeaf(t.fence.leaf(key), key)
		} else {
			if t.gets++; t.gets == fenceAfter {
				t.fence = t.env.fenceOf(t)
			}
			v, f = t.tree.get(key)
		}
		if t.lost() {
			return nil, ErrSnapshotLost
		}
		if f&bucketLeafFlag != 0 {
			return nil, nil
		}
		return v, nil
	}
	if t.bucket == nil || len(key) == 0 {
		return nil, nil
	}
	return t.bucket.Get(key), nil
}

// Put stores key → val. val must stay unchanged until the transaction
// ends (bbolt keeps the slice). With PutNoOverwrite an existing key gives
// (false, nil).
func (t *Txn) Put(key, val []byte, flags uint32) (bool, error) {
	if !t.valid {
		return false, ErrTxnEnded
	}
	if t.rdonly {
		return false, ErrReadOnlyTxn
	}
	if t.r != nil {
		return t.putEtcd(key, val, flags)
	}
	if len(key) == 0 {
		return false, errors.New("lmdb: MDB_BAD_VALSIZE: empty key")
	}
	if flags&PutNoOverwrite != 0 && t.bucket.Get(key) != nil {
		return false, nil
	}
	if val == nil {
		val = []byte{}
	}
	if err := t.bucket.Put(key, val); err != nil {
		return false, fmt.Errorf("lmdb: %w", err)
	}
	t.dirty += int64(len(key) + len(val) + 16)
	return true, nil
}

// Del removes key; an absent key is ErrNotFound.
func (t *Txn) Del(key []byte) error {
	if !t.valid {
		return ErrTxnEnded
	}
	if t.rdonly {
		return ErrReadOnlyTxn
	}
	if t.r != nil {
		return t.delEtcd(key)
	}
	if len(key) == 0 || t.bucket.Get(key) == nil {
		return ErrNotFound
	}
	if err := t.bucket.Delete(key); err != nil {
		return fmt.Errorf("lmdb: %w", err)
	}
	return nil
}

// PutSorted stores pairs given in ascending key order, much faster in
// bbolt than random order (the leaf fills sequentially).
func (t *Txn) PutSorted(n int, pair func(i int) (key, val []byte)) error {
	if !t.valid {
		return ErrTxnEnded
	}
	if t.rdonly {
		return ErrReadOnlyTxn
	}
	if t.r != nil {
		for i := 0; i < n; i++ {
			k, v := pair(i)
			if _, err := t.putEtcd(k, v, 0); err != nil {
				return err
			}
		}
		return nil
	}
	old := t.bucket.FillPercent
	t.bucket.FillPercent = 0.95
	defer func() { t.bucket.FillPercent = old }()
	for i := 0; i < n; i++ {
		k, v := pair(i)
		if err := t.bucket.Put(k, v); err != nil {
			return fmt.Errorf("lmdb: %w", err)
		}
		t.dirty += int64(len(k) + len(v) + 16)
	}
	return nil
}

// Commit commits a write transaction (a read transaction just ends).
func (t *Txn) Commit() error {
	if !t.valid {
		return ErrTxnEnded
	}
	tx := t.tx
	if t.r != nil && !t.rdonly {
		return t.commitEtcd()
	}
	if t.rdonly {
		t.end()
		if tx != nil {
			tx.Rollback()
		}
		return nil
	}
	// bbolt remaps the file under an exclusive lock that open read
	// transactions hold shared: in one goroutine that would never return.
	// The file may grow by about twice the bytes written (pages are
	// copied on write and split); refuse when that could pass the map.
	if t.env.mayRemap(tx, t.dirty) && t.env.readers > 0 {
		t.Abort()
		return ErrRemapBusy
	}
	t.end()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("lmdb: %w", err)
	}
	return nil
}

// mayRemap reports whether committing tx, which wrote about dirty bytes,
// could make bbolt remap the file. bbolt remaps under a lock that open
// read transactions hold, so it drops the pins first; the caller refuses
// the commit when the user has read transactions open.
func (e *Env) mayRemap(tx *bolt.Tx, dirty int64) bool {
	if tx.Size()+2*dirty+int64(16*e0PageSize(e)) <= e.mappedSize() {
		return false
	}
	e.dropPins()
	return true
}

// BulkLoad fills the empty database dbi with n pairs given in ascending
// key order, in transactions of bulkBatch pairs staged in a hidden bucket,
// which a last transaction moves into place: readers see the database
// empty until then, and full after, and a crash leaves it empty. Memory
// stays bounded by one batch. No transaction of the environment may be
// open.
func (e *Env) BulkLoad(dbi int, n int, pair func(i int) (key, val []byte)) error {
	name, err := e.bucketName(dbi)
	if err != nil {
		return err
	}
	if e.db == nil {
		return fmt.Errorf("lmdb: %w", bolt.ErrDatabaseReadOnly)
	}
	if e.writer != nil || e.readers > 0 {
		return ErrWriterActive
	}
	err = e.update(0, func(tx *bolt.Tx) error {
		if tx.Bucket(stagingBucket) != nil {
			if err := tx.DeleteBucket(stagingBucket); err != nil {
				return err
			}
		}
		sb, err := tx.CreateBucket(stagingBucket)
		if err == nil {
			_, err = sb.CreateBucket(name)
		}
		return err
	})
	for i := 0; err == nil && i < n; i += bulkBatch {
		end := min(n, i+bulkBatch)
		var dirty int64
		for j := i; j < end; j++ {
			k, v := pair(j)
			dirty += int64(len(k) + len(v) + 16)
		}
		err = e.update(dirty, func(tx *bolt.Tx) error {
			b := tx.Bucket(stagingBucket).Bucket(name)
			b.FillPercent = 0.95
			for j := i; j < end; j++ {
				k, v := pair(j)
				if err := b.Put(k, v); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err == nil {
		err = e.update(0, func(tx *bolt.Tx) error {
			if old := tx.Bucket(name); old != nil {
				if k, _ := old.Cursor().First(); k != nil {
					return errors.New("database was written during the bulk load")
				}
				if err := tx.DeleteBucket(name); err != nil {
					return err
				}
			}
			if err := tx.MoveBucket(name, tx.Bucket(stagingBucket), nil); err != nil {
				return err
			}
			return tx.DeleteBucket(stagingBucket)
		})
	}
	if err != nil {
		e.update(0, func(tx *bolt.Tx) error { return tx.DeleteBucket(stagingBucket) })
		return fmt.Errorf("lmdb: %w", err)
	}
	return nil
}

// update runs fn in a bbolt write transaction and commits it (pins and
// remap guard as for Txn; dirty estimates the bytes fn writes).
func (e *Env) update(dirty int64, fn func(tx *bolt.Tx) error) error {
	e.pinSnapshots()
	tx, err := e.db.Begin(true)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	e.mayRemap(tx, dirty)
	return tx.Commit()
}

// mappedSize returns a lower bound of bbolt's current mmap size: the
// initial size, or the file size rounded up to a power of two as bbolt
// rounds when it remaps (up to 1 GiB; 1 GiB steps above).
func (e *Env) mappedSize() int64 {
	m := int64(e.mmapSize)
	st, err := os.Stat(e.file)
	if err != nil {
		return m
	}
	sz := st.Size()
	var r int64
	if sz <= 1<<30 {
		for r = 1 << 15; r < sz; r <<= 1 {
		}
	} else {
		r = (sz + (1<<30 - 1)) / (1 << 30) * (1 << 30)
	}
	return max(m, r)
}

// e0PageSize returns the store's page size.
func e0PageSize(e *Env) int { return e.db.Info().PageSize }

// Abort ends the transaction discarding its changes (idempotent).
func (t *Txn) Abort() {
	if !t.valid {
		return
	}
	tx := t.tx
	t.end()
	if tx != nil {
		tx.Rollback()
	}
}

// Renew restarts a read transaction that was reset.
func (t *Txn) Renew() error {
	if t.valid {
		return errors.New("cannot renew valid transaction")
	}
	if !t.rdonly {
		return errors.New("lmdb: only read-only transactions can be renewed")
	}
	return t.begin()
}

// Cursor is a position in one transaction's database.
type Cursor struct {
	txn    *Txn
	gen    uint64
	c      kvCursor
	k, v   []byte // current entry
	placed bool
}

// NewCursor opens a cursor on the transaction's database.
func (t *Txn) NewCursor() (*Cursor, error) {
	if !t.valid {
		return nil, ErrTxnEnded
	}
	cur := &Cursor{txn: t, gen: t.Gen}
	if t.r != nil {
		c, err := t.cursorEtcd()
		if err != nil {
			return nil, err
		}
		cur.c = c
		return cur, nil
	}
	switch {
	case t.rdonly && t.tree.root|uint64(len(t.tree.inline)) != 0:
		cur.c = &boltCursor{t: &t.tree}
	case !t.rdonly && t.bucket != nil:
		cur.c = t.bucket.Cursor()
	}
	return cur, nil
}

// kvCursor is what Cursor needs of a bbolt cursor or a boltCursor.
type kvCursor interface {
	First() ([]byte, []byte)
	Last() ([]byte, []byte)
	Next() ([]byte, []byte)
	Prev() ([]byte, []byte)
	Seek(key []byte) ([]byte, []byte)
}

// Cursor operations (LMDB MDB_cursor_op values).
const (
	OpFirst        = 0
	OpFirstDup     = 1
	OpGetBoth      = 2
	OpGetBothRange = 3
	OpGetCurrent   = 4
	OpGetMultiple  = 5
	OpLast         = 6
	OpLastDup      = 7
	OpNext         = 8
	OpNextDup      = 9
	OpNextMultiple = 10
	OpNextNoDup    = 11
	OpPrev         = 12
	OpPrevDup      = 13
	OpPrevNoDup    = 14
	OpSet          = 15
	OpSetKey       = 16
	OpSetRange     = 17
)

// Alive reports whether the cursor's transaction is still the one it was
// opened in.
func (c *Cursor) Alive() bool { return c.txn.valid && c.txn.Gen == c.gen }

// Get performs op (with key/val for the positioned operations) and returns
// the entry there; nil key at the end or when nothing matches.
func (c *Cursor) Get(op int, key, val []byte) (k, v []byte, err error) {
	k, v, err = c.get(op, key, val)
	if err == nil && c.txn.rdonly && c.txn.lost() {
		return nil, nil, ErrSnapshotLost
	}
	return k, v, err
}

func (c *Cursor) get(op int, key, val []byte) (k, v []byte, err error) {
	if !c.Alive() {
		return nil, nil, ErrTxnEnded
	}
	if c.c == nil {
		return nil, nil, nil
	}
	switch op {
	case OpFirst:
		k, v = c.c.First()
	case OpLast:
		k, v = c.c.Last()
	case OpNext, OpNextNoDup:
		if !c.placed {
			k, v = c.c.First()
		} else {
			k, v = c.c.Next()
		}
	case OpPrev, OpPrevNoDup:
		if !c.placed {
			k, v = c.c.Last()
		} else {
			k, v = c.c.Prev()
		}
	case OpGetCurrent:
		if !c.placed {
			return nil, nil, errors.New("lmdb: EINVAL: cursor not positioned")
		}
		return c.k, c.v, nil
	case OpSetRange:
		k, v = c.c.Seek(key)
	case OpSet, OpSetKey:
		k, v = c.c.Seek(key)
		if k != nil && !bytes.Equal(k, key) {
			k, v = nil, nil
		}
	case OpGetBoth, OpGetBothRange:
		k, v = c.c.Seek(key)
		if k != nil && (!bytes.Equal(k, key) || (op == OpGetBoth && !bytes.Equal(v, val))) {
			k, v = nil, nil
		}
	case OpFirstDup, OpLastDup:
		if !c.placed {
			return nil, nil, errors.New("lmdb: EINVAL: cursor not positioned")
		}
		return c.k, c.v, nil
	case OpNextDup, OpPrevDup:
		return nil, nil, nil // no duplicate keys in this store
	default:
		return nil, nil, fmt.Errorf("lmdb: unsupported cursor operation %d", op)
	}
	if k == nil && c.placed && (op == OpNext || op == OpNextNoDup || op == OpPrev || op == OpPrevNoDup) {
		// Like LMDB, stepping off either end leaves the cursor on the
		// entry it was on.
		c.c.Seek(c.k)
		return nil, nil, nil
	}
	c.placed = k != nil
	c.k, c.v = k, v
	return k, v, nil
}

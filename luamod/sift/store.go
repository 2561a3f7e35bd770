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

// Env is an open store: one bbolt file, one bucket per database handle.
type Env struct {
	db       *bolt.DB
	path     string            // path as given to Open
	file     string            // the bbolt file
	flags    uint32            // environment flags
	mmapSize int               // bbolt InitialMmapSize
	names    []string          // dbi -> database name ("" for the unnamed DB at dbi 0)
	writer   *Txn              // active write transaction, if any
	readers  int               // open read transactions
	open     map[*Txn]struct{} // open read transactions, ended by Close
}

// OpenEnv opens (creating the file if needed) the store at path. Without
// EnvNoSubdir, path must be an existing directory holding data.mdb.
func OpenEnv(path string, flags uint32, mapSize int, mode os.FileMode) (*Env, error) {
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
	opts := &bolt.Options{
		Timeout:         lockTimeout,
		ReadOnly:        flags&EnvRdonly != 0,
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
	if !opts.ReadOnly {
		err = db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(mainBucket)
			return err
		})
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("lmdb: %w", err)
		}
	}
	return e, nil
}

// Path returns the path the environment was opened with.
func (e *Env) Path() string { return e.path }

// Closed reports whether Close was called.
func (e *Env) Closed() bool { return e.db == nil }

// Close closes the store (idempotent). Open transactions are rolled back.
func (e *Env) Close() error {
	if e.db == nil {
		return nil
	}
	// bbolt's Close waits for every read transaction: in one goroutine
	// that would never return, so end them first.
	if e.writer != nil {
		e.writer.Abort()
	}
	for t := range e.open {
		t.Abort()
	}
	err := e.db.Close()
	e.db = nil
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
	i := slices.Index(e.names, name)
	if txn.tx.Bucket([]byte(name)) == nil {
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
	if e.db == nil {
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
	if e.db == nil {
		return 0, 0, 0, 0, 0, 0, ErrEnvClosed
	}
	err = e.db.View(func(tx *bolt.Tx) error {
		psize = e.db.Info().PageSize
		if b := tx.Bucket(mainBucket); b != nil {
			s := b.Stats()
			depth, branch, leaf = s.Depth, s.BranchPageN, s.LeafPageN
			overflow, entries = s.BranchOverflowN+s.LeafOverflowN, s.KeyN
		}
		return nil
	})
	return
}

// Copy writes a consistent copy of the store to dst (a directory, which
// receives data.mdb, or a file path).
func (e *Env) Copy(dst string) error {
	if e.db == nil {
		return ErrEnvClosed
	}
	if st, err := os.Stat(dst); err == nil && st.IsDir() {
		dst = filepath.Join(dst, storeFileName)
	}
	return e.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(dst, 0o640) })
}

// Txn is one transaction on one database of an Env.
type Txn struct {
	env    *Env
	tx     *bolt.Tx
	bucket *bolt.Bucket // nil when the database does not exist (read txn)
	getCur *bolt.Cursor // reused by Get in read-only transactions (no allocation per lookup)
	dbi    int
	rdonly bool
	valid  bool
	dirty  int64  // bytes put in this write transaction (remap estimate)
	OnEnd  func() // called whenever the transaction ends (the Lua binding refreshes txn.valid)
	Gen    uint64 // incremented whenever the transaction ends; values read before are stale
}

func (t *Txn) begin() error {
	e := t.env
	if e.db == nil {
		return ErrEnvClosed
	}
	name, err := e.bucketName(t.dbi)
	if err != nil {
		return err
	}
	tx, err := e.db.Begin(!t.rdonly)
	if err != nil {
		return fmt.Errorf("lmdb: %w", err)
	}
	t.tx, t.valid = tx, true
	t.bucket = tx.Bucket(name)
	if t.bucket == nil && !t.rdonly {
		if t.bucket, err = tx.CreateBucketIfNotExists(name); err != nil {
			tx.Rollback()
			t.valid = false
			return fmt.Errorf("lmdb: %w", err)
		}
	}
	if t.rdonly {
		e.readers++
		if e.open == nil {
			e.open = make(map[*Txn]struct{})
		}
		e.open[t] = struct{}{}
	} else {
		e.writer = t
	}
	return nil
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
	t.bucket, t.getCur = nil, nil
	if t.rdonly {
		t.env.readers--
		delete(t.env.open, t)
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
	if t.bucket == nil || len(key) == 0 {
		return nil, nil
	}
	if !t.rdonly {
		return t.bucket.Get(key), nil
	}
	if t.getCur == nil {
		t.getCur = t.bucket.Cursor()
	}
	k, v := t.getCur.Seek(key)
	if v == nil || !bytes.Equal(k, key) {
		return nil, nil
	}
	return v, nil
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
	if t.rdonly {
		t.end()
		return tx.Rollback()
	}
	// bbolt remaps the file under an exclusive lock that open read
	// transactions hold shared: in one goroutine that would never return.
	// The file may grow by about twice the bytes written (pages are
	// copied on write and split); refuse when that could pass the map.
	if t.env.readers > 0 && tx.Size()+2*t.dirty+int64(16*e0PageSize(t.env)) > t.env.mappedSize() {
		t.Abort()
		return ErrRemapBusy
	}
	t.end()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("lmdb: %w", err)
	}
	return nil
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
	tx.Rollback()
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
	c      *bolt.Cursor
	k, v   []byte // current entry
	placed bool
}

// NewCursor opens a cursor on the transaction's database.
func (t *Txn) NewCursor() (*Cursor, error) {
	if !t.valid {
		return nil, ErrTxnEnded
	}
	cur := &Cursor{txn: t, gen: t.Gen}
	if t.bucket != nil {
		cur.c = t.bucket.Cursor()
	}
	return cur, nil
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

package sift

// readers.go is the store's reader table, shared between processes: a lock
// file beside the store (lock.mdb in the environment directory, or
// "<file>-lock" with NOSUBDIR, as LMDB names it) with one slot per
// read-only environment. A slot belongs to whoever holds an open-file-
// description write lock on its bytes (so a killed reader's slot frees
// itself) and holds the txid of the snapshot its owner is reading, 0 when
// none.
//
// The protocol that keeps those snapshots' pages from being reused:
//   - a reader reads the newest meta (txid S), writes S into its slot,
//     then reads the newest meta again and retries unless it is still S;
//   - a writer, before each write transaction, pins the newest snapshot
//     with an in-process bbolt read transaction, then reads the table and
//     drops its pins of snapshots nobody uses any more (except the newest).
//
// bbolt never reuses pages an open read transaction may see, so a snapshot
// a reader registered while it was the newest stays intact: the writer
// pinned it when it began the transaction that replaced it, and keeps the
// pin while the slot names it.
//
// Pins live in the writer process. A writer that opens the store bumps the
// writer generation kept after the slots; a reader notes the generation
// before it takes its snapshot and checks it after every read, so a
// transaction whose snapshot a restarted writer may overwrite fails with
// ErrSnapshotLost instead of returning torn data.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	readerSlots    = 126
	readerSlotSize = 16 // txid u64, pid u32, spare u32
	generationOff  = readerSlots * readerSlotSize
	lockFileSize   = generationOff + 32 // the slots, the writer generation, spare
	lockFileName   = "lock.mdb"
)

// ErrSnapshotLost is the error of reads in a transaction whose snapshot a
// restarted writer may have overwritten (begin a new transaction).
var ErrSnapshotLost = errors.New("lmdb: MDB_BAD_TXN: a writer reopened the store during this read transaction; begin a new one")

// lockFilePath returns the reader table of an environment.
func lockFilePath(envPath string, flags uint32) string {
	if flags&EnvNoSubdir != 0 {
		return envPath + "-lock"
	}
	return filepath.Join(envPath, lockFileName)
}

// readerTable is an open reader table. A read-only environment takes one
// slot per open read transaction, keeping the slots it took (locked) for
// reuse until it closes.
type readerTable struct {
	f      *os.File
	gen    *uint64 // the writer generation in a shared read-only map (readers), or nil
	genMap []byte
	owned  []int        // slots this table holds locked
	busy   map[int]bool // owned slots naming an open transaction's snapshot
}

// openReaderTable opens (creating it when needed) the table at path.
func openReaderTable(path string, mode os.FileMode) (*readerTable, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, mode)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.Size() < lockFileSize {
		if err := f.Truncate(lockFileSize); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &readerTable{f: f, busy: map[int]bool{}}, nil
}

// bumpGeneration marks a new writer session (the caller holds the store's
// writer lock).
func (r *readerTable) bumpGeneration() error {
	var b [8]byte
	if _, err := r.f.ReadAt(b[:], generationOff); err != nil {
		return err
	}
	binary.LittleEndian.PutUint64(b[:], binary.LittleEndian.Uint64(b[:])+1)
	_, err := r.f.WriteAt(b[:], generationOff)
	return err
}

// mapGeneration maps the writer generation for cheap checks by readers.
func (r *readerTable) mapGeneration() error {
	m, err := unix.Mmap(int(r.f.Fd()), 0, lockFileSize, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	r.gen = (*uint64)(unsafe.Pointer(&m[generationOff]))
	r.genMap = m
	return nil
}

// generation returns the current writer generation (0 without a map).
func (r *readerTable) generation() uint64 {
	if r == nil || r.gen == nil {
		return 0
	}
	return atomic.LoadUint64(r.gen)
}

// slotLock builds an fcntl request on slot i.
func slotLock(typ int16, i int) *unix.Flock_t {
	return &unix.Flock_t{Type: typ, Whence: 0, Start: int64(i * readerSlotSize), Len: readerSlotSize}
}

// acquire returns a slot for a new read transaction: an idle one this
// table holds, or a newly locked free one.
func (r *readerTable) acquire() (int, error) {
	for _, i := range r.owned {
		if !r.busy[i] {
			r.busy[i] = true
			return i, nil
		}
	}
	fd := r.f.Fd()
	for i := 0; i < readerSlots; i++ {
		if slices.Contains(r.owned, i) {
			continue // our own lock would not conflict with itself
		}
		if unix.FcntlFlock(fd, unix.F_OFD_SETLK, slotLock(unix.F_WRLCK, i)) == nil {
			r.owned = append(r.owned, i)
			r.busy[i] = true
			return i, nil
		}
	}
	return -1, fmt.Errorf("lmdb: MDB_READERS_FULL: %d read transactions already open", readerSlots)
}

// release marks slot idle again.
func (r *readerTable) release(slot int) {
	r.set(slot, 0)
	delete(r.busy, slot)
}

// set publishes in slot the snapshot its transaction reads (0 = none).
func (r *readerTable) set(slot int, txid uint64) error {
	var b [readerSlotSize]byte
	binary.LittleEndian.PutUint64(b[:], txid)
	binary.LittleEndian.PutUint32(b[8:], uint32(os.Getpid()))
	_, err := r.f.WriteAt(b[:], int64(slot*readerSlotSize))
	return err
}

// inUse returns the snapshots live readers are reading.
func (r *readerTable) inUse() (map[uint64]bool, error) {
	buf := make([]byte, readerSlots*readerSlotSize)
	n, err := r.f.ReadAt(buf, 0)
	if n < len(buf) && err != nil {
		return nil, err
	}
	used := map[uint64]bool{}
	fd := r.f.Fd()
	for i := 0; i < n/readerSlotSize; i++ {
		txid := binary.LittleEndian.Uint64(buf[i*readerSlotSize:])
		if txid == 0 || used[txid] {
			continue
		}
		// A slot counts only while its owner holds its lock.
		lk := slotLock(unix.F_WRLCK, i)
		if unix.FcntlFlock(fd, unix.F_OFD_GETLK, lk) == nil && lk.Type == unix.F_UNLCK {
			continue
		}
		used[txid] = true
	}
	return used, nil
}

// close clears the slots this table holds (their locks go with the file).
func (r *readerTable) close() error {
	for _, i := range r.owned {
		r.set(i, 0)
	}
	r.owned = nil
	if r.genMap != nil {
		r.gen = nil
		unix.Munmap(r.genMap)
		r.genMap = nil
	}
	return r.f.Close()
}

package sift

// etcd.go is the etcd backend of dns.lmdb: lmdb.open('etcd://HOST:PORT[,HOST:PORT...]/PREFIX')
// gives the store API over the keys under /PREFIX/ of an etcd cluster
// (issue 17). A read transaction reads one etcd revision (each key once:
// the keys read are kept for the transaction's life); a write
// transaction buffers its changes and commits them as one etcd transaction
// that compares the revision of every key it read; cursors range in key
// order. The differences from the bbolt store are in README.md.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcd's default request limits: a transaction holds at most this many
// operations and request bytes.
const (
	etcdMaxOps   = 128
	etcdMaxBytes = 1536 * 1024
	etcdTimeout  = 10 * time.Second
)

// Errors of the etcd backend.
var (
	ErrEtcdConflict = errors.New("lmdb: MDB_CONFLICT: a key this transaction read changed in etcd since it began (nothing written)")
	ErrEtcdTxnFull  = errors.New("lmdb: MDB_TXN_FULL: over what one etcd transaction may hold")
	ErrEtcdNamedDB  = errors.New("lmdb: named databases are not available on etcd (one database per prefix: open another prefix)")
	ErrEtcdCopy     = errors.New("lmdb: env:copy is not available on etcd (etcdctl snapshot save copies a cluster)")
)

// etcdEnv is an Env's connection to etcd.
type etcdEnv struct {
	cl     *clientv3.Client
	prefix string // "/PREFIX/"
}

// etcdWrite is one buffered change of a write transaction.
type etcdWrite struct {
	val []byte // kept by reference: a 'reserve' buffer is filled after put
	del bool
}

// etcdTxn is the etcd state of a Txn.
type etcdTxn struct {
	rev    int64
	writes map[string]etcdWrite
	reads  map[string]int64 // key -> mod revision seen (0: absent), write transactions
	ranges bool             // a cursor read the whole database (write transactions)
	// seen caches the keys read: every read is at rev, which does not
	// change, so a key read again needs no round trip (up to
	// etcdCacheBytes of keys and values per transaction).
	seen      map[string][]byte // nil value: absent
	seenBytes int
}

// etcdCacheBytes bounds the keys and values a transaction keeps.
const etcdCacheBytes = 64 << 20

// isEtcdURI reports whether path names an etcd store.
func isEtcdURI(path string) bool { return strings.HasPrefix(path, "etcd://") }

// openEtcdEnv connects to the cluster of uri and checks that it answers.
func openEtcdEnv(uri string, flags uint32) (*Env, error) {
	rest := strings.TrimPrefix(uri, "etcd://")
	hosts, prefix, _ := strings.Cut(rest, "/")
	if hosts == "" {
		return nil, fmt.Errorf("lmdb: %s: etcd://HOST:PORT[,HOST:PORT...]/PREFIX expected", uri)
	}
	prefix = "/" + strings.Trim(prefix, "/")
	if prefix != "/" {
		prefix += "/"
	}
	cl, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(hosts, ","), DialTimeout: 5 * time.Second,
		Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("lmdb: %s: %w", uri, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), etcdTimeout)
	defer cancel()
	if _, err := cl.Get(ctx, prefix, clientv3.WithCountOnly()); err != nil {
		cl.Close()
		return nil, fmt.Errorf("lmdb: %s: %w", uri, err)
	}
	return &Env{path: uri, file: uri, flags: flags, names: []string{""}, remote: &etcdEnv{cl: cl, prefix: prefix}}, nil
}

func etcdCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), etcdTimeout)
}

// etcdErr turns a read error at rev into the store's errors.
func etcdErr(err error, rev int64) error {
	if errors.Is(err, rpctypes.ErrCompacted) {
		return fmt.Errorf("%w (etcd compacted revision %d, this read transaction's snapshot)", ErrSnapshotLost, rev)
	}
	return fmt.Errorf("lmdb: etcd: %w", err)
}

// beginEtcd starts t at the cluster's current revision.
func (t *Txn) beginEtcd() error {
	r := t.env.remote
	ctx, cancel := etcdCtx()
	defer cancel()
	resp, err := r.cl.Get(ctx, r.prefix, clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("lmdb: etcd: %w", err)
	}
	t.r = &etcdTxn{rev: resp.Header.Revision}
	if !t.rdonly {
		t.r.writes, t.r.reads = map[string]etcdWrite{}, map[string]int64{}
		t.env.writer = t
	} else {
		t.env.readers++
		if t.env.open == nil {
			t.env.open = make(map[*Txn]struct{})
		}
		t.env.open[t] = struct{}{}
	}
	t.valid = true
	return nil
}

// getEtcd reads key: the transaction's own change first, then the
// revision it began at.
func (t *Txn) getEtcd(key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, nil
	}
	if w, ok := t.r.writes[string(key)]; ok {
		if w.del {
			return nil, nil
		}
		return w.val, nil
	}
	if v, ok := t.r.seen[string(key)]; ok {
		return v, nil // a write transaction noted it in reads already
	}
	r := t.env.remote
	ctx, cancel := etcdCtx()
	defer cancel()
	resp, err := r.cl.Get(ctx, r.prefix+string(key), clientv3.WithRev(t.r.rev))
	if err != nil {
		return nil, etcdErr(err, t.r.rev)
	}
	var v []byte
	var mod int64
	if len(resp.Kvs) > 0 {
		v, mod = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
		if v == nil {
			v = []byte{}
		}
	}
	if !t.rdonly {
		t.r.reads[string(key)] = mod
	}
	if n := len(key) + len(v) + 48; t.r.seenBytes+n <= etcdCacheBytes {
		if t.r.seen == nil {
			t.r.seen = map[string][]byte{}
		}
		t.r.seen[string(key)] = v
		t.r.seenBytes += n
	}
	return v, nil
}

func (t *Txn) putEtcd(key, val []byte, flags uint32) (bool, error) {
	if len(key) == 0 {
		return false, errors.New("lmdb: MDB_BAD_VALSIZE: empty key")
	}
	if flags&PutNoOverwrite != 0 {
		old, err := t.getEtcd(key)
		if err != nil {
			return false, err
		}
		if old != nil {
			return false, nil
		}
	}
	if val == nil {
		val = []byte{}
	}
	t.r.writes[string(key)] = etcdWrite{val: val}
	return true, nil
}

func (t *Txn) delEtcd(key []byte) error {
	old, err := t.getEtcd(key)
	if err != nil {
		return err
	}
	if old == nil {
		return ErrNotFound
	}
	t.r.writes[string(key)] = etcdWrite{del: true}
	return nil
}

// commitEtcd writes the changes as one etcd transaction, on condition
// that no key read changed since the transaction began.
func (t *Txn) commitEtcd() error {
	r, x := t.env.remote, t.r
	defer t.end()
	if len(x.writes) == 0 {
		return nil
	}
	var cmps []clientv3.Cmp
	for k, mod := range x.reads {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(r.prefix+k), "=", mod))
	}
	if x.ranges { // nothing in the database changed since (deletions excepted: see README)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(r.prefix), "<", x.rev+1).WithRange(clientv3.GetPrefixRangeEnd(r.prefix)))
	}
	var ops []clientv3.Op
	size := 0
	keys := make([]string, 0, len(x.writes))
	for k := range x.writes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w := x.writes[k]
		if w.del {
			ops = append(ops, clientv3.OpDelete(r.prefix+k))
		} else {
			ops = append(ops, clientv3.OpPut(r.prefix+k, string(w.val)))
		}
		size += len(r.prefix) + len(k) + len(w.val) + 16
	}
	if len(ops) > etcdMaxOps || len(cmps) > etcdMaxOps || size > etcdMaxBytes {
		return fmt.Errorf("%w: %d writes, %d keys read, %d bytes (limits %d operations, %d bytes)",
			ErrEtcdTxnFull, len(ops), len(cmps), size, etcdMaxOps, etcdMaxBytes)
	}
	ctx, cancel := etcdCtx()
	defer cancel()
	resp, err := r.cl.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("lmdb: etcd: %w", err)
	}
	if !resp.Succeeded {
		return ErrEtcdConflict
	}
	return nil
}

// cursorEtcd reads the whole database at the transaction's revision (in
// pages), with the transaction's own changes merged in.
func (t *Txn) cursorEtcd() (kvCursor, error) {
	r, x := t.env.remote, t.r
	var keys, vals [][]byte
	from, end := r.prefix, clientv3.GetPrefixRangeEnd(r.prefix)
	for {
		ctx, cancel := etcdCtx()
		resp, err := r.cl.Get(ctx, from, clientv3.WithRange(end), clientv3.WithRev(x.rev), clientv3.WithLimit(1000))
		cancel()
		if err != nil {
			return nil, etcdErr(err, x.rev)
		}
		for _, kv := range resp.Kvs {
			k := kv.Key[len(r.prefix):]
			if len(k) == 0 {
				continue
			}
			keys, vals = append(keys, k), append(vals, kv.Value)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	if !t.rdonly && len(x.writes) > 0 {
		m := make(map[string][]byte, len(keys)+len(x.writes))
		for i, k := range keys {
			m[string(k)] = vals[i]
		}
		for k, w := range x.writes {
			if w.del {
				delete(m, k)
			} else {
				m[k] = w.val
			}
		}
		keys, vals = keys[:0], vals[:0]
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		for _, k := range ks {
			keys, vals = append(keys, []byte(k)), append(vals, m[k])
		}
	}
	if !t.rdonly {
		x.ranges = true
	}
	return &sliceCursor{keys: keys, vals: vals, i: -1}, nil
}

// sliceCursor walks sorted keys held in memory.
type sliceCursor struct {
	keys, vals [][]byte
	i          int
}

func (c *sliceCursor) at(i int) ([]byte, []byte) {
	if i < 0 || i >= len(c.keys) {
		return nil, nil
	}
	c.i = i
	return c.keys[i], c.vals[i]
}

func (c *sliceCursor) First() ([]byte, []byte) { return c.at(0) }
func (c *sliceCursor) Last() ([]byte, []byte)  { return c.at(len(c.keys) - 1) }
func (c *sliceCursor) Next() ([]byte, []byte)  { return c.at(c.i + 1) }
func (c *sliceCursor) Prev() ([]byte, []byte)  { return c.at(c.i - 1) }
func (c *sliceCursor) Seek(key []byte) ([]byte, []byte) {
	i, _ := slices.BinarySearchFunc(c.keys, key, bytes.Compare)
	return c.at(i)
}

// statEtcd counts the database's keys at the current revision.
func (e *Env) statEtcd() (psize, depth, branch, leaf, overflow, entries int, err error) {
	r := e.remote
	ctx, cancel := etcdCtx()
	defer cancel()
	resp, err := r.cl.Get(ctx, r.prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, 0, 0, 0, 0, 0, fmt.Errorf("lmdb: etcd: %w", err)
	}
	return 4096, 1, 0, 1, 0, int(resp.Count), nil
}

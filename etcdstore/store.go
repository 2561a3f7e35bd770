package etcdstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"ljdns/authority"
	"ljdns/dnsmsg/zone"
)

// Store is the zones under one prefix of an etcd keyspace.
type Store struct {
	Client *clientv3.Client
	Prefix string // DefaultPrefix when empty at New
	// Request limits of a push's batches (DefaultMaxOps, DefaultMaxBytes).
	MaxOps, MaxBytes int
	// Batch, when set, is called after each batch a push wrote (tests).
	Batch func(n int)
}

// New returns the store of the zones under prefix ("" = DefaultPrefix).
func New(c *clientv3.Client, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Store{Client: c, Prefix: prefix, MaxOps: DefaultMaxOps, MaxBytes: DefaultMaxBytes}
}

// ErrConflict is returned when the zone changed between a push's or an
// edit's read and its commit.
var ErrConflict = errors.New("the zone changed meanwhile (another push or edit)")

// ErrNoZone is returned for a zone without a pointer key.
var ErrNoZone = errors.New("no such zone")

// PushResult tells what a push wrote.
type PushResult struct {
	Gen      string // the new generation
	Sets     int    // RRsets written
	Batches  int    // requests used to stage them
	Revision int64  // the revision of the switch
	Serial   uint32
}

// PushFile pushes the zone origin from a zone file ($INCLUDE followed).
func (s *Store) PushFile(ctx context.Context, origin, path string) (*PushResult, error) {
	z, err := authority.LoadZone(origin, path)
	if err != nil {
		return nil, err
	}
	sc, err := zone.NewFileScanner(path, origin, zone.ClassINET, zone.DefaultTTL)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	sets, err := ReadSets(sc)
	if err != nil {
		return nil, err
	}
	return s.push(ctx, origin, sets, z.Serial())
}

// Push pushes the zone origin from zone text; name is used in errors.
func (s *Store) Push(ctx context.Context, origin string, text []byte, name string) (*PushResult, error) {
	z, err := authority.ParseZone(origin, bytes.NewReader(text), name)
	if err != nil {
		return nil, err
	}
	sets, err := ReadSets(zone.NewScanner(bytes.NewReader(text), origin, zone.ClassINET, zone.DefaultTTL))
	if err != nil {
		return nil, err
	}
	return s.push(ctx, origin, sets, z.Serial())
}

func (s *Store) push(ctx context.Context, origin string, sets Sets, serial uint32) (*PushResult, error) {
	origin, err := CanonOrigin(origin)
	if err != nil {
		return nil, err
	}
	ptr := s.PointerKey(origin)
	cur, err := s.Client.Get(ctx, ptr)
	if err != nil {
		return nil, err
	}
	var ptrRev int64
	if len(cur.Kvs) > 0 {
		ptrRev = cur.Kvs[0].ModRevision
	}
	gen := newGen()
	prefix := s.DataPrefix(origin, gen)
	res := &PushResult{Gen: gen, Sets: len(sets), Serial: serial}
	var ops []clientv3.Op
	size := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		if _, err := s.Client.Txn(ctx).Then(ops...).Commit(); err != nil {
			return err
		}
		res.Batches++
		if s.Batch != nil {
			s.Batch(res.Batches)
		}
		ops, size = ops[:0], 0
		return nil
	}
	maxOps, maxBytes := s.MaxOps, s.MaxBytes
	if maxOps <= 0 {
		maxOps = DefaultMaxOps
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	keys := sortedKeys(sets, func(k string) []byte { return sets[k].Owner.Wire }, func(k string) uint16 { return sets[k].Type })
	for _, k := range keys {
		key, val := prefix+k, SetText(sets[k])
		n := len(key) + len(val) + 16
		if n > maxBytes {
			s.deleteRanges(context.WithoutCancel(ctx), prefix, prefixEnd(prefix))
			return nil, fmt.Errorf("RRset %s is %d bytes: over the %d bytes of one etcd request", k, n, maxBytes)
		}
		if len(ops) == maxOps || size+n > maxBytes {
			if err := flush(); err != nil {
				return nil, fmt.Errorf("staging %s: %w (the old zone stays)", origin, err)
			}
		}
		ops = append(ops, clientv3.OpPut(key, val))
		size += n
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("staging %s: %w (the old zone stays)", origin, err)
	}
	tr, err := s.Client.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(ptr), "=", ptrRev)).
		Then(clientv3.OpPut(ptr, gen)).Commit()
	if err != nil {
		return nil, fmt.Errorf("switching %s: %w", origin, err)
	}
	if !tr.Succeeded {
		s.deleteRanges(ctx, prefix, prefixEnd(prefix))
		return nil, fmt.Errorf("push %s: %w", origin, ErrConflict)
	}
	res.Revision = tr.Header.Revision
	// Remove every other generation: the old one and those of killed pushes.
	root := s.dataRoot(origin)
	if err := s.deleteRanges(ctx, root, prefix); err != nil {
		return res, err
	}
	if err := s.deleteRanges(ctx, prefixEnd(prefix), prefixEnd(root)); err != nil {
		return res, err
	}
	return res, nil
}

// deleteRanges deletes the keys in [from, end) in ranges of at most 1000
// keys, so no single revision carries a flood of events to the watchers.
func (s *Store) deleteRanges(ctx context.Context, from, end string) error {
	for {
		r, err := s.Client.Get(ctx, from, clientv3.WithRange(end), clientv3.WithKeysOnly(), clientv3.WithLimit(1000))
		if err != nil {
			return err
		}
		if len(r.Kvs) == 0 {
			return nil
		}
		last := string(r.Kvs[len(r.Kvs)-1].Key) + "\x00"
		if _, err := s.Client.Delete(ctx, from, clientv3.WithRange(last)); err != nil {
			return err
		}
		if !r.More {
			return nil
		}
		from = last
	}
}

// rangeAt reads every key in [from, end) at revision rev in pages.
func (s *Store) rangeAt(ctx context.Context, from, end string, rev int64, fn func(k, v []byte)) error {
	for {
		r, err := s.Client.Get(ctx, from, clientv3.WithRange(end), clientv3.WithRev(rev), clientv3.WithLimit(2000))
		if err != nil {
			return err
		}
		for _, kv := range r.Kvs {
			fn(kv.Key, kv.Value)
		}
		if !r.More || len(r.Kvs) == 0 {
			return nil
		}
		from = string(r.Kvs[len(r.Kvs)-1].Key) + "\x00"
	}
}

// ZoneData is one zone as read from etcd.
type ZoneData struct {
	Origin string
	Gen    string
	Sets   map[string][]byte // set key -> value (RRset text)
}

// readZone reads the generation gen of origin at revision rev.
func (s *Store) readZone(ctx context.Context, origin, gen string, rev int64) (*ZoneData, error) {
	zd := &ZoneData{Origin: origin, Gen: gen, Sets: map[string][]byte{}}
	p := s.DataPrefix(origin, gen)
	err := s.rangeAt(ctx, p, prefixEnd(p), rev, func(k, v []byte) {
		zd.Sets[string(k[len(p):])] = v
	})
	return zd, err
}

// Zone reads the current version of one zone; rev is the revision read.
func (s *Store) Zone(ctx context.Context, name string) (zd *ZoneData, rev int64, err error) {
	origin, err := CanonOrigin(name)
	if err != nil {
		return nil, 0, err
	}
	r, err := s.Client.Get(ctx, s.PointerKey(origin))
	if err != nil {
		return nil, 0, err
	}
	if len(r.Kvs) == 0 {
		return nil, r.Header.Revision, fmt.Errorf("%s: %w", origin, ErrNoZone)
	}
	zd, err = s.readZone(ctx, origin, string(r.Kvs[0].Value), r.Header.Revision)
	return zd, r.Header.Revision, err
}

// Get writes the zone name as a zone file to w.
func (s *Store) Get(ctx context.Context, name string, w io.Writer) (rev int64, err error) {
	zd, rev, err := s.Zone(ctx, name)
	if err != nil {
		return rev, err
	}
	return rev, WriteZone(w, zd.Sets)
}

// Zones lists the zones (their origins, sorted).
func (s *Store) Zones(ctx context.Context) ([]string, error) {
	r, err := s.Client.Get(ctx, s.zonesPrefix(), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, kv := range r.Kvs {
		if k, ok := s.ParseKey(string(kv.Key)); ok && k.Kind == KeyPointer {
			out = append(out, k.Origin)
		}
	}
	return out, nil
}

// Delete removes the zone name (pointer first, then its data).
func (s *Store) Delete(ctx context.Context, name string) error {
	origin, err := CanonOrigin(name)
	if err != nil {
		return err
	}
	if _, err := s.Client.Delete(ctx, s.PointerKey(origin)); err != nil {
		return err
	}
	root := s.dataRoot(origin)
	return s.deleteRanges(ctx, root, prefixEnd(root))
}

// LoadAll reads every zone at one revision (the current one when rev is 0).
func (s *Store) LoadAll(ctx context.Context, rev int64) (map[string]*ZoneData, int64, error) {
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	r, err := s.Client.Get(ctx, s.zonesPrefix(), opts...)
	if err != nil {
		return nil, 0, err
	}
	if rev == 0 {
		rev = r.Header.Revision
	}
	out := map[string]*ZoneData{}
	for _, kv := range r.Kvs {
		k, ok := s.ParseKey(string(kv.Key))
		if !ok || k.Kind != KeyPointer {
			continue
		}
		zd, err := s.readZone(ctx, k.Origin, string(kv.Value), rev)
		if err != nil {
			return nil, 0, err
		}
		out[k.Origin] = zd
	}
	return out, rev, nil
}

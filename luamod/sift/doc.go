// Package sift provides two Lua modules: dns.sift (zone sifting: a filter
// language and sinks that capture parsed zone records) and dns.lmdb (an
// LMDB-style transactional key-value store backed by go.etcd.io/bbolt).
// API.md §2.4 and §2.8 are the reference; README.md has examples.
//
// dns.sift
//
//	sift.zone(source [, sink [, filter [, limit]]]) -> sink(nil) results | false[, err]
//	sift.domains(source [, sink [, filter [, limit]]]) -> idem, one name per line
//	sift.makefilter(query) -> filter | nil, 'unknown filter "<t>"'   (raises 'invalid rdata: "<v>"')
//	sift.printer(['text'|'json']), sift.table(), sift.set(), sift.nameset(), sift.jsonify() -> sink
//	sift.lmdb(env [, db [, txn]]) -> sink | nil, err
//
// A source containing a newline is zone text; otherwise it names a file
// (a missing file whose name contains a blank is read as one line of
// zone text). Zone text is parsed with origin ".", class IN, TTL 3600.
//
// Filters and sinks are Lua functions (filter(owner, type, ttl, rdata),
// sink(owner, type, ttl, rdata) / sink(nil)). Those made by makefilter and
// the built-in sinks are Go closures whose single upvalue holds the Go
// object (*Filter, *sinkBox); sift.zone recognises them and runs the whole
// loop in Go, with no Lua call per record. Lua filters and sinks are called
// per record as the protocol says.
//
// dns.lmdb
//
//	lmdb.open(path [, flags [, mapsize [, mode [, maxdbs]]]]) -> env | nil, err
//	lmdb.version() -> major, minor, patch
//	lmdb.val_t([size [, data]]) -> val_t (fields size, data; tostring, #)
//	lmdb.op, lmdb.flags.{env,db,put}
//	env:open([name [, flags [, txn]]]) -> txn, dbi | nil, err
//	env:txn([dbi [, flags [, parent]]]) -> txn | nil, err
//	env:path(), env:copy(dst), env:stat(), env:close()
//	txn:get(key [, val]) -> val, key | nil;  txn:put(key, val [, flags]) -> true | false | nil, err
//	txn:del(key), txn:cursor(), txn:commit(), txn:abort(), txn:reset(), txn:renew(); txn.valid, txn.dbi
//	cur:next([k [, v [, op]]]), cur:prev(k, v), cur:seek(k [, v [, op]]), ipairs(cur), cur:close()
//
// The store is one bbolt file (path/data.mdb, or path itself with
// NOSUBDIR); each database handle is one bucket (the unnamed database is
// dbi 0). bbolt differences, handled deliberately:
//
//   - bbolt allows one write transaction at a time and would block a
//     second one forever in a single-threaded Lua state: env:txn() returns
//     nil, err instead.
//   - bbolt remaps its file under a lock that open read transactions hold:
//     the initial mmap is max(mapsize, 1 GiB) of address space (the file
//     still grows as needed), and a commit that could need a remap while a
//     read transaction of the same env is open fails with nil, err instead
//     of deadlocking.
//   - bbolt flocks the file for a writer's whole session: a second writer
//     process gets nil, 'locked by another process' after 0.5 s, never a
//     hang. Read transactions do not use bbolt: they read the mapped file
//     (boltfile.go), and read-only environments (RDONLY) open no bbolt
//     handle, so they read while a writer works, in this or another
//     process. The reader table (readers.go, lock.mdb) keeps the snapshots
//     they read from being overwritten.
//   - NOSYNC and MAPASYNC map to bbolt NoSync+NoFreelistSync+NoGrowSync;
//     NOMETASYNC to NoGrowSync. A process killed during a write leaves the
//     last committed state (tested with SIGKILL).
//   - Values returned by get and cursors point into the map and are valid
//     until the transaction ends (reading one later raises
//     'operation on aborted transaction'); val.data copies them out.
package sift

package serve

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/daemon/cache"
	"ljdns/dnsmsg"
	"ljdns/luabind"
	"ljdns/resolver"
)

func init() { registerModuleBinding("cache", openCache) }

// SnapshotFile is the name of the RR cache's snapshot file in the
// directory of the cache's storage (RUNDIR by default).
const SnapshotFile = "cache.bolt"

// cacheStaleKeep is how long expired entries stay for serve_stale (kresd's
// serve_stale serves data up to a day past its expiry).
const cacheStaleKeep = 24 * time.Hour

// cacheState is the process's RR cache and kresd's view of it: the
// cache global's size, storage and counters. One per process
// (Env.Persistent), so that a reload keeps the cache and its layer.
type cacheState struct {
	c     *cache.RRCache
	layer *cacheLayer

	mu      sync.Mutex
	size    int64
	storage string // kresd's URI, 'lmdb://' or 'lmdb://path'
	nsTout  float64
	open    atomic.Bool

	opens, closes, commits, counts atomic.Uint64
}

// cacheLayer is the RR cache in the request path while the cache is open
// (kresd answers nothing from a closed cache).
type cacheLayer struct {
	cache.RRLayer
	st *cacheState
}

// Begin answers from the cache when it is open.
func (l *cacheLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if !l.st.open.Load() {
		return s
	}
	return l.RRLayer.Begin(r, s)
}

// Consume stores upstream answers when the cache is open.
func (l *cacheLayer) Consume(r *daemon.Request, s daemon.State, a *dnsmsg.Packet) daemon.State {
	if !l.st.open.Load() {
		return s
	}
	return l.RRLayer.Consume(r, s, a)
}

// storageDir returns the directory of a storage URI (” for the default).
func storageDir(uri string) (string, error) {
	i := strings.Index(uri, "://")
	if i < 0 {
		return "", fmt.Errorf("unknown backend in '%s'", uri)
	}
	switch uri[:i] {
	case "lmdb", "bolt":
	default:
		return "", fmt.Errorf("unknown backend in '%s' (lmdb:// is the only one; ljdns keeps a bbolt snapshot there)", uri)
	}
	return uri[i+3:], nil
}

// inRunDir places a storage directory as kresd, which runs in RUNDIR,
// does: a relative one is taken from RUNDIR, none is RUNDIR itself.
// Without a RUNDIR (tools, tests) it is left as given.
func inRunDir(env *Env, dir string) string {
	rd := env.RunDir()
	switch {
	case dir == "":
		return rd
	case rd != "" && !filepath.IsAbs(dir):
		return filepath.Join(rd, dir)
	}
	return dir
}

// openCache is the cache global over daemon/cache: the one RR cache of the
// process, in memory, with its snapshot file RUNDIR/cache.bolt (or
// cache.bolt in the directory of `lmdb://path`), kept across reloads.
func openCache(L *lua.LState, env *Env) lua.LValue {
	st := env.Persistent("cache", func() any {
		st := &cacheState{size: cache.DefaultMaxBytes, storage: "lmdb://", nsTout: 400}
		st.c = cache.New(cache.Options{StaleKeep: cacheStaleKeep})
		st.layer = &cacheLayer{RRLayer: cache.RRLayer{C: st.c}, st: st}
		st.open.Store(true)
		return st
	}).(*cacheState)
	env.AddLayer(st.layer)
	// postconfig: the snapshot file in the storage's directory
	env.AtFinish("cache", func(*daemon.Config) error {
		if env.CheckConfig() {
			return nil
		}
		st.mu.Lock()
		dir, _ := storageDir(st.storage)
		st.mu.Unlock()
		dir = inRunDir(env, dir)
		if dir == "" {
			return nil
		}
		if err := st.c.AttachSnapshot(filepath.Join(dir, SnapshotFile)); err != nil {
			return fmt.Errorf("cache: snapshot: %v", err)
		}
		return nil
	})
	needOpen := func(L *lua.LState, what string) {
		if !st.open.Load() {
			L.RaiseError("cache.%s(): the cache is closed", what)
		}
	}
	C := L.NewTable()
	L.SetFuncs(C, map[string]lua.LGFunction{
		"current_size": func(L *lua.LState) int {
			st.mu.Lock()
			defer st.mu.Unlock()
			L.Push(lua.LNumber(st.size))
			return 1
		},
		"current_storage": func(L *lua.LState) int {
			st.mu.Lock()
			defer st.mu.Unlock()
			L.Push(lua.LString(st.storage))
			return 1
		},
		"backends": func(L *lua.LState) int {
			t := L.NewTable()
			t.RawSetString("lmdb", lua.LTrue)
			L.Push(t)
			return 1
		},
		// open(size, [uri]): kresd reopens its LMDB; here the size limit
		// changes at once and the storage's directory holds the snapshot
		// (attached after the configuration, or at once when the daemon runs).
		"open": func(L *lua.LState) int {
			st.mu.Lock()
			size, uri := st.size, st.storage
			st.mu.Unlock()
			if v := L.Get(1); v != lua.LNil {
				n, ok := v.(lua.LNumber)
				if !ok || n <= 0 {
					L.ArgError(1, "size must be a positive number")
				}
				size = int64(n)
			}
			if v := L.Get(2); v != lua.LNil {
				uri = L.CheckString(2)
			}
			dir, err := storageDir(uri)
			if err != nil {
				L.RaiseError("cache.open(): %v", err)
			}
			if dir != "" {
				dir = inRunDir(env, dir)
			}
			if dir != "" && !env.CheckConfig() && env.Server() != nil {
				if err := st.c.AttachSnapshot(filepath.Join(dir, SnapshotFile)); err != nil {
					L.RaiseError("cache.open(): %v", err)
				}
			}
			st.mu.Lock()
			st.size, st.storage = size, uri
			st.mu.Unlock()
			st.c.SetMaxBytes(size)
			st.open.Store(true)
			st.opens.Add(1)
			L.Push(lua.LTrue)
			return 1
		},
		"close": func(L *lua.LState) int {
			st.open.Store(false)
			st.closes.Add(1)
			L.Push(lua.LTrue)
			return 1
		},
		"count": func(L *lua.LState) int {
			needOpen(L, "count")
			st.counts.Add(1)
			n := st.c.Len()
			if r := env.gen.ld.currentResolver(); r != nil {
				n += r.CacheLen()
			}
			L.Push(lua.LNumber(n))
			return 1
		},
		"stats": func(L *lua.LState) int {
			L.Push(cacheStatsTable(L, st, env.gen.ld.currentResolver()))
			return 1
		},
		// clear([name, [exact_name, [rr_type]]]): everything, a subtree, one
		// name or one name's type; {count = n} as kresd.
		"clear": func(L *lua.LState) int {
			needOpen(L, "clear")
			var n int
			name := L.Get(1)
			exact := L.Get(2)
			if exact != lua.LNil && exact.Type() != lua.LTBool {
				L.RaiseError("cache.clear(): incorrect exact_name passed")
			}
			if name == lua.LNil || (lua.LVAsString(name) == "." && !lua.LVAsBool(exact)) {
				n = st.c.Len()
				st.c.Clear(nil, 0, false)
			} else {
				wire, err := dnsmsg.NameFromText(lua.LVAsString(name))
				if err != nil {
					L.RaiseError("cache.clear(): incorrect name passed")
				}
				var t uint16
				if v := L.Get(3); v != lua.LNil {
					if !lua.LVAsBool(exact) {
						L.RaiseError("cache.clear(): specifying rr_type only supported with exact_name")
					}
					t = uint16(L.CheckInt(3))
				}
				n = st.c.Clear(wire.Wire, t, !lua.LVAsBool(exact))
			}
			t := L.NewTable()
			t.RawSetString("count", lua.LNumber(n))
			L.Push(t)
			return 1
		},
		// get(name): the live entries of name, {[type name] = {ttl=, rdata={text...}}}
		// (negative entries as {ttl=, negative=true}); nil when none.
		"get": func(L *lua.LState) int {
			needOpen(L, "get")
			n, err := dnsmsg.NameFromText(L.CheckString(1))
			if err != nil {
				L.ArgError(1, err.Error())
			}
			var es []cache.Entry
			if r := env.gen.ld.currentResolver(); r != nil {
				es = r.CacheGet(n.Wire) // the resolver's own cache, then the shared one's
			}
			es = append(es, st.c.Get(n.Wire)...)
			if len(es) == 0 {
				L.Push(lua.LNil)
				return 1
			}
			t := L.NewTable()
			for _, e := range es {
				x := L.NewTable()
				x.RawSetString("ttl", lua.LNumber(e.TTL))
				if e.Negative {
					x.RawSetString("negative", lua.LTrue)
				} else {
					rd := L.NewTable()
					for _, r := range e.RData {
						rd.Append(lua.LString(dnsmsg.RDataText(e.Type, r)))
					}
					x.RawSetString("rdata", rd)
				}
				name := dnsmsg.TypeString(e.Type)
				if e.Type == 0 {
					name = "NXDOMAIN"
				}
				t.RawSetString(name, x)
			}
			L.Push(t)
			return 1
		},
		"sync": func(L *lua.LState) int {
			if err := st.c.Sync(); err != nil && err != cache.ErrNoSnapshot {
				L.RaiseError("cache.sync(): %v", err)
			}
			L.Push(lua.LTrue)
			return 1
		},
		"fssize": func(L *lua.LState) int {
			st.mu.Lock()
			defer st.mu.Unlock()
			L.Push(lua.LNumber(st.size))
			return 1
		},
		"min_ttl": func(L *lua.LState) int { return cacheTTL(L, st.c, "min_ttl", false) },
		"max_ttl": func(L *lua.LState) int { return cacheTTL(L, st.c, "max_ttl", true) },
		"ns_tout": func(L *lua.LState) int {
			st.mu.Lock()
			defer st.mu.Unlock()
			if v := L.Get(1); v != lua.LNil {
				n, ok := v.(lua.LNumber)
				if !ok || n < 0 {
					L.ArgError(1, "milliseconds expected")
				}
				st.nsTout = float64(n)
			}
			L.Push(lua.LNumber(st.nsTout))
			return 1
		},
	})
	C.RawSetString("context", cacheContext(L, st, env.gen.ld))
	return C
}

// cacheTTL is cache.min_ttl([s]) / cache.max_ttl([s]).
func cacheTTL(L *lua.LState, c *cache.RRCache, what string, max bool) int {
	lo, hi := c.TTLBounds()
	if v := L.Get(1); v != lua.LNil {
		n, ok := v.(lua.LNumber)
		if !ok || n < 0 {
			L.RaiseError("cache.%s(): seconds expected", what)
		}
		d := time.Duration(float64(n) * float64(time.Second))
		if max {
			if d < lo {
				L.RaiseError("cache.max_ttl(): must be at least min_ttl (%d)", int(lo/time.Second))
			}
			hi = d
		} else {
			if d > hi {
				L.RaiseError("cache.min_ttl(): must be at most max_ttl (%d)", int(hi/time.Second))
			}
			lo = d
		}
		c.SetTTLBounds(lo, hi)
	}
	if max {
		L.Push(lua.LNumber(hi / time.Second))
	} else {
		L.Push(lua.LNumber(lo / time.Second))
	}
	return 1
}

// cacheStats returns kresd's cache counters: those of the shared RR
// cache, with the resolver's own cache (r, nil when the configuration
// does not recurse) in count_entries, evictions and usage_percent (the
// live bytes of both against cache.size, each being limited to it), and
// on its own in resolver_entries, resolver_bytes, resolver_evictions.
func cacheStats(st *cacheState, r *resolver.Resolver) map[string]uint64 {
	c := st.c
	hits, misses := c.Hits.Load(), c.Misses.Load()
	var rn, rb, rev uint64
	if r != nil {
		b, ev := r.CacheBytes()
		rn, rb, rev = uint64(r.CacheLen()), uint64(max(b, 0)), ev
	}
	return map[string]uint64{
		"read": hits + misses, "read_miss": misses, "write": c.Inserts.Load(), "write_miss": 0,
		"commit": st.commits.Load(), "open": st.opens.Load(), "close": st.closes.Load(),
		"count": st.counts.Load(), "count_entries": uint64(c.Len()) + rn, "clear": c.Clears.Load(),
		"match": 0, "match_miss": 0, "read_leq": 0, "read_leq_miss": 0, "remove": c.Clears.Load(), "remove_miss": 0,
		"evictions":     c.Evictions.Load() + rev,
		"usage_percent": (100 * (uint64(c.Bytes()) + rb)) / uint64(max(c.MaxBytes(), 1)),

		"resolver_entries": rn, "resolver_bytes": rb, "resolver_evictions": rev,
	}
}

func cacheStatsTable(L *lua.LState, st *cacheState, r *resolver.Resolver) *lua.LTable {
	t := L.NewTable()
	for k, v := range cacheStats(st, r) {
		t.RawSetString(k, lua.LNumber(v))
	}
	return t
}

// cacheContext is kres.context().cache: a cdata-like object with live
// .stats and insert/commit/sync.
func cacheContext(L *lua.LState, st *cacheState, ld *Loader) lua.LValue {
	statsMT := L.NewTable()
	statsMT.RawSetString("__type", lua.LString("cdata"))
	statsMT.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		if v, ok := cacheStats(st, ld.currentResolver())[L.CheckString(2)]; ok {
			L.Push(lua.LNumber(v))
			return 1
		}
		return 0
	}))
	statsUD := L.NewUserData()
	L.SetMetatable(statsUD, statsMT)
	methods := map[string]lua.LValue{
		"stats": statsUD,
		// c:insert(rr, rrsig, rank, timestamp)
		"insert": L.NewFunction(func(L *lua.LState) int {
			if !st.open.Load() {
				L.RaiseError("cache insert: the cache is closed")
			}
			rr := luabind.Check[*dnsmsg.RRSet](L, 2, kresRRSetType)
			var sig *dnsmsg.RRSet
			if L.Get(3) != lua.LNil {
				sig = luabind.Check[*dnsmsg.RRSet](L, 3, kresRRSetType)
			}
			st.c.Insert(rr, sig)
			L.Push(lua.LTrue)
			return 1
		}),
		"commit": L.NewFunction(func(L *lua.LState) int {
			st.commits.Add(1)
			L.Push(lua.LTrue)
			return 1
		}),
		"sync": L.NewFunction(func(L *lua.LState) int {
			if err := st.c.Sync(); err != nil && err != cache.ErrNoSnapshot {
				L.RaiseError("cache sync: %v", err)
			}
			L.Push(lua.LTrue)
			return 1
		}),
	}
	mt := L.NewTable()
	mt.RawSetString("__type", lua.LString("cdata"))
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		if v, ok := methods[L.CheckString(2)]; ok {
			L.Push(v)
			return 1
		}
		return 0
	}))
	ud := L.NewUserData()
	L.SetMetatable(ud, mt)
	return ud
}

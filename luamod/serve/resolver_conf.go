package serve

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/daemon/cache"
	"ljdns/daemon/mod/hints"
	"ljdns/dnsmsg"
	"ljdns/resolver"
)

// zoneModules are the modules that answer from zones of their own: a
// configuration loading one of them (and not 'iterate' explicitly) does
// not recurse (SERVE.md §3.7).
var zoneModules = map[string]bool{"zonefile": true, "lua2": true, "authority": true}

// resolverState is kept across reloads: the same resolver (and its cache)
// serves as long as its configuration does not change.
type resolverState struct {
	key  string
	r    *resolver.Resolver
	stop func() // ends the previous generation's RFC 5011 refresh
}

// setResolver gives the configuration its recursion: a resolver.Layer as
// daemon.Config.Resolver built from the root hints (hints.root,
// hints.root_file), mode(), option('NO_MINIMIZE'), option('ALLOW_LOCAL'),
// cache.ns_tout() and the generation's trust anchors (its anchors.Store is
// the AnchorSource, refreshed by RFC 5011 in the background).
func (g *generation) setResolver() error {
	w0 := g.workers[0]
	zoneOnly, explicit := false, false
	for _, m := range w0.modules {
		if zoneModules[m.name] {
			zoneOnly = true
		}
		if m.name == "iterate" && !isDefaultModule(m.name) {
			explicit = true
		}
	}
	if zoneOnly && !explicit {
		return nil
	}
	c := resolver.Config{
		NoMinimize: g.cfg.Options.Has(daemon.NoMinimize),
		AllowLocal: g.cfg.Options.Has(daemon.AllowLocal),
	}
	var roots map[string][]string
	if h, ok := g.shared["hints"].(*hints.Hints); ok {
		roots = h.Root()
	}
	if len(roots) > 0 {
		names := make([]string, 0, len(roots))
		for n := range roots {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			h := resolver.Hint{Name: n}
			for _, a := range roots[n] {
				ip, err := netip.ParseAddr(a)
				if err != nil {
					return fmt.Errorf("hints.root: %q: %v", a, err)
				}
				h.Addrs = append(h.Addrs, ip)
			}
			c.Roots = append(c.Roots, h)
		}
	}
	if m, ok := resolver.ParseMode(lua.LVAsString(evalLua(w0.L, "mode()"))); ok {
		c.Mode = m
	}
	if v, ok := evalLua(w0.L, "cache.ns_tout()").(lua.LNumber); ok && v > 0 {
		c.NSTimeout = time.Duration(float64(v) * float64(time.Millisecond))
	}
	c.NTA = g.anchors.Insecure()
	key := fmt.Sprintf("%+v", c)
	c.AnchorSource = g.anchors
	cs, _ := g.ld.persistentGet("cache").(*cacheState)
	sl, _ := g.ld.persistentGet("serve_stale").(*cache.StaleLayer)
	if cs != nil {
		// one cache.size and cache.min_ttl/max_ttl for both caches
		c.Limits = cs.c
	}
	st := (&Env{gen: g}).Persistent("resolver", func() any { return &resolverState{} }).(*resolverState)
	g.ld.mu.Lock()
	defer g.ld.mu.Unlock()
	if st.r == nil || st.key != key {
		r, err := resolver.New(c)
		if err != nil {
			return fmt.Errorf("resolver: %v", err)
		}
		st.r, st.key = r, key
	}
	st.r.SetAnchorSource(g.anchors)
	stale := time.Duration(0)
	for _, m := range w0.modules {
		if m.name == "serve_stale" {
			stale = cacheStaleKeep // expired data answers while the servers fail
		}
	}
	st.r.SetServeStale(stale)
	if cs != nil && !g.ld.o.CheckConfig {
		// written behind with the shared RR cache into its snapshot file
		// (RUNDIR/cache.bolt): a restart answers what was resolved
		if err := cs.c.AddPart("resolver", st.r.SnapshotPart()); err != nil {
			return fmt.Errorf("resolver: cache snapshot: %v", err)
		}
	}
	if st.stop != nil {
		st.stop()
		st.stop = nil
	}
	if !g.ld.o.CheckConfig {
		// RFC 5011 active refresh of the anchors kept in key files
		ctx, cancel := context.WithCancel(context.Background())
		st.stop = cancel
		go g.anchors.Run(ctx, st.r.FetchDNSKEY)
	}
	l := &resolver.Layer{R: st.r}
	if stale > 0 && sl != nil {
		l.StaleTimeout = sl.Timeout // serve_stale.timeout for iteration too
	}
	g.cfg.Resolver = l
	// its Begin answers from the resolver's cache on the socket reader: last
	// of the layers (before the generation's closer) so modules see every query
	n := len(g.cfg.Layers)
	g.cfg.Layers = append(g.cfg.Layers[:n-1:n-1], l, g.cfg.Layers[n-1])
	return nil
}

func isDefaultModule(name string) bool {
	for _, n := range defaultModules {
		if n == name {
			return true
		}
	}
	return false
}

// evalLua evaluates expr in L's globals, nil on any error.
func evalLua(L *lua.LState, expr string) lua.LValue {
	fn, err := L.LoadString("return " + expr)
	if err != nil {
		return lua.LNil
	}
	top := L.GetTop()
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		L.SetTop(top)
		return lua.LNil
	}
	v := L.Get(-1)
	L.SetTop(top)
	return v
}

// currentResolver returns the resolver the configuration built, nil
// when it recurses not.
func (ld *Loader) currentResolver() *resolver.Resolver {
	st, _ := ld.persistentGet("resolver").(*resolverState)
	if st == nil {
		return nil
	}
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return st.r
}

// nResolverClear is S.resolver_clear(name, exact, rrtype): cache.clear()
// for the resolver's own cache (everything without a name); it returns
// the number of entries removed.
func (w *worker) nResolverClear(L *lua.LState) int {
	ld := w.gen.ld
	ld.mu.Lock()
	st, _ := ld.persistent["resolver"].(*resolverState)
	ld.mu.Unlock()
	if st == nil || st.r == nil {
		return 0
	}
	name := L.OptString(1, "")
	if name == "" {
		n := st.r.CacheLen()
		st.r.ClearCache()
		L.Push(lua.LNumber(n))
		return 1
	}
	n, err := dnsmsg.NameFromText(name)
	if err != nil {
		L.ArgError(1, err.Error())
	}
	L.Push(lua.LNumber(st.r.ClearName(n.Wire, lua.LVAsBool(L.Get(2)), uint16(L.OptInt(3, 0)))))
	return 1
}

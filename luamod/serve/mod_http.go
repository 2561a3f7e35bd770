package serve

import (
	"crypto/tls"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	httpmod "ljdns/daemon/mod/http"
	"ljdns/daemon/mod/stats"
)

func init() { registerModuleBinding("http", openHTTP) }

// openHTTP is kresd's http module over daemon/mod/http: the handler of
// the webmgmt listeners (net.listen(addr, 8453, {kind = 'webmgmt'})) with
// /metrics, /health, /stats, /frequent, /upstreams and the status page at
// /. It loads stats when the configuration did not. http.config({tls =
// false}) serves plain HTTP; {cert =, key =} gives the certificate (also
// the DoT/DoH one when the configuration set none). http.prometheus.namespace
// prefixes the metric names.
func openHTTP(L *lua.LState, env *Env) lua.LValue {
	if err := L.DoString("if stats == nil then modules.load('stats') end"); err != nil {
		L.RaiseError("http: loading stats: %v", err)
	}
	st := env.Persistent("stats", func() any { return stats.New() }).(*stats.Stats)
	M := L.NewTable()
	prom := L.NewTable()
	M.RawSetString("prometheus", prom)
	tlsOn := true
	var cert *tls.Certificate
	L.SetFuncs(M, map[string]lua.LGFunction{
		"config": func(L *lua.LState) int {
			t, ok := L.Get(1).(*lua.LTable)
			if !ok {
				if L.Get(1) == lua.LNil {
					return 0
				}
				L.ArgError(1, "table expected")
			}
			if v := t.RawGetString("tls"); v != lua.LNil {
				tlsOn = lua.LVAsBool(v)
			}
			c, k := t.RawGetString("cert"), t.RawGetString("key")
			if c != lua.LNil || k != lua.LNil {
				pair, err := tls.LoadX509KeyPair(lua.LVAsString(c), lua.LVAsString(k))
				if err != nil {
					L.RaiseError("http.config(): %v", err)
				}
				cert = &pair
			}
			for _, unsupported := range []string{"geoip", "host", "port"} {
				if t.RawGetString(unsupported) != lua.LNil {
					env.Log().Warnf("system", "http.config(): '%s' is not supported by ljdns serve (ignored)", unsupported)
				}
			}
			return 0
		},
	})
	if env.Worker() != 0 {
		return M
	}
	env.AtFinish("http", func(cfg *daemon.Config) error {
		ns := lua.LVAsString(prom.RawGetString("namespace"))
		if f := prom.RawGetString("finalize"); f != lua.LNil {
			env.Log().Warnf("system", "http.prometheus.finalize is not supported by ljdns serve (ignored)")
		}
		cs, _ := env.gen.ld.persistentGet("cache").(*cacheState)
		cfg.Web = httpmod.New(httpmod.Options{Stats: st, Namespace: ns,
			Extra:   func() map[string]float64 { return httpExtra(env, cs) },
			Healthy: func() bool { return env.Server() != nil }})
		for i := range cfg.Listen {
			if cfg.Listen[i].Kind == daemon.KindWebmgmt && !tlsOn {
				cfg.Listen[i].Plain = true
			}
		}
		if cert != nil && len(cfg.Certificates) == 0 {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		return nil
	})
	return M
}

// httpExtra is what /metrics and /stats add to stats.list(): the RR
// cache's counters and the daemon's (kresd's worker.* names).
func httpExtra(env *Env, cs *cacheState) map[string]float64 {
	out := map[string]float64{}
	if cs != nil {
		for k, v := range cacheStats(cs, env.gen.ld.currentResolver()) {
			out["cache."+k] = float64(v)
		}
		out["cache.hit"] = float64(cs.c.Hits.Load())
		out["cache.miss"] = float64(cs.c.Misses.Load())
	}
	if s := env.Server(); s != nil {
		c := s.Counters()
		for k, v := range map[string]int64{
			"worker.queries": c.Requests.Load(), "worker.dropped": c.Dropped.Load(), "worker.timeout": c.Timeouts.Load(),
			"worker.formerr": c.FormErr.Load(), "worker.truncated": c.Truncated.Load(), "worker.panics": c.Panics.Load(),
		} {
			out[k] = float64(v)
		}
	}
	return out
}

// persistentGet returns the process-wide object key, or nil.
func (ld *Loader) persistentGet(key string) any {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return ld.persistent[key]
}

package serve

import (
	"context"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/daemon/mod/prefill"
	"ljdns/dnsmsg"
	"ljdns/resolver"
)

func init() { registerModuleBinding("prefill", openPrefill) }

// prefillState is one generation's prefill configuration.
type prefillState struct {
	zone     string
	path     string
	interval time.Duration
	sets     []*dnsmsg.RRSet // read at config time
	stop     context.CancelFunc
}

// prefillLayer stops the generation's periodic reload when it is retired.
type prefillLayer struct{ st *prefillState }

func (l *prefillLayer) Name() string { return "prefill" }

// Close implements daemon.Closer.
func (l *prefillLayer) Close() error {
	if l.st.stop != nil {
		l.st.stop()
	}
	return nil
}

// openPrefill is kresd 5's prefill module over daemon/mod/prefill and the
// resolver's Prefill: prefill.config({['.'] = {url = PATH, interval = s,
// ca_file = ...}}) reads a local copy of the root zone (a path, relative
// to RUNDIR, or a file:// URL; http(s) URLs are refused: nothing is
// downloaded) into the resolver's cache when the configuration is in, and
// again every interval seconds (default 86400). ca_file is accepted and
// unused. Only the root zone, as kresd.
func openPrefill(L *lua.LState, env *Env) lua.LValue {
	st := env.Shared("prefill", func() any { return &prefillState{} }).(*prefillState)
	if env.Worker() == 0 {
		env.AddLayer(&prefillLayer{st})
		env.AtFinish("prefill", func(cfg *daemon.Config) error { return st.start(env, cfg) })
	}
	M := L.NewTable()
	L.SetFuncs(M, map[string]lua.LGFunction{
		"config": func(L *lua.LState) int {
			t, ok := L.Get(1).(*lua.LTable)
			if !ok {
				if L.Get(1) == lua.LNil {
					return 0
				}
				L.ArgError(1, "prefill.config: a table {['.'] = {url = ..., interval = ...}} expected")
			}
			var err error
			t.ForEach(func(k, v lua.LValue) {
				if err != nil {
					return
				}
				zone := lua.LVAsString(k)
				if zone != "." {
					err = fmt.Errorf("prefill: only the root zone can be imported ('%s' given)", zone)
					return
				}
				zt, ok := v.(*lua.LTable)
				if !ok {
					err = fmt.Errorf("prefill: the configuration of '.' must be a table")
					return
				}
				url := lua.LVAsString(zt.RawGetString("url"))
				if url == "" {
					err = fmt.Errorf("prefill: '.' needs url (a path or file:// URL of the zone file)")
					return
				}
				path, perr := prefill.Path(url)
				if perr != nil {
					err = perr
					return
				}
				interval := 86400 * time.Second
				if n, ok := zt.RawGetString("interval").(lua.LNumber); ok {
					if n <= 0 {
						err = fmt.Errorf("prefill: interval must be positive (seconds)")
						return
					}
					interval = time.Duration(float64(n) * float64(time.Second))
				}
				st.zone, st.path, st.interval = zone, path, interval
				if env.Worker() == 0 {
					st.sets, err = prefill.Load(zone, path)
				}
			})
			if err != nil {
				L.RaiseError("%s", err.Error())
			}
			return 0
		},
	})
	return M
}

// start puts the copy into the resolver's cache and reloads it every
// interval until the generation is retired.
func (st *prefillState) start(env *Env, cfg *daemon.Config) error {
	if st.path == "" || env.CheckConfig() {
		return nil
	}
	l, ok := cfg.Resolver.(*resolver.Layer)
	if !ok {
		env.Log().Warnf("prefill", "this configuration does not recurse: nothing to prefill")
		return nil
	}
	zone := []byte{0}
	n := l.R.Prefill(zone, st.sets)
	env.Log().Infof("prefill", "%d record sets of '%s' from %s", n, st.zone, st.path)
	st.sets = nil
	ctx, cancel := context.WithCancel(context.Background())
	st.stop = cancel
	go func() {
		t := time.NewTicker(st.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			sets, err := prefill.Load(st.zone, st.path)
			if err != nil {
				env.Log().Warnf("prefill", "%v (the cache keeps what it has)", err)
				continue
			}
			n := l.R.Prefill(zone, sets)
			env.Log().Infof("prefill", "%d record sets of '%s' from %s", n, st.zone, st.path)
		}
	}()
	return nil
}

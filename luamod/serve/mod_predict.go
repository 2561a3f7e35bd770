package serve

import (
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/daemon/mod/predict"
	"ljdns/resolver"
)

func init() { registerModuleBinding("predict", openPredict) }

// predictState is one generation's predict module.
type predictState struct {
	window time.Duration
	period int
	p      atomic.Pointer[predict.Predictor]
}

// predictLayer is the module in the request path; its Predictor exists once
// the configuration is in (it needs the resolver).
type predictLayer struct{ st *predictState }

func (l *predictLayer) Name() string { return "predict" }

// Finish implements daemon.Finisher.
func (l *predictLayer) Finish(r *daemon.Request, s daemon.State) daemon.State {
	if p := l.st.p.Load(); p != nil {
		return p.Finish(r, s)
	}
	return s
}

// Close implements daemon.Closer.
func (l *predictLayer) Close() error {
	if p := l.st.p.Load(); p != nil {
		return p.Close()
	}
	return nil
}

// openPredict is kresd 5's predict module over daemon/mod/predict:
// predict.config({window = minutes, period = windows}) (defaults 15 and
// 24; period = 0 keeps only the refresh of expiring answers),
// predict.stats() -> {epoch, queue, learned, refreshed, failed, and the
// window (minutes) and period in force once the module runs}.
func openPredict(L *lua.LState, env *Env) lua.LValue {
	st := env.Shared("predict", func() any {
		return &predictState{window: predict.DefaultWindow, period: predict.DefaultPeriod}
	}).(*predictState)
	if env.Worker() == 0 {
		env.AddLayer(&predictLayer{st})
		env.AtFinish("predict", func(cfg *daemon.Config) error {
			if env.CheckConfig() {
				return nil
			}
			l, ok := cfg.Resolver.(*resolver.Layer)
			if !ok {
				env.Log().Warnf("predict", "this configuration does not recurse: nothing to predict")
				return nil
			}
			p := predict.New(predict.Options{Window: st.window, Period: st.period, Refresh: l.R.Refresh, Cached: l.R.CachedTTL, Log: env.Log()})
			p.Start()
			st.p.Store(p)
			return nil
		})
	}
	M := L.NewTable()
	L.SetFuncs(M, map[string]lua.LGFunction{
		"config": func(L *lua.LState) int {
			t, ok := L.Get(1).(*lua.LTable)
			if !ok {
				return 0
			}
			if v, ok := t.RawGetString("window").(lua.LNumber); ok {
				if v <= 0 {
					L.ArgError(1, "predict.config: window must be positive (minutes)")
				}
				st.window = time.Duration(float64(v) * float64(time.Minute))
			}
			if v, ok := t.RawGetString("period").(lua.LNumber); ok {
				if v < 0 {
					L.ArgError(1, "predict.config: period must not be negative (windows)")
				}
				st.period = int(v)
			}
			return 0
		},
		"stats": func(L *lua.LState) int {
			r := L.NewTable()
			var s predict.Stats
			if p := st.p.Load(); p != nil {
				s = p.Stats()
				w, n := p.Config()
				r.RawSetString("window", lua.LNumber(w.Minutes()))
				r.RawSetString("period", lua.LNumber(n))
			}
			r.RawSetString("epoch", lua.LNumber(s.Epoch))
			r.RawSetString("queue", lua.LNumber(s.Queue))
			r.RawSetString("learned", lua.LNumber(s.Learned))
			r.RawSetString("refreshed", lua.LNumber(s.Refreshed))
			r.RawSetString("failed", lua.LNumber(s.Failed))
			L.Push(r)
			return 1
		},
	})
	return M
}

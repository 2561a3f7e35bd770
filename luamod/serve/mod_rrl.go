package serve

import (
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/daemon/mod/rrl"
)

func init() { registerModuleBinding("rrl", openRRL) }

// rrlLayer is the rrl module's layer: the limiter rrl.config() made (none:
// nothing is limited).
type rrlLayer struct{ cur atomic.Pointer[rrl.RRL] }

// Name is "rrl".
func (l *rrlLayer) Name() string { return "rrl" }

// AnswerFinalize limits UDP answers with the configured limiter.
func (l *rrlLayer) AnswerFinalize(r *daemon.Request, s daemon.State) daemon.State {
	if x := l.cur.Load(); x != nil {
		return x.AnswerFinalize(r, s)
	}
	return s
}

// openRRL is response rate limiting over daemon/mod/rrl (knotd's mod-rrl;
// kresd 5 has none): rrl.config({rate = answers/s per client prefix,
// slip = N, ipv4_prefix = 24, ipv6_prefix = 56, whitelist = {prefixes},
// table_size = n}); rrl.stats() gives {passed, dropped, slipped}.
func openRRL(L *lua.LState, env *Env) lua.LValue {
	l := env.Shared("rrl", func() any { return &rrlLayer{} }).(*rrlLayer)
	env.AddLayer(l)
	M := L.NewTable()
	L.SetFuncs(M, map[string]lua.LGFunction{
		"config": func(L *lua.LState) int {
			t := L.CheckTable(1)
			o := rrl.Options{Slip: -1}
			num := func(k string, dst *int) {
				switch v := t.RawGetString(k).(type) {
				case lua.LNumber:
					if v < 0 {
						L.RaiseError("rrl.config(): %s must not be negative", k)
					}
					*dst = int(v)
				case *lua.LNilType:
				default:
					L.RaiseError("rrl.config(): %s: number expected", k)
				}
			}
			num("rate", &o.Rate)
			num("slip", &o.Slip)
			num("ipv4_prefix", &o.IPv4Prefix)
			num("ipv6_prefix", &o.IPv6Prefix)
			num("table_size", &o.TableSize)
			if o.Rate <= 0 {
				L.RaiseError("rrl.config(): rate (answers per second) must be positive")
			}
			if o.IPv4Prefix > 32 || o.IPv6Prefix > 128 {
				L.RaiseError("rrl.config(): prefix length out of range")
			}
			if w, ok := t.RawGetString("whitelist").(*lua.LTable); ok {
				w.ForEach(func(_, v lua.LValue) {
					p, err := parsePrefix(lua.LVAsString(v))
					if err != nil {
						L.RaiseError("rrl.config(): whitelist: %v", err)
					}
					o.Whitelist = append(o.Whitelist, p)
				})
			}
			if env.Worker() == 0 {
				l.cur.Store(rrl.New(o))
			}
			return 0
		},
		"stats": func(L *lua.LState) int {
			t := L.NewTable()
			if x := l.cur.Load(); x != nil {
				t.RawSetString("passed", lua.LNumber(x.Passed.Load()))
				t.RawSetString("dropped", lua.LNumber(x.Dropped.Load()))
				t.RawSetString("slipped", lua.LNumber(x.Slipped.Load()))
			}
			L.Push(t)
			return 1
		},
	})
	return M
}

package serve

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/daemon/mod/policy"
	"ljdns/dnsmsg"
)

func init() { registerModuleBinding("policy", openPolicy) }

// luaAction is a Go policy action as a Lua value.
type luaAction struct {
	name string
	a    policy.Action
}

// luaRule is a compiled filter (policy.suffix(...) and the like).
type luaRule struct{ cb policy.RuleFunc }

func newUD(L *lua.LState, v any, mt *lua.LTable) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = v
	L.SetMetatable(ud, mt)
	return ud
}

// openPolicy is kresd's policy module over daemon/mod/policy: built-in
// filters and actions are Go values; a Lua function given as a filter or an
// action is called on the request path (mod_policy_lua.go).
func openPolicy(L *lua.LState, env *Env) lua.LValue {
	p := env.Shared("policy", func() any { return policy.New() }).(*policy.Policy)
	env.AddLayer(p)
	lp := &luaPolicy{env: env}
	actMT := L.NewTable()
	actMT.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("policy." + L.CheckUserData(1).Value.(*luaAction).name))
		return 1
	}))
	ruleMT := L.NewTable()
	act := func(name string, a policy.Action) *lua.LUserData { return newUD(L, &luaAction{name, a}, actMT) }
	checkAction := func(L *lua.LState, n int) policy.Action {
		switch v := L.Get(n).(type) {
		case *lua.LUserData:
			if a, ok := v.Value.(*luaAction); ok {
				return a.a
			}
		case *lua.LFunction:
			return lp.action(v) // mod_policy_lua.go
		}
		L.ArgError(n, "policy action expected")
		return nil
	}
	names := func(L *lua.LState, n int) [][]byte {
		t := L.CheckTable(n)
		var out [][]byte
		t.ForEach(func(_, v lua.LValue) {
			s := lua.LVAsString(v)
			if _, err := dnsmsg.NameFromWire([]byte(s)); err != nil {
				L.RaiseError("policy: %q is not a wire-format name (use todname)", s)
			}
			out = append(out, []byte(s))
		})
		return out
	}
	rule := func(cb policy.RuleFunc) *lua.LUserData { return newUD(L, &luaRule{cb}, ruleMT) }
	addrs := func(L *lua.LState, n int) []string {
		switch v := L.Get(n).(type) {
		case lua.LString:
			return []string{string(v)}
		case *lua.LTable:
			var out []string
			v.ForEach(func(_, x lua.LValue) { out = append(out, lua.LVAsString(x)) })
			return out
		}
		L.ArgError(n, "address or table of addresses expected")
		return nil
	}
	M := L.NewTable()
	for name, a := range map[string]policy.Action{"PASS": policy.PASS, "DENY": policy.DENY, "DROP": policy.DROP,
		"REFUSE": policy.REFUSE, "NO_ANSWER": policy.NO_ANSWER, "TC": policy.TC} {
		M.RawSetString(name, act(name, a))
	}
	trace := func(format string, args ...any) { env.Log().Debugf("policy", format, args...) }
	M.RawSetString("QTRACE", act("QTRACE", policy.QTRACE(trace)))
	M.RawSetString("DEBUG_ALWAYS", act("DEBUG_ALWAYS", policy.DEBUG_ALWAYS(trace)))
	L.SetFuncs(M, map[string]lua.LGFunction{
		"DENY_MSG": func(L *lua.LState) int {
			L.Push(act("DENY_MSG", policy.DenyMsg(L.OptString(1, ""), L.OptInt(2, -1))))
			return 1
		},
		"ANSWER": func(L *lua.LState) int {
			tb := L.CheckTable(1)
			table := map[uint16]policy.Data{}
			tb.ForEach(func(k, v lua.LValue) {
				t, ok := k.(lua.LNumber)
				d, ok2 := v.(*lua.LTable)
				if !ok || !ok2 {
					L.RaiseError("policy.ANSWER: {[type] = {rdata=..., ttl=...}} expected")
				}
				var data policy.Data
				data.TTL = 1
				if n, ok := d.RawGetString("ttl").(lua.LNumber); ok {
					data.TTL = uint32(n)
				}
				switch rd := d.RawGetString("rdata").(type) {
				case lua.LString:
					data.RData = [][]byte{[]byte(rd)}
				case *lua.LTable:
					rd.ForEach(func(_, x lua.LValue) { data.RData = append(data.RData, []byte(lua.LVAsString(x))) })
				default:
					L.RaiseError("policy.ANSWER: rdata missing")
				}
				table[uint16(t)] = data
			})
			L.Push(act("ANSWER", policy.ANSWER(table, L.ToBool(2))))
			return 1
		},
		"FORWARD": func(L *lua.LState) int {
			a, _, err := policy.Forward(addrs(L, 1), false)
			if err != nil {
				L.RaiseError("%v", err)
			}
			L.Push(act("FORWARD", a))
			return 1
		},
		"STUB": func(L *lua.LState) int {
			a, _, err := policy.Forward(addrs(L, 1), true)
			if err != nil {
				L.RaiseError("%v", err)
			}
			L.Push(act("STUB", a))
			return 1
		},
		"TLS_FORWARD": func(L *lua.LState) int {
			tb, ok := L.Get(1).(*lua.LTable)
			if !ok {
				L.ArgError(1, "table of targets expected")
			}
			var targets []policy.TLSTarget
			tb.ForEach(func(_, v lua.LValue) {
				tt, ok := v.(*lua.LTable)
				if !ok {
					L.RaiseError("policy.TLS_FORWARD: each target must be a table {'ip[@port]', ...}")
				}
				var tg policy.TLSTarget
				tt.ForEach(func(k, x lua.LValue) {
					switch k.String() {
					case "1":
						tg.Addr = lua.LVAsString(x)
					case "hostname":
						tg.Hostname = lua.LVAsString(x)
					case "ca_file":
						tg.CAFile = lua.LVAsString(x)
					case "insecure":
						tg.Insecure = lua.LVAsBool(x)
					case "pin_sha256":
						if pt, ok := x.(*lua.LTable); ok {
							pt.ForEach(func(_, y lua.LValue) { tg.Pins = append(tg.Pins, lua.LVAsString(y)) })
						} else {
							tg.Pins = append(tg.Pins, lua.LVAsString(x))
						}
					default:
						L.RaiseError("policy.TLS_FORWARD: unknown parameter %q", k.String())
					}
				})
				if tg.Addr == "" {
					L.RaiseError("policy.TLS_FORWARD: target without an address")
				}
				if tg.CAFile != "" && tg.Hostname == "" {
					L.RaiseError("policy.TLS_FORWARD: ca_file needs hostname")
				}
				targets = append(targets, tg)
			})
			a, _, err := policy.TLSForward(targets)
			if err != nil {
				L.RaiseError("%v", err)
			}
			L.Push(act("TLS_FORWARD", a))
			return 1
		},
		"MIRROR": func(L *lua.LState) int {
			a, err := policy.MIRROR(L.CheckString(1))
			if err != nil {
				L.RaiseError("%v", err)
			}
			L.Push(act("MIRROR", a))
			return 1
		},
		"FLAGS": func(L *lua.LState) int {
			flags := func(n int) daemon.Flags {
				var f daemon.Flags
				add := func(s string) {
					x, ok := daemon.FlagByName(s)
					if !ok {
						L.RaiseError("policy.FLAGS: unknown flag %q", s)
					}
					f |= x
				}
				switch v := L.Get(n).(type) {
				case lua.LString:
					add(string(v))
				case *lua.LTable:
					v.ForEach(func(_, x lua.LValue) { add(lua.LVAsString(x)) })
				}
				return f
			}
			L.Push(act("FLAGS", policy.FLAGS(flags(1), flags(2))))
			return 1
		},
		"REROUTE": func(L *lua.LState) int {
			m := map[netip.Prefix]netip.Prefix{}
			for i := 1; i <= L.GetTop(); i++ {
				L.CheckTable(i).ForEach(func(k, v lua.LValue) {
					from, err1 := parsePrefix(lua.LVAsString(k))
					to, err2 := parsePrefix(lua.LVAsString(v))
					if err1 != nil || err2 != nil {
						L.RaiseError("policy.REROUTE: bad subnet %q -> %q", lua.LVAsString(k), lua.LVAsString(v))
					}
					m[from] = netip.PrefixFrom(to.Addr(), from.Bits())
				})
			}
			L.Push(act("REROUTE", policy.REROUTE(m)))
			return 1
		},
		"all": func(L *lua.LState) int { L.Push(rule(policy.All(checkAction(L, 1)))); return 1 },
		"suffix": func(L *lua.LState) int {
			L.Push(rule(policy.Suffix(checkAction(L, 1), names(L, 2))))
			return 1
		},
		"suffix_common": func(L *lua.LState) int {
			L.Push(rule(policy.Suffix(checkAction(L, 1), names(L, 2))))
			return 1
		},
		"domains": func(L *lua.LState) int {
			L.Push(rule(policy.Domains(checkAction(L, 1), names(L, 2))))
			return 1
		},
		"pattern": func(L *lua.LState) int {
			a, pat := checkAction(L, 1), L.CheckString(2)
			// a plain substring (the common case: a todname() wire string)
			if strings.ContainsAny(pat, "^$()%.[]*+-?") {
				L.RaiseError("policy.pattern: Lua patterns with magic characters are not supported yet (%q)", pat)
			}
			L.Push(rule(policy.PatternFunc(a, func(w []byte) bool { return strings.Contains(string(w), pat) })))
			return 1
		},
		"slice": func(L *lua.LState) int {
			L.CheckFunction(1)
			if L.GetTop() < 2 {
				L.RaiseError("policy.slice: at least one action expected")
			}
			a := checkActionOrForward(L, 2, checkAction)
			L.Push(rule(policy.All(a)))
			return 1
		},
		"slice_randomize_psl": func(L *lua.LState) int {
			L.RaiseError("policy.slice_randomize_psl: the public suffix list is not available (kresd: lua-psl is required)")
			return 0
		},
		// rpz(action, path, [watch = true]): the RPZ file compiled to a Go
		// filter (daemon/mod/policy.RPZ); watched for changes (polled every second,
		// read once unchanged for a second).
		"rpz": func(L *lua.LState) int {
			a, path := checkAction(L, 1), L.CheckString(2)
			watch := L.Get(3) == lua.LNil || L.ToBool(3)
			z := env.Shared("policy.rpz "+path+" #"+strconv.Itoa(lp.nextRPZ()), func() any {
				z, err := policy.LoadRPZ(path, a, func(format string, args ...any) { env.Log().Warnf("policy", format, args...) })
				if err != nil {
					return err
				}
				if watch && !env.CheckConfig() {
					z.Watch(time.Second)
				}
				p.OnClose(z.Close)
				return z
			})
			if err, ok := z.(error); ok {
				L.RaiseError("%v", err)
			}
			L.Push(rule(z.(*policy.RPZ).Rule()))
			return 1
		},
		"todname": func(L *lua.LState) int {
			n, err := dnsmsg.NameFromText(L.CheckString(1))
			if err != nil {
				L.ArgError(1, err.Error())
			}
			L.Push(lua.LString(n.Wire))
			return 1
		},
		"todnames": func(L *lua.LState) int {
			t := L.CheckTable(1)
			t.ForEach(func(k, v lua.LValue) {
				n, err := dnsmsg.NameFromText(lua.LVAsString(v))
				if err != nil {
					L.RaiseError("policy.todnames: %v", err)
				}
				t.RawSet(k, lua.LString(n.Wire))
			})
			L.Push(t)
			return 1
		},
		"add": func(L *lua.LState) int {
			i := 1
			if L.Get(1) == M { // policy:add(rule), the 1.0 form
				i = 2
			}
			ud, ok := L.Get(i).(*lua.LUserData)
			var cb policy.RuleFunc
			if ok {
				if r, ok := ud.Value.(*luaRule); ok {
					cb = r.cb
				}
			}
			if cb == nil {
				if fn, isFn := L.Get(i).(*lua.LFunction); isFn {
					cb = lp.rule(fn) // mod_policy_lua.go
				} else {
					L.ArgError(i, "policy rule expected")
				}
			}
			r := p.Add(cb, L.ToBool(i+1))
			t := L.NewTable()
			t.RawSetString("id", lua.LNumber(r.ID))
			t.RawSetString("cb", L.Get(i))
			mt := L.NewTable()
			mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
				if L.CheckString(2) == "count" {
					L.Push(lua.LNumber(r.Count.Load()))
					return 1
				}
				return 0
			}))
			L.SetMetatable(t, mt)
			L.Push(t)
			return 1
		},
		"del": func(L *lua.LState) int {
			L.Push(lua.LBool(p.Del(L.CheckInt(1))))
			return 1
		},
	})
	return M
}

// checkActionOrForward accepts an action value or an action constructor
// (policy.slice(f, policy.FORWARD, ...) passes constructors).
func checkActionOrForward(L *lua.LState, n int, check func(*lua.LState, int) policy.Action) policy.Action {
	if _, ok := L.Get(n).(*lua.LFunction); ok {
		return policy.PASS
	}
	return check(L, n)
}

func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

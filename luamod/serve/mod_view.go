package serve

import (
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon/mod/policy"
	"ljdns/daemon/mod/view"
	"ljdns/dnsmsg"
	luadns "ljdns/luamod/dns"
)

func init() { registerModuleBinding("view", openView) }

// openView is kresd's view module over daemon/mod/view: view:addr(subnet,
// rule, [dst]) and view:tsig(key, rule), where rule is a policy filter
// (policy.all(...), policy.suffix(...), ...) or a Lua function(req, qry)
// returning an action. One table per configuration generation.
func openView(L *lua.LState, env *Env) lua.LValue {
	v := env.Shared("view", func() any { return view.New() }).(*view.View)
	env.AddLayer(v)
	lp := &luaPolicy{env: env, prefix: "view"}
	M := L.NewTable()
	// args skips the module itself (view:addr(...) and view.addr(...) both work)
	args := func(L *lua.LState) int {
		if L.Get(1) == M {
			return 2
		}
		return 1
	}
	ruleArg := func(L *lua.LState, n int) policy.RuleFunc {
		switch x := L.Get(n).(type) {
		case *lua.LUserData:
			if r, ok := x.Value.(*luaRule); ok {
				return r.cb
			}
		case *lua.LFunction:
			return lp.rule(x)
		}
		L.ArgError(n, "policy filter expected (policy.all(...), policy.suffix(...) or function(req, qry))")
		return nil
	}
	entry := func(L *lua.LState, r *view.Rule) lua.LValue {
		t := L.NewTable()
		mt := L.NewTable()
		mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
			if L.CheckString(2) == "count" {
				L.Push(lua.LNumber(r.Count.Load()))
				return 1
			}
			return 0
		}))
		L.SetMetatable(t, mt)
		return t
	}
	L.SetFuncs(M, map[string]lua.LGFunction{
		"addr": func(L *lua.LState) int {
			i := args(L)
			subnet := L.CheckString(i)
			cb := ruleArg(L, i+1)
			r, err := v.Addr(strings.TrimSpace(subnet), cb, L.ToBool(i+2))
			if err != nil {
				L.RaiseError("view:addr(): %v", err)
			}
			L.Push(entry(L, r))
			return 1
		},
		"tsig": func(L *lua.LState) int {
			i := args(L)
			key := tsigArg(L, i)
			L.Push(entry(L, v.TSIG(key, ruleArg(L, i+1))))
			return 1
		},
	})
	return M
}

// tsigArg reads view:tsig's key: a dns.tsig object or kdig's
// 'name:algorithm:base64secret'. kresd's bare key name (wire) is refused:
// ljdns verifies the signature, which needs the secret.
func tsigArg(L *lua.LState, n int) *dnsmsg.TSIG {
	switch x := L.Get(n).(type) {
	case *lua.LUserData:
		if k, ok := x.Value.(*dnsmsg.TSIG); ok {
			return k
		}
	case lua.LString:
		s := string(x)
		if strings.Contains(s, ":") {
			k, err := dnsmsg.ParseTSIGKey(s)
			if err != nil {
				L.RaiseError("view:tsig(): %v", err)
			}
			return k
		}
		L.RaiseError("view:tsig(): ljdns serve verifies the TSIG and needs the key's secret: give 'name:algorithm:base64secret' or a %s object instead of the key name %q", luadns.TSIGTypeName, (&dnsmsg.Name{Wire: []byte(s)}).String())
	}
	L.ArgError(n, "TSIG key expected ('name:algorithm:base64secret' or dns.tsig(...))")
	return nil
}

package serve

import (
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/daemon/mod/policy"
	"ljdns/daemon/mod/view"
	"ljdns/dnsmsg"
)

func init() { registerModuleBinding("view", openView) }

// openView is kresd's view module over daemon/mod/view: view:addr(subnet,
// rule, [dst]) and view:tsig(key, rule), where rule is a policy filter
// (policy.all(...), policy.suffix(...), ...) or a Lua function(req, qry)
// returning an action. One table per configuration generation.
func openView(L *lua.LState, env *Env) lua.LValue {
	keys := tsigKeyring(env) // not inside Shared's mk: it holds the generation's lock
	v := env.Shared("view", func() any {
		v := view.New()
		v.Keys = keys
		return v
	}).(*view.View)
	env.AtFinish("view", func(*daemon.Config) error {
		for _, n := range v.Unkeyed() {
			env.Log().Warnf("view", "view:tsig(%q): no secret of key %s is configured (view.key('%s:hmac-sha256:BASE64'), or a zonefile/etcdzone tsig entry): ljdns verifies the TSIG, so the rule matches no query", n, n, strings.TrimSuffix(n, "."))
		}
		return nil
	})
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
			key, name := tsigArg(L, i)
			cb := ruleArg(L, i+1)
			if key != nil {
				L.Push(entry(L, v.TSIG(key, cb)))
			} else {
				L.Push(entry(L, v.TSIGName(name, cb)))
			}
			return 1
		},
		// key(k): an ljdns extension giving the secret of a key that
		// view:tsig names ('name:algorithm:base64secret' or dns.tsig).
		"key": func(L *lua.LState) int {
			i := args(L)
			key, _ := tsigArg(L, i)
			if key == nil {
				L.ArgError(i, "TSIG key with its secret expected ('name:algorithm:base64secret' or dns.tsig(...))")
			}
			if !v.Keys.Add(key) {
				L.RaiseError("view.key(): another secret of key %s was given already", (&dnsmsg.Name{Wire: key.Name}).String())
			}
			return 0
		},
	})
	return M
}

// tsigKeyring is the configuration generation's TSIG keyring: the keys
// view:tsig, view.key and the zone modules' tsig entries give, where a
// view:tsig rule given a key name alone finds its secret.
func tsigKeyring(env *Env) *view.Keyring {
	return env.Shared("tsig keyring", func() any { return view.NewKeyring() }).(*view.Keyring)
}

// tsigArg reads view:tsig's key: a dns.tsig object or kdig's
// 'name:algorithm:base64secret' (the key), or kresd's key name in wire
// form ('\5mykey', the root label implied as in kresd, where the Lua
// string is read as a C string) or, an ljdns extension, in text form
// ('mykey.') (the name: the secret comes from the keyring).
func tsigArg(L *lua.LState, n int) (*dnsmsg.TSIG, []byte) {
	switch x := L.Get(n).(type) {
	case *lua.LUserData:
		if k, ok := x.Value.(*dnsmsg.TSIG); ok {
			return k, nil
		}
	case lua.LString:
		s := string(x)
		if strings.Contains(s, ":") {
			k, err := dnsmsg.ParseTSIGKey(s)
			if err != nil {
				L.RaiseError("view:tsig(): %v", err)
			}
			return k, nil
		}
		if w, ok := wireName(s); ok {
			return nil, w
		}
		if nm, err := dnsmsg.NameFromText(s); err == nil && s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return nil, nm.Wire
		}
		L.RaiseError("view:tsig(): %q is neither a key name (wire form as kresd's '\\5mykey', or text) nor 'name:algorithm:base64secret'", s)
	}
	L.ArgError(n, "TSIG key expected ('name:algorithm:base64secret', dns.tsig(...) or the key name)")
	return nil, nil
}

// wireName reads s as a domain name in wire form, the terminating root
// label optional (kresd passes the Lua string as a C string, so its NUL
// ends the name); it reports false for anything else.
func wireName(s string) ([]byte, bool) {
	if s == "" || s == "\x00" {
		return nil, false
	}
	i := 0
	for i < len(s) {
		l := int(s[i])
		if l == 0 {
			if i != len(s)-1 {
				return nil, false
			}
			break
		}
		if l > 63 || i+1+l > len(s) {
			return nil, false
		}
		i += 1 + l
	}
	w := []byte(s)
	if w[len(w)-1] != 0 || i == len(s) {
		w = append(w, 0)
	}
	if len(w) > 255 {
		return nil, false
	}
	return w, true
}

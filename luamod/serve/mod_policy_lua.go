package serve

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/daemon/mod/policy"
)

// luaPolicy turns policy filters and actions written in Lua into Go ones
// that call them on the request path (LuaCallable): each worker's state
// numbers the Lua functions it hands to policy in order, so the same
// configuration call in every state names the same callable.
type luaPolicy struct {
	env    *Env
	n      int
	prefix string // names the callables ("policy" when empty; "view" for view's rules)
	rpz    int
}

// nextRPZ numbers the policy.rpz calls of this state (the same call in
// every worker's state shares one compiled file).
func (lp *luaPolicy) nextRPZ() int {
	lp.rpz++
	return lp.rpz
}

func (lp *luaPolicy) key(what string) string {
	p := lp.prefix
	if p == "" {
		p = "policy"
	}
	return fmt.Sprintf("%s %s #%d", p, what, lp.n)
}

// action is a Lua action `function(state, req)`: a state returned stops
// the rules, nil goes on to the next (kresd's chain actions).
func (lp *luaPolicy) action(fn *lua.LFunction) policy.Action {
	lp.n++
	c := lp.env.Callable(lp.key("action"), fn)
	return luaAction2Go(c)
}

func luaAction2Go(c *LuaCallable) policy.Action {
	return func(r *daemon.Request, s daemon.State) daemon.State {
		var st daemon.State
		err := c.Call(r, func(L *lua.LState, req lua.LValue) []lua.LValue {
			return []lua.LValue{lua.LNumber(s), req}
		}, func(L *lua.LState, rets []lua.LValue) {
			if len(rets) > 0 {
				if n, ok := rets[0].(lua.LNumber); ok {
					st = daemon.State(n)
				}
			}
		})
		if err != nil {
			return daemon.Fail
		}
		return st
	}
}

// rule is a Lua filter `function(req, qry)` returning an action (a
// built-in one, or a Lua function) or nil.
func (lp *luaPolicy) rule(fn *lua.LFunction) policy.RuleFunc {
	lp.n++
	c := lp.env.Callable(lp.key("filter"), fn)
	return func(r *daemon.Request) policy.Action {
		var a policy.Action
		err := c.Call(r, func(L *lua.LState, req lua.LValue) []lua.LValue {
			qry := lua.LValue(lua.LNil)
			if cur, ok := L.GetField(req, "current").(*lua.LFunction); ok {
				if L.CallByParam(lua.P{Fn: cur, NRet: 1, Protect: true}, req) == nil {
					qry = L.Get(-1)
					L.Pop(1)
				}
			}
			return []lua.LValue{req, qry}
		}, func(L *lua.LState, rets []lua.LValue) {
			if len(rets) == 0 {
				return
			}
			switch v := rets[0].(type) {
			case *lua.LUserData:
				if la, ok := v.Value.(*luaAction); ok {
					a = la.a
				}
			case *lua.LFunction:
				// an action made by the filter: run in this worker's state
				one := &LuaCallable{name: c.name + " action", g: c.g, fns: make([]*lua.LFunction, len(c.fns))}
				one.fns[r.Worker%len(one.fns)] = v
				a = luaAction2Go(one)
			}
		})
		if err != nil {
			return policy.Action(func(*daemon.Request, daemon.State) daemon.State { return daemon.Fail })
		}
		return a
	}
}

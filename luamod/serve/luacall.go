package serve

import (
	"errors"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/host"
)

// LuaCallable is a Lua function of the configuration as the request path
// calls it: one function per worker state (each worker executes the
// configuration, so each has its own closure), called in the state of the
// worker a request arrived on, the way Lua layers are (the state held by
// the calling goroutine, a coroutine that may wait for I/O, the request's
// Lua CPU budget, errors logged with file:line once a second). Go modules
// use it for Lua callbacks: policy filters and actions written in Lua.
type LuaCallable struct {
	name string
	g    *generation
	fns  []*lua.LFunction // by worker
}

// Callable returns the LuaCallable named key of this configuration
// generation and records fn as its function in this worker's state. The
// same configuration call in every worker's state must use the same key
// (e.g. "policy.rule.3" for the third rule a state adds), so that the
// request path finds each worker's own closure.
func (e *Env) Callable(key string, fn *lua.LFunction) *LuaCallable {
	c := e.Shared("callable:"+key, func() any {
		return &LuaCallable{name: key, g: e.gen, fns: make([]*lua.LFunction, e.gen.ld.o.Workers)}
	}).(*LuaCallable)
	e.gen.mu.Lock()
	if e.w.id < len(c.fns) {
		c.fns[e.w.id] = fn
	}
	e.gen.mu.Unlock()
	return c
}

// luaCall is a LuaCallable call in progress.
type luaCall struct {
	c       *LuaCallable
	results func(L *lua.LState, rets []lua.LValue)
	err     error
	done    chan struct{} // closed when the call ended on the worker's loop (made when it blocks)
}

// ErrLuaCall is wrapped by the errors of LuaCallable.Call.
var ErrLuaCall = errors.New("serve: Lua call failed")

// Call runs the function for request r: args builds its arguments (req is
// the request's Lua object), results reads what it returned; both run
// while the state is held, so they may touch Lua values. A call that waits
// for I/O blocks the calling goroutine until it ends or the request's
// deadline passes. The error says why the call failed (the Lua error with
// file:line, the CPU budget, the deadline); the request's extended error is
// set as for layers.
func (c *LuaCallable) Call(r *daemon.Request, args func(L *lua.LState, req lua.LValue) []lua.LValue,
	results func(L *lua.LState, rets []lua.LValue)) error {
	ws := c.g.workers
	w := ws[r.Worker%len(ws)]
	fn := c.fns[w.id]
	if fn == nil {
		return fmt.Errorf("%w: %s has no function in worker %d", ErrLuaCall, c.name, w.id)
	}
	rl := luaSide(r, w)
	if rl.guard.dead() {
		return fmt.Errorf("%w: the request has ended", ErrLuaCall)
	}
	w.lk.Lock()
	if w.stopped.Load() {
		w.lk.Unlock()
		return fmt.Errorf("%w: the worker is stopping", ErrLuaCall)
	}
	L := w.L
	if rl.ud == nil {
		rl.ud = pushRequest(L, &rl.kresRequest)
	}
	var a []lua.LValue
	if args != nil {
		a = args(L, rl.ud)
	}
	call := &luaCall{c: c, results: results}
	rl.generic, rl.over, rl.pending = call, false, true
	rl.layer = nil
	w.sched.Go(L, fn, a, rl)
	if !rl.pending {
		rl.generic = nil
		w.lk.Unlock()
		return call.err
	}
	call.done = make(chan struct{})
	w.sched.Post(func(*lua.LState) {})
	w.lk.Unlock()
	limit := c.g.cfg.RequestTimeout
	if limit <= 0 {
		limit = 10 * time.Second
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	var ctxDone <-chan struct{}
	if r.Ctx != nil {
		ctxDone = r.Ctx.Done()
	}
	select {
	case <-call.done:
		return call.err
	case <-ctxDone:
	case <-t.C:
	}
	rl.guard.end()
	r.SetEDE(daemon.EDEOther, "Lua function "+c.name+" timed out")
	return fmt.Errorf("%w: %s timed out", ErrLuaCall, c.name)
}

// genericDone ends a LuaCallable call (on the goroutine holding the state).
func (rl *reqLua) genericDone(L *lua.LState, ok bool, rets []lua.LValue, errv lua.LValue) {
	call := rl.generic
	w := rl.w
	ended := rl.guard.dead()
	if !ok {
		msg := host.ToString(L, errv)
		if rl.over {
			msg = errBudget.Error()
		}
		if !ended {
			if rl.over {
				rl.r.SetEDE(daemon.EDEOther, "Lua CPU budget exceeded in "+call.c.name)
			} else {
				rl.r.SetEDE(daemon.EDEOther, call.c.name+" failed")
			}
		}
		if ok, _ := w.errLog.allow(); ok {
			w.gen.ld.log.Errorf("system", "%s: %s", call.c.name, firstLine(msg))
		}
		call.err = fmt.Errorf("%w: %s: %s", ErrLuaCall, call.c.name, firstLine(msg))
	} else if call.results != nil && !ended {
		call.results(L, rets)
	}
	rl.pending = false
	if call.done != nil {
		rl.generic = nil
		close(call.done)
	}
}

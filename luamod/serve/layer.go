package serve

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/host"
	"ljdns/luamod/nbio"
)

// phase is one of kresd's layer functions.
type phase int

const (
	phBegin phase = iota
	phReset
	phProduce
	phCheckout
	phConsume
	phFinish
	phAnswerFinalize
	nPhases
)

var phaseNames = [nPhases]string{"begin", "reset", "produce", "checkout", "consume", "finish", "answer_finalize"}

// layerFuncs are the Lua layer functions of one state, by module.
type layerFuncs map[string]*[nPhases]*lua.LFunction

// collectLayers reads the layer tables of the state's Lua modules.
func (w *worker) collectLayers() layerFuncs {
	out := layerFuncs{}
	for _, m := range w.modules {
		if m.lua == nil {
			continue
		}
		lt, ok := m.lua.RawGetString("layer").(*lua.LTable)
		if !ok {
			continue
		}
		var fns [nPhases]*lua.LFunction
		any := false
		for i, n := range phaseNames {
			if f, ok := lt.RawGetString(n).(*lua.LFunction); ok {
				fns[i] = f
				any = true
			}
		}
		if any {
			out[m.name] = &fns
		}
	}
	return out
}

// DefaultLuaBudget is the Lua CPU time one request may use in layers
// (worker.lua_budget changes it).
const DefaultLuaBudget = 100 * time.Millisecond

// errBudget stops a request's Lua code over its budget.
var errBudget = errors.New("Lua CPU budget of the request exceeded")

// luaLayer is a Lua module's layer in the request path: each call runs
// the module's function in a coroutine of the state of the worker the
// request arrived on, and waits for it (the coroutine may yield on I/O
// meanwhile; the worker serves other requests).
type luaLayer struct {
	name string
	g    *generation
	has  [nPhases]bool // phases defined in worker 0's module (the others do not cost a post)
}

func newLuaLayer(g *generation, name string) daemon.Layer {
	fns := g.workers[0].layers[name]
	if fns == nil {
		return nil
	}
	l := &luaLayer{name: name, g: g}
	for i, f := range fns {
		l.has[i] = f != nil
	}
	return l
}

// Name implements daemon.Layer.
func (l *luaLayer) Name() string { return l.name }

// MayBlock implements daemon.Blocker: the request waits for the worker's goroutine.
func (l *luaLayer) MayBlock() bool { return true }

// Begin implements daemon.Beginner.
func (l *luaLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	return l.call(r, phBegin, s, nil, netip.AddrPort{}, false)
}

// Reset implements daemon.Resetter.
func (l *luaLayer) Reset(r *daemon.Request, s daemon.State) daemon.State {
	return l.call(r, phReset, s, nil, netip.AddrPort{}, false)
}

// Produce implements daemon.Producer.
func (l *luaLayer) Produce(r *daemon.Request, s daemon.State, q *dnsmsg.Packet) daemon.State {
	return l.call(r, phProduce, s, q, netip.AddrPort{}, false)
}

// Checkout implements daemon.Checkouter.
func (l *luaLayer) Checkout(r *daemon.Request, s daemon.State, q *dnsmsg.Packet, dst netip.AddrPort, tcp bool) daemon.State {
	return l.call(r, phCheckout, s, q, dst, tcp)
}

// Consume implements daemon.Consumer.
func (l *luaLayer) Consume(r *daemon.Request, s daemon.State, a *dnsmsg.Packet) daemon.State {
	return l.call(r, phConsume, s, a, netip.AddrPort{}, false)
}

// Finish implements daemon.Finisher.
func (l *luaLayer) Finish(r *daemon.Request, s daemon.State) daemon.State {
	return l.call(r, phFinish, s, nil, netip.AddrPort{}, false)
}

// AnswerFinalize implements daemon.AnswerFinalizer: the last Lua call of
// the request, after which its Lua objects are dead.
func (l *luaLayer) AnswerFinalize(r *daemon.Request, s daemon.State) daemon.State {
	return l.call(r, phAnswerFinalize, s, nil, netip.AddrPort{}, false)
}

// reqLua is a request's Lua side, shared by the Lua layers it passes.
type reqLua struct {
	guard *reqGuard
	ud    lua.LValue    // the req object (made on the worker's goroutine)
	used  time.Duration // Lua time used so far (worker's goroutine only)
	ch    chan daemon.State
}

const reqVar = "serve.lua"

// call runs one phase of the layer for r on its worker and waits.
func (l *luaLayer) call(r *daemon.Request, ph phase, s daemon.State, pkt *dnsmsg.Packet, dst netip.AddrPort, tcp bool) daemon.State {
	if !l.has[ph] {
		return s
	}
	ws := l.g.workers
	w := ws[r.Worker%len(ws)]
	rl, _ := r.Var(reqVar).(*reqLua)
	if rl == nil {
		rl = &reqLua{guard: &reqGuard{}, ch: make(chan daemon.State, 1)}
		r.SetVar(reqVar, rl)
		if r.Ctx != nil {
			// the request's context ends with the request (or at its
			// deadline): from then on Lua must not touch it
			context.AfterFunc(r.Ctx, rl.guard.end)
		}
	}
	if rl.guard.dead() {
		return daemon.Fail
	}
	if !w.sched.Post(func(L *lua.LState) { w.runPhase(L, l, r, rl, ph, s, pkt, dst, tcp) }) {
		return daemon.Fail
	}
	if r.Ctx == nil {
		return <-rl.ch
	}
	select {
	case st := <-rl.ch:
		return st
	case <-r.Ctx.Done():
		// over the deadline: the coroutine finds the request dead at its
		// next access; its late result goes into the buffered channel
		rl.guard.end()
		r.SetEDE(daemon.EDEOther, "module "+l.name+" timed out")
		return daemon.Fail
	}
}

// runPhase starts the phase's coroutine on the worker's goroutine.
func (w *worker) runPhase(L *lua.LState, l *luaLayer, r *daemon.Request, rl *reqLua, ph phase, s daemon.State,
	pkt *dnsmsg.Packet, dst netip.AddrPort, tcp bool) {
	fns := w.layers[l.name]
	if fns == nil || fns[ph] == nil || rl.guard.dead() {
		rl.ch <- s
		return
	}
	if rl.ud == nil {
		rl.ud = pushRequest(L, &kresRequest{r: r, guard: rl.guard})
	}
	args := []lua.LValue{lua.LNumber(s), rl.ud}
	switch ph {
	case phProduce, phConsume:
		if pkt != nil {
			args = append(args, pushKresPacket(L, &kresPacket{p: pkt, guard: rl.guard}))
		} else {
			args = append(args, lua.LNil)
		}
	case phCheckout:
		args = append(args, pushKresPacket(L, &kresPacket{p: pkt, guard: rl.guard}), lua.LString(dst.String()), lua.LBool(tcp))
	}
	budget := w.budget
	var start time.Time
	var over atomic.Bool
	var stop func() bool
	var token uint64
	hooks := &nbio.TaskHooks{
		Resume: func(co *lua.LState) {
			if budget <= 0 {
				return
			}
			co.SetContext(w.budgetIntr)
			start = time.Now()
			left := budget - rl.used
			if left <= 0 {
				left = time.Microsecond
			}
			token = w.budgetToken.Add(1)
			t := time.AfterFunc(left, func() {
				w.budgetMu.Lock()
				if w.budgetToken.Load() == token {
					over.Store(true)
					w.budgetIntr.Fire(errBudget)
				}
				w.budgetMu.Unlock()
			})
			stop = t.Stop
		},
		Pause: func() {
			if budget <= 0 {
				return
			}
			rl.used += time.Since(start)
			stop()
			w.budgetMu.Lock()
			w.budgetToken.Add(1)
			if w.budgetIntr.Err() != nil {
				w.budgetIntr.Reset()
			}
			w.budgetMu.Unlock()
		},
		Done: func(L *lua.LState, ok bool, rets []lua.LValue, errv lua.LValue) {
			if !ok {
				msg := host.ToString(L, errv)
				if over.Load() {
					msg = errBudget.Error()
					r.SetEDE(daemon.EDEOther, "Lua CPU budget exceeded in module "+l.name)
				} else {
					r.SetEDE(daemon.EDEOther, "module "+l.name+" failed")
				}
				if ok, lost := w.errLog.allow(); ok {
					if lost > 0 {
						w.gen.ld.log.Errorf("system", "module %s: layer %s: %s (%d more errors suppressed)", l.name, phaseNames[ph], firstLine(msg), lost)
					} else {
						w.gen.ld.log.Errorf("system", "module %s: layer %s: %s", l.name, phaseNames[ph], firstLine(msg))
					}
				}
				rl.ch <- daemon.Fail
				return
			}
			st := s
			if len(rets) > 0 {
				if n, ok := rets[0].(lua.LNumber); ok {
					st = daemon.State(n)
					if st == daemon.Yield || st == daemon.Produce {
						st = s
					}
				}
			}
			rl.ch <- st
		},
	}
	w.sched.Go(L, fns[ph], args, hooks)
}

package serve

import (
	"errors"
	"net/netip"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/host"
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
	has  [nPhases]bool // phases defined in worker 0's module (the others cost nothing)
}

func newLuaLayer(g *generation, name string) *luaLayer {
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

// MayBlock implements daemon.Blocker. A Lua layer runs on the goroutine
// that has the request, holding its worker's state: on the socket reader
// while none of the module's calls has blocked yet, on a goroutine of the
// request's own once one has (a call that yields on I/O or sleeps).
func (l *luaLayer) MayBlock() bool { return l.g.blocks(l.name) }

// blocks reports whether a call of module name has blocked.
func (g *generation) blocks(name string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.blocking[name]
}

// sawBlock records that a call of module name blocked while its request
// ran on the socket reader: the request path is rebuilt so that the
// module's requests get goroutines of their own from now on.
func (g *generation) sawBlock(name string) {
	g.mu.Lock()
	if g.blocking[name] {
		g.mu.Unlock()
		return
	}
	g.blocking[name] = true
	g.mu.Unlock()
	g.ld.mu.Lock()
	g.ld.blocking[name] = true
	g.ld.mu.Unlock()
	go func() {
		g.relayerAsync()
		g.ld.log.Noticef("system", "module %s: a layer call waited for I/O; its requests now run on goroutines of their own", name)
	}()
}

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

// reqLua is a request's Lua side, shared by the Lua layers it passes:
// its req object, the Lua time it used, and the phase call in progress
// (one at a time), whose coroutine hooks are made once per request.
type reqLua struct {
	kresRequest // what req is in Lua
	w           *worker
	guard       reqGuard
	ud          lua.LValue    // the req object (made on the worker's goroutine)
	used        time.Duration // Lua time used so far
	args        [6]lua.LValue

	// the call in progress
	layer   *luaLayer
	ph      phase
	in      daemon.State
	start   time.Duration     // since w.epoch: when the current resume began
	over    bool              // the budget ran out during the call
	pending bool              // the call is running (its coroutine blocked)
	out     daemon.State      // its result when it ended on the caller's goroutine
	ch      chan daemon.State // its result when it ended on the worker's loop (made on first need)
	generic *luaCall          // the call is a LuaCallable's, not a layer's
}

const reqVar = "serve.lua"

// call runs one phase of the layer for r on its worker's state and
// returns its state.
func (l *luaLayer) call(r *daemon.Request, ph phase, s daemon.State, pkt *dnsmsg.Packet, dst netip.AddrPort, tcp bool) daemon.State {
	if !l.has[ph] {
		return s
	}
	ws := l.g.workers
	w := ws[r.Worker%len(ws)]
	rl := luaSide(r, w)
	if rl.guard.dead() {
		return daemon.Fail
	}
	// Run the call here, holding the state (the worker's loop gives it up
	// while it waits for events); when the coroutine blocks, its end
	// comes from the loop through rl.ch.
	w.lk.Lock()
	if w.stopped.Load() {
		w.lk.Unlock()
		return daemon.Fail
	}
	rl.layer, rl.ph, rl.in, rl.over, rl.pending = l, ph, s, false, true
	w.runPhase(w.L, rl, pkt, dst, tcp)
	if !rl.pending {
		st := rl.out
		w.lk.Unlock()
		return st
	}
	if rl.ch == nil {
		rl.ch = make(chan daemon.State, 1)
	}
	w.sched.Post(func(*lua.LState) {}) // the loop recomputes its deadlines
	w.lk.Unlock()
	if !l.MayBlock() {
		l.g.sawBlock(l.name)
	}
	// The request's context has its deadline on a request's own goroutine;
	// on a socket reader (the first call of the module that blocks) it has
	// none, so the request timeout bounds the wait here too.
	limit := l.g.cfg.RequestTimeout
	if limit <= 0 {
		limit = 10 * time.Second
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	var done <-chan struct{}
	if r.Ctx != nil {
		done = r.Ctx.Done()
	}
	var st daemon.State
	select {
	case st = <-rl.ch:
	case <-done:
		return l.timedOut(r, rl)
	case <-t.C:
		return l.timedOut(r, rl)
	}
	return st
}

// luaSide returns the Lua side of r, made on first need for worker w.
func luaSide(r *daemon.Request, w *worker) *reqLua {
	rl, _ := r.Var(reqVar).(*reqLua)
	if rl == nil {
		rl = reqLuaPool.Get().(*reqLua)
		rl.w = w
		rl.kresRequest.r = r
		rl.kresRequest.guard = &rl.guard
		r.SetVar(reqVar, rl)
	}
	return rl
}

// timedOut ends a call that waited past the request's deadline: the
// coroutine finds the request dead at its next access; its late result
// goes into the buffered channel.
func (l *luaLayer) timedOut(r *daemon.Request, rl *reqLua) daemon.State {
	rl.guard.end()
	r.SetEDE(daemon.EDEOther, "module "+l.name+" timed out")
	return daemon.Fail
}

// endRequest ends the Lua side of r: its objects raise from now on (the
// pipeline recycles its packets). The generation's last layer calls it in
// answer_finalize.
func endRequest(r *daemon.Request) {
	rl, _ := r.Var(reqVar).(*reqLua)
	if rl == nil {
		return
	}
	rl.guard.end()
	w := rl.w
	w.lk.Lock()
	if rl.pending {
		// a coroutine of it still runs (the request timed out): it keeps rl
		w.lk.Unlock()
		return
	}
	// Lua may keep references to the request's objects: they stop
	// pointing at rl, which goes back to the pool for another request.
	for _, v := range []lua.LValue{rl.ud, rl.kresRequest.answer, rl.kresRequest.query} {
		if ud, ok := v.(*lua.LUserData); ok {
			switch ud.Value.(type) {
			case *kresRequest:
				ud.Value = deadRequest
			case *kresPacket:
				ud.Value = deadPacket
			}
		}
	}
	if rl.kresRequest.qry != nil {
		rl.kresRequest.qry.Value = deadRequest
	}
	w.lk.Unlock()
	*rl = reqLua{}
	reqLuaPool.Put(rl)
}

// reqLuaPool recycles the Lua side of requests.
var reqLuaPool = sync.Pool{New: func() any { return new(reqLua) }}

// deadRequest and deadPacket replace the objects of an ended request in
// the userdata Lua may still hold: every access raises.
var (
	deadGuard   = func() *reqGuard { g := &reqGuard{}; g.end(); return g }()
	deadRequest = &kresRequest{r: &daemon.Request{}, guard: deadGuard}
	deadPacket  = &kresPacket{guard: deadGuard}
)

// TaskResume implements nbio.TaskObserver: the budget's timer starts.
func (rl *reqLua) TaskResume(co *lua.LState) {
	w := rl.w
	if w.budget <= 0 {
		return
	}
	if co.Context() != w.budgetIntr {
		co.SetContext(w.budgetIntr)
	}
	rl.start = time.Since(w.epoch)
	left := w.budget - rl.used
	if left <= 0 {
		left = time.Microsecond
	}
	w.armBudget(rl.start, left)
}

// TaskPause implements nbio.TaskObserver: the budget's timer stops.
func (rl *reqLua) TaskPause() {
	w := rl.w
	if w.budget <= 0 {
		return
	}
	rl.used += time.Since(w.epoch) - rl.start
	if w.disarmBudget() {
		rl.over = true
	}
}

// TaskDirect implements nbio.TaskObserver: w.phaseBody is the body of
// layer calls; other calls (LuaCallable) get nb.go's, which keeps every result.
func (rl *reqLua) TaskDirect() bool { return rl.generic == nil }

// TaskDone implements nbio.TaskObserver: the phase's coroutine ended.
func (rl *reqLua) TaskDone(L *lua.LState, ok bool, rets []lua.LValue, errv lua.LValue) {
	if rl.generic != nil {
		rl.genericDone(L, ok, rets, errv)
		return
	}
	w, l, r := rl.w, rl.layer, rl.r
	st := rl.in
	ended := rl.guard.dead() // a late end (the request timed out): r is not ours any more
	if !ok {
		msg := host.ToString(L, errv)
		switch {
		case ended:
		case rl.over:
			msg = errBudget.Error()
			r.SetEDE(daemon.EDEOther, "Lua CPU budget exceeded in module "+l.name)
		default:
			r.SetEDE(daemon.EDEOther, "module "+l.name+" failed")
		}
		if ok, lost := w.errLog.allow(); ok {
			if lost > 0 {
				w.gen.ld.log.Errorf("system", "module %s: layer %s: %s (%d more errors suppressed)", l.name, phaseNames[rl.ph], firstLine(msg), lost)
			} else {
				w.gen.ld.log.Errorf("system", "module %s: layer %s: %s", l.name, phaseNames[rl.ph], firstLine(msg))
			}
		}
		st = daemon.Fail
	} else if len(rets) > 0 {
		if n, ok := rets[0].(lua.LNumber); ok {
			if x := daemon.State(n); x != daemon.Yield && x != daemon.Produce {
				st = x
			}
		}
	}
	rl.finish(st)
}

// finish delivers a phase's result: in rl.out when the caller still holds
// the state (the call did not block), else through rl.ch.
func (rl *reqLua) finish(st daemon.State) {
	if rl.ch == nil {
		rl.out, rl.pending = st, false
		return
	}
	rl.pending = false
	rl.ch <- st
}

// The budget is watched by one goroutine per worker, started with the
// first Lua layer call: each resume sets a deadline, each pause clears it
// (no timer per call); the watchdog interrupts Lua code past its deadline.

// armBudget sets the deadline of the coroutine being resumed, d from now.
func (w *worker) armBudget(now, d time.Duration) {
	w.budgetMu.Lock()
	w.budgetDeadline = now + d
	if !w.budgetWatching {
		w.budgetWatching = true
		go w.budgetWatch()
	}
	w.budgetMu.Unlock()
}

// budgetWatch interrupts Lua code past its deadline, checking every
// quarter of the budget (at least every 10 ms, at most every 1 ms).
func (w *worker) budgetWatch() {
	period := min(max(w.budget/4, time.Millisecond), 10*time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.stop:
			return
		}
		now := time.Since(w.epoch)
		w.budgetMu.Lock()
		if w.budgetDeadline != 0 && now > w.budgetDeadline {
			w.budgetIntr.Fire(errBudget)
			w.budgetDeadline = 0
		}
		w.budgetMu.Unlock()
	}
}

// disarmBudget clears the deadline after a resume; it reports whether the
// budget ran out during it.
func (w *worker) disarmBudget() (fired bool) {
	w.budgetMu.Lock()
	w.budgetDeadline = 0
	if w.budgetIntr.Err() != nil {
		fired = true
		w.budgetIntr.Reset()
	}
	w.budgetMu.Unlock()
	return fired
}

// runPhase starts the phase's coroutine (the caller holds the state).
func (w *worker) runPhase(L *lua.LState, rl *reqLua, pkt *dnsmsg.Packet, dst netip.AddrPort, tcp bool) {
	fns := w.layers[rl.layer.name]
	ph := rl.ph
	if fns == nil || fns[ph] == nil || rl.guard.dead() {
		rl.finish(rl.in)
		return
	}
	if rl.ud == nil {
		if w.reqMeta == nil {
			w.reqMeta = L.GetTypeMetatable(kresRequestType)
		}
		ud := L.NewUserData()
		ud.Value = &rl.kresRequest
		ud.Metatable = w.reqMeta
		rl.ud = ud
	}
	args := rl.args[:3]
	args[0], args[1], args[2] = fns[ph], smallNumber(uint16(rl.in)), rl.ud
	switch ph {
	case phProduce, phConsume:
		if pkt != nil {
			args = append(args, pushKresPacket(L, &kresPacket{p: pkt, guard: &rl.guard}))
		} else {
			args = append(args, lua.LNil)
		}
	case phCheckout:
		args = append(args, pushKresPacket(L, &kresPacket{p: pkt, guard: &rl.guard}), lua.LString(dst.String()), lua.LBool(tcp))
	}
	w.sched.Go(L, w.phaseBody, args, rl)
}

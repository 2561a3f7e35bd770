package serve

import (
	"os"
	"syscall"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/host"
	"ljdns/luamod/nbio"
)

// timer is one event.after/event.recurrent registration.
type timer struct {
	id        int
	t         *time.Timer
	fn        *lua.LFunction
	every     time.Duration // > 0: recurrent
	d         time.Duration // the first delay (rescheduled before the loop starts)
	cancelled bool          // set on the worker's goroutine
}

// msArg reads milliseconds (kresd's event unit).
func msArg(L *lua.LState, n int) time.Duration {
	v := L.CheckNumber(n)
	if v < 0 {
		v = 0
	}
	return time.Duration(float64(v) * float64(time.Millisecond))
}

// eventAfter is event.after(ms, f) / event.recurrent(ms, f) -> id. The
// callback runs on the worker's goroutine in a coroutine of its own (it may
// yield) and receives the event id.
func (w *worker) eventAfter(L *lua.LState, recurrent bool) int {
	d := msArg(L, 1)
	fn := L.CheckFunction(2)
	if recurrent && d <= 0 {
		L.ArgError(1, "a recurrent event needs a positive interval")
	}
	w.mu.Lock()
	if w.stopped.Load() {
		w.mu.Unlock()
		L.RaiseError("event: the worker is stopping")
	}
	w.nextID++
	tm := &timer{id: w.nextID, fn: fn, d: d}
	if recurrent {
		tm.every = d
	}
	w.timers[tm.id] = tm
	w.mu.Unlock()
	arm := func() {
		tm.t = time.AfterFunc(tm.d, func() { w.sched.Post(func(L *lua.LState) { w.fire(L, tm) }) })
	}
	if w.running.Load() {
		arm()
	} else {
		// timers set while the configuration executes start with the loop
		w.deferred = append(w.deferred, func(*lua.LState) {
			w.mu.Lock()
			defer w.mu.Unlock()
			if !tm.cancelled && !w.stopped.Load() {
				arm()
			}
		})
	}
	L.Push(lua.LNumber(tm.id))
	return 1
}

// fire runs a timer's callback on the worker's goroutine.
func (w *worker) fire(L *lua.LState, tm *timer) {
	w.mu.Lock()
	if tm.cancelled || w.stopped.Load() {
		w.mu.Unlock()
		return
	}
	if tm.every > 0 {
		tm.t.Reset(tm.every)
	} else {
		delete(w.timers, tm.id)
	}
	w.mu.Unlock()
	w.sched.Go(L, tm.fn, []lua.LValue{lua.LNumber(tm.id)}, &nbio.TaskHooks{Done: w.logDone("event callback")})
}

// logDone returns a TaskHooks.Done that logs a coroutine's error.
func (w *worker) logDone(what string) func(L *lua.LState, ok bool, rets []lua.LValue, err lua.LValue) {
	return func(L *lua.LState, ok bool, rets []lua.LValue, err lua.LValue) {
		if !ok {
			w.gen.ld.log.Errorf("system", "%s: %s", what, firstLine(host.ToString(L, err)))
		}
	}
}

func (w *worker) timerArg(L *lua.LState) *timer {
	id := L.CheckInt(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.timers[id]
}

// eventCancel is event.cancel(id).
func (w *worker) eventCancel(L *lua.LState) int {
	tm := w.timerArg(L)
	if tm == nil {
		L.Push(lua.LFalse)
		return 1
	}
	w.mu.Lock()
	tm.cancelled = true
	if tm.t != nil {
		tm.t.Stop()
	}
	delete(w.timers, tm.id)
	w.mu.Unlock()
	L.Push(lua.LTrue)
	return 1
}

// eventReschedule is event.reschedule(id, ms).
func (w *worker) eventReschedule(L *lua.LState) int {
	tm := w.timerArg(L)
	d := msArg(L, 2)
	if tm == nil || tm.cancelled {
		L.Push(lua.LFalse)
		return 1
	}
	w.mu.Lock()
	tm.d = d
	if tm.t != nil {
		tm.t.Reset(d)
	}
	w.mu.Unlock()
	L.Push(lua.LTrue)
	return 1
}

// workerSleep is worker.sleep(seconds): the coroutine yields (it blocks
// only outside a coroutine).
func (w *worker) workerSleep(L *lua.LState) int {
	d := time.Duration(float64(L.CheckNumber(1)) * float64(time.Second))
	return w.sched.Sleep(L, d)
}

// workerCoroutine is worker.coroutine(f): f runs in a coroutine of the
// worker's scheduler (at once when the loop runs, else when it starts).
func (w *worker) workerCoroutine(L *lua.LState) int {
	fn := L.CheckFunction(1)
	w.spawn(L, fn, nil)
	return 0
}

// spawn starts fn in a scheduler coroutine now (loop running, on its
// goroutine) or when the loop starts.
func (w *worker) spawn(L *lua.LState, fn *lua.LFunction, args []lua.LValue) {
	start := func(L *lua.LState) {
		w.sched.Go(L, fn, args, &nbio.TaskHooks{Done: w.logDone("worker.coroutine")})
	}
	if w.running.Load() {
		start(L)
		return
	}
	w.deferred = append(w.deferred, start)
}

// workerStats is worker.stats(): kresd's counters from the daemon and getrusage.
func (w *worker) workerStats(L *lua.LState) int {
	t := L.NewTable()
	set := func(k string, v float64) { t.RawSetString(k, lua.LNumber(v)) }
	if srv := w.gen.ld.server(); srv != nil {
		c := srv.Counters()
		set("queries", float64(c.Requests.Load()))
		set("dropped", float64(c.Dropped.Load()+c.LimitInflight.Load()))
		set("timeout", float64(c.Timeouts.Load()))
		set("truncated", float64(c.Truncated.Load()))
	} else {
		for _, k := range []string{"queries", "dropped", "timeout", "truncated"} {
			set(k, 0)
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		set("usertime", float64(ru.Utime.Sec)+float64(ru.Utime.Usec)/1e6)
		set("systime", float64(ru.Stime.Sec)+float64(ru.Stime.Usec)/1e6)
		set("pagefaults", float64(ru.Majflt))
		set("csw", float64(ru.Nvcsw+ru.Nivcsw))
		set("rss", float64(ru.Maxrss*1024))
	}
	set("pid", float64(os.Getpid()))
	L.Push(t)
	return 1
}

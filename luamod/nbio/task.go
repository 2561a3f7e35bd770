package nbio

import (
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// TaskHooks observe one coroutine started with Sched.Go. Every hook runs on
// the VM goroutine.
type TaskHooks struct {
	// Resume is called before each resume of the coroutine, Pause after
	// each resume returns (it yielded, ended or raised): together they
	// bracket the Lua time the coroutine uses (a CPU budget).
	Resume func(co *lua.LState)
	Pause  func()
	// Done is called once when the coroutine ends: ok with its results, or
	// not ok with the error value. Errors reported here are not reported
	// by nb.run/nb.step.
	Done func(L *lua.LState, ok bool, rets []lua.LValue, err lua.LValue)
	// Direct runs fn itself as the coroutine's body, without nb.go's
	// wrapper that keeps a frame when fn tail-calls a yielding Go
	// function: for a fn that never does (a body of the caller's own).
	Direct bool
}

// TaskObserver observes one coroutine started with Sched.Go, as TaskHooks
// do (a *TaskHooks is one); a type of the caller's own implementing it
// costs no closure per coroutine.
type TaskObserver interface {
	TaskResume(co *lua.LState)
	TaskPause()
	TaskDone(L *lua.LState, ok bool, rets []lua.LValue, err lua.LValue)
	// TaskDirect reports TaskHooks.Direct.
	TaskDirect() bool
}

// TaskResume implements TaskObserver.
func (h *TaskHooks) TaskResume(co *lua.LState) {
	if h.Resume != nil {
		h.Resume(co)
	}
}

// TaskPause implements TaskObserver.
func (h *TaskHooks) TaskPause() {
	if h.Pause != nil {
		h.Pause()
	}
}

// TaskDone implements TaskObserver.
func (h *TaskHooks) TaskDone(L *lua.LState, ok bool, rets []lua.LValue, err lua.LValue) {
	if h.Done != nil {
		h.Done(L, ok, rets, err)
	}
}

// TaskDirect implements TaskObserver.
func (h *TaskHooks) TaskDirect() bool { return h.Direct }

// poolMax bounds the finished coroutines a scheduler keeps for reuse.
const poolMax = 256

// Go runs fn(args...) in a scheduler coroutine, as nb.go does, and reports
// its end to h.Done (at once when it ends without blocking). The coroutine
// comes from a pool of finished ones when there is one. L must be the
// state's main thread or a coroutine running on its goroutine.
func (s *Sched) Go(L *lua.LState, fn *lua.LFunction, args []lua.LValue, h TaskObserver) {
	var co *lua.LState
	if n := len(s.pool); n > 0 {
		co = s.pool[n-1]
		s.pool[n-1] = nil
		s.pool = s.pool[:n-1]
	} else {
		co = newThread(L)
	}
	if h == nil {
		h = &TaskHooks{}
	}
	t := &task{co: co, hooks: h}
	s.tasks[co] = t
	if s.body != nil && !h.TaskDirect() {
		args = append([]lua.LValue{fn}, args...)
		fn = s.body
	}
	s.resume(L, t, fn, args)
}

// recycle keeps a coroutine that ended normally for the next Go.
func (s *Sched) recycle(co *lua.LState) {
	if len(s.pool) >= poolMax {
		return
	}
	co.Dead = false // a finished coroutine starts afresh on its next resume
	s.pool = append(s.pool, co)
}

// Step waits up to timeout (negative: until something happens) for socket
// readiness, timers, completions and posted functions, then resumes what
// completed and runs what was posted. It reports whether anything happened,
// and the first error of a coroutine started by nb.go (those of Sched.Go
// go to their hooks).
func (s *Sched) Step(L *lua.LState, timeout time.Duration) (progress bool, err lua.LValue) {
	p, e := s.step(L, timeout)
	if e != nil {
		return p, e.msg
	}
	return p, nil
}

// Post queues fn to run on the VM goroutine at the scheduler's next step
// and wakes a step that is waiting. It is safe from any goroutine. It
// reports false when the state has been closed (fn will never run). fn must
// not raise a Lua error: it runs outside any protected call.
func (s *Sched) Post(fn func(L *lua.LState)) bool {
	s.res.mu.Lock()
	defer s.res.mu.Unlock()
	if s.res.closed {
		return false
	}
	s.mu.Lock()
	s.posted = append(s.posted, fn)
	first := len(s.posted) == 1 && len(s.done) == 0
	s.mu.Unlock()
	if first {
		var one = [8]byte{1}
		unix.Write(s.res.evfd, one[:])
	}
	return true
}

// Pending reports whether coroutines are blocked in the scheduler or
// goroutine work is in flight.
func (s *Sched) Pending() bool { return len(s.tasks) > 0 || s.async > 0 }

// SetWaitLock makes the state shareable between goroutines: the goroutine
// stepping the scheduler holds l, and each step releases it only while it
// waits for events. Another goroutine may then take l and run Lua on the
// state itself (Go, a coroutine's start) instead of posting the work and
// waiting for a wake-up; when what it started blocks, it Posts (any
// function) so that the step recomputes its deadlines.
func (s *Sched) SetWaitLock(l sync.Locker) { s.waitLock = l }

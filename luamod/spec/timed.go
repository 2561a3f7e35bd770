package spec

import (
	"fmt"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// errInterrupted is the error a test sees when the run is interrupted (Ctrl-C).
var errInterrupted = fmt.Errorf("interrupted")

// timer runs the spec code of one run (tests, hooks, describe bodies, file
// chunks) so that a timeout or Ctrl-C ends that code and only that code.
//
// Each piece runs in a coroutine of its own whose context is the test
// interrupt: when it fires, every instruction of the test's coroutines
// raises, wherever they loop or wait (nbio watches the context too), while
// the runner's own Lua code, which runs outside that context, reports the
// outcome and goes on with the next test.
type timer struct {
	test        *luabind.Interrupt
	limit       time.Duration // 0: no timeout
	depth       int           // nested calls (describe inside describe) share the outer one's clock
	interrupted atomic.Bool   // Ctrl-C: the run stops
}

// interrupt is called (on another goroutine) when the run's context ends.
func (t *timer) interrupt() {
	t.interrupted.Store(true)
	t.test.Fire(errInterrupted)
}

// timeoutError is the error of spec code that ran past the limit.
type timeoutError struct{ limit time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("timed out after %v (ljdns test --timeout)", e.limit)
}

// call is core.timed(f, ...): it runs f(...) in a fresh coroutine under the
// test interrupt and returns true and f's results, or false and a message
// when the code was cut short (timeout) or raised out of f, or yielded
// from the test's top level. A Ctrl-C raises, ending the run.
func (t *timer) call(L *lua.LState) int {
	fn := L.CheckFunction(1)
	args := make([]lua.LValue, 0, L.GetTop()-1)
	for i := 2; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	co := luabind.NewThread(L)
	co.SetContext(t.test)
	var clock *time.Timer
	if t.limit > 0 && t.depth == 0 {
		limit := t.limit
		clock = time.AfterFunc(limit, func() { t.test.Fire(&timeoutError{limit}) })
	}
	t.depth++
	st, err, vals := L.Resume(co, fn, args...)
	t.depth--
	if clock != nil {
		clock.Stop()
	}
	if t.interrupted.Load() {
		L.RaiseError("%s", errInterrupted.Error())
	}
	cut := t.test.Err()
	if t.depth == 0 {
		t.test.Reset()
	}
	switch {
	case cut != nil:
		L.Push(lua.LFalse)
		L.Push(lua.LString(cut.Error()))
		return 2
	case st == lua.ResumeOK:
		L.Push(lua.LTrue)
		for _, v := range vals {
			L.Push(v)
		}
		return 1 + len(vals)
	case st == lua.ResumeYield:
		L.Push(lua.LFalse)
		L.Push(lua.LString("attempt to yield from outside a coroutine"))
		return 2
	}
	L.Push(lua.LFalse)
	if ae, ok := err.(*lua.ApiError); ok && ae.Object != nil {
		L.Push(ae.Object)
	} else {
		L.Push(lua.LString(err.Error()))
	}
	return 2
}

package nbio

import (
	"context"
	"time"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// The REPL and the spec runner give the state a context
// (luabind.Interrupt): Ctrl-C or a test's timeout must end a wait in
// nb.run, nb.step, nb.sleep or a socket call outside any coroutine, not
// only running Lua code. While such a wait lasts, an interruption writes
// to the scheduler's intfd, which every wait watches; the waiting call then
// raises the context's error. Without a context none of this runs.

// watch arranges for an interruption of L's context to wake a wait on
// intfd until stop is called. Both results are nil without a context.
func (s *Sched) watch(L *lua.LState) (ctx context.Context, stop func() bool) {
	ctx = L.Context()
	if ctx == nil {
		return nil, nil
	}
	return ctx, context.AfterFunc(ctx, s.wakeInterrupt)
}

// wakeInterrupt makes intfd readable (on the interrupting goroutine).
func (s *Sched) wakeInterrupt() {
	one := [8]byte{1}
	s.res.mu.Lock()
	if !s.res.closed {
		unix.Write(s.res.intfd, one[:])
	}
	s.res.mu.Unlock()
}

// drainInterrupt clears intfd.
func (s *Sched) drainInterrupt() {
	var buf [8]byte
	unix.Read(s.res.intfd, buf[:])
}

// checkInterrupt raises the error of ctx (may be nil) once it is done.
func (s *Sched) checkInterrupt(L *lua.LState, ctx context.Context) {
	if ctx == nil {
		return
	}
	if err := ctx.Err(); err != nil {
		s.drainInterrupt()
		L.RaiseError("%s", err.Error())
	}
}

// sleep blocks the VM goroutine for d, or until L's context is interrupted.
func (s *Sched) sleep(L *lua.LState, d time.Duration) {
	ctx := L.Context()
	if ctx == nil {
		time.Sleep(d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		L.RaiseError("%s", ctx.Err().Error())
	}
}

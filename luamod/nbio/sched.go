package nbio

import (
	"container/heap"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"

	"ljdns/luabind"
)

// Retry results other than a result count (>= 0).
const (
	waitRead  = -1 // the operation would block until the fd is readable
	waitWrite = -2 // the operation would block until the fd is writable
)

// retryFunc re-attempts a non-blocking operation. On completion it pushes
// its results on L and returns their count; otherwise it returns waitRead
// or waitWrite. It runs on the VM goroutine (in the scheduler or in the
// blocking loop of a call outside any scheduler coroutine).
type retryFunc func(L *lua.LState) int

// task is one scheduler-owned coroutine.
type task struct {
	co    *lua.LState
	w     *waiter      // the wait it is blocked in, nil when runnable or running
	hooks TaskObserver // Sched.Go's observer, nil for nb.go coroutines
}

// waiter is one blocked operation of a task.
type waiter struct {
	t        *task
	fd       int       // -1 for timers and async completions
	ev       uint32    // unix.EPOLLIN or unix.EPOLLOUT
	retry    retryFunc // nil: resume with vals
	always   bool      // retry never would-blocks (yield protocol)
	deadline int64     // monotonic ns, 0 = none
	hidx     int       // index in the deadline heap, -1 when absent
	vals     []lua.LValue
	done     bool
	woken    bool   // completed by another coroutine's operation (Sched.wake)
	nret     int    // results the yielding call site expects (-1: any)
	cancel   func() // called when the wait ends by timeout or close
}

// fdWait holds the waiters of one descriptor and its epoll registration.
type fdWait struct {
	r, w  []*waiter
	reg   uint32 // events registered with epoll
	added bool
}

// completion is the result of work run on a goroutine.
type completion struct {
	w      *waiter
	v      any
	finish func(L *lua.LState, v any) int
}

// Sched is the coroutine scheduler of one Lua state: an epoll instance for
// socket readiness, an eventfd for completions posted by goroutines, a
// deadline heap for timeouts and sleeps, and the set of live coroutines.
type Sched struct {
	res     *resources
	fds     map[int]*fdWait
	tasks   map[*lua.LState]*task
	cur     []*task   // tasks being resumed, innermost last
	ready   []*waiter // woken waiters to resume at the next step
	timers  deadlineHeap
	events  []unix.EpollEvent
	errs    []stepError // coroutine errors not reported yet
	async   int         // goroutine work in flight
	batched []*Socket   // sockets with queued datagrams

	mu     sync.Mutex
	done   []completion        // posted by goroutines, guarded by mu
	posted []func(*lua.LState) // Sched.Post, guarded by mu
	// waitLock, when set (SetWaitLock), is held by the goroutine driving
	// the scheduler and released only while a step waits for events.
	waitLock sync.Locker
	pool     []*lua.LState // finished coroutines of Sched.Go, reused

	readers, writers *lua.LTable    // nb.readers / nb.writers
	body             *lua.LFunction // coroutine body: calls f(...) without a tail call
	epoch            time.Time
}

type stepError struct {
	msg lua.LValue
	co  *lua.LState
}

// resources are the OS descriptors a state owns. They are kept apart from
// anything referencing the Lua state so that a cleanup can close them.
type resources struct {
	mu     sync.Mutex
	epfd   int
	evfd   int // completions posted by goroutines
	intfd  int // interruptions of the state's context (interrupt.go)
	open   map[int]struct{}
	closed bool
}

func (r *resources) add(fd int) {
	r.mu.Lock()
	if r.open != nil {
		r.open[fd] = struct{}{}
	}
	r.mu.Unlock()
}

func (r *resources) remove(fd int) {
	r.mu.Lock()
	delete(r.open, fd)
	r.mu.Unlock()
}

// closeAll closes every descriptor still open.
func (r *resources) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	for fd := range r.open {
		unix.Close(fd)
	}
	r.open = nil
	unix.Close(r.epfd)
	unix.Close(r.evfd)
	unix.Close(r.intfd)
}

func newSched() (*Sched, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("dns.nbio: epoll: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("dns.nbio: eventfd: %w", err)
	}
	intfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, fmt.Errorf("dns.nbio: eventfd: %w", err)
	}
	for _, fd := range []int{evfd, intfd} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			unix.Close(epfd)
			unix.Close(evfd)
			unix.Close(intfd)
			return nil, fmt.Errorf("dns.nbio: epoll: %w", err)
		}
	}
	return &Sched{
		res:    &resources{epfd: epfd, evfd: evfd, intfd: intfd, open: map[int]struct{}{}},
		fds:    map[int]*fdWait{},
		tasks:  map[*lua.LState]*task{},
		events: make([]unix.EpollEvent, 128),
		epoch:  time.Now(),
	}, nil
}

// mono returns monotonic nanoseconds since the scheduler started.
func (s *Sched) mono() int64 { return int64(time.Since(s.epoch)) }

// owner returns the task that a blocking call made on L must wait in, or
// nil when the call must block instead: L is not a scheduler coroutine or
// a pcall helper coroutine running inside one, or a yield from here would
// cross a metamethod/iterator boundary.
func (s *Sched) owner(L *lua.LState) *task {
	if len(s.cur) == 0 {
		return nil
	}
	t := s.cur[len(s.cur)-1]
	for th := L; th != nil; th = th.Parent {
		if th == t.co {
			if !luabind.CanYield() {
				return nil
			}
			return t
		}
		if !isPcallHelper(th) {
			return nil // a coroutine of the user's own: its resume would get our yield
		}
	}
	return nil
}

// Yields reports whether a blocking call made now on L yields (L is a
// scheduler coroutine, or a pcall helper inside one, and no metamethod or
// iterator boundary is in the way) rather than blocks. Async, Wait and
// Sleep decide the same way.
func (s *Sched) Yields(L *lua.LState) bool { return s.owner(L) != nil }

// isPcallHelper reports whether th is a helper coroutine of the host's
// yield-transparent pcall/xpcall (its outermost function comes from the
// host prelude), through which yields pass to the coroutine around it.
func isPcallHelper(th *lua.LState) bool {
	var base *lua.Debug
	for level := 0; ; level++ {
		dbg, ok := th.GetStack(level)
		if !ok {
			break
		}
		base = dbg
	}
	if base == nil {
		return false
	}
	if _, err := th.GetInfo("S", base, lua.LNil); err != nil {
		return false
	}
	return base.Source == "prelude" || base.Source == "@prelude"
}

// Wait blocks the operation retry on fd (readable for waitRead, writable
// for waitWrite) until it completes. Inside a scheduler coroutine it
// registers the wait and yields; elsewhere it polls. timeout <= 0 means
// none. It returns the count of the binding's results.
func (s *Sched) Wait(L *lua.LState, fd int, want int, timeout time.Duration, retry retryFunc) int {
	return s.wait(L, &waiter{fd: fd, retry: retry, hidx: -1}, want, timeout)
}

func (s *Sched) wait(L *lua.LState, w *waiter, want int, timeout time.Duration) int {
	if t := s.owner(L); t != nil {
		w.t = t
		w.nret = luabind.WantResults(L)
		if timeout > 0 {
			w.deadline = s.mono() + int64(timeout)
		}
		if err := s.addFD(w, want); err != nil {
			return luabind.FailErr(L, "", err)
		}
		return L.Yield()
	}
	return s.block(L, w, want, timeout)
}

// block runs w's retry in a poll loop on the calling goroutine.
func (s *Sched) block(L *lua.LState, w *waiter, want int, timeout time.Duration) int {
	fd, retry := w.fd, w.retry
	s.flushBatches()
	ctx, stop := s.watch(L)
	if stop != nil {
		defer stop()
	}
	var end time.Time
	if timeout > 0 {
		end = time.Now().Add(timeout)
	}
	for {
		ms := -1
		if timeout > 0 {
			left := time.Until(end)
			if left <= 0 {
				if w.cancel != nil {
					w.cancel()
				}
				return luabind.Fail(L, "timeout")
			}
			ms = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		ev := int16(unix.POLLIN)
		if want == waitWrite {
			ev = unix.POLLOUT
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: ev}, {Fd: -1}}
		if ctx != nil {
			pfd[1] = unix.PollFd{Fd: int32(s.res.intfd), Events: unix.POLLIN}
		}
		n, err := unix.Poll(pfd, ms)
		if err != nil && err != unix.EINTR {
			return luabind.FailErr(L, "", err)
		}
		s.checkInterrupt(L, ctx)
		if pfd[1].Revents != 0 {
			s.drainInterrupt() // a late wake-up from an interruption already handled
		}
		if n == 0 || pfd[0].Revents == 0 {
			continue
		}
		if pfd[0].Revents&unix.POLLNVAL != 0 {
			if w.cancel != nil {
				w.cancel()
			}
			return luabind.Fail(L, "closed")
		}
		if want = retry(L); want >= 0 {
			return want
		}
	}
}

// addFD registers w as waiting for fd to become readable or writable.
func (s *Sched) addFD(w *waiter, want int) error {
	if w.fd < 0 {
		return errors.New("closed")
	}
	fw := s.fds[w.fd]
	if fw == nil {
		fw = &fdWait{}
		s.fds[w.fd] = fw
	}
	if want == waitWrite {
		w.ev = unix.EPOLLOUT
		fw.w = append(fw.w, w)
	} else {
		w.ev = unix.EPOLLIN
		fw.r = append(fw.r, w)
	}
	if fw.reg&w.ev == 0 {
		if err := s.ctl(w.fd, fw, fw.reg|w.ev); err != nil {
			s.dropWaiter(fw, w)
			return err
		}
	}
	w.t.w = w
	if w.deadline != 0 {
		heap.Push(&s.timers, w)
	}
	return nil
}

func (s *Sched) ctl(fd int, fw *fdWait, mask uint32) error {
	ev := unix.EpollEvent{Events: mask, Fd: int32(fd)}
	var err error
	switch {
	case mask == 0 && fw.added:
		err = unix.EpollCtl(s.res.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		fw.added = false
	case mask == 0:
	case fw.added:
		err = unix.EpollCtl(s.res.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
	default:
		err = unix.EpollCtl(s.res.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
		fw.added = err == nil
	}
	if err == nil {
		fw.reg = mask
	}
	return err
}

func (s *Sched) dropWaiter(fw *fdWait, w *waiter) {
	fw.r = remove(fw.r, w)
	fw.w = remove(fw.w, w)
}

func remove(l []*waiter, w *waiter) []*waiter {
	for i, x := range l {
		if x == w {
			copy(l[i:], l[i+1:])
			l[len(l)-1] = nil
			return l[:len(l)-1]
		}
	}
	return l
}

// Wake completes a waiter registered by another coroutine's operation
// (pipelined exchanges deliver responses this way): its retry runs at the
// next step and the coroutine is resumed with the results.
func (s *Sched) wake(w *waiter) {
	if w == nil || w.done || w.woken || w.t == nil {
		return
	}
	w.woken = true
	s.unlink(w)
	s.ready = append(s.ready, w)
}

// unlink removes w from its fd list and the deadline heap.
func (s *Sched) unlink(w *waiter) {
	if w.fd >= 0 {
		if fw := s.fds[w.fd]; fw != nil {
			s.dropWaiter(fw, w)
		}
	}
	if w.hidx >= 0 {
		heap.Remove(&s.timers, w.hidx)
	}
}

// forget drops every waiter on fd (the descriptor is being closed): they
// are resumed with nil, "closed".
func (s *Sched) forget(fd int) {
	fw := s.fds[fd]
	if fw == nil {
		return
	}
	delete(s.fds, fd)
	if fw.added {
		unix.EpollCtl(s.res.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	}
	for _, l := range [][]*waiter{fw.r, fw.w} {
		for _, w := range l {
			if w.hidx >= 0 {
				heap.Remove(&s.timers, w.hidx)
			}
			w.retry = nil
			w.vals = []lua.LValue{lua.LNil, lua.LString("closed")}
			if w.cancel != nil {
				w.cancel()
			}
			s.ready = append(s.ready, w)
		}
	}
}

// Async runs work on a goroutine and finish on the VM goroutine with its
// result; finish pushes the binding's results. Inside a scheduler
// coroutine the coroutine yields meanwhile, so other coroutines go on;
// elsewhere the call simply waits. When the state is closed before the
// work completes, discard (if not nil) gets the result instead, on the
// work's goroutine, to release what it holds.
func (s *Sched) Async(L *lua.LState, work func() any, finish func(L *lua.LState, v any) int, discard func(v any)) int {
	t := s.owner(L)
	if t == nil {
		return finish(L, work())
	}
	w := &waiter{t: t, fd: -1, hidx: -1, nret: luabind.WantResults(L)}
	t.w = w
	s.async++
	asyncRun(func() {
		v := work()
		s.mu.Lock()
		// Only the completion that finds the list empty signals: the
		// scheduler takes the whole list after reading the eventfd, so
		// completions added meanwhile ride along with the first.
		first := len(s.done) == 0
		s.done = append(s.done, completion{w: w, v: v, finish: finish})
		s.mu.Unlock()
		var one = [8]byte{1}
		s.res.mu.Lock() // the state may have been closed meanwhile
		closed := s.res.closed
		if !closed && first {
			unix.Write(s.res.evfd, one[:])
		}
		s.res.mu.Unlock()
		if closed && discard != nil {
			discard(v)
		}
	})
	return L.Yield()
}

// asyncJobs hands Async work to idle workers: goroutines that stay a while
// after their job, so that a busy state (thousands of queries a second)
// does not pay for a new goroutine and its stack growth each time.
var asyncJobs = make(chan func())

// asyncIdle is how long a worker waits for its next job.
const asyncIdle = 5 * time.Second

// asyncRun runs job on an idle worker, or on a new one.
func asyncRun(job func()) {
	select {
	case asyncJobs <- job:
	default:
		go asyncWorker(job)
	}
}

func asyncWorker(job func()) {
	idle := time.NewTimer(asyncIdle) // re-armed only when it fires: no timer work per job
	defer idle.Stop()
	for {
		job()
		last := time.Now()
		for job = nil; job == nil; {
			select {
			case job = <-asyncJobs:
			case <-idle.C:
				left := asyncIdle - time.Since(last)
				if left <= 0 {
					return
				}
				idle.Reset(left)
			}
		}
	}
}

// Sleep suspends the calling coroutine for d (or blocks outside one).
func (s *Sched) Sleep(L *lua.LState, d time.Duration) int {
	t := s.owner(L)
	if t == nil {
		s.sleep(L, d)
		return 0
	}
	w := &waiter{t: t, fd: -1, hidx: -1, deadline: s.mono() + int64(d), nret: luabind.WantResults(L)}
	w.vals = []lua.LValue{}
	t.w = w
	heap.Push(&s.timers, w)
	return L.Yield()
}

// spawn creates a coroutine for fn and resumes it with args (nb.go).
func (s *Sched) spawn(L *lua.LState, fn *lua.LFunction, args []lua.LValue) int {
	co := newThread(L)
	t := &task{co: co}
	s.tasks[co] = t
	ok, rets, err := s.resume(L, t, fn, args)
	switch {
	case !ok:
		L.Push(lua.LFalse)
		L.Push(err)
		L.Push(co)
		return 3
	case rets != nil:
		L.Push(lua.LTrue)
		L.Push(rets[0])
		L.Push(co)
		return 3
	}
	L.Push(co)
	return 1
}

// newThread makes a coroutine with a small growable stack (the host's
// main-state sizes would cost hundreds of KiB per coroutine).
//
// The coroutine shares the context of the main thread (luabind.NewThread),
// and each resume hands it the resumer's (luabind.ShareContext).
func newThread(L *lua.LState) *lua.LState {
	if L.G.MainThread != nil {
		L = L.G.MainThread
	}
	saved := L.Options
	L.Options.MinimizeStackMemory = true
	if L.Options.RegistrySize > 256 {
		L.Options.RegistrySize = 256
	}
	if L.Options.RegistryGrowStep > 256 {
		L.Options.RegistryGrowStep = 256
	}
	co := luabind.NewThread(L)
	L.Options = saved
	return co
}

// resume resumes t from L. It returns ok=false and the error value when
// the coroutine raised, its results when it finished, nil results when it
// is blocked again.
func (s *Sched) resume(L *lua.LState, t *task, fn *lua.LFunction, args []lua.LValue) (ok bool, rets []lua.LValue, errv lua.LValue) {
	s.cur = append(s.cur, t)
	luabind.ShareContext(L, t.co)
	if t.hooks != nil {
		t.hooks.TaskResume(t.co)
	}
	st, err, vals := L.Resume(t.co, fn, args...)
	if t.hooks != nil {
		t.hooks.TaskPause()
	}
	s.cur[len(s.cur)-1] = nil
	s.cur = s.cur[:len(s.cur)-1]
	if len(s.cur) == 0 {
		s.flushBatches()
	}
	switch st {
	case lua.ResumeOK:
		delete(s.tasks, t.co)
		if t.hooks != nil {
			s.recycle(t.co)
			t.hooks.TaskDone(L, true, vals, nil)
		}
		return true, vals, nil
	case lua.ResumeError:
		delete(s.tasks, t.co)
		var ev lua.LValue = lua.LNil
		if ae, ok := err.(*lua.ApiError); ok {
			switch {
			case ae.Object != nil && ae.Object != lua.LNil:
				ev = ae.Object
			case ae.Cause != nil:
				ev = lua.LString(ae.Cause.Error())
			}
		} else if err != nil {
			ev = lua.LString(err.Error())
		}
		if t.hooks != nil {
			t.hooks.TaskDone(L, false, nil, ev)
			return true, nil, nil // reported to the hook, not to nb.run
		}
		return false, nil, ev
	}
	if t.w == nil {
		s.yielded(t, vals)
	}
	return true, nil, nil
}

// yielded handles a coroutine that yielded by itself: the nb.readers /
// nb.writers protocol waits for the fd, any other yield resumes at the
// next step.
func (s *Sched) yielded(t *task, vals []lua.LValue) {
	if len(vals) >= 2 && (vals[0] == s.readers || vals[0] == s.writers) {
		fd := -1
		switch v := vals[1].(type) {
		case lua.LNumber:
			fd = int(v)
		case *lua.LUserData:
			if sk, ok := v.Value.(SocketHolder); ok {
				fd = sk.NbioSocket().fd
			}
		}
		want := waitRead
		if vals[0] == s.writers {
			want = waitWrite
		}
		w := &waiter{t: t, fd: fd, always: true, hidx: -1, nret: -1}
		w.retry = func(*lua.LState) int { return 0 }
		if fd >= 0 && s.addFD(w, want) == nil {
			return
		}
	}
	w := &waiter{t: t, fd: -1, hidx: -1, vals: []lua.LValue{}, nret: -1}
	t.w = w
	s.ready = append(s.ready, w)
}

// step waits up to timeout (negative: no limit) for readiness and resumes
// the coroutines whose operations completed. It reports whether anything
// became ready, and the first coroutine error.
func (s *Sched) step(L *lua.LState, timeout time.Duration) (progress bool, e *stepError) {
	if len(s.errs) > 0 {
		e := s.errs[0]
		s.errs = s.errs[1:]
		return true, &e
	}
	ms := -1
	if len(s.ready) > 0 {
		ms = 0
	} else if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	if len(s.timers) > 0 {
		left := s.timers[0].deadline - s.mono()
		if left < 0 {
			left = 0
		}
		if d := int((left + int64(time.Millisecond) - 1) / int64(time.Millisecond)); ms < 0 || d < ms {
			ms = d
		}
	}
	s.flushBatches()
	ctx, stop := s.watch(L)
	if stop != nil && ms == 0 {
		stop()
		stop = nil
	}
	asyncWork := s.async > 0 // read before another goroutine may take the state (SetWaitLock)
	if s.waitLock != nil && ms != 0 {
		s.waitLock.Unlock()
	}
	if ms != 0 && asyncWork {
		// The goroutines this one readied for Async work (queries the
		// coroutines just made) wait on its P: let them run before the
		// thread sleeps in epoll_wait, which keeps the P until sysmon
		// takes it back. Pipelined queries through dns.client go out
		// at once instead of a scheduling delay later (about 1.8x the
		// throughput against knotd on a loaded 2-core machine).
		runtime.Gosched()
	}
	n, err := unix.EpollWait(s.res.epfd, s.events, ms)
	if s.waitLock != nil && ms != 0 {
		s.waitLock.Lock()
	}
	if stop != nil {
		stop()
	}
	s.checkInterrupt(L, ctx) // before anything is taken off the lists
	if err != nil && err != unix.EINTR {
		return false, &stepError{msg: lua.LString("dns.nbio: epoll: " + err.Error())}
	}
	wake := s.ready
	s.ready = nil
	for i := 0; i < n; i++ {
		ev := s.events[i]
		fd := int(ev.Fd)
		if fd == s.res.evfd {
			wake = s.completions(L, wake)
			continue
		}
		if fd == s.res.intfd {
			s.drainInterrupt() // a late wake-up from an interruption already handled
			continue
		}
		fw := s.fds[fd]
		if fw == nil {
			continue
		}
		hadR, hadW := len(fw.r) > 0, len(fw.w) > 0
		if ev.Events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP|unix.EPOLLRDHUP) != 0 {
			wake = s.dispatch(L, fd, fw, &fw.r, wake)
		}
		if s.fds[fd] == fw && ev.Events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			wake = s.dispatch(L, fd, fw, &fw.w, wake)
		}
		if s.fds[fd] != fw {
			continue
		}
		// Registrations stay while idle (a server re-arms its read at once);
		// an event nobody waited for narrows them.
		spurious := (ev.Events&unix.EPOLLIN != 0 && !hadR) || (ev.Events&unix.EPOLLOUT != 0 && !hadW) ||
			(ev.Events&(unix.EPOLLHUP|unix.EPOLLERR) != 0 && !hadR && !hadW)
		if spurious {
			var mask uint32
			if len(fw.r) > 0 {
				mask |= unix.EPOLLIN
			}
			if len(fw.w) > 0 {
				mask |= unix.EPOLLOUT
			}
			s.ctl(fd, fw, mask)
			if mask == 0 {
				delete(s.fds, fd)
			}
		}
	}
	now := s.mono()
	for len(s.timers) > 0 && s.timers[0].deadline <= now {
		w := heap.Pop(&s.timers).(*waiter)
		if w.fd >= 0 {
			if fw := s.fds[w.fd]; fw != nil {
				s.dropWaiter(fw, w)
			}
			w.retry = nil
			w.vals = []lua.LValue{lua.LNil, lua.LString("timeout")}
			if w.cancel != nil {
				w.cancel()
			}
		}
		wake = append(wake, w)
	}
	for _, w := range wake {
		if w.done {
			continue
		}
		if w.retry != nil && w.vals == nil {
			k := w.retry(L)
			if k < 0 {
				s.addFD(w, k)
				continue
			}
			w.vals = popN(L, k)
		}
		w.done = true
		t := w.t
		t.w = nil
		vals := w.vals
		if w.nret >= 0 && len(vals) != w.nret {
			vals = fit(vals, w.nret)
		}
		ok, _, ev := s.resume(L, t, nil, vals)
		if !ok {
			s.errs = append(s.errs, stepError{msg: ev, co: t.co})
		}
	}
	progress = n > 0 || len(wake) > 0
	if len(s.errs) > 0 {
		e := s.errs[0]
		s.errs = s.errs[1:]
		return true, &e
	}
	return progress, nil
}

// dispatch retries the waiters of one direction of a ready fd and moves
// the completed ones to wake. After the first would-block the remaining
// waiters are kept without retrying (the socket is drained).
func (s *Sched) dispatch(L *lua.LState, fd int, fw *fdWait, list *[]*waiter, wake []*waiter) []*waiter {
	ws := *list
	*list = nil
	blocked := false
	for i, w := range ws {
		if s.fds[fd] != fw { // closed by a retry
			for _, x := range ws[i:] {
				if x.hidx >= 0 {
					heap.Remove(&s.timers, x.hidx)
				}
				if x.woken {
					continue
				}
				x.retry, x.vals = nil, []lua.LValue{lua.LNil, lua.LString("closed")}
				if x.cancel != nil {
					x.cancel()
				}
				wake = append(wake, x)
			}
			return wake
		}
		if w.woken {
			continue
		}
		if blocked && !w.always {
			*list = append(*list, w)
			continue
		}
		k := w.retry(L)
		switch {
		case k >= 0:
			w.vals = popN(L, k)
			if w.hidx >= 0 {
				heap.Remove(&s.timers, w.hidx)
			}
			wake = append(wake, w)
		case (k == waitRead) == (w.ev == unix.EPOLLIN):
			blocked = true
			*list = append(*list, w)
		default: // now waits for the other direction
			if w.hidx >= 0 {
				heap.Remove(&s.timers, w.hidx)
			}
			s.addFD(w, k)
		}
	}
	return wake
}

// completions drains the eventfd and the goroutine results.
func (s *Sched) completions(L *lua.LState, wake []*waiter) []*waiter {
	var buf [8]byte
	unix.Read(s.res.evfd, buf[:])
	s.mu.Lock()
	done := s.done
	s.done = nil
	posted := s.posted
	s.posted = nil
	s.mu.Unlock()
	for _, c := range done {
		s.async--
		k := c.finish(L, c.v)
		c.w.vals = popN(L, k)
		wake = append(wake, c.w)
	}
	for _, fn := range posted {
		fn(L)
	}
	return wake
}

func popN(L *lua.LState, k int) []lua.LValue {
	vals := make([]lua.LValue, k)
	top := L.GetTop()
	for i := 0; i < k; i++ {
		vals[i] = L.Get(top - k + 1 + i)
	}
	L.Pop(k)
	return vals
}

// blocked is the number of coroutines waiting in the scheduler.
func (s *Sched) blocked() int { return len(s.tasks) }

// deadlineHeap orders waiters by deadline.
type deadlineHeap []*waiter

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].deadline < h[j].deadline }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx = i
	h[j].hidx = j
}
func (h *deadlineHeap) Push(x any) {
	w := x.(*waiter)
	w.hidx = len(*h)
	*h = append(*h, w)
}
func (h *deadlineHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.hidx = -1
	return w
}

// fit pads vals with nils or truncates them to n values.
func fit(vals []lua.LValue, n int) []lua.LValue {
	if len(vals) > n {
		return vals[:n]
	}
	out := make([]lua.LValue, n)
	copy(out, vals)
	for i := len(vals); i < n; i++ {
		out[i] = lua.LNil
	}
	return out
}

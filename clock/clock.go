// Package clock is the injectable time source of ljdns: the validator,
// caches, RFC 5011 trust anchor tracking and the scenario runner take a
// Clock instead of calling the time package, so tests can drive time with
// a Fake and production code passes Real.
//
// It is a package of its own, outside internal/testnet, because production
// packages import it: the test rig imports package testing and starts
// servers, and nothing of that belongs in the daemon's binary.
package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Since returns the time elapsed since t.
	Since(t time.Time) time.Duration
	// Sleep blocks for d.
	Sleep(d time.Duration)
	// After returns a channel that receives the time once d has elapsed.
	After(d time.Duration) <-chan time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f once d has elapsed and returns a timer that can
	// cancel the call.
	AfterFunc(d time.Duration, f func()) Timer
	// NewTicker returns a ticker that fires every d (d > 0).
	NewTicker(d time.Duration) Ticker
}

// Timer is a single event, like *time.Timer.
type Timer interface {
	// C is the channel the time is sent on (nil for AfterFunc timers).
	C() <-chan time.Time
	// Stop prevents the timer from firing; false if it already fired or
	// was stopped.
	Stop() bool
	// Reset makes the timer fire after d; false if it had fired or been
	// stopped.
	Reset(d time.Duration) bool
}

// Ticker is a periodic event, like *time.Ticker.
type Ticker interface {
	C() <-chan time.Time
	Stop()
	Reset(d time.Duration)
}

// Real is the system clock (the time package).
var Real Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) Since(t time.Time) time.Duration        { return time.Since(t) }
func (realClock) Sleep(d time.Duration)                  { time.Sleep(d) }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (realClock) NewTimer(d time.Duration) Timer         { return realTimer{time.NewTimer(d)} }
func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}
func (realClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time   { return r.t.C }
func (r realTicker) Stop()                 { r.t.Stop() }
func (r realTicker) Reset(d time.Duration) { r.t.Reset(d) }

// Fake is a manual clock: time stands still until Advance or Set moves it,
// and timers, tickers and sleepers fire then, in deadline order. The zero
// value is not usable; call NewFake.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters waitHeap
	seq     uint64
	changed *sync.Cond // signalled when waiters are added
}

// NewFake returns a Fake clock reading start.
func NewFake(start time.Time) *Fake {
	f := &Fake{now: start}
	f.changed = sync.NewCond(&f.mu)
	return f
}

// waiter is one pending event of a Fake.
type waiter struct {
	at     time.Time
	seq    uint64 // insertion order breaks ties
	period time.Duration
	ch     chan time.Time // buffered(1); sends never block, like the time package
	fn     func()
	index  int // in the heap; -1 when not scheduled
}

type waitHeap []*waiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waitHeap) Push(x any) { w := x.(*waiter); w.index = len(*h); *h = append(*h, w) }
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	w.index = -1
	return w
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Since returns Now().Sub(t).
func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// schedule adds w to fire d from now; f.mu is held.
func (f *Fake) schedule(w *waiter, d time.Duration) {
	f.seq++
	w.at, w.seq = f.now.Add(d), f.seq
	heap.Push(&f.waiters, w)
	f.changed.Broadcast()
}

// unschedule removes w; it reports whether w was pending. f.mu is held.
func (f *Fake) unschedule(w *waiter) bool {
	if w.index < 0 {
		return false
	}
	heap.Remove(&f.waiters, w.index)
	return true
}

// Sleep blocks until the clock has been advanced by d.
func (f *Fake) Sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	<-f.After(d)
}

// After returns a channel that receives the time once the clock has been
// advanced by d (at once if d <= 0).
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

// NewTimer returns a timer that fires once the clock has been advanced by
// d (at once if d <= 0).
func (f *Fake) NewTimer(d time.Duration) Timer {
	w := &waiter{ch: make(chan time.Time, 1), index: -1}
	f.start(w, d)
	return &fakeTimer{f: f, w: w}
}

// AfterFunc calls fn once the clock has been advanced by d: synchronously,
// in the goroutine that calls Advance or Set, so the effect is visible
// when Advance returns (in a goroutine of its own if d <= 0).
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	w := &waiter{fn: fn, index: -1}
	f.start(w, d)
	return &fakeTimer{f: f, w: w}
}

// start schedules w, or fires it now when d <= 0.
func (f *Fake) start(w *waiter, d time.Duration) {
	f.mu.Lock()
	if d > 0 {
		f.schedule(w, d)
		f.mu.Unlock()
		return
	}
	now := f.now
	f.mu.Unlock()
	fire(w, now, false)
}

// NewTicker returns a ticker that fires each time the clock passes another
// multiple of d from now.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	w := &waiter{ch: make(chan time.Time, 1), period: d, index: -1}
	f.mu.Lock()
	f.schedule(w, d)
	f.mu.Unlock()
	return &fakeTicker{f: f, w: w}
}

// fire delivers one event without blocking the clock: a channel send is
// dropped when the channel is full (as the time package does), a function
// runs synchronously when the clock is advanced and in a goroutine of its
// own when it was due at once.
func fire(w *waiter, at time.Time, advancing bool) {
	if w.fn != nil {
		if advancing {
			w.fn()
		} else {
			go w.fn()
		}
		return
	}
	select {
	case w.ch <- at:
	default:
	}
}

// Advance moves the clock forward by d, firing every event that falls due,
// in order, with the clock set to each event's deadline as it fires.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(d)
	f.mu.Unlock()
	f.Set(target)
}

// Set moves the clock to t (never backwards: an earlier t is ignored),
// firing what falls due on the way.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	for len(f.waiters) > 0 && !f.waiters[0].at.After(t) {
		w := heap.Pop(&f.waiters).(*waiter)
		if w.at.After(f.now) {
			f.now = w.at
		}
		if w.period > 0 {
			f.seq++
			w.at, w.seq = w.at.Add(w.period), f.seq
			heap.Push(&f.waiters, w)
		}
		at := f.now
		f.mu.Unlock()
		fire(w, at, true)
		f.mu.Lock()
	}
	if t.After(f.now) {
		f.now = t
	}
	f.mu.Unlock()
}

// Waiters returns how many timers, tickers and sleepers are pending.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// BlockUntil blocks until at least n timers, tickers or sleepers are
// pending: a test calls it to know that the code under test is waiting on
// the clock before it advances it.
func (f *Fake) BlockUntil(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.waiters) < n {
		f.changed.Wait()
	}
}

type fakeTimer struct {
	f *Fake
	w *waiter
}

func (t *fakeTimer) C() <-chan time.Time { return t.w.ch }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.f.unschedule(t.w)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	was := t.f.unschedule(t.w)
	if t.w.ch != nil { // drain a stale value, as Go 1.23 timers do
		select {
		case <-t.w.ch:
		default:
		}
	}
	t.f.mu.Unlock()
	t.f.start(t.w, d)
	return was
}

type fakeTicker struct {
	f *Fake
	w *waiter
}

func (t *fakeTicker) C() <-chan time.Time { return t.w.ch }

func (t *fakeTicker) Stop() {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	t.f.unschedule(t.w)
}

func (t *fakeTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive interval for Ticker.Reset")
	}
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	t.f.unschedule(t.w)
	t.w.period = d
	t.f.schedule(t.w, d)
}

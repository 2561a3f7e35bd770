package luabind

import (
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Interrupt is the context.Context the REPL and the spec runner give a Lua
// state (L.SetContext): Fire ends whatever runs now with a Lua error, Reset
// lets the next REPL line or the next test run. gopher-lua checks a state's
// context at every VM instruction; Go functions that wait (nbio) watch it
// with context.AfterFunc, which Interrupt serves without a goroutine.
//
// A standard context cannot be used again once cancelled, and gopher-lua
// gives each coroutine a child of its creator's context: a coroutine made
// on one REPL line would be cancelled with that line, and one made inside a
// pcall helper would be cancelled when the helper died with an error. So
// every coroutine of the state shares the one Interrupt instead (NewThread,
// ShareContext).
type Interrupt struct {
	cur  atomic.Pointer[interruptGen]
	mu   sync.Mutex
	fns  map[*func()]struct{} // AfterFunc callbacks of the current generation
	seen atomic.Bool          // Fire was called since the last Reset
}

// interruptGen is one generation: from a Reset to the next.
type interruptGen struct {
	done chan struct{}
	err  error // set before done is closed
}

// NewInterrupt returns an Interrupt that has not fired.
func NewInterrupt() *Interrupt {
	i := &Interrupt{}
	i.cur.Store(&interruptGen{done: make(chan struct{})})
	return i
}

// Deadline implements context.Context: an Interrupt has none.
func (i *Interrupt) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done implements context.Context: the channel of the current generation,
// closed by Fire.
func (i *Interrupt) Done() <-chan struct{} { return i.cur.Load().done }

// Err implements context.Context: the error given to Fire, nil before.
func (i *Interrupt) Err() error {
	g := i.cur.Load()
	select {
	case <-g.done:
		return g.err
	default:
		return nil
	}
}

// Value implements context.Context: an Interrupt carries no values.
func (i *Interrupt) Value(any) any { return nil }

// Fire ends the current generation with err (the text Lua code sees as the
// error); later calls before a Reset do nothing.
func (i *Interrupt) Fire(err error) {
	i.mu.Lock()
	g := i.cur.Load()
	if i.seen.Load() {
		i.mu.Unlock()
		return
	}
	g.err = err
	i.seen.Store(true)
	close(g.done)
	fns := i.fns
	i.fns = nil
	i.mu.Unlock()
	for f := range fns {
		(*f)()
	}
}

// Reset starts a new generation if the current one has fired.
func (i *Interrupt) Reset() {
	i.mu.Lock()
	if i.seen.Load() {
		i.cur.Store(&interruptGen{done: make(chan struct{})})
		i.seen.Store(false)
	}
	i.mu.Unlock()
}

// AfterFunc arranges for f to run when the current generation fires (on
// the goroutine calling Fire; at once on a new one if it has fired
// already); stop cancels that and reports whether it did. The
// context package calls it for context.AfterFunc and for children made
// with context.WithCancel, which then need no goroutine of their own.
func (i *Interrupt) AfterFunc(f func()) (stop func() bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.seen.Load() {
		go f()
		return func() bool { return false }
	}
	if i.fns == nil {
		i.fns = map[*func()]struct{}{}
	}
	key := &f
	i.fns[key] = struct{}{}
	return func() bool {
		i.mu.Lock()
		defer i.mu.Unlock()
		_, ok := i.fns[key]
		delete(i.fns, key)
		return ok
	}
}

// NewThread returns a new coroutine of L that shares L's context itself
// rather than a child of it (see Interrupt).
func NewThread(L *lua.LState) *lua.LState {
	co, cancel := L.NewThread()
	if cancel != nil {
		cancel() // unregisters the child from its parent
		co.SetContext(L.Context())
	}
	return co
}

// ShareContext gives co the context of L, the state about to resume it, so
// that a coroutine made before a context was set (or under another one)
// runs under the current one. It costs two calls when nothing changes.
func ShareContext(L, co *lua.LState) {
	if c := L.Context(); co.Context() != c {
		if c == nil {
			co.RemoveContext()
		} else {
			co.SetContext(c)
		}
	}
}

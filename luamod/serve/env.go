package serve

import (
	"sort"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
)

// Env is what a Go module's binding sees of the worker state it opens in:
// the worker, the configuration generation being built, objects shared by
// the workers of a generation or kept across reloads, and the running
// server.
type Env struct {
	w   *worker
	gen *generation
	cur string // module being opened (AddLayer attributes layers to it)
}

// Worker returns the worker's index (0..Workers-1).
func (e *Env) Worker() int { return e.w.id }

// Workers returns the number of workers.
func (e *Env) Workers() int { return len(e.gen.workers) }

// Log returns the daemon's logger.
func (e *Env) Log() *daemon.Logger { return e.gen.ld.log }

// Config returns the daemon configuration this generation builds. Modules
// may set fields of it while the configuration executes (worker 0's
// settings are the ones served).
func (e *Env) Config() *daemon.Config { return e.gen.cfg }

// Server returns the running server (nil before it starts).
func (e *Env) Server() *daemon.Server { return e.gen.ld.server() }

// Shared returns the object named key of this configuration generation,
// made by mk on first use: every worker's binding gets the same one (a
// module's rules, answered from whichever worker a query reaches).
func (e *Env) Shared(key string, mk func() any) any {
	g := e.gen
	g.mu.Lock()
	defer g.mu.Unlock()
	if v, ok := g.shared[key]; ok {
		return v
	}
	v := mk()
	g.shared[key] = v
	return v
}

// Persistent returns the process-wide object named key, made by mk on
// first use and kept across reloads (caches, stats counters).
func (e *Env) Persistent(key string, mk func() any) any {
	ld := e.gen.ld
	ld.mu.Lock()
	defer ld.mu.Unlock()
	if v, ok := ld.persistent[key]; ok {
		return v
	}
	v := mk()
	ld.persistent[key] = v
	return v
}

// AddLayer adds l to the request path as a layer of the module being
// loaded (in module order). Adding the same layer again (from another
// worker's state) does nothing.
func (e *Env) AddLayer(l daemon.Layer) {
	e.w.addGoLayer(e.cur, l)
}

// AtFinish registers fn to run once the configuration has executed in
// every worker, before the daemon configuration is handed over (kresd's
// postconfig): fn may complete Config() (listeners' options, defaults).
// An error fails the load. fn runs once per generation per key.
func (e *Env) AtFinish(key string, fn func(cfg *daemon.Config) error) {
	g := e.gen
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.finishers == nil {
		g.finishers = map[string]func(*daemon.Config) error{}
	}
	if _, ok := g.finishers[key]; !ok {
		g.finisherOrder = append(g.finisherOrder, key)
	}
	g.finishers[key] = fn
}

// CheckConfig reports whether the configuration only executes to be
// checked (--check-config): modules open no files and start nothing.
func (e *Env) CheckConfig() bool { return e.gen.ld.o.CheckConfig }

// RunDir returns the daemon's RUNDIR ("" when the loader has none: the
// caches then keep no snapshot unless the configuration names a path).
func (e *Env) RunDir() string { return e.gen.ld.o.RunDir }

// Post runs fn on the worker's goroutine (the only one that may touch its
// Lua state). It reports false when the state is closed.
func (e *Env) Post(fn func(L *lua.LState)) bool { return e.w.sched.Post(fn) }

// State returns the worker's Lua state (only for use on its goroutine, or
// while the configuration executes).
func (e *Env) State() *lua.LState { return e.w.L }

// moduleOpen opens a Go module in a worker state: it returns the module's
// Lua value (the global of its name) and adds its layers with
// env.AddLayer. A Lua error raised by open fails modules.load.
type moduleOpen func(L *lua.LState, env *Env) lua.LValue

var (
	bindingsMu sync.Mutex
	bindings   = map[string]moduleOpen{}
)

// registerModuleBinding makes the Go module name loadable with
// modules.load(name). The name "cache" is special: its open runs for every
// state before the configuration and returns the table of the cache
// global's functions (open, close, count, stats, clear, get, min_ttl,
// max_ttl, ns_tout, sync, fssize, backends, current_size() and
// current_storage() as functions), plus `context`, the object
// kres.context().cache returns (insert, commit, stats); without it the
// sandbox keeps kresd's API over a stand-in. The mod_<name>.go files call it from init: the one
// registration of this package that is not in a table, so that each
// module's binding stays in its own file.
func registerModuleBinding(name string, open moduleOpen) {
	bindingsMu.Lock()
	defer bindingsMu.Unlock()
	bindings[name] = open
}

// binding returns the registered Go module name.
func binding(name string) (moduleOpen, bool) {
	bindingsMu.Lock()
	defer bindingsMu.Unlock()
	b, ok := bindings[name]
	return b, ok
}

// GoModules lists the Go modules registered, sorted.
func GoModules() []string {
	bindingsMu.Lock()
	defer bindingsMu.Unlock()
	out := make([]string, 0, len(bindings))
	for n := range bindings {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

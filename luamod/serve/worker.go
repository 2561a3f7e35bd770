package serve

import (
	_ "embed"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/host"
	"ljdns/luabind"
	"ljdns/luamod/nbio"
)

//go:embed sandbox.lua
var sandboxLua string

// worker is one Lua state with kresd's environment, owned by a goroutine
// that runs its nbio scheduler once the configuration has executed.
type worker struct {
	id    int
	gen   *generation
	L     *lua.LState
	sched *nbio.Sched
	env   *Env

	modules      []*module
	pendingGo    []daemon.Layer // layers added by the Go module being opened
	cacheLayers  []daemon.Layer // the Go cache module's layers
	proxyAllowed []string
	tlsFiles     [2]string
	deferred     []func(L *lua.LState) // started with the loop (worker.coroutine, event timers during the config)
	running      atomic.Bool           // the loop was started

	budget         time.Duration      // Lua CPU per request (worker.lua_budget)
	budgetIntr     *luabind.Interrupt // the context of layer coroutines, fired over budget
	budgetMu       sync.Mutex
	budgetDeadline time.Duration // since epoch; 0: no Lua layer code running
	budgetWatching bool          // the watchdog goroutine runs
	epoch          time.Time
	errLog         logOnce
	phaseBody      *lua.LFunction // calls a layer function (no tail call: it may yield), keeps its first result
	reqMeta        lua.LValue     // the metatable of req objects

	mu      sync.Mutex // guards timers (cancelled from any goroutine at close)
	timers  map[int]*timer
	nextID  int
	stopped atomic.Bool

	stop chan struct{}
	done chan struct{}

	// lk owns the state once the loop runs: the loop holds it except while
	// it waits for events, and a request's goroutine takes it to run a
	// Lua layer call itself (no hand-over when the call does not block).
	lk sync.Mutex

	layers layerFuncs // the Lua layer functions of this state's modules, by module
}

// module is one loaded module of a state.
type module struct {
	name     string
	lua      *lua.LTable // Lua module table; nil for Go modules and placeholders
	goLayers []daemon.Layer
	builtin  bool // kresd's default module without an ljdns counterpart (listed, does nothing)
}

func newWorker(g *generation, id int) (*worker, error) {
	L := g.ld.o.NewState()
	w := &worker{id: id, gen: g, L: L, timers: map[int]*timer{}, stop: make(chan struct{}), done: make(chan struct{})}
	w.env = &Env{w: w, gen: g}
	w.budgetIntr = luabind.NewInterrupt()
	w.epoch = time.Now()
	w.budget = DefaultLuaBudget
	if err := L.DoString("require('dns.nbio')"); err != nil {
		L.Close()
		return nil, err
	}
	w.sched = nbio.SchedOf(L)
	body, err := host.LoadString(L, "local f, a, b, c, d, e = ... local s = f(a, b, c, d, e) return s", "=layer")
	if err != nil {
		L.Close()
		return nil, err
	}
	w.phaseBody = body
	return w, nil
}

// configure installs kresd's environment and executes the configuration
// file path ("" none). The error is one line with file:line.
func (w *worker) configure(path string) error {
	L := w.L
	S := w.natives()
	w.extraNatives(L, S)
	for _, part := range []struct{ name, src string }{{"@serve/compat.lua", compatLua}, {"@serve/sandbox.lua", sandboxLua}} {
		fn, err := host.LoadString(L, part.src, part.name)
		if err != nil {
			return fmt.Errorf("serve: %s: %v", part.name, err)
		}
		if err := host.Call(L, fn, S); err != nil {
			return fmt.Errorf("serve: %s", firstLine(host.FormatError(err)))
		}
	}
	var fn *lua.LFunction
	var err error
	if err := w.loadDefaultModules(); err != nil {
		return err
	}
	if len(w.cacheLayers) > 0 {
		// the Go cache module's layers, after the default modules (policy
		// answers first, as in kresd); 'view < cache' goes before them
		w.modules = append(w.modules, &module{name: "cache", goLayers: w.cacheLayers, builtin: true})
		w.modulesChanged()
	}
	if kf := w.gen.ld.o.KeyFile; kf != "" {
		if err := w.call(fmt.Sprintf("trust_anchors.add_file(%q)", kf), "-k"); err != nil {
			return err
		}
	}
	if path == "" {
		return nil
	}
	fn, err = host.LoadFile(L, path)
	if err != nil {
		return fmt.Errorf("%s", firstLine(host.FormatError(err)))
	}
	if err := host.Call(L, fn); err != nil {
		return fmt.Errorf("%s", firstLine(host.FormatError(err)))
	}
	return nil
}

// call runs a chunk of Lua in the state (configuration time).
func (w *worker) call(src, name string) error {
	fn, err := host.LoadString(w.L, src, name)
	if err == nil {
		err = host.Call(w.L, fn)
	}
	if err != nil {
		return fmt.Errorf("%s", firstLine(host.FormatError(err)))
	}
	return nil
}

// defaultModules are loaded before the configuration, as in kresd 5.
// Those without an ljdns module are listed (modules.unload works on them)
// but do nothing; README.md's table says what takes their place.
var defaultModules = []string{"policy", "ta_update", "ta_signal_query", "priming", "detect_time_skew",
	"detect_time_jump", "ta_sentinel", "edns_keepalive", "refuse_nord", "watchdog", "extended_error"}

// builtinPlaceholders are kresd modules whose work the daemon does itself
// or that belong to recursion (its own issue): loading them succeeds.
var builtinPlaceholders = map[string]string{
	"ta_update":        "RFC 5011 updates belong to the resolver",
	"ta_signal_query":  "RFC 8145 signalling belongs to the resolver",
	"priming":          "root priming belongs to the resolver",
	"detect_time_skew": "belongs to the resolver",
	"detect_time_jump": "belongs to the resolver",
	"ta_sentinel":      "RFC 8509 belongs to the validator",
	"edns_keepalive":   "the daemon's TCP idle timeout",
	"refuse_nord":      "the daemon refuses RD=0 for cached and forwarded data itself",
	"watchdog":         "no systemd watchdog pings",
	"extended_error":   "the daemon writes RFC 8914 errors itself",
	"iterate":          "recursion is its own issue",
	"validate":         "validation is its own issue",
	"rrcache":          "the cache module",
	"pktcache":         "the cache module",
}

func (w *worker) loadDefaultModules() error {
	for _, name := range defaultModules {
		if _, ok := binding(name); !ok {
			if _, ok := builtinPlaceholders[name]; !ok {
				continue // a Go module not built in yet (policy before kresmods lands)
			}
		}
		if err := w.loadModule(name, ""); err != nil {
			return err
		}
	}
	return nil
}

// start runs the state's scheduler on a goroutine of its own.
func (w *worker) start() {
	w.sched.SetWaitLock(&w.lk)
	w.running.Store(true)
	go w.loop()
}

func (w *worker) loop() {
	defer close(w.done)
	w.lk.Lock()
	defer w.lk.Unlock()
	L := w.L
	deferred := w.deferred
	w.deferred = nil
	for _, f := range deferred {
		f(L)
	}
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		_, errv := w.sched.Step(L, -1)
		if errv != nil {
			w.gen.ld.log.Errorf("system", "coroutine error: %s", firstLine(luaString(L, errv)))
		}
	}
}

// post runs fn on the worker's goroutine, or at once while the
// configuration executes (before the loop runs).
func (w *worker) post(fn func(L *lua.LState)) {
	if !w.running.Load() {
		w.deferred = append(w.deferred, fn)
		return
	}
	w.sched.Post(fn)
}

// exec runs fn on the worker's goroutine and waits for it (the REPL).
func (w *worker) exec(fn func()) {
	if !w.running.Load() {
		fn()
		return
	}
	done := make(chan struct{})
	if !w.sched.Post(func(*lua.LState) { defer close(done); fn() }) {
		return
	}
	<-done
}

// evalLine evaluates one line of the control socket on the worker's
// goroutine and returns what print() wrote and the values, as kresd's
// control socket does.
func (w *worker) evalLine(line string) string {
	var out string
	w.exec(func() { out = w.eval(line) })
	return out
}

// eval runs line ("= expr", an expression or a statement) and returns the
// printed output and the values (tables through table_print), or the error.
func (w *worker) eval(line string) string {
	L := w.L
	line = strings.TrimSpace(line)
	if line == "" {
		return ""
	}
	src := strings.TrimPrefix(line, "=")
	fn, err := host.LoadString(L, "return "+src, "control")
	if err != nil {
		fn, err = host.LoadString(L, src, "control")
	}
	if err != nil {
		return "error: " + firstLine(host.FormatError(err)) + "\n"
	}
	var sb strings.Builder
	restore := capturePrint(L, &sb)
	top := L.GetTop()
	err = host.Call(L, fn)
	restore()
	host.FlushStdout(L)
	if err != nil {
		L.SetTop(top)
		sb.WriteString("error: " + firstLine(host.FormatError(err)) + "\n")
		return sb.String()
	}
	n := L.GetTop() - top
	tp, _ := L.GetGlobal("table_print").(*lua.LFunction)
	for i := 1; i <= n; i++ {
		v := L.Get(top + i)
		if _, ok := v.(*lua.LTable); ok && tp != nil {
			if err := L.CallByParam(lua.P{Fn: tp, NRet: 1, Protect: true}, v); err == nil {
				v = L.Get(-1)
				L.Pop(1)
			}
		}
		sb.WriteString(luaString(L, v))
		sb.WriteByte('\n')
	}
	L.SetTop(top)
	return sb.String()
}

// capturePrint makes print() write into sb until restore is called.
func capturePrint(L *lua.LState, sb *strings.Builder) (restore func()) {
	orig := L.GetGlobal("print")
	L.SetGlobal("print", L.NewFunction(func(L *lua.LState) int {
		n := L.GetTop()
		for i := 1; i <= n; i++ {
			if i > 1 {
				sb.WriteByte('\t')
			}
			sb.WriteString(luaString(L, L.Get(i)))
		}
		sb.WriteByte('\n')
		return 0
	}))
	return func() { L.SetGlobal("print", orig) }
}

// luaString converts v as tostring() does.
func luaString(L *lua.LState, v lua.LValue) string { return host.ToString(L, v) }

// close stops the loop (after the current step) and closes the state.
func (w *worker) close() {
	w.mu.Lock()
	if w.stopped.Load() {
		w.mu.Unlock()
		return
	}
	w.stopped.Store(true)
	for _, t := range w.timers {
		t.cancelled = true
		if t.t != nil {
			t.t.Stop()
		}
	}
	w.timers = nil
	w.mu.Unlock()
	if w.running.Load() {
		close(w.stop)
		w.sched.Post(func(*lua.LState) {}) // wake the step
		select {
		case <-w.done:
		case <-time.After(5 * time.Second):
			w.gen.ld.log.Warnf("system", "worker %d: a Lua call did not return within 5 s of the stop", w.id)
			return // leave the state to its goroutine
		}
	}
	w.deinitModules()
	nbio.Close(w.L)
	w.L.Close()
}

// deinitModules calls the deinit of every Lua module, last loaded first.
func (w *worker) deinitModules() {
	for i := len(w.modules) - 1; i >= 0; i-- {
		m := w.modules[i]
		if m.lua == nil {
			continue
		}
		if f, ok := m.lua.RawGetString("deinit").(*lua.LFunction); ok {
			if err := host.Call(w.L, f, m.lua); err != nil {
				w.gen.ld.log.Warnf("system", "module %s: deinit: %s", m.name, firstLine(host.FormatError(err)))
			}
		}
	}
}

// logOnce rate-limits error lines about Lua code to one per second per worker.
type logOnce struct {
	mu   sync.Mutex
	last time.Time
	lost int
}

func (o *logOnce) allow() (ok bool, lost int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if now := time.Now(); now.Sub(o.last) >= time.Second {
		o.last, lost, o.lost = now, o.lost, 0
		return true, lost
	}
	o.lost++
	return false, 0
}

// setenv is env.KRESD_NO_LISTEN = v: the process's environment, which
// `ljdns serve` reads when nothing is bound.
func setenv(k string, v lua.LValue) {
	if v == lua.LNil || v == lua.LFalse {
		os.Unsetenv(k)
		return
	}
	os.Setenv(k, "1")
}

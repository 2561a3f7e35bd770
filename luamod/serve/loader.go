package serve

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/resolver/anchors"
)

// Options are what `ljdns serve` hands the loader (cmd/ljdns/serve_lua.go
// fills them from its command line).
type Options struct {
	Config         string // configuration file, relative to RUNDIR ("" none)
	ConfigExplicit bool   // given with -c: a missing file is an error
	Workers        int    // -f (0: 1)
	KeyFile        string // -k: a trust anchor file (the seeds' form)
	CheckConfig    bool   // --check-config: execute, report, start nothing
	NonInteractive bool   // -n
	Quiet          bool   // -q: no prompt
	Verbose        bool   // -v
	Version        string // package_version()
	RunDir         string // RUNDIR (the cache's snapshot goes there; "": none by default)

	Log      *daemon.Logger
	NewState func() *lua.LState // a fresh ljdns state (host.New with the embedded scripts)
	// REPL runs ljdns's REPL on the terminal; exec runs each of its
	// evaluations on the goroutine that owns L.
	REPL   func(L *lua.LState, exec func(func())) int
	Reload func() error          // reload(): what SIGHUP does
	Quit   func(code int)        // quit(): stop the daemon and exit with code
	Server func() *daemon.Server // the running server (nil before Start)
}

// Loader executes the configuration into worker states, once at start and
// again on each reload; it implements cmd/ljdns's ConfigLoader.
type Loader struct {
	o   Options
	log *daemon.Logger

	mu         sync.Mutex
	persistent map[string]any
	blocking   map[string]bool // Lua modules whose layer calls have blocked (kept across reloads)
	cur        *generation     // the newest generation that loaded
	srv        *daemon.Server
	ready      chan struct{} // closed by Attach
	closed     bool
}

// NewLoader returns a loader for o.
func NewLoader(o Options) (*Loader, error) {
	if o.NewState == nil {
		return nil, errors.New("serve: Options.NewState is required")
	}
	if o.Log == nil {
		o.Log = daemon.StderrLogger()
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	return &Loader{o: o, log: o.Log, persistent: map[string]any{}, blocking: map[string]bool{}, ready: make(chan struct{})}, nil
}

// server returns the running server (nil before Attach).
func (ld *Loader) server() *daemon.Server {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	if ld.srv == nil && ld.o.Server != nil {
		return ld.o.Server()
	}
	return ld.srv
}

// waitServer waits until the server runs (resolve() issued while the
// configuration executes), or d passes.
func (ld *Loader) waitServer(d time.Duration) *daemon.Server {
	select {
	case <-ld.ready:
	case <-time.After(d):
	}
	return ld.server()
}

// Load executes the configuration into fresh worker states and returns
// the daemon configuration they built. Errors are one line with file:line.
// Until the returned configuration is in service the previous one keeps
// serving; it is retired (its timers cancelled, its states closed) by the
// daemon after the drain, through the generation's Closer layer.
func (ld *Loader) Load() (*daemon.Config, error) {
	g := newGeneration(ld)
	path := ld.o.Config
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			if ld.o.ConfigExplicit {
				g.close()
				return nil, fmt.Errorf("cannot open configuration '%s': %v", path, errors.Unwrap(err))
			}
			path = ""
		}
	}
	for i := 0; i < ld.o.Workers; i++ {
		w, err := newWorker(g, i)
		if err == nil {
			g.workers = append(g.workers, w)
			err = w.configure(path)
		}
		if err != nil {
			g.close()
			return nil, err
		}
	}
	// before finish: the resolver it sets up takes the anchors and starts
	// their RFC 5011 refresh
	if err := g.anchors.Check(); err != nil {
		g.close()
		return nil, err
	}
	if err := g.finish(); err != nil {
		g.close()
		return nil, err
	}
	if !ld.o.CheckConfig {
		for _, w := range g.workers {
			w.start()
		}
	}
	ld.mu.Lock()
	ld.cur = g
	ld.mu.Unlock()
	return g.cfg, nil
}

// current returns the newest generation.
func (ld *Loader) current() *generation {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return ld.cur
}

// Attach is told the running server once it started: resolve() and
// worker.coroutine loops waiting for it go on.
func (ld *Loader) Attach(s *daemon.Server) {
	ld.mu.Lock()
	ld.srv = s
	ld.mu.Unlock()
	select {
	case <-ld.ready:
	default:
		close(ld.ready)
	}
}

// Close stops every worker state.
func (ld *Loader) Close() error {
	ld.mu.Lock()
	g := ld.cur
	ld.closed = true
	ld.mu.Unlock()
	if g != nil {
		g.close()
	}
	return nil
}

// RunREPL runs ljdns's REPL on the terminal with worker 0's state: each
// evaluation runs on worker 0's goroutine, between the requests it serves.
func (ld *Loader) RunREPL() int {
	g := ld.current()
	if g == nil || ld.o.REPL == nil {
		return 0
	}
	w := g.workers[0]
	return ld.o.REPL(w.L, w.exec)
}

// Control evaluates one line of the control socket in worker 0 of the
// generation serving and returns what it printed and its values.
func (ld *Loader) Control(line string) string {
	g := ld.current()
	if g == nil {
		return "error: no configuration\n"
	}
	return g.workers[0].evalLine(line)
}

// generation is one execution of the configuration: a state per worker
// and the daemon configuration they built.
type generation struct {
	ld      *Loader
	cfg     *daemon.Config
	workers []*worker

	mu       sync.Mutex
	shared   map[string]any
	blocking map[string]bool // Lua modules whose layer calls have blocked
	closed   bool
	anchors  *anchors.Store // trust_anchors, shared by the workers

	finishers     map[string]func(*daemon.Config) error // Env.AtFinish
	finisherOrder []string
}

func newGeneration(ld *Loader) *generation {
	g := &generation{ld: ld, shared: map[string]any{}, blocking: map[string]bool{}, anchors: anchors.New(nil)}
	g.anchors.SetLogger(func(format string, args ...any) { ld.log.Infof("ta", format, args...) })
	ld.mu.Lock()
	for name := range ld.blocking { // what blocked before a reload still does
		g.blocking[name] = true
	}
	ld.mu.Unlock()
	g.cfg = &daemon.Config{Workers: ld.o.Workers, Log: ld.log, Verbose: ld.o.Verbose}
	g.cfg.Control = ld.Control
	return g
}

// finish assembles the daemon configuration from the workers' module
// lists (worker 0's order): Go layers once, Lua layers dispatching to the
// state of the worker a request arrived on.
func (g *generation) finish() error {
	w0 := g.workers[0]
	var layers []daemon.Layer
	for _, m := range w0.modules {
		layers = append(layers, m.goLayers...)
		if m.lua != nil {
			if l := newLuaLayer(g, m.name); l != nil {
				layers = append(layers, l)
			}
		}
	}
	layers = append(layers, &genCloser{g: g})
	g.cfg.Layers = layers
	if err := g.setResolver(); err != nil {
		return err
	}
	g.mu.Lock()
	order, fins := g.finisherOrder, g.finishers
	g.mu.Unlock()
	for _, k := range order {
		if err := fins[k](g.cfg); err != nil {
			return fmt.Errorf("%s: %v", k, err)
		}
	}
	if len(w0.proxyAllowed) > 0 {
		g.ld.log.Warnf("net", "net.proxy_allowed: the PROXYv2 protocol is not supported by ljdns serve; the list is kept but no proxy header is read")
	}
	return nil
}

// close stops the generation's workers and closes their states.
func (g *generation) close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	g.mu.Unlock()
	for _, w := range g.workers {
		w.close()
	}
}

// genCloser is the generation's hidden layer: the daemon closes it when
// the configuration is retired (after the drain), which stops the
// generation's states, timers and coroutines.
type genCloser struct{ g *generation }

// Name implements daemon.Layer.
func (c *genCloser) Name() string { return "lua-config" }

// AnswerFinalize implements daemon.AnswerFinalizer: the request's Lua side
// ends (its objects kept by Lua raise from now on). Last in the layers, it
// runs after every module's answer_finalize.
func (c *genCloser) AnswerFinalize(r *daemon.Request, s daemon.State) daemon.State {
	endRequest(r)
	return s
}

// Close implements daemon.Closer: deinit of every Lua module, then the states close.
func (c *genCloser) Close() error {
	if c.g.ld.current() == c.g {
		return nil // still the newest (a reload that kept the same generation)
	}
	c.g.close()
	return nil
}

// firstLine returns the first line of a Lua error report (file:line: msg).
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

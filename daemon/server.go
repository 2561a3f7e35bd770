package daemon

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of the server.
var (
	// ErrStarted is returned by Start on a server already started.
	ErrStarted = errors.New("daemon: server already started")
	// ErrClosed is returned after Shutdown.
	ErrClosed = errors.New("daemon: server closed")
)

// Server is the daemon: workers, listeners and the request pipeline of one
// configuration generation at a time. Make it with New, then Start; Reload
// swaps the configuration; Shutdown drains and stops.
type Server struct {
	log     *Logger
	workers int

	gen atomic.Pointer[generation]

	cookieSecret [16]byte // RFC 9018 server secret, kept across reloads

	tlsMu        sync.Mutex
	ticketKeys   [][32]byte // TLS session ticket keys (current first), kept across reloads
	ticketSecret string
	ticketRandom [32]byte
	ticketEpoch  int64
	ephemeral    *tls.Certificate
	tlsConfigs   map[string]*tls.Config // by ALPN list; certificates come from the current generation

	mu        sync.Mutex // listeners, reload, shutdown
	listeners map[string]*listenerGroup
	started   bool
	closed    bool

	counters Counters
	clients  *clientTable
	conns    gauge // stream connections open
	outgoing gauge // upstream queries in flight

	ctx    context.Context // cancelled at Shutdown's deadline
	cancel context.CancelFunc
	wg     sync.WaitGroup // listener goroutines and connections
	reqs   sync.WaitGroup // asynchronous requests

	logMu   sync.Mutex
	lastLog map[string]time.Time

	control *controlServer
	work    chan func() // hands work to idle pooled goroutines (spawn)
	dropped atomic.Bool // user() dropped privileges
}

// generation is one configuration in service.
type generation struct {
	s        *Server
	cfg      *Config
	phases   phaseLayers
	blocking bool
	log      *Logger
	ctx      context.Context
	cancel   context.CancelFunc
	refs     atomic.Int64
	retired  chan struct{} // closed when the generation has drained and its layers are closed
}

// New returns a server for cfg, not yet listening.
func New(cfg *Config) (*Server, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{listeners: map[string]*listenerGroup{}, clients: newClientTable(), lastLog: map[string]time.Time{},
		work: make(chan func())}
	s.log = cfg.Log
	if s.log == nil {
		s.log = StderrLogger()
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if _, err := rand.Read(s.cookieSecret[:]); err != nil {
		return nil, fmt.Errorf("daemon: cookie secret: %w", err)
	}
	g := s.newGeneration(cfg)
	s.workers = g.cfg.Workers
	if err := s.setTicketKeys(g.cfg.TicketSecret); err != nil {
		return nil, err
	}
	s.gen.Store(g)
	s.conns.max = func() int { return s.gen.Load().cfg.Limits.Conns }
	s.outgoing.max = func() int { return s.gen.Load().cfg.Limits.OutgoingInflight }
	return s, nil
}

func (s *Server) newGeneration(cfg *Config) *generation {
	n := cfg.normalized()
	g := &generation{s: s, cfg: n, retired: make(chan struct{})}
	g.phases, g.blocking = buildPhases(n.Layers)
	g.log = n.Log
	if g.log == nil {
		g.log = s.log
	}
	g.ctx, g.cancel = context.WithCancel(s.ctx)
	return g
}

// Logger returns the server's logger.
func (s *Server) Logger() *Logger { return s.log }

// Counters returns the server's own counters (kept across reloads).
func (s *Server) Counters() *Counters { return &s.counters }

// Workers returns the number of workers (fixed at Start).
func (s *Server) Workers() int { return s.workers }

// Config returns the configuration in service (defaults filled in).
func (s *Server) Config() *Config { return s.gen.Load().cfg }

// Start opens the listeners of the configuration and starts serving.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return ErrStarted
	}
	g := s.gen.Load()
	if err := s.applyOutgoing(g.cfg); err != nil {
		return err
	}
	groups, err := s.openListeners(g.cfg, nil)
	if err != nil {
		return err
	}
	if g.cfg.User != "" {
		if err := s.dropPrivileges(g.cfg.User, g.cfg.Group); err != nil {
			for _, lg := range groups {
				lg.close()
			}
			return err
		}
	}
	if g.cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(g.cfg.MemoryLimit)
	}
	s.listeners = groups
	for _, lg := range groups {
		s.serveGroup(lg)
	}
	s.started = true
	return nil
}

// Addrs returns the bound addresses of the listeners by kind (the real
// ports when the configuration asked for port 0).
func (s *Server) Addrs(kind Kind) []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.AddrPort
	for _, lg := range s.listeners {
		if lg.spec.Kind == kind {
			out = append(out, lg.addr)
		}
	}
	return out
}

// Reload replaces the configuration: listeners present in both stay open
// (their sockets are kept), new ones open, dropped ones close; requests in
// flight finish on the old configuration, whose layers are closed after they
// drained or after DrainTimeout. On error nothing changes.
func (s *Server) Reload(cfg *Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	g := s.newGeneration(cfg)
	if g.cfg.Workers != s.workers {
		s.log.Warnf("system", "reload: the number of workers stays %d (asked %d)", s.workers, g.cfg.Workers)
		g.cfg.Workers = s.workers
	}
	var added map[string]*listenerGroup
	if s.started {
		var err error
		added, err = s.openListeners(g.cfg, s.listeners)
		if err != nil {
			g.cancel()
			return err
		}
	}
	undo := func(err error) error {
		for _, lg := range added {
			lg.close()
		}
		g.cancel()
		return err
	}
	if err := s.applyOutgoing(g.cfg); err != nil {
		return undo(err)
	}
	if g.cfg.TicketSecret != s.gen.Load().cfg.TicketSecret {
		if err := s.setTicketKeys(g.cfg.TicketSecret); err != nil {
			return undo(err)
		}
	}
	if g.cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(g.cfg.MemoryLimit)
	}
	old := s.gen.Swap(g)
	if s.started {
		keep := map[string]bool{}
		for _, l := range g.cfg.Listen {
			if k, ok := matchGroup(s.listeners, l); ok {
				keep[k] = true
			}
		}
		for k, lg := range s.listeners {
			if !keep[k] {
				lg.close()
				delete(s.listeners, k)
			}
		}
		for k, lg := range added {
			s.listeners[k] = lg
			s.serveGroup(lg)
		}
	}
	go s.retire(old)
	return nil
}

// retire waits for the old generation's requests (at most DrainTimeout),
// cancels what is left and closes its layers.
func (s *Server) retire(g *generation) {
	deadline := time.Now().Add(g.cfg.DrainTimeout)
	for g.refs.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	g.cancel()
	s.closeLayers(g)
	close(g.retired)
}

func (s *Server) closeLayers(g *generation) {
	cur := s.gen.Load()
	shared := map[any]bool{}
	if cur != g {
		for _, l := range cur.cfg.Layers {
			if reflect.TypeOf(l).Comparable() {
				shared[l] = true
			}
		}
	}
	for _, l := range g.cfg.Layers {
		if c, ok := l.(Closer); ok && !(reflect.TypeOf(l).Comparable() && shared[l]) {
			if err := c.Close(); err != nil {
				s.log.Warnf("system", "closing module %s: %v", l.Name(), err)
			}
		}
	}
}

// acquire pins the current generation for one request.
func (s *Server) acquire() *generation {
	for {
		g := s.gen.Load()
		g.refs.Add(1)
		if s.gen.Load() == g {
			return g
		}
		g.refs.Add(-1)
	}
}

func (g *generation) release() { g.refs.Add(-1) }

// Shutdown stops accepting, waits for requests in flight until ctx ends
// (or DrainTimeout when ctx has no deadline), then closes everything and
// the layers.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	g := s.gen.Load()
	for _, lg := range s.listeners {
		lg.stopAccepting()
	}
	s.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.cfg.DrainTimeout)
		defer cancel()
	}
	done := make(chan struct{})
	go func() {
		s.reqs.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.cancel()
	s.mu.Lock()
	for _, lg := range s.listeners {
		lg.close()
	}
	s.listeners = map[string]*listenerGroup{}
	s.mu.Unlock()
	if s.control != nil {
		s.control.close()
	}
	s.wg.Wait()
	s.closeLayers(g)
	return err
}

// acl reports whether client may recurse under the generation's ACL.
func (g *generation) acl(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range g.cfg.RecursionACL {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// logLimited logs a message at most once per second per key.
func (s *Server) logLimited(key, group, format string, args ...any) {
	now := time.Now()
	s.logMu.Lock()
	last, ok := s.lastLog[key]
	if ok && now.Sub(last) < time.Second {
		s.logMu.Unlock()
		return
	}
	s.lastLog[key] = now
	s.logMu.Unlock()
	s.log.Errorf(group, format, args...)
}

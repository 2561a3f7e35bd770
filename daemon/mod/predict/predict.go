// Package predict is kresd 5's predict module: it refreshes cached answers
// that clients still ask for when they are about to expire, and learns
// which questions come back window after window to have their answers
// cached before they are asked again.
//
//   - Expiring answers: a request answered from a cache with less than 1%
//     of its TTL plus 5 seconds left (the caches set the request's EXPIRING
//     flag, as kresd's cache does) is queued; the queue is resolved again
//     at once, past the caches, so the next clients get a fresh answer
//     instead of a cache miss.
//   - Prediction (period > 0): each window (15 minutes by default) the
//     questions asked are counted (at most MaxTracked of them); a question
//     asked in at least two of the last period windows is learned, and at
//     each window's start every learned question whose answer is not
//     cached, or expires before the window ends, is resolved ahead.
//
// The refresh goes straight to the resolver (Options.Refresh), not through
// the request path.
package predict

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/clock"
	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// Defaults of kresd 5's predict.config().
const (
	DefaultWindow = 15 * time.Minute
	DefaultPeriod = 24
	// MaxTracked bounds the questions counted in one window (kresd's
	// stats.frequent() keeps at most 5000).
	MaxTracked = 5000
	// MaxLearned bounds the learned questions refreshed at a window's start.
	MaxLearned = 1000
)

// Options configure a Predictor.
type Options struct {
	Window time.Duration // the learning window; DefaultWindow when 0
	Period int           // windows remembered; 0: no prediction, only expiring answers
	Clock  clock.Clock   // nil: clock.Real
	// Refresh resolves a question again past the caches and caches the
	// answer (resolver.Resolver.Refresh).
	Refresh func(ctx context.Context, qname []byte, qtype uint16, cd bool) error
	// Cached tells how long the cached answer of a question has left (ok
	// false: none); nil: learned questions are always refreshed.
	Cached func(qname []byte, qtype uint16, cd bool) (left time.Duration, ok bool)
	Log    *daemon.Logger
}

// Key is one question.
type Key struct {
	Name string // wire form, lowercased
	Type uint16
	CD   bool
}

// Stats are the module's counters (kresd's predict.epoch, .queue, .learned).
type Stats struct {
	Epoch     uint64 // windows ended
	Queue     int    // questions waiting for a refresh
	Learned   int    // questions learned
	Refreshed uint64 // refreshes done
	Failed    uint64 // refreshes that failed
}

// Predictor is the module's layer (daemon.Finisher) and its worker.
type Predictor struct {
	o Options

	mu      sync.Mutex
	queue   map[Key]struct{}
	cur     map[Key]int
	history []map[Key]bool // the last Period windows' questions, oldest first
	learned []Key
	epoch   uint64

	refreshed, failed atomic.Uint64
	wake              chan struct{}
	stop              context.CancelFunc
	done              chan struct{}
}

// New returns a Predictor for o (not running: Start it).
func New(o Options) *Predictor {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Period < 0 {
		o.Period = 0
	}
	if o.Clock == nil {
		o.Clock = clock.Real
	}
	return &Predictor{o: o, queue: map[Key]struct{}{}, cur: map[Key]int{}, wake: make(chan struct{}, 1)}
}

// Name is "predict".
func (p *Predictor) Name() string { return "predict" }

// Finish notes each answered question that may recurse: counted for
// prediction, queued when its answer came from a cache about to expire.
func (p *Predictor) Finish(r *daemon.Request, s daemon.State) daemon.State {
	if !r.MayRecurse() || r.QClass() != dnsmsg.ClassINET || r.Options.Has(daemon.NoCache) {
		return s
	}
	expiring := r.Options.Has(daemon.Expiring)
	if !expiring && p.o.Period == 0 {
		return s
	}
	k := Key{Name: string(dnsmsg.LowerName(r.QName())), Type: r.QType(), CD: r.Options.Has(daemon.DNSSECCD)}
	p.mu.Lock()
	if p.o.Period > 0 {
		if n, ok := p.cur[k]; ok || len(p.cur) < MaxTracked {
			p.cur[k] = n + 1
		}
	}
	if expiring && len(p.queue) < MaxTracked {
		p.queue[k] = struct{}{}
	}
	p.mu.Unlock()
	if expiring {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return s
}

// Start runs the refreshes and the windows until Close.
func (p *Predictor) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	p.done = make(chan struct{})
	go p.run(ctx)
}

// Close stops the worker (a daemon.Closer: when the configuration is retired).
func (p *Predictor) Close() error {
	if p.stop != nil {
		p.stop()
		<-p.done
		p.stop = nil
	}
	return nil
}

func (p *Predictor) run(ctx context.Context) {
	defer close(p.done)
	t := p.o.Clock.NewTicker(p.o.Window)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-t.C():
			p.Tick()
		}
		p.process(ctx)
	}
}

// process refreshes the queued questions.
func (p *Predictor) process(ctx context.Context) {
	p.mu.Lock()
	q := p.queue
	p.queue = map[Key]struct{}{}
	p.mu.Unlock()
	if p.o.Refresh == nil {
		return
	}
	for k := range q {
		if ctx.Err() != nil {
			return
		}
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := p.o.Refresh(c, []byte(k.Name), k.Type, k.CD)
		cancel()
		if err != nil {
			p.failed.Add(1)
			if p.o.Log != nil {
				p.o.Log.Debugf("predict", "refresh of %s %s: %v", (&dnsmsg.Name{Wire: []byte(k.Name)}).String(), dnsmsg.TypeString(k.Type), err)
			}
			continue
		}
		p.refreshed.Add(1)
	}
}

// Tick ends a window: the window's questions join the history, the
// questions of at least two of the last Period windows are learned, and
// those whose answer is missing or ends within the next window are queued.
// The worker calls it every Window; tests may call it themselves.
func (p *Predictor) Tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.epoch++
	if p.o.Period == 0 {
		return
	}
	seen := make(map[Key]bool, len(p.cur))
	for k := range p.cur {
		seen[k] = true
	}
	p.cur = map[Key]int{}
	p.history = append(p.history, seen)
	if len(p.history) > p.o.Period {
		p.history = p.history[len(p.history)-p.o.Period:]
	}
	count := map[Key]int{}
	for _, w := range p.history {
		for k := range w {
			count[k]++
		}
	}
	p.learned = p.learned[:0]
	for k, n := range count {
		if n >= 2 {
			p.learned = append(p.learned, k)
		}
	}
	sort.Slice(p.learned, func(i, j int) bool { return count[p.learned[i]] > count[p.learned[j]] })
	if len(p.learned) > MaxLearned {
		p.learned = p.learned[:MaxLearned]
	}
	for _, k := range p.learned {
		if p.o.Cached != nil {
			if left, ok := p.o.Cached([]byte(k.Name), k.Type, k.CD); ok && left > p.o.Window {
				continue
			}
		}
		p.queue[k] = struct{}{}
	}
	if len(p.queue) > 0 {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// Stats returns the counters.
func (p *Predictor) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Epoch: p.epoch, Queue: len(p.queue), Learned: len(p.learned), Refreshed: p.refreshed.Load(), Failed: p.failed.Load()}
}

// Config returns the window and the period in force.
func (p *Predictor) Config() (window time.Duration, period int) { return p.o.Window, p.o.Period }

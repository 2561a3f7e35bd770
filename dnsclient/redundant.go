package dnsclient

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"ljdns/dnsmsg"
)

// RedundantOptions configures a Redundant transport. Zero values give the
// default in brackets.
type RedundantOptions struct {
	// ProbeRatio is the share of queries sent first to a slower upstream
	// picked at random, so its estimate stays current [0.05]; negative:
	// never.
	ProbeRatio float64
	// InitialRTT is the estimate of an upstream not heard from yet
	// [300 ms]; it is also the least a failure counts for.
	InitialRTT time.Duration
	// KeepServfail returns a SERVFAIL answer at once instead of trying
	// the other upstreams first [fail over].
	KeepServfail bool
	// DeferRefused treats REFUSED like SERVFAIL [returned at once, as
	// domain does].
	DeferRefused bool
}

const (
	defaultProbeRatio = 0.05
	defaultInitialRTT = 300 * time.Millisecond
	rttWeight         = 1.0 / 8 // exponential moving average window N=8, as domain
	maxEstimate       = 60 * time.Second
)

// Redundant spreads queries over several upstream transports, fastest
// first (domain's redundant): each upstream has an estimated response time
// (the moving mean of its RTTs plus three standard deviations; 300 ms
// before the first answer); a query goes to the upstream with the lowest
// estimate, and if no acceptable answer came within that estimate it goes
// to the next as well, and so on; the first acceptable answer wins. A
// transport error, a timeout or a SERVFAIL answer counts as a failure
// (with DeferRefused, REFUSED too): the next upstream is asked at once, and
// the failure raises the upstream's estimate (by at least InitialRTT, so a
// dead server that refuses at once sinks). A failed answer is returned
// only when no upstream does better. A share ProbeRatio of the queries
// starts with a slower upstream, with the best one's head start.
type Redundant struct {
	o   RedundantOptions
	ups []*upstream
	mu  sync.Mutex // guards the estimates
}

// upstream is one transport and its RTT statistics (seconds).
type upstream struct {
	t        Transport
	mean, sq float64
	n        int
}

// NewRedundant returns a transport over ups (at least one).
func NewRedundant(ups []Transport, o RedundantOptions) (*Redundant, error) {
	if len(ups) == 0 {
		return nil, ErrNoTransport
	}
	if o.ProbeRatio == 0 {
		o.ProbeRatio = defaultProbeRatio
	}
	o.ProbeRatio = min(o.ProbeRatio, 1)
	if o.InitialRTT <= 0 {
		o.InitialRTT = defaultInitialRTT
	}
	r := &Redundant{o: o}
	for _, t := range ups {
		if t == nil {
			return nil, fmt.Errorf("%w: nil upstream", ErrNoTransport)
		}
		r.ups = append(r.ups, &upstream{t: t})
	}
	return r, nil
}

// UpstreamStats is what Redundant knows of one upstream.
type UpstreamStats struct {
	Transport Transport
	Estimate  time.Duration // the current response time estimate
	Samples   int           // answers and failures counted
}

// Upstreams returns the upstreams in the order given, with their estimates.
func (r *Redundant) Upstreams() []UpstreamStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]UpstreamStats, len(r.ups))
	for i, u := range r.ups {
		out[i] = UpstreamStats{u.t, r.estimate(u), u.n}
	}
	return out
}

// estimate is mean + 3 standard deviations (r.mu held).
func (r *Redundant) estimate(u *upstream) time.Duration {
	if u.n == 0 {
		return r.o.InitialRTT
	}
	sd := math.Sqrt(max(u.sq-u.mean*u.mean, 0))
	return min(time.Duration((u.mean+3*sd)*float64(time.Second)), maxEstimate)
}

// sample adds one RTT observation.
func (r *Redundant) sample(u *upstream, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := d.Seconds()
	if u.n == 0 { // the first sample replaces the initial estimate
		u.mean, u.sq = s, s*s
	} else {
		u.mean += rttWeight * (s - u.mean)
		u.sq += rttWeight * (s*s - u.sq)
	}
	u.n++
}

// fail counts a failure after elapsed: at least InitialRTT and twice the
// current estimate.
func (r *Redundant) fail(u *upstream, elapsed time.Duration) {
	r.mu.Lock()
	pen := max(elapsed, r.o.InitialRTT, 2*r.estimate(u))
	r.mu.Unlock()
	r.sample(u, min(pen, maxEstimate))
}

// order returns the upstreams by estimate, maybe with a probe first, and
// the head start of each.
func (r *Redundant) order() ([]*upstream, []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ups := slices.Clone(r.ups)
	est := make(map[*upstream]time.Duration, len(ups))
	for _, u := range ups {
		est[u] = r.estimate(u)
	}
	slices.SortStableFunc(ups, func(a, b *upstream) int { return int(est[a] - est[b]) })
	waits := make([]time.Duration, len(ups))
	for i, u := range ups {
		waits[i] = est[u]
	}
	if len(ups) > 1 && r.o.ProbeRatio > 0 && rand.Float64() < r.o.ProbeRatio {
		i := 1 + rand.IntN(len(ups)-1)
		p := ups[i]
		copy(ups[1:i+1], ups[:i])
		ups[0] = p
		copy(waits[1:i+1], waits[:i])
		waits[0] = waits[1] // the probe gets the best one's head start
	}
	return ups, waits
}

// failed reports whether an answer counts as a failure.
func (r *Redundant) failed(a *dnsmsg.Packet) bool {
	switch a.Rcode() {
	case rcodeServFail:
		return !r.o.KeepServfail
	case rcodeRefused:
		return r.o.DeferRefused
	}
	return false
}

// Close implements Transport: it closes every upstream.
func (r *Redundant) Close() error {
	var errs []error
	for _, u := range r.ups {
		errs = append(errs, u.t.Close())
	}
	return errors.Join(errs...)
}

type redundantResult struct {
	u       *upstream
	a       *dnsmsg.Packet
	err     error
	elapsed time.Duration
}

// Query implements Transport.
func (r *Redundant) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if isMulti(q) {
		return nil, ErrMultiMessage
	}
	ups, waits := r.order()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan redundantResult, len(ups))
	startTimes := make(map[*upstream]time.Time, len(ups))
	next, running := 0, 0
	start := func() {
		u := ups[next]
		next++
		running++
		t0 := time.Now()
		startTimes[u] = t0
		go func() {
			a, err := u.t.Query(ctx, q)
			results <- redundantResult{u, a, err, time.Since(t0)}
		}()
	}
	start()
	timer := time.NewTimer(waits[0])
	defer timer.Stop()
	var deferred *dnsmsg.Packet
	var errs []error
	for running > 0 || next < len(ups) {
		if running == 0 {
			start()
			timer.Reset(waits[next-1])
		}
		select {
		case res := <-results:
			running--
			delete(startTimes, res.u)
			switch {
			case res.err == nil && !r.failed(res.a):
				r.sample(res.u, res.elapsed)
				// the ones still running were slower: count that against them
				for u, t0 := range startTimes {
					if e := time.Since(t0); e > res.elapsed {
						r.slower(u, e)
					}
				}
				return res.a, nil
			case res.err == nil:
				r.fail(res.u, res.elapsed)
				if deferred == nil {
					deferred = res.a
				}
			default:
				if ctx.Err() != nil && errors.Is(res.err, context.Canceled) {
					continue
				}
				r.fail(res.u, res.elapsed)
				errs = append(errs, res.err)
			}
			if next < len(ups) {
				start()
				timer.Reset(waits[next-1])
			}
		case <-timer.C:
			if next < len(ups) {
				start()
				timer.Reset(waits[next-1])
			}
		case <-ctx.Done():
			return nil, ctxErr(ctx)
		}
	}
	if deferred != nil {
		return deferred, nil
	}
	return nil, fmt.Errorf("dnsclient: every upstream failed: %w", errors.Join(errs...))
}

// slower counts an upstream that had not answered after e when another
// did: only if e is above its mean, so it can only raise the estimate.
func (r *Redundant) slower(u *upstream, e time.Duration) {
	r.mu.Lock()
	above := u.n == 0 || e.Seconds() > u.mean
	r.mu.Unlock()
	if above {
		r.sample(u, e)
	}
}

// Stream implements Transport: the upstreams in order of their estimates,
// one after another, until one delivers a message (no hedging: a transfer
// is not sent twice at once).
func (r *Redundant) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	ups, _ := r.order()
	var errs []error
	for _, u := range ups {
		delivered := false
		t0 := time.Now()
		err := u.t.Stream(ctx, q, func(p *dnsmsg.Packet) error {
			if !delivered {
				delivered = true
				r.sample(u, time.Since(t0))
			}
			return fn(p)
		})
		if err == nil || delivered || ctx.Err() != nil {
			return err
		}
		r.fail(u, time.Since(t0))
		errs = append(errs, err)
	}
	return fmt.Errorf("dnsclient: every upstream failed: %w", errors.Join(errs...))
}

package resolver

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ljdns/clock"
	"ljdns/daemon/cache"
	"ljdns/dnsmsg"
)

// ttlNet is baseNet with low.example. (TTL 2) and high.example. (TTL
// 100000) in example.
func ttlNet(t *testing.T) *fakeNet {
	n := baseNet(t)
	n.hook = func(s netip.Addr, qn []byte, qt uint16, a *dnsmsg.Packet) {
		switch nameText(qn) {
		case "low.example.":
			*a = *answerWithTTL(t, a, "low.example. A 192.0.2.5", 2)
		case "high.example.":
			*a = *answerWithTTL(t, a, "high.example. A 192.0.2.6", 100000)
		}
	}
	return n
}

// answerWithTTL returns a as an authoritative answer holding line (its
// TTL field left out) with TTL ttl.
func answerWithTTL(t *testing.T, a *dnsmsg.Packet, line string, ttl uint32) *dnsmsg.Packet {
	f := strings.Fields(line)
	rr := rrOf(t, f[0]+" 0 "+strings.Join(f[1:], " "))
	rr.TTL = ttl
	out := dnsmsg.NewPacket(65535)
	qn, qt, qc, _ := a.Question()
	out.SetQuestion(qn, qt, qc)
	out.SetID(a.ID())
	out.Buf[2], out.Buf[3] = 0x84, 0
	out.Begin(dnsmsg.SectionAN)
	out.Put(rr, false)
	out.Parse(false)
	return out
}

// firstTTL returns the TTL of the answer's first record (0 without one).
func firstTTL(a *dnsmsg.Packet) uint32 {
	if rrs := a.Records(dnsmsg.SectionAN); len(rrs) > 0 {
		return rrs[0].TTL
	}
	return 0
}

// TestTTLClamp: cache.min_ttl and cache.max_ttl bound the TTLs the
// resolver caches and answers with, the fresh answer included (kresd):
// a set below min_ttl is kept (and answered) for min_ttl, one above
// max_ttl for max_ttl; the defaults are kresd's 5 s and 1 day.
func TestTTLClamp(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := ttlNet(t)
	r := fakeResolver(t, n, func(c *Config) { c.Clock = clk; c.MinTTL = 100 * time.Second; c.MaxTTL = 200 * time.Second })
	for _, name := range []string{"low.example.", "high.example.", "www.example."} {
		a, _ := resolveA(t, r, name, typeA)
		want := map[string]uint32{"low.example.": 100, "high.example.": 200, "www.example.": 200}[name]
		if got := firstTTL(a); got != want {
			t.Errorf("%s: TTL %d, want %d (%s)", name, got, want, answerText(a))
		}
	}
	clk.Advance(150 * time.Second)
	if a, res := resolveA(t, r, "high.example.", typeA); res.Queries != 0 || firstTTL(a) != 50 {
		t.Errorf("high.example. after 150 s: %d queries, TTL %d; want 0 queries, TTL 50", res.Queries, firstTTL(a))
	}
	if a, res := resolveA(t, r, "low.example.", typeA); res.Queries == 0 || firstTTL(a) != 100 {
		t.Errorf("low.example. after 150 s: %d queries, TTL %d; want asked again, TTL 100", res.Queries, firstTTL(a))
	}
	// the defaults
	r2 := fakeResolver(t, ttlNet(t), func(c *Config) { c.Clock = clk })
	for name, want := range map[string]uint32{"low.example.": 5, "high.example.": 86400} {
		if a, _ := resolveA(t, r2, name, typeA); firstTTL(a) != want {
			t.Errorf("defaults: %s: TTL %d, want %d", name, firstTTL(a), want)
		}
	}
	// no lower bound
	r3 := fakeResolver(t, ttlNet(t), func(c *Config) { c.Clock = clk; c.MinTTL = -1 })
	if a, _ := resolveA(t, r3, "low.example.", typeA); firstTTL(a) != 2 {
		t.Errorf("MinTTL -1: low.example.: TTL %d, want 2", firstTTL(a))
	}
}

// limits is a CacheLimits changed at run time.
type limits struct{ lo, hi, size atomic.Int64 }

func (l *limits) TTLBounds() (time.Duration, time.Duration) {
	return time.Duration(l.lo.Load()), time.Duration(l.hi.Load())
}
func (l *limits) MaxBytes() int64 { return l.size.Load() }

// TestCacheLimitsAtRunTime: with Config.Limits, a change of the bounds
// applies to what is cached next.
func TestCacheLimitsAtRunTime(t *testing.T) {
	l := &limits{}
	l.lo.Store(int64(5 * time.Second))
	l.hi.Store(int64(time.Hour))
	l.size.Store(1 << 20)
	r := fakeResolver(t, ttlNet(t), func(c *Config) { c.Limits = l })
	if a, _ := resolveA(t, r, "low.example.", typeA); firstTTL(a) != 5 {
		t.Errorf("low.example.: TTL %d, want 5", firstTTL(a))
	}
	l.lo.Store(int64(30 * time.Second))
	l.hi.Store(int64(60 * time.Second))
	if a, _ := resolveA(t, r, "high.example.", typeA); firstTTL(a) != 60 {
		t.Errorf("high.example. with max 60 s: TTL %d, want 60", firstTTL(a))
	}
}

// wildNet answers every nX.wild.example. A with 192.0.2.9.
func wildNet(t *testing.T) *fakeNet {
	n := baseNet(t)
	wild := wname(t, "wild.example.")
	n.hook = func(s netip.Addr, qn []byte, qt uint16, a *dnsmsg.Packet) {
		if below(qn, wild) && qt == typeA {
			a.Buf[3] = 0
			*a = *rewrite(t, a, dnsmsg.SectionAN, true, nameText(qn)+" 300 A 192.0.2.9")
			*a = *rewrite(t, a, dnsmsg.SectionNS, true)
		}
	}
	return n
}

// TestCacheSizeLimit: the resolver's cache stays within its size limit
// in live bytes (Config.MaxBytes), evicting, and still answers.
func TestCacheSizeLimit(t *testing.T) {
	const limit = 64 << 10
	r := fakeResolver(t, wildNet(t), func(c *Config) { c.MaxBytes = limit })
	for i := 0; i < 2000; i++ {
		a, _ := resolveA(t, r, fmt.Sprintf("n%d.wild.example.", i), typeA)
		if a.Rcode() != 0 || a.Count(dnsmsg.SectionAN) != 1 {
			t.Fatalf("n%d: %s", i, a)
		}
	}
	b, ev := r.CacheBytes()
	if b > limit || b <= 0 {
		t.Errorf("cache holds %d bytes, limit %d", b, limit)
	}
	if ev == 0 {
		t.Error("nothing was evicted")
	}
	// the same load without the limit takes more than it
	r2 := fakeResolver(t, wildNet(t), nil)
	for i := 0; i < 2000; i++ {
		resolveA(t, r2, fmt.Sprintf("n%d.wild.example.", i), typeA)
	}
	if b2, ev2 := r2.CacheBytes(); b2 <= limit || ev2 != 0 {
		t.Errorf("without the limit: %d bytes, %d evictions", b2, ev2)
	}
	r2.ClearCache()
	if b2, _ := r2.CacheBytes(); b2 != 0 || r2.CacheLen() != 0 {
		t.Errorf("after ClearCache: %d bytes, %d entries", b2, r2.CacheLen())
	}
}

// TestServeStaleResolver: with SetServeStale, an answer expired less than
// the keep time ago answers (TTL 1, EDE 3 Stale Answer, its verdict kept)
// when the servers fail; without it, or past the keep time, SERVFAIL.
func TestServeStaleResolver(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	for _, keep := range []time.Duration{0, time.Hour} {
		n := baseNet(t)
		r := fakeResolver(t, n, func(c *Config) { c.Clock = clk })
		r.SetServeStale(keep)
		if a, _ := resolveA(t, r, "www.example.", typeA); firstTTL(a) != 300 {
			t.Fatalf("keep %v: first answer %s", keep, answerText(a))
		}
		clk.Advance(400 * time.Second)
		n.mu.Lock()
		n.servers = nil // every server times out
		n.mu.Unlock()
		a, res := resolveA(t, r, "www.example.", typeA)
		if keep == 0 {
			if a.Rcode() != 2 {
				t.Errorf("without serve_stale: rcode %d, %s", a.Rcode(), answerText(a))
			}
			continue
		}
		if a.Rcode() != 0 || firstTTL(a) != 1 || !strings.Contains(answerText(a), "192.0.2.1") || res.EDE != 3 {
			t.Errorf("stale: rcode %d, %q, EDE %d", a.Rcode(), answerText(a), res.EDE)
		}
		clk.Advance(2 * time.Hour)
		if a, _ := resolveA(t, r, "www.example.", typeA); a.Rcode() != 2 {
			t.Errorf("past the keep time: rcode %d, %s", a.Rcode(), answerText(a))
		}
	}
}

// TestSnapshotPartRoundTrip: the resolver's cache written into the shared
// RR cache's snapshot file (AddPart, Sync) comes back into a new resolver
// attached to the same file: its answers (verdict kept), RR sets and
// negative entries answer without any server, TTLs lowered by the time
// passed; entries that ran out are not loaded.
func TestSnapshotPartRoundTrip(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	path := t.TempDir() + "/cache.bolt"
	n := ttlNet(t)
	r := fakeResolver(t, n, func(c *Config) { c.Clock = clk })
	rc, err := cache.Open(cache.Options{Path: path, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.AddPart("resolver", r.SnapshotPart()); err != nil {
		t.Fatal(err)
	}
	resolveA(t, r, "www.example.", typeA)
	resolveA(t, r, "low.example.", typeA) // TTL 5 (min_ttl)
	resolveA(t, r, "nx.example.", typeA)
	// a verdict kept: mark the answer secure as a validator would have
	var kb [260]byte
	if e := r.cache.getAnswer(ansKey(kb[:0], wname(t, "www.example."), typeA, false), clk.Now(), false); e != nil {
		e.res.Security = Secure
	} else {
		t.Fatal("www.example. not in the answer cache")
	}
	if err := rc.Sync(); err != nil {
		t.Fatal(err)
	}
	before := r.CacheLen()
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second)
	n2 := &fakeNet{} // no server answers
	r2 := fakeResolver(t, n2, func(c *Config) { c.Clock = clk })
	rc2, err := cache.Open(cache.Options{Path: path, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	if err := rc2.AddPart("resolver", r2.SnapshotPart()); err != nil {
		t.Fatal(err)
	}
	if got := r2.CacheLen(); got == 0 || got >= before {
		t.Errorf("loaded %d entries of %d (low.example.'s ran out)", got, before)
	}
	a, res, _ := r2.Resolve(t.Context(), wname(t, "www.example."), typeA, dnsmsg.ClassINET, QueryFlags{DO: true})
	if a.Rcode() != 0 || firstTTL(a) != 270 || res.Queries != 0 || res.Security != Secure || a.Buf[3]&0x20 == 0 {
		t.Errorf("www.example. after restart: rcode %d, TTL %d, %d queries, %v, AD %v", a.Rcode(), firstTTL(a), res.Queries, res.Security, a.Buf[3]&0x20 != 0)
	}
	if a, res := resolveA(t, r2, "nx.example.", typeA); a.Rcode() != 3 || res.Queries != 0 {
		t.Errorf("nx.example. after restart: rcode %d, %d queries", a.Rcode(), res.Queries)
	}
	// an RR set without its answer: www.sub.example. is resolved from the
	// cached delegation... which needs servers; the NS set itself answers
	if s, _ := r2.cache.get(wname(t, "example."), typeNS, rankNonAuthNS, clk.Now()); s == nil {
		t.Error("example. NS not loaded")
	}
	if a, _ := resolveA(t, r2, "low.example.", typeA); a.Rcode() != 2 || len(n2.asked) == 0 {
		t.Errorf("low.example. (expired) after restart: rcode %d, asked %q", a.Rcode(), n2.asked)
	}
}

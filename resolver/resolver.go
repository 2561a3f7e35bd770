package resolver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/clock"
	"ljdns/dnsmsg"
	"ljdns/validator"
)

// Security is the validator's verdict on an answer.
type Security = validator.Security

// The verdicts (validator's).
const (
	Indeterminate = validator.Indeterminate
	Secure        = validator.Secure
	Insecure      = validator.Insecure
	Bogus         = validator.Bogus
)

// Errors of resolution.
var (
	ErrLimit    = errors.New("resolver: too many upstream queries for one request")
	ErrDepth    = errors.New("resolver: resolution too deep")
	ErrNoServer = errors.New("resolver: no name server answered")
	ErrLoop     = errors.New("resolver: referral loop")
)

// RFC 8914 codes the resolver sets itself.
const (
	edeOther                = 0
	edeNoReachableAuthority = 22
	edeNotSupported         = 21
	edeStaleAnswer          = 3
)

// Stats are the resolver's counters.
type Stats struct {
	Queries     atomic.Uint64 // upstream queries sent
	Timeouts    atomic.Uint64 // upstream queries that timed out
	TCP         atomic.Uint64 // queries retried over TCP after TC
	Unsolicited atomic.Uint64 // replies dropped: wrong ID, question or source
	Ignored     atomic.Uint64 // records dropped by the bailiwick checks
	GlueRefused atomic.Uint64 // glue not stored (mode, or authoritative data present)
	CacheHits   atomic.Uint64 // answers from the answer cache
	Aggressive  atomic.Uint64 // negative answers synthesized from cached NSEC (RFC 8198)
	Stale       atomic.Uint64 // answers from expired data (serve_stale, RFC 8767)
}

// Resolver is an iterative, validating DNS resolver. It is safe for
// concurrent use.
type Resolver struct {
	cfg   Config
	clk   clock.Clock
	cache *rrCache
	net   *netExchanger
	ex    Exchanger
	Stats Stats

	hintAddrs map[netip.Addr]bool
	roots     []Hint

	rttMu sync.RWMutex
	rtt   map[netip.Addr]*nsStat

	nsec nsecCache // RFC 8198
	part *snapPart // the cache in a snapshot file (SnapshotPart)

	primeMu sync.Mutex
	primed  time.Time

	src atomic.Pointer[srcBox] // the AnchorSource

	valMu      sync.Mutex
	val        *validator.Validator
	valKey     string
	anchorZone [][]byte
}

type srcBox struct{ s AnchorSource }

type nsStat struct {
	srtt    time.Duration
	toutEnd time.Time
}

// New returns a resolver for c.
func New(c Config) (*Resolver, error) {
	r := &Resolver{cfg: c, clk: c.Clock, rtt: map[netip.Addr]*nsStat{}, hintAddrs: map[netip.Addr]bool{}}
	if r.clk == nil {
		r.clk = clock.Real
	}
	d := &r.cfg
	if d.MaxQueriesPerRequest <= 0 {
		d.MaxQueriesPerRequest = DefaultMaxQueries
	}
	if d.MaxDepth <= 0 {
		d.MaxDepth = DefaultMaxDepth
	}
	if d.MaxNSNamesPerDelegation <= 0 {
		d.MaxNSNamesPerDelegation = DefaultMaxNSNames
	}
	if d.MaxCNAME <= 0 {
		d.MaxCNAME = DefaultMaxCNAME
	}
	if d.NSTimeout <= 0 {
		d.NSTimeout = DefaultNSTimeout
	}
	if d.QueryTimeout <= 0 {
		d.QueryTimeout = DefaultQueryTimeout
	}
	if d.MaxBytes <= 0 {
		d.MaxBytes = DefaultMaxBytes
	}
	switch {
	case d.MinTTL == 0:
		d.MinTTL = DefaultMinTTL
	case d.MinTTL < 0:
		d.MinTTL = 0
	}
	if d.MaxTTL <= 0 {
		d.MaxTTL = DefaultMaxTTL
	}
	if d.MaxTTL < d.MinTTL {
		return nil, fmt.Errorf("resolver: max TTL %v below min TTL %v", d.MaxTTL, d.MinTTL)
	}
	r.roots = c.Roots
	if r.roots == nil {
		r.roots = BuiltinRoots()
	}
	if len(r.roots) == 0 {
		return nil, errors.New("resolver: no root hints")
	}
	for _, h := range r.roots {
		if _, err := dnsmsg.NameFromText(h.Name); err != nil {
			return nil, fmt.Errorf("resolver: root hint %q: %v", h.Name, err)
		}
		for _, a := range h.Addrs {
			r.hintAddrs[a.Unmap()] = true
		}
	}
	r.cache = newRRCache(d.MaxBytes, d.MinTTL, d.MaxTTL, d.Limits)
	r.part = &snapPart{r.cache, r.clk.Now}
	r.net = &netExchanger{timeout: d.QueryTimeout, unsolicited: &r.Stats.Unsolicited}
	if c.AnchorSource != nil {
		r.src.Store(&srcBox{c.AnchorSource})
	}
	r.ex = c.Exchange
	if r.ex == nil {
		r.ex = r.net.exchange
	}
	if len(c.Anchors) > 0 || c.AnchorSource != nil {
		if _, err := r.validator(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Config returns the configuration with the defaults filled in.
func (r *Resolver) Config() Config { return r.cfg }

// ClearCache forgets everything learnt: RR sets, answers, name server
// round-trip times, the validator's keys; the next query primes again.
func (r *Resolver) ClearCache() {
	r.cache.clear()
	r.nsec.clear()
	r.rttMu.Lock()
	r.rtt = map[netip.Addr]*nsStat{}
	r.rttMu.Unlock()
	r.primeMu.Lock()
	r.primed = time.Time{}
	r.primeMu.Unlock()
	r.valMu.Lock()
	if r.val != nil {
		r.val.FlushCache()
	}
	r.valMu.Unlock()
}

// ClearName forgets what the resolver's cache holds for name (and below
// it unless exact), of type t (0: every type), as kresd's cache.clear, and
// returns the number of entries removed.
func (r *Resolver) ClearName(name []byte, exact bool, t uint16) int {
	n := r.cache.clearName(name, exact, t)
	r.nsec.clear()
	return n
}

// CacheLen returns the number of entries in the resolver's own cache.
func (r *Resolver) CacheLen() int { return r.cache.len() }

// CacheBytes returns the live bytes of the resolver's own cache (counted
// as daemon/cache counts them) and the entries evicted for its size limit.
func (r *Resolver) CacheBytes() (bytes int64, evictions uint64) {
	return r.cache.bytes(), r.cache.evictions.Load()
}

// validator returns the validator for the current anchors (rebuilt when an
// AnchorSource changed them), nil without anchors.
func (r *Resolver) validator() (*validator.Validator, error) {
	anchors := r.cfg.Anchors
	if src := r.anchorSource(); src != nil {
		anchors = append(append([]string(nil), anchors...), src.Anchors()...)
	}
	if len(anchors) == 0 {
		return nil, nil
	}
	key := strings.Join(anchors, "\n")
	r.valMu.Lock()
	defer r.valMu.Unlock()
	if r.val != nil && key == r.valKey {
		return r.val, nil
	}
	v, err := validator.New(validator.Config{Anchors: anchors, NTA: r.cfg.NTA, IterationsCap: r.cfg.IterationsCap, Clock: r.clk})
	if err != nil {
		return nil, err
	}
	r.val, r.valKey = v, key
	r.anchorZone = nil
	for _, a := range anchors {
		f := strings.Fields(a)
		if len(f) == 0 {
			continue
		}
		if n, err := dnsmsg.NameFromText(f[0]); err == nil {
			r.anchorZone = append(r.anchorZone, dnsmsg.LowerName(n.Wire))
		}
	}
	return v, nil
}

// SetAnchorSource replaces the AnchorSource (a reload of the daemon's
// configuration keeps the resolver and its cache).
func (r *Resolver) SetAnchorSource(src AnchorSource) {
	if src == nil {
		r.src.Store(nil)
		return
	}
	r.src.Store(&srcBox{src})
}

func (r *Resolver) anchorSource() AnchorSource {
	if b := r.src.Load(); b != nil {
		return b.s
	}
	return nil
}

// FetchDNSKEY resolves the DNSKEY set of zone (wire) and its RRSIGs, for an
// RFC 5011 active refresh (resolver/anchors.Fetcher). The set is not
// validated here: the anchor store checks it against its keys.
func (r *Resolver) FetchDNSKEY(ctx context.Context, zone []byte) (*dnsmsg.RRSet, *dnsmsg.RRSet, error) {
	q := &req{r: r, ex: r.ex}
	p, err := q.lookup(ctx, zone, typeDNSKEY, 0)
	if err != nil {
		return nil, nil, err
	}
	s := find(p.an, zone, typeDNSKEY)
	if s == nil {
		return nil, nil, fmt.Errorf("resolver: no DNSKEY set for %s (%s)", nameText(zone), rcodeName(p.rcode))
	}
	return s.rr, s.sig, nil
}

// validating reports whether answers are validated (trust anchors set).
func (r *Resolver) validating() bool {
	v, _ := r.validator()
	return v != nil
}

func (r *Resolver) isAnchorZone(name []byte) bool {
	r.valMu.Lock()
	defer r.valMu.Unlock()
	for _, z := range r.anchorZone {
		if sameName(z, name) {
			return true
		}
	}
	return false
}

// Resolve answers qname/qtype/qclass (qname in wire form) as a recursive
// resolver: iterating from the root, validating when anchors are
// configured. The answer has the question, the rcode, RA and RD, AD when
// secure and f.DO or f.AD, RRSIGs and NSEC records only with f.DO. Errors
// are returned as SERVFAIL answers with an extended error in Result; the
// error itself is informational.
func (r *Resolver) Resolve(ctx context.Context, qname []byte, qtype, qclass uint16, f QueryFlags) (*dnsmsg.Packet, Result, error) {
	return r.resolve(ctx, qname, qtype, qclass, f, r.ex, nil)
}

// resolve is Resolve with the exchanger of one request and its rule for
// learnt name server addresses (nil: Config.AllowLocal).
func (r *Resolver) resolve(ctx context.Context, qname []byte, qtype, qclass uint16, f QueryFlags, ex Exchanger, mayQuery func(netip.Addr) bool) (*dnsmsg.Packet, Result, error) {
	rcode, an, ns, res, err := r.resolveParts(ctx, qname, qtype, qclass, f, ex, mayQuery)
	return r.build(qname, qtype, qclass, rcode, an, ns, f, res), res, err
}

// cachedAnswer returns the answer cache's entry for the question, TTLs
// lowered by its age; ok false when there is none.
func (r *Resolver) cachedAnswer(qname []byte, qtype uint16, f QueryFlags) (rcode int, an, ns []*rrset, res Result, ok bool) {
	now := r.clk.Now()
	var kb [260]byte
	e := r.cache.getAnswer(ansKey(kb[:0], qname, qtype, f.CD), now, false)
	if e == nil {
		return 0, nil, nil, Result{}, false
	}
	r.Stats.CacheHits.Add(1)
	res = e.res
	res.Cached = true
	res.Queries = 0
	res.Expiring = isExpiring(e.expire.Sub(e.stored), e.expire.Sub(now))
	age := uint32(now.Sub(e.stored) / time.Second)
	v := e.view.Load()
	if v == nil || v.age != age {
		v = &ansView{age: age, an: withTTL(e.an, 0, e.stored, now), ns: withTTL(e.ns, 0, e.stored, now)}
		e.view.Store(v)
	}
	return e.rcode, v.an, v.ns, res, true
}

// resolveParts resolves the question into an rcode and the answer and
// authority sets (everything, RRSIGs included: the writer filters).
func (r *Resolver) resolveParts(ctx context.Context, qname []byte, qtype, qclass uint16, f QueryFlags, ex Exchanger, mayQuery func(netip.Addr) bool) (int, []*rrset, []*rrset, Result, error) {
	res := Result{EDE: -1}
	if qclass != dnsmsg.ClassINET || qtype == typeANY || qtype == dnsmsg.TypeOPT || (qtype >= 249 && qtype <= 252) {
		res.EDE = edeNotSupported
		return 5, nil, nil, res, nil
	}
	if f.Refresh {
		// the answer cache is skipped, and the final name's sets (lookupOne)
	} else if rcode, an, ns, cres, ok := r.cachedAnswer(qname, qtype, f); ok {
		return rcode, an, ns, cres, nil
	}
	now := r.clk.Now()
	ak := ansKey(nil, qname, qtype, f.CD)
	if !f.CD && !r.cfg.NoAggressive && !f.Refresh {
		if v, _ := r.validator(); v != nil {
			if rcode, auth, ok := r.nsec.answer(qname, qtype, now); ok {
				r.Stats.Aggressive.Add(1)
				res.Security = Secure
				return rcode, nil, auth, res, nil
			}
		}
	}
	q := &req{r: r, ex: ex, mayQuery: mayQuery, refresh: f.Refresh}
	part, err := q.lookup(ctx, qname, qtype, 0)
	res.Queries = q.queries
	if err != nil || (part != nil && part.rcode == 2) {
		if rcode, an, ns, sres, ok := r.staleAnswer(ak, q.queries); ok {
			return rcode, an, ns, sres, nil
		}
	}
	if err != nil {
		res.EDE, res.EDEText = edeNoReachableAuthority, err.Error()
		if errors.Is(err, ErrLimit) || errors.Is(err, ErrDepth) || errors.Is(err, ErrLoop) {
			res.EDE = edeOther
		}
		return 2, nil, nil, res, err
	}
	if part.loop {
		res.EDE, res.EDEText = edeOther, "CNAME loop"
		return part.rcode, part.an, nil, res, nil
	}
	if part.rcode == 6 {
		return part.rcode, part.an, nil, res, nil // YXDOMAIN: the DNAME whose substitution is too long
	}
	if part.rcode != 0 && part.rcode != 3 {
		return part.rcode, nil, nil, res, nil
	}
	v, verr := r.validator()
	if verr != nil {
		res.EDE, res.EDEText = edeOther, verr.Error()
		return 2, nil, nil, res, verr
	}
	if v != nil && !f.CD {
		pkt := packetOf(qname, qtype, part.rcode, part.an, part.ns)
		vr := v.Validate(ctx, pkt, pkt, q.fetch)
		for attempt := 1; vr.Security == Bogus && attempt <= validator.MaxRetries && q.fromNet(qname, qtype); attempt++ {
			// the answer itself may be what failed: ask the zone's other
			// servers (kresd retries a bogus answer elsewhere too)
			p2, err := q.refetch(ctx, qname, qtype)
			if err != nil || (p2.rcode != 0 && p2.rcode != 3) {
				break
			}
			if next, _ := chainEnd(p2.an, qname, qtype); next != nil && p2.rcode == 0 && !p2.hasSOA() {
				break // a CNAME to chase: not retried
			}
			part = p2
			pkt = packetOf(qname, qtype, part.rcode, part.an, part.ns)
			vr = v.Validate(ctx, pkt, pkt, q.fetch)
		}
		res.Queries = q.queries
		res.Security = vr.Security
		if vr.EDE >= 0 {
			res.EDE, res.EDEText = vr.EDE, vr.Reason
		}
		if vr.Security == Bogus {
			return 2, nil, nil, res, nil
		}
		if vr.Security == Secure && len(part.an) == 0 {
			r.nsec.store(part.ns, now)
		}
		if vr.Security == Secure && len(part.an) > 0 && !r.cfg.NoAggressive {
			r.nsec.storeWildcards(part.an, part.ns, now)
		}
	}
	// cache.min_ttl/max_ttl: the TTLs cached are those answered
	part.an, part.ns = r.cache.clampSets(part.an), r.cache.clampSets(part.ns)
	ttl := r.cache.clamp(minTTL(part))
	if ttl > 0 {
		r.cache.putAnswer(ak, &answerEntry{rcode: part.rcode, an: part.an, ns: part.ns, res: res, stored: now, expire: now.Add(time.Duration(ttl) * time.Second)})
	}
	if c := r.cfg.Cache; c != nil && res.Security != Secure && ttl > 0 {
		c.Store(r.build(qname, qtype, qclass, part.rcode, part.an, part.ns, QueryFlags{}, res), qname, qtype, qclass, false)
	}
	return part.rcode, part.an, part.ns, res, nil
}

// staleAnswer returns the answer cache's entry under k expired less than
// the stale keep time ago (serve_stale, RFC 8767): TTLs lowered by its age,
// those run out set to 1 (as the shared RR cache's stale answers), EDE 3
// (Stale Answer). ok is false without one or without serve_stale.
func (r *Resolver) staleAnswer(k []byte, queries int) (rcode int, an, ns []*rrset, res Result, ok bool) {
	if r.cache.staleKeep.Load() <= 0 {
		return 0, nil, nil, Result{}, false
	}
	now := r.clk.Now()
	e := r.cache.getAnswer(k, now, true)
	if e == nil {
		return 0, nil, nil, Result{}, false
	}
	r.Stats.Stale.Add(1)
	res = e.res
	res.Cached = true
	res.Queries = queries
	res.EDE, res.EDEText = edeStaleAnswer, ""
	an, ns = withTTL(e.an, 0, e.stored, now), withTTL(e.ns, 0, e.stored, now)
	for _, sets := range [][]*rrset{an, ns} {
		for i, s := range sets {
			if s.ttl() == 0 {
				sets[i] = s.copyWithTTL(1)
			}
		}
	}
	return e.rcode, an, ns, res, true
}

// hasStale reports whether the answer cache holds data for the question
// that serve_stale may answer (expired less than the keep time ago).
func (r *Resolver) hasStale(qname []byte, qtype uint16, cd bool) bool {
	if r.cache.staleKeep.Load() <= 0 {
		return false
	}
	var kb [260]byte
	return r.cache.getAnswer(ansKey(kb[:0], qname, qtype, cd), r.clk.Now(), true) != nil
}

// SetServeStale makes the resolver keep expired cache entries for keep
// and answer from them when the authoritative servers fail (the
// serve_stale module, RFC 8767); 0 turns it off.
func (r *Resolver) SetServeStale(keep time.Duration) { r.cache.staleKeep.Store(int64(max(keep, 0))) }

// withTTL returns copies of sets with TTLs lowered by the time since stored
// (and at most ttl).
func withTTL(sets []*rrset, _ uint32, stored, now time.Time) []*rrset {
	age := uint32(now.Sub(stored) / time.Second)
	out := make([]*rrset, len(sets))
	for i, s := range sets {
		t := s.ttl()
		if t > age {
			t -= age
		} else {
			t = 0
		}
		c := &rrset{rr: s.rr, sig: s.sig, proof: s.proof}
		if c.rr.TTL != t {
			c = s.copyWithTTL(t)
		}
		out[i] = c
	}
	return out
}

// minTTL is how long the answer part may be cached: the smallest TTL of its
// sets, the negative TTL for a negative answer.
func minTTL(p *part) uint32 {
	var ttl uint32 = 1 << 31
	for _, s := range p.an {
		ttl = min(ttl, s.ttl())
	}
	if len(p.an) == 0 || p.rcode != 0 {
		n := negTTL(p.ns)
		ttl = min(ttl, n)
	}
	for _, s := range p.ns {
		ttl = min(ttl, s.ttl())
	}
	if ttl == 1<<31 {
		return 0
	}
	return ttl
}

// packetOf writes an answer with every record (RRSIGs included), for the
// validator.
func packetOf(qname []byte, qtype uint16, rcode int, an, ns []*rrset) *dnsmsg.Packet {
	p := dnsmsg.NewPacket(packetSize(an, ns) + len(qname) + 32)
	p.SetQuestion(qname, qtype, dnsmsg.ClassINET)
	p.Buf[2] = 0x80 | 0x04
	p.Buf[3] = byte(rcode & 0xf)
	for i, sec := range [][]*rrset{an, ns} {
		p.Begin(dnsmsg.SectionAN + i)
		for _, s := range sec {
			p.Put(s.rr, true)
			if s.sig != nil {
				p.Put(s.sig, true)
			}
		}
	}
	p.Begin(dnsmsg.SectionAR)
	opt := dnsmsg.NewOPT(0, EDNSPayload)
	dnsmsg.SetOPTDo(opt, true)
	p.Put(opt, true)
	if p.Parse(false) != 0 {
		return p
	}
	return p
}

// build writes the client's answer: question, RD RA, AD as RFC 6840 says,
// DNSSEC records only with DO. No OPT (the daemon adds it).
func (r *Resolver) build(qname []byte, qtype, qclass uint16, rcode int, an, ns []*rrset, f QueryFlags, res Result) *dnsmsg.Packet {
	p := dnsmsg.NewPacket(packetSize(an, ns))
	p.SetQuestion(qname, qtype, qclass)
	p.Buf[2] = 0x80 | 0x01
	p.Buf[3] = 0x80 | byte(rcode&0xf)
	if f.CD {
		p.Buf[3] |= 0x10
	}
	if adFor(res, f) {
		p.Buf[3] |= 0x20
	}
	emit(qtype, rcode, an, ns, f, res, false, func(sec int, rr *dnsmsg.RRSet) bool {
		p.Begin(sec)
		return p.Put(rr, true)
	})
	p.Parse(false)
	return p
}

// adFor reports whether the answer gets AD (RFC 6840 §5.7).
func adFor(res Result, f QueryFlags) bool {
	return res.Security == Secure && (f.DO || f.AD) && !f.CD
}

// packetSize bounds the wire size of a message holding the sets.
func packetSize(sets ...[]*rrset) int {
	n := 512
	for _, sec := range sets {
		for _, s := range sec {
			for _, x := range []*dnsmsg.RRSet{s.rr, s.sig} {
				if x == nil {
					continue
				}
				for _, rd := range x.RData {
					n += len(x.Owner.Wire) + 10 + len(rd)
				}
			}
		}
	}
	return min(n, 65535)
}

// emit calls put for each record set of the answer the client gets, in
// order: RRSIGs and NSEC/NSEC3 only with DO, the authority section of a
// positive answer only when secure (kresd), no SOA RRSIG when noSOASig.
func emit(qtype uint16, rcode int, an, ns []*rrset, f QueryFlags, res Result, noSOASig bool, put func(sec int, rr *dnsmsg.RRSet) bool) bool {
	for i, sec := range [][]*rrset{an, ns} {
		for _, s := range sec {
			if !f.DO && isDNSSECType(s.rr.Type) && s.rr.Type != qtype {
				continue
			}
			if !f.DO && i == 1 && s.rr.Type != typeSOA && s.rr.Type != typeNS {
				continue
			}
			if i == 1 && rcode == 0 && len(an) > 0 && res.Security != Secure {
				continue // kresd: proofs only with secure positive answers
			}
			if !put(dnsmsg.SectionAN+i, s.rr) {
				return false
			}
			if s.sig != nil && (f.DO || qtype == typeRRSIG) && !(noSOASig && s.rr.Type == typeSOA) {
				if !put(dnsmsg.SectionAN+i, s.sig) {
					return false
				}
			}
		}
	}
	return true
}

package resolver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/validator"
)

// req is the state of one Resolve call.
type req struct {
	r        *Resolver
	ex       Exchanger
	mayQuery func(netip.Addr) bool
	queries  int
	reglued  map[string]bool // zones whose delegation was asked again (reglue)
	refresh  bool            // QueryFlags.Refresh: the question's own sets are not taken from the cache

	// lastFrom is the server of the last answer ask returned; src the
	// server each set taken in this request came from (answers, DS of
	// referrals); bad the servers whose answers to a question did not
	// validate; avoid the servers ask leaves aside (refetch).
	lastFrom netip.Addr
	src      map[setKey]netip.Addr
	bad      map[setKey]map[netip.Addr]bool
	avoid    map[netip.Addr]bool
}

// noteSrc records that from gave name/t in this request.
func (q *req) noteSrc(name []byte, t uint16, from netip.Addr) {
	if !from.IsValid() {
		return
	}
	if q.src == nil {
		q.src = map[setKey]netip.Addr{}
	}
	q.src[keyOf(name, t)] = from
}

// part is an answer: rcode, answer and authority sets (RRSIGs attached).
type part struct {
	rcode  int
	an, ns []*rrset
	stop   bool // the chain is not followed further (a CNAME that contradicts its DNAME)
	loop   bool // a CNAME loop: SERVFAIL with the chain
}

// hasSOA reports whether the authority holds a SOA (a negative answer).
func (p *part) hasSOA() bool {
	for _, s := range p.ns {
		if s.rr.Type == typeSOA {
			return true
		}
	}
	return false
}

// lookup resolves name/qtype following CNAMEs and DNAMEs across zones.
func (q *req) lookup(ctx context.Context, name []byte, qtype uint16, depth int) (*part, error) {
	if depth > q.r.cfg.MaxDepth {
		return nil, ErrDepth
	}
	out := &part{}
	cur := name
	seen := map[string]bool{string(dnsmsg.LowerName(name)): true}
	for links := 0; ; {
		p, err := q.lookupOne(ctx, cur, qtype, depth)
		if err != nil {
			return nil, err
		}
		for _, s := range p.an {
			if !slices.ContainsFunc(out.an, func(o *rrset) bool { return o.rr.Type == s.rr.Type && sameName(o.owner(), s.owner()) }) {
				out.an = append(out.an, s) // a DNAME met again down the chain once
			}
		}
		out.rcode, out.ns = p.rcode, withProofs(p.ns, out.an)
		if p.stop {
			return out, nil
		}
		next, n := chainEnd(p.an, cur, qtype)
		links += n
		if links > q.r.cfg.MaxCNAME {
			return nil, fmt.Errorf("resolver: CNAME chain longer than %d", q.r.cfg.MaxCNAME)
		}
		if next == nil || p.rcode != 0 || p.hasSOA() {
			return out, nil
		}
		k := string(dnsmsg.LowerName(next))
		if seen[k] {
			out.rcode, out.loop = 2, true // a loop: SERVFAIL with the chain (RFC 1034 §3.6.2, kresd)
			return out, nil
		}
		seen[k] = true
		cur = next
	}
}

// withProofs returns ns with the NSEC/NSEC3 proofs of the chain's sets
// (wildcard expansions of earlier links, RFC 4035 §5.3.4) that ns lacks:
// the authority of the last link alone would not prove them.
func withProofs(ns, an []*rrset) []*rrset {
	out := ns
	for _, s := range an {
		for _, pr := range s.proof {
			if !slices.ContainsFunc(out, func(o *rrset) bool { return o.rr.Type == pr.rr.Type && sameName(o.owner(), pr.owner()) }) {
				if len(out) == len(ns) {
					out = append([]*rrset(nil), ns...)
				}
				out = append(out, pr)
			}
		}
	}
	return out
}

// chainEnd follows the CNAMEs of an from cur. It returns the name the chain
// ends at when that name has no qtype data in an (nil if the data is there
// or no CNAME was followed), and the number of links followed.
func chainEnd(an []*rrset, cur []byte, qtype uint16) ([]byte, int) {
	n := 0
	var seen []string
	for i := 0; i < 32; i++ {
		k := string(dnsmsg.LowerName(cur))
		if slices.Contains(seen, k) {
			return cur, n // a loop inside an: the caller sees the name again
		}
		seen = append(seen, k)
		if qtype == typeCNAME || find(an, cur, qtype) != nil {
			return nil, n
		}
		c := find(an, cur, typeCNAME)
		if c == nil || len(c.rr.RData) == 0 {
			if n == 0 {
				return nil, 0
			}
			return cur, n
		}
		cur = nameRData(c.rr.RData[0])
		n++
	}
	return nil, n
}

// lookupOne answers name/qtype from the cache or by iterating, without
// following a CNAME out of the answering zone.
func (q *req) lookupOne(ctx context.Context, name []byte, qtype uint16, depth int) (*part, error) {
	if q.refresh && depth == 0 {
		return q.iterate(ctx, name, qtype, depth)
	}
	now := q.r.clk.Now()
	c := q.r.cache
	if s, _ := c.get(name, qtype, rankNonAuthAns, now); s != nil {
		return &part{an: []*rrset{s}, ns: s.proof}, nil
	}
	if qtype != typeCNAME {
		if s, _ := c.get(name, typeCNAME, rankNonAuthAns, now); s != nil {
			return &part{an: []*rrset{s}, ns: s.proof}, nil
		}
		if p := q.fromDNAME(name, now); p != nil {
			return p, nil
		}
	}
	if !q.r.cfg.NoAggressive && q.r.validating() {
		if s := q.r.nsec.wildcard(name, qtype, now); s != nil {
			q.r.Stats.Aggressive.Add(1)
			return &part{an: []*rrset{s}, ns: s.proof}, nil
		}
	}
	if e := c.getNeg(name, qtype, now); e != nil && (depth > 0 || (&part{ns: e.auth}).hasSOA()) {
		// (a DS proof taken from a referral has no SOA: it serves the validator, not clients)
		return &part{rcode: e.rcode, ns: withTTL(e.auth, uint32(e.expire.Sub(now)/time.Second), e.stored, now)}, nil
	}
	if e := c.getNeg(name, 0, now); e != nil {
		return &part{rcode: e.rcode, ns: withTTL(e.auth, uint32(e.expire.Sub(now)/time.Second), e.stored, now)}, nil
	}
	return q.iterate(ctx, name, qtype, depth)
}

// fromDNAME answers name with the CNAME synthesised from a cached DNAME
// of one of its ancestors (RFC 6672 §3.2), nil without one.
func (q *req) fromDNAME(name []byte, now time.Time) *part {
	for a := parent(name); len(name) > 1; a = parent(a) {
		if d, _ := q.r.cache.get(a, typeDNAME, rankNonAuthAns, now); d != nil && len(d.rr.RData) > 0 {
			syn := substitute(name, d.owner(), nameRData(d.rr.RData[0]))
			if syn == nil {
				return nil
			}
			return &part{an: []*rrset{d, synthCNAME(name, syn, d.rr.TTL)}}
		}
		if len(a) <= 1 {
			return nil
		}
	}
	return nil
}

// synthCNAME is the CNAME from name to target a DNAME synthesises.
func synthCNAME(name, target []byte, ttl uint32) *rrset {
	n := &dnsmsg.Name{Wire: append([]byte(nil), name...)}
	set := &dnsmsg.RRSet{Owner: n, Type: typeCNAME, Class: dnsmsg.ClassINET, TTL: ttl}
	set.Add(target)
	return &rrset{rr: set}
}

// cut is a zone cut: the zone and its name server names.
type cut struct {
	zone []byte
	ns   [][]byte
}

// findCut returns the deepest cached zone cut above name (strictly above
// for DS, which the parent answers), the root when none.
func (q *req) findCut(ctx context.Context, name []byte, qtype uint16, depth int) (*cut, error) {
	now := q.r.clk.Now()
	z := name
	if qtype == typeDS && len(name) > 1 {
		z = parent(name)
	}
	for ; len(z) > 1; z = parent(z) {
		if s, _ := q.r.cache.get(z, typeNS, rankNonAuthNS, now); s != nil {
			return cutOf(z, s), nil
		}
	}
	return q.rootCut(ctx, depth)
}

func cutOf(zone []byte, s *rrset) *cut {
	c := &cut{zone: append([]byte(nil), zone...)}
	for _, rd := range s.rr.RData {
		if n := nameRData(rd); n != nil {
			c.ns = append(c.ns, n)
		}
	}
	return c
}

// rootCut returns the root's name servers, priming (RFC 8109) when the
// cache has none.
func (q *req) rootCut(ctx context.Context, depth int) (*cut, error) {
	now := q.r.clk.Now()
	if s, _ := q.r.cache.get([]byte{0}, typeNS, rankNonAuthNS, now); s != nil {
		return cutOf([]byte{0}, s), nil
	}
	hints := q.hintCut()
	if depth > 0 || q.r.cfg.NoPriming {
		return hints, nil // no priming inside a nested resolution, nor when unloaded
	}
	q.r.primeMu.Lock()
	defer q.r.primeMu.Unlock()
	if s, _ := q.r.cache.get([]byte{0}, typeNS, rankNonAuthNS, now); s != nil {
		return cutOf([]byte{0}, s), nil
	}
	a, err := q.ask(ctx, hints, []byte{0}, typeNS, depth)
	if err != nil {
		return nil, fmt.Errorf("priming: %w", err)
	}
	an := groupSets(a.Records(dnsmsg.SectionAN))
	ns := find(an, []byte{0}, typeNS)
	if a.Rcode() != 0 || ns == nil {
		return hints, nil
	}
	q.r.cache.put(ns, rankAuthAnswer, now)
	c := cutOf([]byte{0}, ns)
	q.storeGlue(groupSets(a.Records(dnsmsg.SectionAR)), c.ns, []byte{0}, []byte{0}, now)
	return c, nil
}

// hintCut is the root cut of the root hints (their addresses are stored as
// glue once).
func (q *req) hintCut() *cut {
	c := &cut{zone: []byte{0}}
	now := q.r.clk.Now()
	for _, h := range q.r.roots {
		n, err := dnsmsg.NameFromText(h.Name)
		if err != nil {
			continue
		}
		c.ns = append(c.ns, n.Wire)
		var v4, v6 []netip.Addr
		for _, a := range h.Addrs {
			if a.Unmap().Is4() {
				v4 = append(v4, a.Unmap())
			} else {
				v6 = append(v6, a)
			}
		}
		for _, x := range []struct {
			t  uint16
			as []netip.Addr
		}{{typeA, v4}, {typeAAAA, v6}} {
			if len(x.as) == 0 {
				continue
			}
			if s, _ := q.r.cache.get(n.Wire, x.t, rankGlue, now); s != nil {
				continue
			}
			set := &dnsmsg.RRSet{Owner: n, Type: x.t, Class: dnsmsg.ClassINET, TTL: 3600000}
			for _, a := range x.as {
				set.Add(a.AsSlice())
			}
			q.r.cache.put(&rrset{rr: set}, rankGlue, now)
		}
	}
	return c
}

// iterate resolves name/qtype from the closest known zone cut down.
func (q *req) iterate(ctx context.Context, name []byte, qtype uint16, depth int) (*part, error) {
	c, err := q.findCut(ctx, name, qtype, depth)
	if err != nil {
		return nil, err
	}
	minimise := !q.r.cfg.NoMinimize
	k := dnsmsg.LabelCount(c.zone) + 1
	nlabels := dnsmsg.LabelCount(name)
	for steps := 0; ; steps++ {
		if steps > 2*nlabels+16 {
			return nil, ErrLoop
		}
		qn, qt := name, qtype
		if minimise && k < nlabels {
			qn, qt = ancestor(name, k), typeNS
			if e := q.r.cache.getNeg(qn, typeNS, q.r.clk.Now()); e != nil && e.rcode == 0 {
				k++ // known: no zone cut at qn
				continue
			}
		}
		a, err := q.ask(ctx, c, qn, qt, depth)
		from := q.lastFrom
		if err != nil {
			if !sameName(qn, name) {
				minimise = false // RFC 9156 §3: fall back to the full name
				continue
			}
			return nil, err
		}
		now := q.r.clk.Now()
		an := groupSets(a.Records(dnsmsg.SectionAN))
		ns := groupSets(a.Records(dnsmsg.SectionNS))
		ar := groupSets(a.Records(dnsmsg.SectionAR))
		if child := referral(a, an, ns, c.zone, qn); child != nil {
			if qtype == typeDS && sameName(child, name) {
				return nil, fmt.Errorf("resolver: referral to %s for its own DS", nameText(child))
			}
			nc := q.takeReferral(child, c.zone, ns, ar, now)
			if nc == nil {
				return nil, fmt.Errorf("resolver: referral without NS for %s", nameText(child))
			}
			if find(ns, child, typeDS) != nil {
				q.noteSrc(child, typeDS, from)
			}
			c = nc
			k = dnsmsg.LabelCount(c.zone) + 1
			continue
		}
		if !sameName(qn, name) {
			// minimised query
			rc := a.Rcode()
			switch {
			case rc == 0 && find(an, qn, typeNS) != nil && a.Flag("aa"):
				// qn is a zone on the same servers
				s := find(an, qn, typeNS)
				q.r.cache.put(s, rankAuthAnswer, now)
				nc := cutOf(qn, s)
				q.storeGlue(ar, nc.ns, c.zone, qn, now)
				c = nc
				k = dnsmsg.LabelCount(c.zone) + 1
			case rc == 0 && len(an) == 0:
				if a.Flag("aa") {
					q.takeAnswer(a, an, ns, c.zone, qn, typeNS, now) // caches the NODATA: names below qn skip this query
				}
				// no cut at qn: the zone answering is the one of the name
				// (kresd: "found cut, retrying with non-minimized name")
				minimise = false
			default:
				minimise = false // CNAME, NXDOMAIN (RFC 8020 aside) or error: ask the full name
			}
			continue
		}
		q.noteSrc(name, qtype, from)
		return q.takeAnswer(a, an, ns, c.zone, name, qtype, now), nil
	}
}

// referral returns the delegated zone if a is a referral from zone for qn:
// no answer, NS records in the authority section owned by a name strictly
// below zone that contains qn. An AA bit wrongly set on a referral is
// ignored as long as no SOA makes it a negative answer (kresd and Unbound
// follow such referrals; Deckard's iter_ns_badaa).
func referral(a *dnsmsg.Packet, an, ns []*rrset, zone, qn []byte) []byte {
	if a.Rcode() != 0 || len(an) != 0 {
		return nil
	}
	if a.Flag("aa") {
		for _, s := range ns {
			if s.rr.Type == typeSOA {
				return nil
			}
		}
	}
	for _, s := range ns {
		if s.rr.Type == typeNS && below(s.owner(), zone) && dnsmsg.NameWithin(qn, s.owner()) {
			return s.owner()
		}
	}
	return nil
}

// takeReferral caches a referral's NS set, its DS and the glue mode allows,
// and returns the new cut.
func (q *req) takeReferral(child, zone []byte, ns, ar []*rrset, now time.Time) *cut {
	s := find(ns, child, typeNS)
	if s == nil {
		return nil
	}
	q.r.cache.put(s, rankNonAuthNS, now)
	if ds := find(ns, child, typeDS); ds != nil {
		q.r.cache.put(ds, rankAuthAuthority, now)
	} else {
		// an unsigned delegation: the signed NSEC/NSEC3 records proving no DS
		// answer the validator's DS question from the cache
		var proof []*rrset
		var ttl uint32 = 1 << 31
		for _, o := range ns {
			if (o.rr.Type == typeNSEC || o.rr.Type == typeNSEC3) && o.sig != nil && dnsmsg.NameWithin(o.owner(), zone) {
				proof = append(proof, o)
				ttl = min(ttl, o.ttl())
			}
		}
		if len(proof) > 0 {
			q.r.cache.putNeg(child, typeDS, 0, proof, ttl, now)
		}
	}
	for _, o := range ns {
		if !dnsmsg.NameWithin(o.owner(), zone) {
			q.r.Stats.Ignored.Add(1)
		}
	}
	c := cutOf(child, s)
	q.storeGlue(ar, c.ns, zone, child, now)
	return c
}

// storeGlue caches the A/AAAA records of the additional section that name
// one of nsNames and that the mode accepts from a server of zone delegating
// child: strict only below child (mandatory glue), normal below zone,
// permissive any.
func (q *req) storeGlue(ar []*rrset, nsNames [][]byte, zone, child []byte, now time.Time) {
	for _, g := range ar {
		if g.rr.Type != typeA && g.rr.Type != typeAAAA {
			continue
		}
		named := false
		for _, n := range nsNames {
			if sameName(n, g.owner()) {
				named = true
				break
			}
		}
		ok := named
		switch q.r.cfg.Mode {
		case Strict:
			ok = ok && dnsmsg.NameWithin(g.owner(), child)
		case Normal:
			ok = ok && dnsmsg.NameWithin(g.owner(), zone)
		}
		if !ok {
			q.r.Stats.Ignored.Add(1)
			continue
		}
		if !q.r.cache.put(g, rankGlue, now) {
			q.r.Stats.GlueRefused.Add(1)
		}
	}
}

// takeAnswer keeps the parts of a final answer from zone that are in its
// bailiwick: the CNAME/DNAME chain from name, and SOA, NSEC, NSEC3 in the
// authority section; caches them and returns them.
func (q *req) takeAnswer(a *dnsmsg.Packet, an, ns []*rrset, zone, name []byte, qtype uint16, now time.Time) *part {
	p := &part{rcode: a.Rcode()}
	var spoofed *rrset
	synthesised := false // the CNAME asked, synthesised: the authority section is not this answer's
	rank := rankNonAuthAns
	if a.Flag("aa") {
		rank = rankAuthAnswer
	}
	cur := name
	var visited []string
	for i := 0; i < 32 && dnsmsg.NameWithin(cur, zone); i++ {
		if k := string(dnsmsg.LowerName(cur)); slices.Contains(visited, k) {
			break // a loop (a DNAME onto itself)
		} else {
			visited = append(visited, k)
		}
		if d := dnameFor(an, cur, zone); qtype == typeCNAME && d != nil {
			// the CNAME asked is the DNAME's substitution, whatever
			// CNAME came along (kresd; Deckard's val_dname_bogus)
			if syn := substitute(cur, d.owner(), nameRData(d.rr.RData[0])); syn != nil {
				p.an = append(p.an, d, synthCNAME(cur, syn, d.rr.TTL))
				synthesised = true
			}
			break
		}
		if s := find(an, cur, qtype); s != nil {
			p.an = append(p.an, s)
			break
		}
		if d := dnameFor(an, cur, zone); d != nil {
			target := nameRData(d.rr.RData[0])
			syn := substitute(cur, d.owner(), target)
			if syn == nil {
				p.an = append(p.an, d) // too long: the server's YXDOMAIN (RFC 6672 §2.2) goes with it
				break
			}
			p.an = append(p.an, d)
			cn := find(an, cur, typeCNAME)
			if cn != nil && len(cn.rr.RData) > 0 && !sameName(nameRData(cn.rr.RData[0]), syn) && d.sig != nil && q.r.validating() {
				// a CNAME contradicting its signed DNAME: kept (not
				// cached, not followed) for the validator to judge bogus
				p.an = append(p.an, cn)
				p.stop = true
				spoofed = cn
				break
			}
			if cn == nil || len(cn.rr.RData) == 0 || !sameName(nameRData(cn.rr.RData[0]), syn) {
				cn = synthCNAME(cur, syn, d.rr.TTL)
			}
			p.an = append(p.an, cn)
			cur = syn
			continue
		}
		if qtype != typeCNAME {
			if s := find(an, cur, typeCNAME); s != nil && len(s.rr.RData) > 0 {
				p.an = append(p.an, s)
				cur = nameRData(s.rr.RData[0])
				continue
			}
		}
		break
	}
	if len(p.an) < len(an) {
		q.r.Stats.Ignored.Add(uint64(len(an) - len(p.an)))
	}
	for _, s := range ns {
		if synthesised {
			break
		}
		switch s.rr.Type {
		case typeSOA, typeNSEC, typeNSEC3:
			if dnsmsg.NameWithin(s.owner(), zone) {
				p.ns = append(p.ns, s)
			}
		case typeNS:
			// the zone's own NS set along a NXDOMAIN passes to the client
			// (kresd; Deckard's iter_domain_sale)
			if p.rcode == 3 && sameName(s.owner(), zone) {
				p.ns = append(p.ns, s)
			}
		}
	}
	if p.rcode == 0 && len(p.an) > 0 {
		var proof []*rrset
		for _, s := range p.ns {
			if s.rr.Type == typeNSEC || s.rr.Type == typeNSEC3 {
				proof = append(proof, s)
			}
		}
		for _, s := range p.an {
			s.proof = proof // a wildcard expansion keeps its proof in the cache
		}
	}
	for _, s := range p.an {
		if s != spoofed {
			q.r.cache.put(s, rank, now)
		}
	}
	if len(p.an) == 0 || p.rcode == 3 {
		if ttl := negTTL(p.ns); ttl > 0 && (p.rcode == 0 || p.rcode == 3) {
			owner, t := cur, qtype
			if p.rcode == 3 {
				t = 0
			}
			if len(p.an) == 0 {
				owner = name
			}
			q.r.cache.putNeg(owner, t, p.rcode, p.ns, ttl, now)
		}
	}
	return p
}

// dnameFor returns a DNAME of an whose owner is a proper ancestor of cur
// within zone.
func dnameFor(an []*rrset, cur, zone []byte) *rrset {
	for _, s := range an {
		if s.rr.Type == typeDNAME && len(s.rr.RData) > 0 && below(cur, s.owner()) && dnsmsg.NameWithin(s.owner(), zone) {
			return s
		}
	}
	return nil
}

// substitute replaces the suffix owner of name by target (RFC 6672), nil if
// the result is too long.
func substitute(name, owner, target []byte) []byte {
	prefix := name[:len(name)-len(owner)]
	out := append(append([]byte(nil), prefix...), target...)
	if len(out) > 255 {
		return nil
	}
	return out
}

// addrs returns the usable addresses of a cut's name servers, resolving up
// to MaxNSNamesPerDelegation names without addresses when none is known, or
// with more (the known ones having failed).
func (q *req) addrs(ctx context.Context, c *cut, depth int, more bool) []netip.Addr {
	now := q.r.clk.Now()
	var out []netip.Addr
	var missing [][]byte
	for _, n := range c.ns {
		got := false
		for _, t := range []uint16{typeA, typeAAAA} {
			s, _ := q.r.cache.get(n, t, rankGlue, now)
			if s == nil {
				continue
			}
			for _, rd := range s.rr.RData {
				a, ok := netip.AddrFromSlice(rd)
				if !ok {
					continue
				}
				if !q.familyOK(a.Unmap()) {
					continue // as if unknown: the other family is looked up
				}
				got = true
				if q.usable(a.Unmap()) {
					out = append(out, a.Unmap())
				}
			}
		}
		if !got {
			missing = append(missing, n)
		}
	}
	if len(out) > 0 && !more || depth >= q.r.cfg.MaxDepth {
		return out
	}
	known := len(out)
	for i, n := range missing {
		if i >= q.r.cfg.MaxNSNamesPerDelegation {
			break
		}
		if dnsmsg.NameWithin(n, c.zone) && len(c.zone) > 1 {
			continue // in the zone, without glue: unreachable through it
		}
		for _, t := range []uint16{typeA, typeAAAA} {
			p, err := q.lookup(ctx, n, t, depth+1)
			if err != nil {
				if errors.Is(err, ErrLimit) {
					return out
				}
				continue
			}
			for _, s := range p.an {
				if s.rr.Type != t {
					continue
				}
				for _, rd := range s.rr.RData {
					if a, ok := netip.AddrFromSlice(rd); ok && q.usable(a.Unmap()) {
						out = append(out, a.Unmap())
					}
				}
			}
		}
		if len(out) > known {
			break
		}
	}
	if len(c.zone) <= 1 && len(out) == 0 {
		// the root servers' addresses are gone (evicted for the cache's
		// size, or expired before the root's NS set): the hints' serve
		for _, h := range q.r.roots {
			for _, a := range h.Addrs {
				if q.familyOK(a.Unmap()) {
					out = append(out, a.Unmap())
				}
			}
		}
	}
	if len(out) > known || len(c.zone) <= 1 {
		return out
	}
	// NS names inside the zone whose addresses expired (or were never
	// given): the parent's referral brings their glue again (kresd goes
	// back to the parent when a cut has no usable address).
	var inZone [][]byte
	for _, n := range missing {
		if dnsmsg.NameWithin(n, c.zone) {
			inZone = append(inZone, n)
		}
	}
	if len(inZone) == 0 || !q.reglue(ctx, c, depth) {
		return out
	}
	now = q.r.clk.Now()
	for _, n := range inZone {
		for _, t := range []uint16{typeA, typeAAAA} {
			if s, _ := q.r.cache.get(n, t, rankGlue, now); s != nil {
				for _, rd := range s.rr.RData {
					if a, ok := netip.AddrFromSlice(rd); ok && q.usable(a.Unmap()) {
						out = append(out, a.Unmap())
					}
				}
			}
		}
	}
	return out
}

// reglue asks the parent of c's zone for the delegation again, which
// caches its NS set and glue; it reports whether a referral came. Once
// per zone and request.
func (q *req) reglue(ctx context.Context, c *cut, depth int) bool {
	k := string(dnsmsg.LowerName(c.zone))
	if q.reglued[k] {
		return false
	}
	if q.reglued == nil {
		q.reglued = map[string]bool{}
	}
	q.reglued[k] = true
	pc, err := q.findCut(ctx, c.zone, typeDS, depth+1)
	if err != nil {
		return false
	}
	a, err := q.ask(ctx, pc, c.zone, typeNS, depth+1)
	if err != nil {
		return false
	}
	an := groupSets(a.Records(dnsmsg.SectionAN))
	ns := groupSets(a.Records(dnsmsg.SectionNS))
	child := referral(a, an, ns, pc.zone, c.zone)
	if child == nil || !sameName(child, c.zone) {
		return false
	}
	return q.takeReferral(child, pc.zone, ns, groupSets(a.Records(dnsmsg.SectionAR)), q.r.clk.Now()) != nil
}

// usable applies kresd's ALLOW_LOCAL rule to a learnt address; root hints
// are used as given.
func (q *req) usable(a netip.Addr) bool {
	if !q.familyOK(a) {
		return false
	}
	if q.r.hintAddrs[a] {
		return true
	}
	if q.mayQuery != nil {
		return q.mayQuery(a)
	}
	return q.r.cfg.AllowLocal || !daemon.IsLocalAddr(a)
}

// familyOK reports whether a's address family is enabled (NoIPv4, NoIPv6).
func (q *req) familyOK(a netip.Addr) bool {
	return !(a.Is4() && q.r.cfg.NoIPv4 || a.Is6() && q.r.cfg.NoIPv6)
}

// ask sends qn/qt to the cut's servers, best smoothed RTT first, until one
// gives a usable answer.
func (q *req) ask(ctx context.Context, c *cut, qn []byte, qt uint16, depth int) (*dnsmsg.Packet, error) {
	a, tried, last := q.askAddrs(ctx, c, qn, qt, depth, nil)
	if a != nil || last == nil || len(tried) == 0 || errors.Is(last, ErrLimit) || ctx.Err() != nil {
		return a, last
	}
	// The servers with known addresses failed (timeout, error, lame): the
	// NS names without one are resolved and tried, as kresd does.
	if a, _, err := q.askAddrs(ctx, c, qn, qt, depth, tried); a != nil || err != nil && !errors.Is(err, errNoMore) {
		return a, err
	}
	return nil, last
}

// errNoMore: a second round of ask found no new address.
var errNoMore = errors.New("no other name server address")

// askAddrs is one round of ask: with tried nil, over the known addresses
// (resolving NS names only when none is known); otherwise over those not
// in tried after resolving the NS names without address. It returns the
// answer, or the error and the addresses tried.
func (q *req) askAddrs(ctx context.Context, c *cut, qn []byte, qt uint16, depth int, tried map[netip.Addr]bool) (*dnsmsg.Packet, map[netip.Addr]bool, error) {
	more := tried != nil
	addrs := q.addrs(ctx, c, depth, more)
	if more {
		addrs = slices.DeleteFunc(addrs, func(a netip.Addr) bool { return tried[a] })
		if len(addrs) == 0 {
			return nil, tried, errNoMore
		}
	} else {
		tried = map[netip.Addr]bool{}
		if len(q.avoid) > 0 {
			n := len(addrs)
			addrs = slices.DeleteFunc(addrs, func(a netip.Addr) bool { return q.avoid[a] })
			if len(addrs) < n {
				for a := range q.avoid {
					tried[a] = true
				}
			}
			if len(addrs) == 0 && n > 0 {
				return nil, tried, fmt.Errorf("%w: the name servers of %s known gave answers that did not validate", ErrNoServer, nameText(c.zone))
			}
		}
	}
	if len(addrs) == 0 {
		return nil, tried, fmt.Errorf("%w: no address for the name servers of %s", ErrNoServer, nameText(c.zone))
	}
	now := q.r.clk.Now()
	type cand struct {
		a    netip.Addr
		srtt time.Duration
	}
	var cands []cand
	q.r.rttMu.RLock()
	for _, a := range addrs {
		st := q.r.rtt[a]
		if st == nil {
			cands = append(cands, cand{a, time.Duration(rand.IntN(5000)) * time.Microsecond})
			continue
		}
		if now.Before(st.toutEnd) {
			continue // cache.ns_tout
		}
		cands = append(cands, cand{a, st.srtt})
	}
	q.r.rttMu.RUnlock()
	if len(cands) == 0 {
		for _, a := range addrs {
			tried[a] = true
		}
		return nil, tried, fmt.Errorf("%w: every name server of %s timed out recently", ErrNoServer, nameText(c.zone))
	}
	slices.SortFunc(cands, func(x, y cand) int { return int(x.srtt - y.srtt) })
	var last error
	for i, cd := range cands {
		if i >= 4 {
			break
		}
		tried[cd.a] = true
		a, err := q.send(ctx, netip.AddrPortFrom(cd.a, 53), qn, qt)
		if err != nil {
			last = err
			if ctx.Err() != nil || errors.Is(err, ErrLimit) {
				return nil, tried, err
			}
			continue
		}
		switch a.Rcode() {
		case 0, 3:
		case 6:
			if a.Count(dnsmsg.SectionAN) == 0 {
				last = fmt.Errorf("%v answered YXDOMAIN without a DNAME", cd.a)
				continue
			}
		default:
			last = fmt.Errorf("%v answered %s", cd.a, rcodeName(a.Rcode()))
			continue
		}
		if lame(a, c.zone, qn) {
			last = fmt.Errorf("%v is lame for %s", cd.a, nameText(c.zone))
			continue
		}
		q.lastFrom = cd.a
		return a, tried, nil
	}
	if last == nil {
		last = ErrNoServer
	}
	return nil, tried, fmt.Errorf("%w: %s %s: %w", ErrNoServer, nameText(qn), dnsmsg.TypeString(qt), last)
}

// lame reports an answer that is neither data, nor a negative answer, nor
// a referral downwards: an upward or sideways referral.
func lame(a *dnsmsg.Packet, zone, qn []byte) bool {
	if a.Flag("aa") || a.Count(dnsmsg.SectionAN) > 0 || a.Rcode() == 3 {
		return false
	}
	soa, down := false, false
	for _, r := range a.Records(dnsmsg.SectionNS) {
		switch r.Type {
		case typeSOA:
			soa = true
		case typeNS:
			if below(r.Owner.Wire, zone) && dnsmsg.NameWithin(qn, r.Owner.Wire) {
				down = true
			}
		}
	}
	return !soa && !down
}

// send sends one query (UDP, then TCP on TC) and keeps the RTT statistics.
func (q *req) send(ctx context.Context, server netip.AddrPort, qn []byte, qt uint16) (*dnsmsg.Packet, error) {
	if q.queries >= q.r.cfg.MaxQueriesPerRequest {
		return nil, ErrLimit
	}
	q.queries++
	q.r.Stats.Queries.Add(1)
	pkt := dnsmsg.NewPacket(512)
	pkt.SetQuestion(qn, qt, dnsmsg.ClassINET)
	pkt.SetID(uint16(rand.Uint32()))
	pkt.Begin(dnsmsg.SectionAR)
	opt := dnsmsg.NewOPT(0, EDNSPayload)
	dnsmsg.SetOPTDo(opt, true)
	pkt.Put(opt, true)
	start := time.Now()
	a, err := q.ex(ctx, server, pkt, false)
	if err == nil && a.Flag("tc") {
		q.r.Stats.TCP.Add(1)
		a, err = q.ex(ctx, server, pkt, true)
	}
	q.noteRTT(server.Addr(), time.Since(start), err)
	if err != nil {
		if errors.Is(err, daemon.ErrOutgoingLimit) {
			return nil, fmt.Errorf("%w: %v", ErrLimit, err)
		}
		return nil, err
	}
	if a.Parsed() == 0 {
		if rc := a.Parse(false); rc != 0 {
			return nil, fmt.Errorf("malformed answer from %v", server)
		}
	}
	return a, nil
}

// noteRTT updates the smoothed RTT of a (7/8 old, 1/8 new) or starts its
// ns_tout period after a timeout.
func (q *req) noteRTT(a netip.Addr, d time.Duration, err error) {
	q.r.rttMu.Lock()
	defer q.r.rttMu.Unlock()
	st := q.r.rtt[a]
	if st == nil {
		st = &nsStat{srtt: d}
		q.r.rtt[a] = st
	}
	if err != nil {
		if errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			q.r.Stats.Timeouts.Add(1)
			st.toutEnd = q.r.clk.Now().Add(q.r.cfg.NSTimeout)
			st.srtt = max(st.srtt*2, q.r.cfg.QueryTimeout)
		}
		return
	}
	st.srtt = (7*st.srtt + d) / 8
	st.toutEnd = time.Time{}
}

// fetch is the validator's Fetcher: it resolves name/qtype through the
// same request (its limits apply) and tells the AnchorSource about the
// DNSKEY sets of anchored zones.
func (q *req) fetch(ctx context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error) {
	var p *part
	var err error
	if validator.Retry(ctx) > 0 {
		p, err = q.refetch(ctx, name, qtype)
	} else {
		p, err = q.lookup(ctx, name, qtype, 1)
	}
	if err != nil {
		return nil, err
	}
	if src := q.r.anchorSource(); src != nil && qtype == typeDNSKEY && q.r.isAnchorZone(name) {
		if s := find(p.an, name, typeDNSKEY); s != nil {
			src.Observe(dnsmsg.LowerName(name), s.rr, s.sig, q.r.clk.Now())
		}
	}
	return packetOf(name, qtype, p.rcode, p.an, p.ns), nil
}

// fromNet reports whether name/t was answered by a server in this request.
func (q *req) fromNet(name []byte, t uint16) bool {
	_, ok := q.src[keyOf(name, t)]
	return ok
}

// refetch asks name/qtype again, not from the cache, leaving aside the
// servers whose answers to it did not validate (the validator's retry of
// a bogus DS or DNSKEY set): the zone's other name servers answer, as in
// kresd and Unbound.
func (q *req) refetch(ctx context.Context, name []byte, qtype uint16) (*part, error) {
	k := keyOf(name, qtype)
	if q.bad == nil {
		q.bad = map[setKey]map[netip.Addr]bool{}
	}
	b := q.bad[k]
	if b == nil {
		b = map[netip.Addr]bool{}
		q.bad[k] = b
	}
	if a, ok := q.src[k]; ok {
		b[a] = true
	}
	old := q.avoid
	q.avoid = b
	defer func() { q.avoid = old }()
	return q.iterate(ctx, name, qtype, 1)
}

// nameText formats a wire name.
func nameText(w []byte) string {
	n := dnsmsg.Name{Wire: w}
	return n.String()
}

// rcodeName names the rcodes a name server may answer with.
func rcodeName(rc int) string {
	switch rc {
	case 1:
		return "FORMERR"
	case 2:
		return "SERVFAIL"
	case 4:
		return "NOTIMP"
	case 5:
		return "REFUSED"
	}
	return fmt.Sprintf("rcode %d", rc)
}

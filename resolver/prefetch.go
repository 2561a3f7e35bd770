package resolver

import (
	"context"
	"time"

	"ljdns/dnsmsg"
)

// Prefill puts the records of a zone's copy (kresd's prefill module: the
// root zone) into the cache, so that names below it resolve without asking
// its servers: the zone's own data as authoritative answers, the NS sets
// of its delegations as referrals (with their DS and NSEC as the parent's
// answers), the addresses below the delegations as glue. RRSIG records are
// attached to the sets they cover: the validator checks them as it checks
// answers from the network, when it uses them. Each set lives for its TTL
// from now (reload the copy before then). It returns the number of sets
// stored.
func (r *Resolver) Prefill(zone []byte, recs []*dnsmsg.RRSet) int {
	sets := groupSets(recs)
	var cuts [][]byte
	for _, s := range sets {
		if s.rr.Type == typeNS && below(s.owner(), zone) {
			cuts = append(cuts, s.owner())
		}
	}
	// cutOver returns the delegation at or above owner, nil when owner is
	// the zone's own data
	cutOver := func(owner []byte) []byte {
		var best []byte
		for _, c := range cuts {
			if dnsmsg.NameWithin(owner, c) && len(c) > len(best) {
				best = c
			}
		}
		return best
	}
	now := r.clk.Now()
	n := 0
	for _, s := range sets {
		if s.rr.Type == typeRRSIG || !dnsmsg.NameWithin(s.owner(), zone) {
			continue
		}
		rank := rankAuthAnswer
		if c := cutOver(s.owner()); c != nil {
			switch {
			case sameName(c, s.owner()) && s.rr.Type == typeNS:
				rank = rankNonAuthNS
			case sameName(c, s.owner()) && (s.rr.Type == typeDS || s.rr.Type == typeNSEC):
				rank = rankAuthAnswer // the parent's side of the cut
			default:
				rank = rankGlue
			}
		}
		if r.cache.put(s, rank, now) {
			n++
		}
	}
	return n
}

// isExpiring is kresd's rule for a cached answer worth refreshing: less
// than 1% of its original TTL plus 5 seconds left.
func isExpiring(orig, left time.Duration) bool {
	return 100*(left-5*time.Second) < orig
}

// Refresh resolves qname/qtype again, past the caches, and caches the new
// answer (the predict module's prefetch of an expiring or expected
// answer). Upstream queries go straight out (not through a daemon request).
func (r *Resolver) Refresh(ctx context.Context, qname []byte, qtype uint16, cd bool) error {
	_, _, _, _, err := r.resolveParts(ctx, qname, qtype, dnsmsg.ClassINET, QueryFlags{CD: cd, Refresh: true}, r.ex, nil)
	return err
}

// CachedTTL returns how long the answer cache's entry for the question has
// left; ok is false without a live one (predict's learned questions).
func (r *Resolver) CachedTTL(qname []byte, qtype uint16, cd bool) (left time.Duration, ok bool) {
	var kb [260]byte
	now := r.clk.Now()
	e := r.cache.getAnswer(ansKey(kb[:0], qname, qtype, cd), now, false)
	if e == nil {
		return 0, false
	}
	return e.expire.Sub(now), true
}

// ZoneCut returns the deepest zone cut at or above name (wire form) that
// the cache knows, lowercased; the root when none (kresd's
// req:resolved().zone_cut.name after a resolution).
func (r *Resolver) ZoneCut(name []byte) []byte {
	now := r.clk.Now()
	for z := name; len(z) > 1; z = parent(z) {
		if s, _ := r.cache.get(z, typeNS, rankNonAuthNS, now); s != nil {
			return dnsmsg.LowerName(z)
		}
	}
	return []byte{0}
}

package resolver

import (
	"sync"
	"time"

	"ljdns/dnsmsg"
)

// Aggressive use of DNSSEC-validated cache (RFC 8198), NSEC only: the
// NSEC records of secure negative answers are kept per zone, with the
// zone's SOA, and answer later questions they prove do not exist
// (NXDOMAIN: a span covering the name and one covering the wildcard at the
// closest encloser) or have no data of the type (NODATA), without asking.
// The wildcard sets of secure expansions are kept too: a name the NSEC
// records prove absent gets the expansion of the wildcard at its closest
// encloser (§5.4), with the covering NSEC as its proof.

const maxNSECPerZone = 4096

type nsecEntry struct {
	set    *rrset // the NSEC with its RRSIGs
	next   []byte
	expire time.Time
}

type nsecZone struct {
	soa     *rrset
	soaExp  time.Time
	entries map[string]*nsecEntry // by lowercased owner
	wild    map[setKey]*wildEntry // validated wildcard sets by wildcard owner and type (RFC 8198 §5.4)
}

// wildEntry is a wildcard RR set (owner "*.<closest encloser>") learnt
// from a validated expansion, with its RRSIGs.
type wildEntry struct {
	set    *rrset
	expire time.Time
}

type nsecCache struct {
	mu    sync.RWMutex
	zones map[string]*nsecZone // by lowercased zone name
}

func (c *nsecCache) clear() {
	c.mu.Lock()
	c.zones = nil
	c.mu.Unlock()
}

// store keeps the NSEC records and the SOA of a validated negative answer.
func (c *nsecCache) store(ns []*rrset, now time.Time) {
	var soa *rrset
	for _, s := range ns {
		if s.rr.Type == typeSOA && s.sig != nil {
			soa = s
		}
	}
	if soa == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	z := c.zoneLocked(soa.owner())
	ttl := time.Duration(negTTL([]*rrset{soa})) * time.Second
	z.soa, z.soaExp = soa, now.Add(ttl)
	z.keepNSEC(ns, soa.owner(), uint32(ttl/time.Second), now)
}

// zoneLocked returns the entry of zone, made if new; c.mu is held.
func (c *nsecCache) zoneLocked(zone []byte) *nsecZone {
	if c.zones == nil {
		c.zones = map[string]*nsecZone{}
	}
	k := string(dnsmsg.LowerName(zone))
	z := c.zones[k]
	if z == nil {
		z = &nsecZone{entries: map[string]*nsecEntry{}, wild: map[setKey]*wildEntry{}}
		c.zones[k] = z
	}
	return z
}

// keepNSEC stores the signed NSEC sets of ns inside zone, for at most
// maxTTL seconds.
func (z *nsecZone) keepNSEC(ns []*rrset, zone []byte, maxTTL uint32, now time.Time) {
	for _, s := range ns {
		if s.rr.Type != typeNSEC || s.sig == nil || len(s.rr.RData) != 1 || !dnsmsg.NameWithin(s.owner(), zone) {
			continue
		}
		next := nameRData(s.rr.RData[0])
		if next == nil {
			continue
		}
		if len(z.entries) >= maxNSECPerZone {
			for k, e := range z.entries {
				if !now.Before(e.expire) {
					delete(z.entries, k)
				}
			}
			if len(z.entries) >= maxNSECPerZone {
				return
			}
		}
		z.entries[string(dnsmsg.LowerName(s.owner()))] = &nsecEntry{set: s, next: next, expire: now.Add(time.Duration(min(s.ttl(), maxTTL)) * time.Second)}
	}
}

// wildcardOwner returns the wildcard a signed set was expanded from
// ("*." and the owner's last RRSIG-labels labels) and the signer, nil when
// the set is no expansion.
func wildcardOwner(s *rrset) (wild, signer []byte) {
	if s.sig == nil || len(s.sig.RData) == 0 || len(s.sig.RData[0]) < 19 {
		return nil, nil
	}
	rd := s.sig.RData[0]
	n := int(rd[3])
	owner := s.owner()
	if n >= dnsmsg.LabelCount(owner) || len(owner) > 1 && owner[0] == 1 && owner[1] == '*' {
		return nil, nil
	}
	signer = nameRData(rd[18:])
	if signer == nil {
		return nil, nil
	}
	w := owner
	for dnsmsg.LabelCount(w) > n {
		w = parent(w)
	}
	if !dnsmsg.NameWithin(w, signer) {
		return nil, nil
	}
	return append([]byte{1, '*'}, w...), signer
}

// storeWildcards keeps the wildcard sets of a validated positive answer
// (expansions: RRSIG labels below the owner's) with the NSEC records of
// its authority section, which prove the names they cover absent.
func (c *nsecCache) storeWildcards(an, ns []*rrset, now time.Time) {
	for _, s := range an {
		wild, signer := wildcardOwner(s)
		if wild == nil {
			continue
		}
		c.mu.Lock()
		z := c.zoneLocked(signer)
		if len(z.wild) < maxNSECPerZone {
			w := s.copyWithTTL(s.ttl())
			w.rr.Owner = &dnsmsg.Name{Wire: wild}
			if w.sig != nil {
				w.sig.Owner = w.rr.Owner
			}
			w.proof = nil
			z.wild[keyOf(wild, s.rr.Type)] = &wildEntry{set: w, expire: now.Add(time.Duration(s.ttl()) * time.Second)}
		}
		z.keepNSEC(append(append([]*rrset(nil), ns...), s.proof...), signer, s.ttl(), now)
		c.mu.Unlock()
	}
}

// wildcard synthesises qname's qtype (or CNAME) set from a cached wildcard
// when the cached NSEC records prove qname absent and the wildcard at its
// closest encloser is known (RFC 8198 §5.4). The set's proof is the NSEC
// covering qname; nil when nothing applies.
func (c *nsecCache) wildcard(qname []byte, qtype uint16, now time.Time) *rrset {
	if qtype == typeDS || qtype == typeNSEC || qtype == typeRRSIG || len(qname) <= 1 {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	var z *nsecZone
	var zone []byte
	for w := qname; ; w = parent(w) {
		if z = c.zones[string(dnsmsg.LowerName(w))]; z != nil && len(z.wild) > 0 {
			zone = w
			break
		}
		if len(w) <= 1 {
			return nil
		}
	}
	var e *nsecEntry
	for _, x := range z.entries {
		if now.Before(x.expire) && covers(x.set.owner(), x.next, qname, zone) {
			e = x
			break
		}
	}
	if e == nil || below(e.next, qname) {
		return nil // not proved absent, or an empty non-terminal
	}
	bm := e.set.rr.RData[0][len(e.next):]
	if dnsmsg.NameWithin(qname, e.set.owner()) && (hasType(bm, typeDNAME) || hasType(bm, typeNS) && !hasType(bm, typeSOA)) {
		return nil
	}
	ce := commonAncestor(qname, e.set.owner())
	if c2 := commonAncestor(qname, e.next); len(c2) > len(ce) {
		ce = c2
	}
	wild := append([]byte{1, '*'}, ce...)
	var we *wildEntry
	for _, t := range []uint16{qtype, typeCNAME} {
		if x := z.wild[keyOf(wild, t)]; x != nil && now.Before(x.expire) {
			we = x
			break
		}
	}
	if we == nil {
		return nil
	}
	ttl := uint32(min(we.expire.Sub(now), e.expire.Sub(now)) / time.Second)
	out := we.set.copyWithTTL(ttl)
	out.rr.Owner = &dnsmsg.Name{Wire: append([]byte(nil), qname...)}
	if out.sig != nil {
		out.sig.Owner = out.rr.Owner
	}
	out.proof = []*rrset{e.set}
	return out
}

// answer synthesizes a secure negative answer for qname/qtype from the
// cached NSEC records, or reports false.
func (c *nsecCache) answer(qname []byte, qtype uint16, now time.Time) (rcode int, auth []*rrset, ok bool) {
	if qtype == typeNSEC || qtype == typeRRSIG || qtype == typeDS && len(qname) <= 1 {
		return 0, nil, false
	}
	start := qname
	if qtype == typeDS {
		start = parent(qname) // the parent's data (kresd answers it from cache too; Deckard's nsec_aggr_cache)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	var z *nsecZone
	var zone []byte
	for w := start; ; w = parent(w) {
		if z = c.zones[string(dnsmsg.LowerName(w))]; z != nil {
			zone = w
			break
		}
		if len(w) <= 1 {
			return 0, nil, false
		}
	}
	if !now.Before(z.soaExp) {
		return 0, nil, false
	}
	live := func(e *nsecEntry) bool { return e != nil && now.Before(e.expire) }
	// NODATA: an NSEC at qname without the type (nor CNAME), not a delegation
	if e := z.entries[string(dnsmsg.LowerName(qname))]; live(e) {
		bm := e.set.rr.RData[0][len(e.next):]
		if qtype == typeDS {
			// the parent's NSEC at a delegation (NS, no DS) proves no DS
			if hasType(bm, typeDS) || hasType(bm, typeSOA) || hasType(bm, typeCNAME) {
				return 0, nil, false
			}
			return 0, []*rrset{z.soa, e.set}, true
		}
		if hasType(bm, qtype) || hasType(bm, typeCNAME) || hasType(bm, typeDNAME) || (hasType(bm, typeNS) && !hasType(bm, typeSOA)) {
			return 0, nil, false
		}
		return 0, []*rrset{z.soa, e.set}, true
	}
	cover := func(name []byte) *nsecEntry {
		for _, e := range z.entries {
			if live(e) && covers(e.set.owner(), e.next, name, zone) {
				return e
			}
		}
		return nil
	}
	e := cover(qname)
	if e == nil {
		return 0, nil, false
	}
	if below(e.next, qname) {
		return 0, nil, false // qname is an empty non-terminal: NODATA, left to the servers
	}
	bm := e.set.rr.RData[0][len(e.next):]
	if dnsmsg.NameWithin(qname, e.set.owner()) && (hasType(bm, typeDNAME) || hasType(bm, typeNS) && !hasType(bm, typeSOA)) {
		return 0, nil, false // below a delegation or a DNAME: not this zone's to deny
	}
	ce := commonAncestor(qname, e.set.owner())
	if c2 := commonAncestor(qname, e.next); len(c2) > len(ce) {
		ce = c2
	}
	if !dnsmsg.NameWithin(ce, zone) {
		return 0, nil, false
	}
	wild := append([]byte{1, '*'}, ce...)
	if w := z.entries[string(dnsmsg.LowerName(wild))]; live(w) {
		return 0, nil, false // the wildcard exists: an expansion, not NXDOMAIN
	}
	we := cover(wild)
	if we == nil {
		return 0, nil, false
	}
	auth = []*rrset{z.soa, e.set}
	if we != e {
		auth = append(auth, we.set)
	}
	return 3, auth, true
}

// covers reports whether the NSEC span owner..next (next at or before the
// apex: the last span) strictly covers name.
func covers(owner, next, name, zone []byte) bool {
	if dnsmsg.CompareNames(owner, name) >= 0 {
		return false
	}
	if sameName(next, zone) || dnsmsg.CompareNames(next, owner) <= 0 {
		return true // the last span wraps to the apex
	}
	return dnsmsg.CompareNames(name, next) < 0
}

// commonAncestor returns the longest common suffix of a and b in labels.
func commonAncestor(a, b []byte) []byte {
	la, lb := dnsmsg.LabelCount(a), dnsmsg.LabelCount(b)
	for la > lb {
		a, la = parent(a), la-1
	}
	for lb > la {
		b, lb = parent(b), lb-1
	}
	for !sameName(a, b) {
		a, b = parent(a), parent(b)
	}
	return a
}

// hasType reports whether the NSEC type bitmap bm has t.
func hasType(bm []byte, t uint16) bool {
	win, bit := byte(t>>8), t&0xff
	for len(bm) >= 2 {
		w, l := bm[0], int(bm[1])
		if l < 1 || l > 32 || len(bm) < 2+l {
			return false
		}
		if w == win {
			i := int(bit / 8)
			return i < l && bm[2+i]&(0x80>>(bit%8)) != 0
		}
		bm = bm[2+l:]
	}
	return false
}

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
	zone := string(dnsmsg.LowerName(soa.owner()))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.zones == nil {
		c.zones = map[string]*nsecZone{}
	}
	z := c.zones[zone]
	if z == nil {
		z = &nsecZone{entries: map[string]*nsecEntry{}}
		c.zones[zone] = z
	}
	ttl := time.Duration(negTTL([]*rrset{soa})) * time.Second
	z.soa, z.soaExp = soa, now.Add(ttl)
	for _, s := range ns {
		if s.rr.Type != typeNSEC || s.sig == nil || len(s.rr.RData) != 1 || !dnsmsg.NameWithin(s.owner(), soa.owner()) {
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
		z.entries[string(dnsmsg.LowerName(s.owner()))] = &nsecEntry{set: s, next: next, expire: now.Add(time.Duration(min(s.ttl(), uint32(ttl/time.Second))) * time.Second)}
	}
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

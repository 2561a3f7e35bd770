package authority

import (
	"encoding/binary"

	"ljdns/dnsmsg"
)

// item is one RR set of an answer with its RRSIGs (sent with DO) and
// whether it must fit (or the answer is truncated).
type item struct {
	rr  *dnsmsg.RRSet
	sig *dnsmsg.RRSet
	req bool
}

// result is what resolving a question produced, before it is written.
type result struct {
	rcode      int
	aa         bool
	an, ns, ar []item
	do         bool
}

func (r *result) has(sec []item, rr *dnsmsg.RRSet) bool {
	for _, it := range sec {
		if sameSet(it.rr, rr) {
			return true
		}
	}
	return false
}

// sameSet reports whether a and b are one set of the zone, also when one
// is a wildcard-synthesised copy of the other.
func sameSet(a, b *dnsmsg.RRSet) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Type != b.Type || len(a.RData) == 0 || len(b.RData) == 0 ||
		len(a.RData[0]) == 0 || len(b.RData[0]) == 0 {
		return false
	}
	return &a.RData[0][0] == &b.RData[0][0]
}

// owned returns rr (and sig) with the owner replaced by name (wildcard
// synthesis, RFC 4592 §3.3.1).
func owned(rr *dnsmsg.RRSet, name []byte) *dnsmsg.RRSet {
	if rr == nil {
		return nil
	}
	c := *rr
	c.Owner = &dnsmsg.Name{Wire: name}
	return &c
}

// resolve answers qname/qtype from the engine's zones (RFC 1034 §4.3.2).
func (e *Engine) resolve(qname []byte, qtype uint16, do bool) *result {
	return e.resolveInto(&result{}, qname, qtype, do)
}

// resolveInto is resolve filling r (reset first), so callers may reuse one.
func (e *Engine) resolveInto(r *result, qname []byte, qtype uint16, do bool) *result {
	*r = result{do: do, an: r.an[:0], ns: r.ns[:0], ar: r.ar[:0]}
	var lb [256]byte
	lq := lower(&lb, qname)
	z := e.find(lq, qtype)
	if z == nil {
		r.rcode = rcodeRefused
		return r
	}
	r.aa = true
	if qtype == typeNXNAME && z.online != nil && z.online.s.opt.Denial == Compact {
		r.rcode, r.aa = rcodeFormErr, false // RFC 9824 §3.5: NXNAME is no query type
		return r
	}
	var seen [16][]byte
	name := qname
	for step := 0; step < len(seen); step++ {
		seen[step] = name
		next := e.step(r, z, name, qtype)
		if next == nil {
			return r
		}
		for _, s := range seen[:step+1] {
			if foldEqual(s, next) {
				return r
			}
		}
		ln := lower(&lb, next)
		if e.opt.CrossZoneCNAME {
			nz := e.find(ln, qtype)
			if nz == nil {
				return r
			}
			z = nz
		} else if !dnsmsg.NameWithin(ln, z.Origin) {
			return r
		} else if nz := e.find(ln, qtype); nz != z {
			return r
		}
		name = next
	}
	return r
}

// step answers one name of a chain; it returns the next name to look up
// (a CNAME target or a DNAME-synthesised name) or nil when done.
func (e *Engine) step(r *result, z *Zone, qname []byte, qtype uint16) []byte {
	var lb [256]byte
	lq := lower(&lb, qname)
	nl := dnsmsg.LabelCount(lq) - dnsmsg.LabelCount(z.Origin)
	// offsets of the suffixes of lq, from the full name up to the apex
	var ob [128]int
	offs := ob[:0]
	for o, i := 0, 0; i <= nl; i++ {
		offs = append(offs, o)
		o += 1 + int(lq[o])
	}
	ce := z.nodes[string(z.Origin)]
	for i := nl - 1; i >= 0; i-- {
		n := z.nodes[string(lq[offs[i]:])]
		if n == nil {
			// nxName may keep names (the proofs): a copy, so that lb stays
			// on the stack for the names that exist
			lc := append([]byte(nil), lq...)
			return e.nxName(r, z, qname, lc, ce, lc[offs[i]:], qtype)
		}
		if n.cut && !(i == 0 && qtype == typeDS) {
			e.referral(r, z, n)
			return nil
		}
		if i > 0 {
			if d := n.sets[typeDNAME]; d != nil {
				return e.dname(r, z, n, d, qname, lq[offs[i]:], qtype)
			}
		}
		ce = n
	}
	return e.found(r, z, ce, qname, qtype, false)
}

// found answers from node n (exact, or the wildcard when wild).
func (e *Engine) found(r *result, z *Zone, n *node, qname []byte, qtype uint16, wild bool) []byte {
	get := func(t uint16) item {
		rr, sig := n.sets[t], z.sig(r, n, t, qname, wild)
		if wild {
			rr, sig = owned(rr, qname), owned(sig, qname)
		}
		return item{rr: rr, sig: sig, req: true}
	}
	if c := n.sets[typeCNAME]; c != nil && qtype != typeCNAME && qtype != typeANY && qtype != typeRRSIG && qtype != typeNSEC {
		r.an = append(r.an, get(typeCNAME))
		if wild {
			e.wildProof(r, z, qname)
		}
		return c.RData[0]
	}
	if qtype == typeRRSIG && z.online != nil {
		if sig := z.online.anyRRSIG(n); sig != nil { // signed on line, DO or not
			if wild {
				sig = owned(sig, qname)
			}
			r.an = append(r.an, item{rr: sig, req: true})
			if wild {
				e.wildProof(r, z, qname)
			}
			return nil
		}
	}
	if qtype == typeRRSIG && len(n.sigs) > 0 {
		// one RRSIG set, that of the lowest covered type, as knotd answers
		t := sortedSigTypes(n)[0]
		sig := n.sigs[t]
		if wild {
			sig = owned(sig, qname)
		}
		r.an = append(r.an, item{rr: sig, req: true})
		if wild {
			e.wildProof(r, z, qname)
		}
		return nil
	}
	if qtype == typeANY && !n.empty() {
		for _, t := range sortedTypes(n) {
			if t == typeNSEC3 || (t == typeNSEC && !r.do) {
				continue
			}
			r.an = append(r.an, get(t))
			if !e.opt.FullANY {
				break
			}
		}
		for _, it := range r.an {
			e.additional(r, z, it.rr)
		}
		if wild {
			e.wildProof(r, z, qname)
		}
		return nil
	}
	if s := n.sets[qtype]; s != nil && qtype != typeANY {
		it := get(qtype)
		r.an = append(r.an, it)
		e.additional(r, z, it.rr)
		if wild {
			e.wildProof(r, z, qname)
		}
		return nil
	}
	if qtype == typeNSEC && z.online != nil && z.online.nsecAnswer(r, n, qname, wild) {
		return nil
	}
	// NODATA (RFC 2308 §2.2)
	e.negative(r, z)
	if r.do {
		if wild && z.nsec3 != nil { // closest encloser proof (RFC 5155 §7.2.5)
			e.addNSEC3(r, z.nsec3.match(parent(n.key)))
		}
		e.nodataProof(r, z, n, qname, wild)
		if wild {
			e.wildProof(r, z, qname)
		}
	}
	return nil
}

// nxName handles a name that does not exist: below the closest encloser
// ce a wildcard may match (RFC 4592), else NXDOMAIN.
func (e *Engine) nxName(r *result, z *Zone, qname, lq []byte, ce *node, nextCloser []byte, qtype uint16) []byte {
	lce := ce.key
	wname := append([]byte{1, '*'}, lce...)
	if w := z.nodes[string(wname)]; w != nil {
		return e.found(r, z, w, qname, qtype, true)
	}
	r.rcode = rcodeNXDomain
	e.negative(r, z)
	if !r.do {
		return nil
	}
	if z.online != nil {
		z.online.nxdomain(r, qname, nextCloser, lce)
		return nil
	}
	if z.nsec3 != nil {
		e.addNSEC3(r, z.nsec3.match(lce))
		e.addNSEC3(r, z.nsec3.cover(nextCloser))
		e.addNSEC3(r, z.nsec3.cover(wname))
		return nil
	}
	e.addNSEC(r, z.coverNSEC(lq))
	e.addNSEC(r, z.coverNSEC(wname))
	return nil
}

// dname answers through the DNAME at node d (RFC 6672 §2.2).
func (e *Engine) dname(r *result, z *Zone, n *node, d *dnsmsg.RRSet, qname, owner []byte, qtype uint16) []byte {
	r.an = append(r.an, item{rr: d, sig: z.sig(r, n, typeDNAME, nil, false), req: true})
	prefix := qname[:len(qname)-len(owner)]
	target := append(append([]byte{}, prefix...), d.RData[0]...)
	if len(target) > 255 {
		r.rcode = rcodeYXDomain
		return nil
	}
	c := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: qname}, Type: typeCNAME, Class: classIN, TTL: d.TTL, RData: [][]byte{target}}
	r.an = append(r.an, item{rr: c, req: true})
	if qtype == typeCNAME {
		return nil // the synthesised CNAME answers the question
	}
	return target
}

// referral answers with the delegation at cut (RFC 1034 §4.3.2 3b): NS in
// authority, glue in additional, no AA unless an answer came first.
func (e *Engine) referral(r *result, z *Zone, cut *node) {
	if len(r.an) == 0 {
		r.aa = false
	}
	ns := cut.sets[typeNS]
	r.ns = append(r.ns, item{rr: ns, req: true})
	if r.do {
		if ds := cut.sets[typeDS]; ds != nil {
			r.ns = append(r.ns, item{rr: ds, sig: z.sig(r, cut, typeDS, nil, false), req: true})
		} else if z.online != nil {
			z.online.nodata(r, cut, nil, false)
		} else if nsec := cut.sets[typeNSEC]; nsec != nil {
			r.ns = append(r.ns, item{rr: nsec, sig: cut.sigs[typeNSEC], req: true})
		} else if z.nsec3 != nil {
			lc := cut.key
			if m := z.nsec3.match(lc); m != nil {
				e.addNSEC3(r, m)
			} else {
				e.optOutProof(r, z, lc)
			}
		}
	}
	lcut := cut.key
	for _, rd := range ns.RData {
		var tb [256]byte
		t := lower(&tb, rd)
		if !dnsmsg.NameWithin(t, z.Origin) {
			continue
		}
		g := z.nodes[string(t)]
		if g == nil {
			continue
		}
		req := dnsmsg.NameWithin(t, lcut) // in-domain glue (RFC 9471)
		for _, typ := range [...]uint16{typeA, typeAAAA} {
			if s := g.sets[typ]; s != nil && !r.has(r.ar, s) {
				r.ar = append(r.ar, item{rr: s, sig: z.sig(r, g, typ, nil, false), req: req})
			}
		}
	}
}

// optOutProof proves with NSEC3 that no secure delegation exists at name:
// the closest provable encloser and the opt-out span over the next closer.
func (e *Engine) optOutProof(r *result, z *Zone, name []byte) {
	next := name
	for p := parent(name); p != nil && len(p) >= len(z.Origin); p = parent(p) {
		if m := z.nsec3.match(p); m != nil {
			e.addNSEC3(r, m)
			e.addNSEC3(r, z.nsec3.cover(next))
			return
		}
		next = p
	}
}

// additional adds the addresses of the names an NS, MX or SRV set points
// to, when they are in the zone (RFC 1034 §4.3.2 step 6).
func (e *Engine) additional(r *result, z *Zone, rr *dnsmsg.RRSet) {
	if rr == nil {
		return
	}
	for _, rd := range rr.RData {
		var t []byte
		switch rr.Type {
		case typeNS:
			t = rd
		case typeMX:
			if len(rd) > 2 {
				t = rd[2:]
			}
		case typeSRV:
			if len(rd) > 6 {
				t = rd[6:]
			}
		default:
			return
		}
		var tb [256]byte
		lt := lower(&tb, t)
		if !dnsmsg.NameWithin(lt, z.Origin) {
			continue
		}
		g := z.nodes[string(lt)]
		if g == nil {
			continue
		}
		for _, typ := range [...]uint16{typeA, typeAAAA} {
			if s := g.sets[typ]; s != nil && !r.has(r.ar, s) {
				r.ar = append(r.ar, item{rr: s, sig: z.sig(r, g, typ, nil, false)})
			}
		}
	}
}

// negative puts the SOA in authority with the negative TTL of RFC 2308
// §5: the lesser of the SOA's TTL and its MINIMUM.
func (e *Engine) negative(r *result, z *Zone) {
	soa := z.soa
	_, _, nums, _ := dnsmsg.SOAFields(soa.RData[0])
	if nums[4] < soa.TTL {
		c := *soa
		c.TTL = nums[4]
		soa = &c
	}
	sig := z.sig(r, z.nodes[string(z.Origin)], typeSOA, nil, false)
	if sig != nil && sig.TTL > soa.TTL {
		c := *sig
		c.TTL = soa.TTL
		sig = &c
	}
	// the SOA leads the authority section, before proofs gathered earlier
	// in a chain (as knotd orders them)
	r.ns = append([]item{{rr: soa, sig: sig, req: true}}, r.ns...)
}

// nodataProof proves that n has no set of the asked type.
func (e *Engine) nodataProof(r *result, z *Zone, n *node, qname []byte, wild bool) {
	if z.online != nil {
		z.online.nodata(r, n, qname, wild)
		return
	}
	if z.nsec3 != nil {
		m := z.nsec3.match(n.key)
		if m != nil {
			e.addNSEC3(r, m)
		} else {
			e.optOutProof(r, z, n.key)
		}
		return
	}
	if n.sets[typeNSEC] != nil {
		e.addNSEC(r, n)
		return
	}
	e.addNSEC(r, z.coverNSEC(n.key)) // empty non-terminal
}

// wildProof proves that qname itself does not exist (a wildcard answer).
func (e *Engine) wildProof(r *result, z *Zone, qname []byte) {
	if !r.do {
		return
	}
	var lb [256]byte
	lq := lower(&lb, qname)
	if z.online != nil {
		z.online.wildProof(r, lq)
		return
	}
	if z.nsec3 != nil {
		// the next closer name: qname cut to one label below the closest encloser
		nc := lq
		for p := parent(lq); p != nil; p = parent(p) {
			if z.nodes[string(p)] != nil {
				break
			}
			nc = p
		}
		e.addNSEC3(r, z.nsec3.cover(nc))
		return
	}
	e.addNSEC(r, z.coverNSEC(lq))
}

func (e *Engine) addNSEC(r *result, n *node) {
	if n == nil {
		return
	}
	s := n.sets[typeNSEC]
	if s == nil || r.has(r.ns, s) || r.has(r.an, s) {
		return
	}
	r.ns = append(r.ns, item{rr: s, sig: n.sigs[typeNSEC], req: true})
}

func (e *Engine) addNSEC3(r *result, n *node) {
	if n == nil {
		return
	}
	s := n.sets[typeNSEC3]
	if s == nil || r.has(r.ns, s) {
		return
	}
	r.ns = append(r.ns, item{rr: s, sig: n.sigs[typeNSEC3], req: true})
}

// coverNSEC returns the node whose NSEC covers (or matches) name: the
// greatest NSEC owner not after it in canonical order.
func (z *Zone) coverNSEC(name []byte) *node {
	if len(z.sorted) == 0 {
		return nil
	}
	lo, hi := 0, len(z.sorted)
	for lo < hi {
		m := (lo + hi) / 2
		if dnsmsg.CompareNames(z.sorted[m], name) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := lo - 1
	if i < 0 {
		i = len(z.sorted) - 1
	}
	return z.nodes[string(z.sorted[i])]
}

// sig returns the RRSIGs of n's set of type t: those of the file, or for
// an online-signed zone (sign.go) signatures made now, when the answer has
// DO and the set is authoritative. qname and wild say that the set answers
// qname through the wildcard n.
func (z *Zone) sig(r *result, n *node, t uint16, qname []byte, wild bool) *dnsmsg.RRSet {
	if z.online != nil {
		return z.online.sig(r, n, t, qname, wild)
	}
	return n.sigs[t]
}

// sortedTypes returns the types of n's sets in ascending order.
func sortedTypes(n *node) []uint16 {
	ts := make([]uint16, 0, len(n.sets))
	for t := range n.sets {
		ts = append(ts, t)
	}
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j] < ts[j-1]; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
	return ts
}

var _ = binary.BigEndian

func sortedSigTypes(n *node) []uint16 {
	ts := make([]uint16, 0, len(n.sigs))
	for t := range n.sigs {
		ts = append(ts, t)
	}
	slicesSort(ts)
	return ts
}

// lower writes w lowercased into b and returns that slice (w must be a
// wire name, at most 255 bytes).
func lower(b *[256]byte, w []byte) []byte {
	n := copy(b[:], w)
	for i := 0; i < n; i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return b[:n]
}

package authority

import (
	"bytes"
	"fmt"
	"slices"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// typeDNSKEY is the DNSKEY type (RFC 4034 §2).
const typeDNSKEY uint16 = 48

// online is the part of a zone signed on line: its Signer and what the
// answers need of the zone.
type online struct {
	s        *Signer
	z        *Zone
	occluded map[*node]bool // below a delegation or a DNAME: never signed
	negTTL   uint32         // NSEC TTL: min(SOA TTL, MINIMUM) (RFC 9077)
	covers   sigCache       // white lies by the name they cover (refresh unused)
	names    [][]byte       // every name of the zone (ENTs too), canonical order
}

// coverCacheEntries is how many white lies a zone keeps made.
const coverCacheEntries = 4096

// Sign makes z a zone signed on line by s (nil: a static zone again):
// answers with DO get RRSIGs made as they are asked for, and denial
// proofs made for the question (s's Denial); Transfer signs the whole zone
// with an NSEC chain. Keys of s missing from the zone's DNSKEY set are
// added to it (TTL of the set, else of the SOA). The zone must carry no
// RRSIG, NSEC or NSEC3 records of its own. Call it before the zone is
// served (Engine.Add); a Load of the same origin keeps the Signer.
func (z *Zone) Sign(s *Signer) error {
	if s == nil {
		z.online = nil
		return nil
	}
	if !bytes.Equal(s.origin, z.Origin) {
		return fmt.Errorf("zone %s: the signer is for %s", nameText(z.Origin), nameText(s.origin))
	}
	if z.Signed {
		return fmt.Errorf("zone %s carries RRSIGs: serve it as signed, or remove them to sign it on line", nameText(z.Origin))
	}
	if len(z.sorted) > 0 || z.nsec3 != nil {
		return fmt.Errorf("zone %s carries NSEC or NSEC3 records: remove them to sign it on line", nameText(z.Origin))
	}
	apex := z.nodes[string(z.Origin)]
	old := apex.sets[typeDNSKEY]
	ks := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: apex.name}, Type: typeDNSKEY, Class: classIN, TTL: z.soa.TTL}
	if old != nil {
		ks = old.Copy()
	}
	for _, k := range s.keys {
		rd := k.RData()
		i := -1
		for j, o := range ks.RData {
			if len(o) == len(rd) && bytes.Equal(o[3:], rd[3:]) {
				i = j
			}
		}
		switch {
		case i < 0:
			ks.Add(rd)
		case !bytes.Equal(ks.RData[i][:3], rd[:3]):
			return fmt.Errorf("zone %s: key %d has flags %d, its DNSKEY in the zone %d", nameText(z.Origin),
				k.Tag(), k.Flags, uint16(ks.RData[i][0])<<8|uint16(ks.RData[i][1]))
		}
	}
	apex.sets[typeDNSKEY] = ks
	o := &online{s: s, z: z, occluded: map[*node]bool{}}
	for _, n := range z.nodes {
		for p := parent(n.key); p != nil && len(p) > len(z.Origin); p = parent(p) {
			if a := z.nodes[string(p)]; a != nil && (a.cut || a.sets[typeDNAME] != nil) {
				o.occluded[n] = true
				break
			}
		}
	}
	_, _, nums, _ := dnsmsg.SOAFields(z.soa.RData[0])
	o.negTTL = min(z.soa.TTL, nums[4])
	o.covers.init(coverCacheEntries)
	for k := range z.nodes {
		o.names = append(o.names, []byte(k))
	}
	slices.SortFunc(o.names, dnsmsg.CompareNames)
	z.online = o
	return nil
}

// Signer returns the zone's online Signer, nil for a static zone.
func (z *Zone) Signer() *Signer {
	if z.online == nil {
		return nil
	}
	return z.online.s
}

// DNSKEY returns the zone's DNSKEY set (nil if none).
func (z *Zone) DNSKEY() *dnsmsg.RRSet { return z.nodes[string(z.Origin)].sets[typeDNSKEY] }

// signs reports whether n's set of type t is authoritative data that gets
// an RRSIG: not below a cut (glue) or a DNAME, at a cut only DS and NSEC.
func (o *online) signs(n *node, t uint16) bool {
	return t != typeRRSIG && !o.occluded[n] && (!n.cut || t == typeDS || t == typeNSEC)
}

// sign returns the RRSIGs of rr, nil when signing failed (the answer goes
// out unsigned and the failure is counted).
func (o *online) sign(rr *dnsmsg.RRSet) *dnsmsg.RRSet {
	sig, err := o.s.Sign(rr)
	if err != nil {
		return nil
	}
	return sig
}

// sig is Zone.sig for the zone: n's set of type t signed now when the
// answer has DO. With compact denial a wildcard answer is signed under the
// question's name, as if that existed.
func (o *online) sig(r *result, n *node, t uint16, qname []byte, wild bool) *dnsmsg.RRSet {
	rr := n.sets[t]
	if !r.do || rr == nil || !o.signs(n, t) {
		return nil
	}
	if wild && o.s.opt.Denial == Compact {
		rr = owned(rr, qname)
	}
	return o.sign(rr)
}

// anyRRSIG answers qtype RRSIG: the signatures of n's lowest signed type
// (as knotd answers RRSIG from a signed zone), DO or not; nil if n has no
// set that is signed.
func (o *online) anyRRSIG(n *node) *dnsmsg.RRSet {
	for _, t := range sortedTypes(n) {
		if o.signs(n, t) {
			return o.sign(n.sets[t])
		}
	}
	return nil
}

// types returns the type bit map list of n's NSEC: its sets (at a cut NS
// and DS only), without NSEC and RRSIG.
func (o *online) types(n *node) []uint16 {
	ts := sortedTypes(n)
	if n.cut {
		out := ts[:0]
		for _, t := range ts {
			if t == typeNS || t == typeDS {
				out = append(out, t)
			}
		}
		ts = out
	}
	return ts
}

// addNSEC puts nsec and its RRSIGs in authority, once per owner.
func (o *online) addNSEC(r *result, nsec *dnsmsg.RRSet) {
	if nsec == nil {
		return
	}
	for _, it := range r.ns {
		if it.rr.Type == typeNSEC && foldEqual(it.rr.Owner.Wire, nsec.Owner.Wire) {
			return
		}
	}
	r.ns = append(r.ns, item{rr: nsec, sig: o.sign(nsec), req: true})
}

// cover returns the white lie covering name and its subtree (name is the
// next closer name of a proof); its bitmap is that of the owner when the
// owner happens to exist.
func (o *online) cover(name []byte) *dnsmsg.RRSet {
	if e, ok := o.covers.get(name); ok {
		return e.sig
	}
	nsec := o.makeCover(name)
	if nsec != nil {
		o.covers.put(name, sigEntry{sig: nsec})
	}
	return nsec
}

func (o *online) makeCover(name []byte) *dnsmsg.RRSet {
	if owner := o.shortOwner(name); owner != nil {
		return dnssec.NSEC(owner, subtreeEnd(name), o.negTTL, []uint16{typeRRSIG, typeNSEC})
	}
	nsec := o.s.CoverNSEC(name, o.negTTL)
	if nsec == nil {
		return nil
	}
	if n := o.z.nodes[string(nsec.Owner.Wire)]; n != nil {
		nsec = dnssec.NSEC(nsec.Owner.Wire, nsec.RData[0][:validName(nsec.RData[0])], o.negTTL,
			append(o.types(n), typeNSEC, typeRRSIG))
	}
	return nsec
}

// shortOwner returns a short owner for the white lie covering nc (a name
// that does not exist, lowercased): nc's first label with its last octet
// decremented and \255 appended ("nx" gives "nw\255"), which sorts before
// nc and after every name before it, when no name of the zone lies
// between the two (checked against the zone's sorted names); nil
// otherwise (the RFC 4471 predecessor, 255 bytes long, is used then).
func (o *online) shortOwner(nc []byte) []byte {
	if len(nc) < 2 {
		return nil
	}
	l := int(nc[0])
	label, rest := nc[1:1+l], nc[1+l:]
	last := label[l-1]
	if last == 0 || l >= 63 || len(nc)+1 > 255 {
		return nil
	}
	c := last - 1
	if c >= 'A' && c <= 'Z' { // would sort as lowercase
		c = 'A' - 1
	}
	x := make([]byte, 0, len(nc)+1)
	x = append(x, byte(l+1))
	x = append(x, label[:l-1]...)
	x = append(x, c, 0xff)
	x = append(x, rest...)
	// the greatest name of the zone before nc must come before x
	i, _ := slices.BinarySearchFunc(o.names, nc, dnsmsg.CompareNames)
	if i > 0 && dnsmsg.CompareNames(o.names[i-1], x) >= 0 {
		return nil
	}
	return x
}

// nxdomain proves that qname does not exist (the SOA is in authority
// already): the next closer name nc is covered and so is the wildcard at
// the closest encloser ce (both lowercased); with compact denial, NOERROR
// and one NSEC at qname with NXNAME.
func (o *online) nxdomain(r *result, qname, nc, ce []byte) {
	if o.s.opt.Denial == Compact {
		r.rcode = rcodeNoError
		o.addNSEC(r, o.s.NXNameNSEC(qname, o.negTTL))
		return
	}
	o.addNSEC(r, o.cover(nc))
	o.addNSEC(r, o.cover(append([]byte{1, '*'}, ce...)))
}

// nodata proves that n has no set of the asked type: an NSEC at n listing
// its types (at the wildcard's own name for a wildcard answer, whose
// qname the wildcard proof then covers; at qname itself with compact
// denial).
func (o *online) nodata(r *result, n *node, qname []byte, wild bool) {
	owner := n.name
	if wild && o.s.opt.Denial == Compact {
		owner = qname
	}
	o.addNSEC(r, o.s.MatchNSEC(owner, o.types(n), o.negTTL))
}

// wildProof proves that qname (lowercased) does not exist for a wildcard
// answer: its next closer name is covered. Compact denial signs wildcard
// answers as the name's own and needs none.
func (o *online) wildProof(r *result, lq []byte) {
	if o.s.opt.Denial == Compact {
		return
	}
	nc := lq
	for p := parent(lq); p != nil; p = parent(p) {
		if o.z.nodes[string(p)] != nil {
			break
		}
		nc = p
	}
	o.addNSEC(r, o.cover(nc))
}

// nsecAnswer answers qtype NSEC at an existing name with the NSEC the
// zone would prove its types with (a NODATA answer would deny the NSEC
// its own bitmap lists). false for a wildcard match with white lies: the
// name does not exist and the NODATA path proves that.
func (o *online) nsecAnswer(r *result, n *node, qname []byte, wild bool) bool {
	if wild && o.s.opt.Denial != Compact {
		return false
	}
	if o.occluded[n] {
		return false
	}
	owner := n.name
	if wild {
		owner = qname
	}
	nsec := o.s.MatchNSEC(owner, o.types(n), o.negTTL)
	it := item{rr: nsec, req: true}
	if r.do {
		it.sig = o.sign(nsec)
	}
	r.an = append(r.an, it)
	return true
}

// transferSets returns the zone signed whole for AXFR: the SOA first and
// last, each node's sets, an NSEC chain through every authoritative name
// (the apex, names with data, delegations; not glue, not empty
// non-terminals) with the NSEC TTL, and an RRSIG for every authoritative
// set and NSEC.
func (o *online) transferSets() ([]*dnsmsg.RRSet, error) {
	z := o.z
	nodes := z.sortedNodes()
	var chain []*node
	for _, n := range nodes {
		if !o.occluded[n] {
			chain = append(chain, n)
		}
	}
	nsecs := make(map[*node]*dnsmsg.RRSet, len(chain))
	for i, n := range chain {
		next := chain[(i+1)%len(chain)]
		nsecs[n] = dnssec.NSEC(n.name, next.name, o.negTTL, append(o.types(n), typeNSEC, typeRRSIG))
	}
	apex := z.nodes[string(z.Origin)]
	sets := []*dnsmsg.RRSet{z.soa}
	for _, n := range nodes {
		var sigs []*dnsmsg.RRSet
		for _, t := range sortedTypes(n) {
			rr := n.sets[t]
			if !(n == apex && t == typeSOA) {
				sets = append(sets, rr)
			}
			if o.signs(n, t) {
				sig, err := o.s.Sign(rr)
				if err != nil {
					return nil, err
				}
				sigs = append(sigs, sig)
			}
		}
		if nsec := nsecs[n]; nsec != nil {
			sets = append(sets, nsec)
			sig, err := o.s.Sign(nsec)
			if err != nil {
				return nil, err
			}
			sigs = append(sigs, sig)
		}
		sets = append(sets, sigs...)
	}
	return append(sets, z.soa), nil
}

package validator

import (
	"bytes"
	"time"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// nsecRec is one validated NSEC record.
type nsecRec struct {
	owner []byte // lower-case
	dnssec.NSECRecord
}

// nsec3Rec is one validated NSEC3 record.
type nsec3Rec struct {
	hash []byte // the owner's first label, decoded
	dnssec.NSEC3Record
}

// denial is the NSEC or NSEC3 records of a response's authority section,
// validated with the keys of zone, and what they prove.
type denial struct {
	st    *state
	zone  []byte
	nsec  []nsecRec
	nsec3 []nsec3Rec
	ttl   time.Duration // the least TTL of the records
	res   Result        // Secure, or why the records cannot be used
	bad   Result        // lenient collect: the first set left out (signature failed), Security 0 if none
	cache map[string][]byte
}

// collect validates every NSEC and NSEC3 set in m's authority section with
// the keys of zone. Any that fails makes the denial Bogus; NSEC3 with more
// iterations than the cap (signatures checked first) make it Insecure with
// EDE 27; NSEC3 of unknown hash algorithms are left out (RFC 5155 §8.1).
func (st *state) collect(m *view, zone []byte, keys []*dnssec.Key) *denial {
	return st.collectSets(m, zone, keys, false)
}

// collectSets is collect; lenient leaves out the sets whose signatures
// fail (the first failure in d.bad) instead of failing the denial: a DS
// denial may carry an unrelated, badly signed NSEC that kresd never looks
// at (it asks DS only at zone cuts; Deckard's black_ent).
func (st *state) collectSets(m *view, zone []byte, keys []*dnssec.Key, lenient bool) *denial {
	d := &denial{st: st, zone: zone, ttl: maxCacheTTL, res: Result{Security: Secure, EDE: EDENone}}
	iterations := -1
	for _, rs := range m.sets {
		if rs.section != dnsmsg.SectionNS || (rs.set.Type != dnssec.TypeNSEC && rs.set.Type != dnssec.TypeNSEC3) {
			continue
		}
		if !within(rs.low, zone) {
			continue // another zone's records: not evidence here
		}
		sig, res := st.verifySet(rs, zone, keys)
		if res.Security != Secure {
			if lenient && res.Security == Bogus {
				if d.bad.Security == Indeterminate {
					d.bad = res
				}
				continue
			}
			d.res = res
			return d
		}
		d.ttl = min(d.ttl, st.ttl(rs.set.TTL, sig))
		for _, rd := range rs.set.RData {
			if rs.set.Type == dnssec.TypeNSEC {
				r, err := dnssec.ParseNSEC(rd)
				if err != nil {
					d.res = bogus(EDEDNSSECBogus, "NSEC %s: %v", nameText(rs.low), err)
					return d
				}
				d.nsec = append(d.nsec, nsecRec{rs.low, r})
				continue
			}
			r, err := dnssec.ParseNSEC3(rd)
			if err != nil {
				d.res = bogus(EDEDNSSECBogus, "NSEC3 %s: %v", nameText(rs.low), err)
				return d
			}
			h, ok := dnssec.DecodeNSEC3Label(rs.low[1 : 1+rs.low[0]])
			if !ok || !sameName(parent(rs.low), zone) || len(h) != len(r.Next) {
				d.res = bogus(EDEDNSSECBogus, "NSEC3 %s: owner is not a hash in %s", nameText(rs.low), nameText(zone))
				return d
			}
			if r.Hash != dnssec.NSEC3HashSHA1 {
				continue
			}
			iterations = max(iterations, int(r.Iterations))
			d.nsec3 = append(d.nsec3, nsec3Rec{h, r})
		}
	}
	if iterations > st.v.cfg.IterationsCap && len(d.nsec) == 0 {
		d.res = insecure(EDENSEC3Iterations, "NSEC3 of %s has %d iterations, above the cap of %d",
			nameText(zone), iterations, st.v.cfg.IterationsCap)
	}
	return d
}

// none reports whether the denial holds no usable record.
func (d *denial) none() bool { return len(d.nsec) == 0 && len(d.nsec3) == 0 }

// --- NSEC (RFC 4035 §5.4) ---

// nsecMatch returns the NSEC owned by name.
func (d *denial) nsecMatch(name []byte) *nsecRec {
	for i := range d.nsec {
		if sameName(d.nsec[i].owner, name) {
			return &d.nsec[i]
		}
	}
	return nil
}

// nsecCover returns an NSEC whose span covers name (name does not exist),
// leaving out NSECs of a delegation or DNAME above name, which speak for
// the parent side only.
func (d *denial) nsecCover(name []byte) *nsecRec {
	for i := range d.nsec {
		n := &d.nsec[i]
		if !nsecCovers(n.owner, n.Next, name) {
			continue
		}
		if below(name, n.owner) && (dnssec.HasType(n.Bitmap, typeDNAME) ||
			dnssec.HasType(n.Bitmap, typeNS) && !dnssec.HasType(n.Bitmap, typeSOA)) {
			continue
		}
		return n
	}
	return nil
}

// nsecEncloser is the closest encloser of name that NSEC n (which covers
// it) implies: the longer of name's common ancestors with n's owner and next.
func nsecEncloser(n *nsecRec, name []byte) []byte {
	return suffix(name, max(commonLabels(name, n.owner), commonLabels(name, n.Next)))
}

// noType reports whether a bit map proves qtype absent (and no CNAME).
func noType(bm []byte, qtype uint16) bool {
	return !dnssec.HasType(bm, qtype) && !dnssec.HasType(bm, typeCNAME)
}

// parentSide reports whether a bit map is that of a delegation seen from
// the parent (NS without SOA): it proves nothing about the child's data.
func parentSide(bm []byte) bool {
	return dnssec.HasType(bm, typeNS) && !dnssec.HasType(bm, typeSOA)
}

// --- NSEC3 (RFC 5155 §8) ---

// hashOf returns the NSEC3 hash of name with r's parameters (memoised).
func (d *denial) hashOf(name []byte, r *nsec3Rec) []byte {
	key := string(name) + "\x00" + string(r.Salt) + string([]byte{byte(r.Iterations >> 8), byte(r.Iterations)})
	if h, ok := d.cache[key]; ok {
		return h
	}
	if d.cache == nil {
		d.cache = map[string][]byte{}
	}
	h := dnssec.NSEC3Hash(name, r.Hash, r.Iterations, r.Salt)
	d.cache[key] = h
	return h
}

// n3Match returns the NSEC3 whose owner is the hash of name.
func (d *denial) n3Match(name []byte) *nsec3Rec {
	for i := range d.nsec3 {
		r := &d.nsec3[i]
		if bytes.Equal(d.hashOf(name, r), r.hash) {
			return r
		}
	}
	return nil
}

// n3Cover returns an NSEC3 whose span covers the hash of name.
func (d *denial) n3Cover(name []byte) *nsec3Rec {
	for i := range d.nsec3 {
		r := &d.nsec3[i]
		h := d.hashOf(name, r)
		if bytes.Compare(r.hash, r.Next) < 0 {
			if bytes.Compare(r.hash, h) < 0 && bytes.Compare(h, r.Next) < 0 {
				return r
			}
		} else if bytes.Compare(r.hash, h) < 0 || bytes.Compare(h, r.Next) < 0 { // the last span wraps
			return r
		}
	}
	return nil
}

// closestEncloser makes the closest encloser proof for name (RFC 5155
// §8.3): the deepest ancestor of name (name itself excluded) with a
// matching NSEC3 that is no delegation or DNAME, and an NSEC3 covering
// the next closer name. ok is false without such a proof.
func (d *denial) closestEncloser(name []byte) (ce []byte, nc *nsec3Rec, ok bool) {
	for n := labels(name) - 1; n >= labels(d.zone); n-- {
		c := suffix(name, n)
		m := d.n3Match(c)
		if m == nil {
			continue
		}
		if dnssec.HasType(m.Bitmap, typeDNAME) || parentSide(m.Bitmap) {
			return nil, nil, false
		}
		nc := d.n3Cover(suffix(name, n+1))
		return c, nc, nc != nil
	}
	return nil, nil, false
}

// --- what the records prove ---

var secure = Result{Security: Secure, EDE: EDENone}

// delegation classifies child from a denial of its DS: an insecure
// delegation (Insecure), a name inside the zone (kindNotCut), a name that
// does not exist (kindNoName), or Bogus.
func (d *denial) delegation(child []byte) (kind, Result) {
	if len(d.nsec) > 0 {
		if n := d.nsecMatch(child); n != nil {
			switch {
			case dnssec.HasType(n.Bitmap, dnssec.TypeDS):
				return 0, bogus(EDEDNSSECBogus, "DS %s denied, but its NSEC lists DS", nameText(child))
			case dnssec.HasType(n.Bitmap, typeSOA):
				return 0, bogus(EDEDNSSECBogus, "DS %s denied by the child's own NSEC", nameText(child))
			case dnssec.HasType(n.Bitmap, typeNS):
				return 0, insecure(EDENone, "%s is an unsigned delegation (NSEC)", nameText(child))
			}
			return kindNotCut, secure
		}
		if n := d.nsecCover(child); n != nil {
			if below(n.Next, child) {
				return kindNotCut, secure // an empty non-terminal
			}
			return kindNoName, secure
		}
		return 0, bogus(EDENSECMissing, "no NSEC proves the DS of %s absent", nameText(child))
	}
	if len(d.nsec3) > 0 {
		if m := d.n3Match(child); m != nil {
			switch {
			case dnssec.HasType(m.Bitmap, dnssec.TypeDS):
				return 0, bogus(EDEDNSSECBogus, "DS %s denied, but its NSEC3 lists DS", nameText(child))
			case dnssec.HasType(m.Bitmap, typeSOA):
				return 0, bogus(EDEDNSSECBogus, "DS %s denied by the child's own NSEC3", nameText(child))
			case dnssec.HasType(m.Bitmap, typeNS):
				return 0, insecure(EDENone, "%s is an unsigned delegation (NSEC3)", nameText(child))
			}
			return kindNotCut, secure
		}
		if _, nc, ok := d.closestEncloser(child); ok {
			if nc.OptOut() {
				return 0, insecure(EDENone, "%s is in an opt-out span (NSEC3)", nameText(child))
			}
			return kindNoName, secure
		}
		return 0, bogus(EDENSECMissing, "no NSEC3 proves the DS of %s absent", nameText(child))
	}
	return 0, bogus(EDENSECMissing, "no NSEC or NSEC3 proves the DS of %s absent", nameText(child))
}

// nxdomain checks the proof that name does not exist.
func (d *denial) nxdomain(name []byte) Result {
	if len(d.nsec) > 0 {
		if d.nsecMatch(name) != nil {
			return bogus(EDEDNSSECBogus, "NXDOMAIN for %s, but an NSEC is owned by it", nameText(name))
		}
		n := d.nsecCover(name)
		if n == nil {
			return bogus(EDENSECMissing, "no NSEC proves %s absent", nameText(name))
		}
		ce := nsecEncloser(n, name)
		wc := wildcardOf(ce)
		if d.nsecMatch(wc) != nil || d.nsecCover(wc) == nil {
			return bogus(EDENSECMissing, "no NSEC proves the wildcard %s absent", nameText(wc))
		}
		return secure
	}
	if len(d.nsec3) > 0 {
		ce, nc, ok := d.closestEncloser(name)
		if !ok {
			return bogus(EDENSECMissing, "no NSEC3 closest encloser proof for %s", nameText(name))
		}
		wc := wildcardOf(ce)
		if d.n3Match(wc) != nil || d.n3Cover(wc) == nil {
			// RFC 5155 §8.4: the wildcard proof is needed, opt-out or not
			return bogus(EDENSECMissing, "no NSEC3 proves the wildcard %s absent", nameText(wc))
		}
		if nc.OptOut() {
			return insecure(EDENone, "%s is in an opt-out span (NSEC3)", nameText(name))
		}
		return secure
	}
	return bogus(EDENSECMissing, "NXDOMAIN for %s without NSEC or NSEC3", nameText(name))
}

// nodata checks the proof that name has no qtype data (nor a CNAME).
func (d *denial) nodata(name []byte, qtype uint16) Result {
	bad := func(bm []byte) bool { return qtype != dnssec.TypeDS && parentSide(bm) }
	if len(d.nsec) > 0 {
		if n := d.nsecMatch(name); n != nil {
			switch {
			case !noType(n.Bitmap, qtype):
				return bogus(EDEDNSSECBogus, "NODATA for %s %s, but its NSEC lists the type", nameText(name), dnsmsg.TypeString(qtype))
			case bad(n.Bitmap), qtype == dnssec.TypeDS && dnssec.HasType(n.Bitmap, typeSOA) && len(name) > 1:
				return bogus(EDEDNSSECBogus, "NODATA for %s %s from the wrong side of a zone cut", nameText(name), dnsmsg.TypeString(qtype))
			}
			return secure
		}
		n := d.nsecCover(name)
		if n == nil {
			return bogus(EDENSECMissing, "no NSEC proves %s %s absent", nameText(name), dnsmsg.TypeString(qtype))
		}
		if below(n.Next, name) {
			return secure // an empty non-terminal
		}
		if w := d.nsecMatch(wildcardOf(nsecEncloser(n, name))); w != nil && noType(w.Bitmap, qtype) && !bad(w.Bitmap) {
			return secure // wildcard NODATA
		}
		return bogus(EDENSECMissing, "no NSEC proves %s %s absent", nameText(name), dnsmsg.TypeString(qtype))
	}
	if len(d.nsec3) > 0 {
		if m := d.n3Match(name); m != nil {
			switch {
			case !noType(m.Bitmap, qtype):
				return bogus(EDEDNSSECBogus, "NODATA for %s %s, but its NSEC3 lists the type", nameText(name), dnsmsg.TypeString(qtype))
			case bad(m.Bitmap):
				return bogus(EDEDNSSECBogus, "NODATA for %s %s from the wrong side of a zone cut", nameText(name), dnsmsg.TypeString(qtype))
			}
			return secure
		}
		ce, nc, ok := d.closestEncloser(name)
		if !ok {
			return bogus(EDENSECMissing, "no NSEC3 proves %s %s absent", nameText(name), dnsmsg.TypeString(qtype))
		}
		if qtype == dnssec.TypeDS && nc.OptOut() {
			return insecure(EDENone, "DS %s is in an opt-out span (NSEC3)", nameText(name))
		}
		if w := d.n3Match(wildcardOf(ce)); w != nil && noType(w.Bitmap, qtype) && !bad(w.Bitmap) {
			return secure // wildcard NODATA
		}
		if nc.OptOut() {
			// the next closer name may be an unsigned delegation in the
			// opt-out span: nothing is proved (kresd: insecure; RFC 5155 B.5)
			return insecure(EDENone, "%s %s: the next closer name is in an opt-out span (NSEC3)", nameText(name), dnsmsg.TypeString(qtype))
		}
		return bogus(EDENSECMissing, "no NSEC3 proves %s %s absent", nameText(name), dnsmsg.TypeString(qtype))
	}
	return bogus(EDENSECMissing, "NODATA for %s %s without NSEC or NSEC3", nameText(name), dnsmsg.TypeString(qtype))
}

// wildcard checks the proof that an answer synthesised from the wildcard
// *.ce had no closer match for name (RFC 4035 §5.3.4, RFC 5155 §8.8).
func (d *denial) wildcard(name, ce []byte) Result {
	if len(d.nsec) > 0 {
		if n := d.nsecCover(name); n != nil && sameName(nsecEncloser(n, name), ce) {
			return secure
		}
		return bogus(EDENSECMissing, "no NSEC proves the wildcard answer for %s", nameText(name))
	}
	if len(d.nsec3) > 0 {
		if d.n3Cover(suffix(name, labels(ce)+1)) != nil {
			return secure
		}
		return bogus(EDENSECMissing, "no NSEC3 proves the wildcard answer for %s", nameText(name))
	}
	return bogus(EDENSECMissing, "a wildcard answer for %s without NSEC or NSEC3", nameText(name))
}

package validator

import (
	"context"
	"strconv"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// Validate classifies answer, the response to q fetched with DO and CD
// set, and returns the verdict. It fetches the DS and DNSKEY sets along the
// chain of trust through fetch (caching validated key sets by TTL): the
// answer's RR sets, each link of a CNAME or DNAME chain from the question
// name, are checked with the keys of the zone that signed them; a
// wildcard expansion needs the proof that no closer name exists; a
// NXDOMAIN or NODATA answer needs its NSEC or NSEC3 proof; unsigned data
// needs a proof that its zone is unsigned (an insecure delegation). The
// worst verdict of the parts is the answer's. A nil q takes the question
// of answer. answer is parsed if it is not already.
func (v *Validator) Validate(ctx context.Context, q, answer *dnsmsg.Packet, fetch Fetcher) Result {
	now := v.clk.Now()
	st := &state{v: v, ctx: ctx, fetch: fetch, now: now, now32: uint32(now.Unix())}
	a, err := parsed(answer)
	if err != nil {
		return bogus(EDEOther, "the answer is malformed")
	}
	qname, qtype, qclass, ok := a.Question()
	if q != nil {
		n, t, c, qok := q.Question()
		if !qok || !ok || t != qtype || c != qclass || !sameName(n, qname) {
			return bogus(EDEOther, "the answer does not match the question")
		}
	}
	if !ok {
		return Result{Security: Indeterminate, Reason: "no question", EDE: EDENone}
	}
	if qclass != dnsmsg.ClassINET {
		return Result{Security: Indeterminate, Reason: "class " + dnsmsg.ClassString(qclass) + " is not validated", EDE: EDENone}
	}
	if qtype == dnssec.TypeRRSIG {
		return Result{Security: Indeterminate, Reason: "RRSIG queries are not validated", EDE: EDENone}
	}
	rc := a.Rcode()
	if rc != 0 && rc != 3 {
		return Result{Security: Indeterminate, Reason: "rcode " + rcodeText(rc) + ": nothing to validate", EDE: EDENone}
	}
	return st.answer(newView(a), dnsmsg.LowerName(qname), qtype, rc == 3)
}

// verdict accumulates the parts of a validation: the worst one wins
// (Bogus, then Indeterminate, then Insecure, then Secure).
type verdict struct{ res Result }

func (vd *verdict) add(r Result) {
	rank := map[Security]int{Secure: 0, Insecure: 1, Indeterminate: 2, Bogus: 3}
	if rank[r.Security] > rank[vd.res.Security] {
		vd.res = r
	}
}

// answer follows the chain from qname through the answer section.
func (st *state) answer(m *view, qname []byte, qtype uint16, nxdomain bool) Result {
	vd := verdict{res: secure}
	name := qname
	if qtype == typeANY {
		found := false
		for _, rs := range m.sets {
			if rs.section == dnsmsg.SectionAN && sameName(rs.low, name) {
				found = true
				if vd.add(st.positive(m, rs, name)); vd.res.Security == Bogus {
					return vd.res
				}
			}
		}
		if found {
			return vd.res
		}
	}
	for range maxChain {
		if rs := m.find(dnsmsg.SectionAN, name, typeCNAME); rs != nil {
			if d, target := st.dname(m, name); d != nil && len(rs.sigs) == 0 {
				// A CNAME synthesised from a DNAME comes unsigned (RFC
				// 6672 §5.3.1, RFC 4035 §3.2.3): the DNAME's signature
				// covers it when it is the substitution exactly.
				if vd.add(st.positive(m, d, d.low)); vd.res.Security == Bogus {
					return vd.res
				}
				if target == nil {
					return bogus(EDEDNSSECBogus, "DNAME %s: the substitution is too long", nameText(d.low))
				}
				cn, err := dnsmsg.NameFromWire(rs.set.RData[0])
				if err != nil || len(rs.set.RData) != 1 || !sameName(dnsmsg.LowerName(cn), target) {
					return bogus(EDEDNSSECBogus, "the CNAME of %s is not the substitution of the DNAME %s", nameText(name), nameText(d.low))
				}
				if qtype == typeCNAME {
					return vd.res
				}
				name = target
				continue
			}
		}
		if qtype != typeANY {
			if rs := m.find(dnsmsg.SectionAN, name, qtype); rs != nil {
				vd.add(st.positive(m, rs, name))
				return vd.res
			}
		}
		if rs := m.find(dnsmsg.SectionAN, name, typeCNAME); rs != nil {
			if vd.add(st.positive(m, rs, name)); vd.res.Security == Bogus {
				return vd.res
			}
			target, err := dnsmsg.NameFromWire(rs.set.RData[0])
			if err != nil || len(rs.set.RData) != 1 {
				return bogus(EDEDNSSECBogus, "CNAME %s: bad target", nameText(name))
			}
			name = dnsmsg.LowerName(target)
			continue
		}
		if rs, target := st.dname(m, name); rs != nil {
			if vd.add(st.positive(m, rs, rs.low)); vd.res.Security == Bogus {
				return vd.res
			}
			if target == nil {
				return bogus(EDEDNSSECBogus, "DNAME %s: the substitution is too long", nameText(rs.low))
			}
			name = target
			continue
		}
		vd.add(st.negative(m, name, qtype, nxdomain))
		return vd.res
	}
	return bogus(EDEDNSSECBogus, "a CNAME chain of more than %d links", maxChain)
}

// dname returns a DNAME set of m's answer section owned by a strict
// ancestor of name, with the name it substitutes (nil if too long).
func (st *state) dname(m *view, name []byte) (*rrset, []byte) {
	for _, rs := range m.ofType(dnsmsg.SectionAN, typeDNAME) {
		if !below(name, rs.low) || len(rs.set.RData) != 1 {
			continue
		}
		target, err := dnsmsg.NameFromWire(rs.set.RData[0])
		if err != nil {
			return rs, nil
		}
		prefix := name[:len(name)-len(rs.low)]
		if len(prefix)+len(target) > 255 {
			return rs, nil
		}
		return rs, dnsmsg.LowerName(append(append([]byte(nil), prefix...), target...))
	}
	return nil, nil
}

// positive validates one RR set of the answer found for name.
func (st *state) positive(m *view, rs *rrset, name []byte) Result {
	owner := rs.low
	var signer []byte
	for _, sig := range rs.sigs {
		if r, err := dnssec.ParseRRSIG(sig); err == nil && within(owner, r.SignerName) {
			signer = dnsmsg.LowerName(r.SignerName)
			break
		}
	}
	if signer == nil {
		return st.unsigned(dataSide(owner, rs.set.Type), nameText(owner)+" "+dnsmsg.TypeString(rs.set.Type)+": no RRSIG")
	}
	zone, ze, res := st.walk(signer)
	if res.Security != Secure {
		return res
	}
	if !sameName(zone, signer) {
		return bogus(EDEDNSSECBogus, "%s is signed by %s, which is no zone", nameText(owner), nameText(signer))
	}
	sig, res := st.verifySet(rs, zone, ze.keys)
	if res.Security != Secure {
		return res
	}
	// A wildcard answer (RRSIG labels below the owner's) needs the proof of
	// no closer match, unless the name asked is the wildcard itself ("*"
	// not counted in the labels, RFC 4034 §3.1.3): nothing was expanded.
	if n := int(sig.Labels); n < labels(owner) && !(n == labels(owner)-1 && dnsmsg.IsWildcard(owner) && sameName(owner, name)) {
		d := st.collect(m, zone, ze.keys)
		if d.res.Security != Secure {
			return d.res
		}
		return d.wildcard(name, suffix(owner, n))
	}
	return secure
}

// dataSide is the name whose zone holds owner's data of type t: the
// parent's for a DS (RFC 4035 §5.2: the DS of a zone apex is the
// parent's), owner otherwise. An unsigned DS answer of a zone whose
// parent is outside every trust anchor is not bogus (Deckard's
// val_ds_afterprime).
func dataSide(owner []byte, t uint16) []byte {
	if t == dnssec.TypeDS && len(owner) > 1 {
		return parent(owner)
	}
	return owner
}

// unsigned is the verdict on data without signatures at owner: Insecure
// (or Indeterminate) where the chain proves the zone unsigned, else Bogus.
func (st *state) unsigned(owner []byte, what string) Result {
	zone, _, res := st.walk(owner)
	if res.Security != Secure {
		return res
	}
	return bogus(EDERRSIGsMissing, "%s, but %s is signed", what, nameText(zone))
}

// negative validates the proof that name has no qtype data: NXDOMAIN or
// NODATA, with the NSEC or NSEC3 records of the authority section.
func (st *state) negative(m *view, name []byte, qtype uint16, nxdomain bool) Result {
	var signer []byte
	for _, s := range m.signers(dnsmsg.SectionNS) {
		if within(name, s) && (signer == nil || len(s) > len(signer)) {
			signer = s
		}
	}
	what := "NODATA"
	if nxdomain {
		what = "NXDOMAIN"
	}
	if signer == nil {
		return st.unsigned(dataSide(name, qtype), what+" for "+nameText(name)+" without signed NSEC or NSEC3")
	}
	zone, ze, res := st.walk(signer)
	if res.Security != Secure {
		return res
	}
	if !sameName(zone, signer) {
		return bogus(EDEDNSSECBogus, "the denial for %s is signed by %s, which is no zone", nameText(name), nameText(signer))
	}
	if soa := m.find(dnsmsg.SectionNS, zone, typeSOA); soa != nil {
		// the SOA gives the negative TTL (RFC 2308): it must be the zone's
		if _, res := st.verifySet(soa, zone, ze.keys); res.Security != Secure {
			return res
		}
	}
	d := st.collect(m, zone, ze.keys)
	switch {
	case d.res.Security != Secure:
		return d.res
	case d.none():
		return bogus(EDENSECMissing, "%s for %s without NSEC or NSEC3", what, nameText(name))
	case nxdomain:
		return d.nxdomain(name)
	}
	return d.nodata(name, qtype)
}

// rcodeText names an rcode from dnsmsg's rcode table.
func rcodeText(rc int) string {
	for _, t := range dnsmsg.ConstTables {
		if t.Name != "rcode" {
			continue
		}
		for _, c := range t.Entries {
			if c.Value == rc {
				return c.Name
			}
		}
	}
	return strconv.Itoa(rc)
}

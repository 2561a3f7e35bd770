package authority

import (
	"bytes"
	"slices"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// Live signing of the backend profile, as pdns 4.7.3 signs the answers of
// a backend with DNSSEC keys and no PRESIGNED metadata (NSEC mode):
//
//   - the DNSKEY set at the apex is made from the zone's published keys
//     (TTL: the SOA's MINIMUM), also without DO, and goes into ANY answers at
//     the apex with DO, with the apex's NSEC; so do CDS and CDNSKEY when the
//     backend publishes them (signed by every key, as pdns signs them);
//   - with DO every authoritative RR set of the answer, authority and
//     additional sections gets an RRSIG (not a delegation's NS, glue or
//     records with auth false): the DNSKEY set by the KSKs, the rest by the
//     ZSKs; a wildcard answer gets the wildcard's signature;
//   - denial uses the backend's NSEC chain (BeforeAndAfter): NODATA the NSEC
//     at the name (before/after of the name), NXDOMAIN the NSEC covering the
//     name and the one covering the wildcard at the closest encloser, a
//     wildcard answer the NSEC covering the name, a wildcard NODATA that and
//     the wildcard's own, an insecure referral the NSEC at the cut, a secure
//     one its DS; each NSEC's types come from an ANY lookup of its owner
//     (records with auth true, and NS), plus NSEC and RRSIG (and DNSKEY at
//     the apex), its TTL min(SOA TTL, MINIMUM);
//   - qtype NSEC with DO at a name that exists answers the name's NSEC
//     (also at a CNAME or a delegation); ANY with DO gets the NSEC of the
//     name answered (and the DNSKEY set at the apex);
//   - a referral from a signed zone carries the cut's DS also without DO.

// BackendKeys is what a zone served from a backend is signed with.
type BackendKeys struct {
	Signer  *Signer  // the zone's active keys
	DNSKEY  [][]byte // the published keys' RDATA (the apex's DNSKEY set)
	CDS     [][]byte // CDS RDATA to publish (pdns PUBLISH-CDS metadata)
	CDNSKEY [][]byte // CDNSKEY RDATA to publish (PUBLISH-CDNSKEY)
}

// BackendDNSSEC is a Backend whose zones may be signed on line (pdns's
// dns_dnssec with dns_get_domain_keys).
type BackendDNSSEC interface {
	// Keys returns the keys of the zone at apex (lowercased wire); nil
	// when the zone is not signed on line.
	Keys(apex []byte, domainID int64) (*BackendKeys, error)
	// BeforeAndAfter returns the NSEC chain's names around qname (all
	// absolute wire names): before is qname when it is in the chain, else
	// the name before it; after the name after qname, the apex after the
	// last name.
	BeforeAndAfter(apex []byte, domainID int64, qname []byte) (before, after []byte, err error)
}

// zoneSig is a signed zone as an answer uses it.
type zoneSig struct {
	apex    []byte
	id      int64
	keys    *BackendKeys
	negTTL  uint32
	minimum uint32
}

// zoneKeys returns the signing state of the current zone (nil: unsigned),
// asking the backend once per zone and query.
func (s *bsess) zoneKeys() (*zoneSig, error) {
	bd, ok := s.b.(BackendDNSSEC)
	if !ok || s.sd.apex == nil {
		return nil, nil
	}
	apex := dnsmsg.LowerName(s.sd.apex)
	for _, e := range s.zsigs {
		if bytes.Equal(e.apex, apex) {
			return e.z, nil
		}
	}
	keys, err := bd.Keys(apex, s.sd.id)
	if err != nil {
		return nil, err
	}
	var z *zoneSig
	if keys != nil && keys.Signer != nil {
		sd, err := s.soa()
		if err != nil {
			return nil, err
		}
		z = &zoneSig{apex: apex, id: sd.id, keys: keys, negTTL: min(sd.ttl, sd.minimum), minimum: sd.minimum}
	}
	s.zsigs = append(s.zsigs, zoneSigEntry{apex: apex, z: z})
	return z, nil
}

type zoneSigEntry struct {
	apex []byte
	z    *zoneSig
}

// apexKeys returns the zone's DNSKEY records, or its CDS or CDNSKEY
// records (t), TTL the SOA's MINIMUM.
func (z *zoneSig) apexKeys(t uint16) []BackendRecord {
	rds := z.keys.DNSKEY
	switch t {
	case typeCDS:
		rds = z.keys.CDS
	case typeCDNSKEY:
		rds = z.keys.CDNSKEY
	}
	out := make([]BackendRecord, 0, len(rds))
	for _, rd := range rds {
		out = append(out, BackendRecord{Name: z.apex, Type: t, TTL: z.minimum, RData: rd, Auth: true, DomainID: z.id})
	}
	return out
}

// CDS and CDNSKEY types (RFC 7344).
const (
	typeCDS     uint16 = 59
	typeCDNSKEY uint16 = 60
)

// nsecAt returns the NSEC of the chain around name (before/after from the
// backend), its types from an ANY lookup of its owner.
func (s *bsess) nsecAt(z *zoneSig, name []byte) (BackendRecord, bool, error) {
	bd := s.b.(BackendDNSSEC)
	before, after, err := bd.BeforeAndAfter(z.apex, z.id, dnsmsg.LowerName(name))
	if err != nil || before == nil || after == nil {
		return BackendRecord{}, false, err
	}
	recs, err := s.lookup(typeANY, before, z.id, nil)
	if err != nil {
		return BackendRecord{}, false, err
	}
	types := []uint16{typeNSEC, typeRRSIG}
	for _, r := range recs {
		if r.Type == typeENT || r.Type == typeRRSIG || r.Type == typeNSEC || r.Type == typeNSEC3 {
			continue
		}
		if (r.Auth || r.Type == typeNS) && !slices.Contains(types, r.Type) {
			types = append(types, r.Type)
		}
	}
	if bytes.Equal(dnsmsg.LowerName(before), z.apex) {
		types = append(types, typeDNSKEY)
		if len(z.keys.CDS) > 0 {
			types = append(types, typeCDS)
		}
		if len(z.keys.CDNSKEY) > 0 {
			types = append(types, typeCDNSKEY)
		}
	}
	nsec := dnssec.NSEC(before, dnsmsg.LowerName(after), z.negTTL, types)
	return BackendRecord{Name: nsec.Owner.Wire, Type: typeNSEC, TTL: z.negTTL, RData: nsec.RData[0], Auth: true, DomainID: z.id}, true, nil
}

// addNSEC puts the NSEC around name into sec (once per owner).
func (s *bsess) addNSEC(sec int, z *zoneSig, name []byte) error {
	r, ok, err := s.nsecAt(z, name)
	if err != nil || !ok {
		return err
	}
	for _, o := range s.out {
		if o.rec.Type == typeNSEC && o.sec == sec && bytes.EqualFold(o.rec.Name, r.Name) {
			return nil
		}
	}
	s.out = append(s.out, outRec{sec: sec, rec: r, z: z})
	return nil
}

// signOut adds an RRSIG set after each authoritative RR set of the answer
// (with DO): sets are gathered by section, owner and type, each signed
// with its zone's keys.
func (s *bsess) signOut() {
	if !s.q.DO || len(s.out) == 0 {
		return
	}
	signed := false
	for _, o := range s.out {
		if o.z != nil {
			signed = true
			break
		}
	}
	if !signed {
		return
	}
	out := make([]outRec, 0, 2*len(s.out))
	done := make([]bool, len(s.out))
	for i, o := range s.out {
		if done[i] {
			continue
		}
		set := dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: o.rec.Name}, Type: o.rec.Type, Class: classIN, TTL: o.rec.TTL}
		for j := i; j < len(s.out); j++ {
			p := s.out[j]
			if done[j] || p.sec != o.sec || p.rec.Type != o.rec.Type || p.class != o.class || !bytes.EqualFold(p.rec.Name, o.rec.Name) {
				continue
			}
			done[j] = true
			out = append(out, p)
			set.RData = append(set.RData, p.rec.RData)
			set.TTL = min(set.TTL, p.rec.TTL)
		}
		if o.z == nil || !o.rec.Auth || o.class != 0 || o.rec.Type == typeRRSIG ||
			(o.rec.Type == typeNS && !bytes.EqualFold(o.rec.Name, o.z.apex)) {
			continue
		}
		if o.wild != nil {
			set.Owner = &dnsmsg.Name{Wire: o.wild}
		}
		sign := o.z.keys.Signer.Sign
		if o.rec.Type == typeCDS || o.rec.Type == typeCDNSKEY {
			sign = o.z.keys.Signer.SignAllKeys // as pdns: by every key
		}
		sig, err := sign(&set)
		if err != nil {
			continue // the set goes out unsigned (counted by the Signer)
		}
		for _, rd := range sig.RData {
			out = append(out, outRec{sec: o.sec, rec: BackendRecord{Name: o.rec.Name, Type: typeRRSIG, TTL: set.TTL, RData: rd, Auth: true}})
		}
	}
	s.out = out
}

// denyNoData answers NODATA for target: the SOA, and with DO the NSEC at
// target.
func (s *bsess) denyNoData(target []byte) error {
	if err := s.negative(false); err != nil {
		return err
	}
	if z := s.cur; z != nil && s.q.DO {
		return s.addNSEC(dnsmsg.SectionNS, z, target)
	}
	return nil
}

// denyNX answers NXDOMAIN for target: the SOA, and with DO the NSEC
// covering target and the one covering the wildcard wc at the closest
// encloser.
func (s *bsess) denyNX(target, wc []byte) error {
	if err := s.negative(true); err != nil {
		return err
	}
	if z := s.cur; z != nil && s.q.DO {
		if err := s.addNSEC(dnsmsg.SectionNS, z, target); err != nil {
			return err
		}
		if wc != nil {
			return s.addNSEC(dnsmsg.SectionNS, z, wc)
		}
	}
	return nil
}

// referralProof adds to a referral at cut in a signed zone the cut's DS
// records (also without DO, as pdns's addDSforNS) or, with DO, the NSEC at
// the cut (an insecure delegation).
func (s *bsess) referralProof(cut []byte) error {
	z := s.cur
	if z == nil && !s.q.DO {
		var err error
		if z, err = s.zoneKeys(); err != nil {
			return err
		}
	}
	if z == nil {
		return nil
	}
	recs, err := s.any(cut)
	if err != nil {
		return err
	}
	ds := false
	for _, r := range recs {
		if r.Type == typeDS {
			s.add(dnsmsg.SectionNS, r)
			ds = true
		}
	}
	if ds || !s.q.DO {
		return nil
	}
	return s.addNSEC(dnsmsg.SectionNS, z, cut)
}

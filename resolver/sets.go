package resolver

import (
	"encoding/binary"

	"ljdns/dnsmsg"
)

// DNS types the resolver handles by number.
const (
	typeA      = dnsmsg.TypeA
	typeNS     = dnsmsg.TypeNS
	typeCNAME  = dnsmsg.TypeCNAME
	typeSOA    = dnsmsg.TypeSOA
	typeAAAA   = dnsmsg.TypeAAAA
	typeDNAME  = 39
	typeDS     = 43
	typeRRSIG  = 46
	typeNSEC   = 47
	typeDNSKEY = 48
	typeNSEC3  = 50
	typeANY    = 255
)

// rrset is an RR set with the RRSIGs covering it (sig nil: none).
type rrset struct {
	rr  *dnsmsg.RRSet
	sig *dnsmsg.RRSet
	// proof: the NSEC/NSEC3 sets that came with a positive answer (a
	// wildcard expansion's proof), given again when the set answers from
	// the cache
	proof []*rrset
}

func (s *rrset) owner() []byte { return s.rr.Owner.Wire }

// ttl is the smaller of the set's and its signatures' TTLs.
func (s *rrset) ttl() uint32 {
	t := s.rr.TTL
	if s.sig != nil && s.sig.TTL < t {
		t = s.sig.TTL
	}
	return t
}

// copyWithTTL returns a copy of s with every TTL set to ttl.
func (s *rrset) copyWithTTL(ttl uint32) *rrset {
	c := &rrset{rr: s.rr.Copy(), proof: s.proof}
	c.rr.TTL = ttl
	if s.sig != nil {
		c.sig = s.sig.Copy()
		c.sig.TTL = ttl
	}
	return c
}

// sigCovered returns the type an RRSIG's RDATA covers.
func sigCovered(rd []byte) uint16 {
	if len(rd) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(rd)
}

type setKey struct {
	name string
	t    uint16
}

func keyOf(owner []byte, t uint16) setKey {
	return setKey{string(dnsmsg.LowerName(owner)), t}
}

// groupSets groups the per-record RRSets of a section into RR sets with their
// RRSIGs, in order of first appearance. RRSIGs whose set is absent form a
// set of their own (rr is the RRSIG set, type RRSIG).
func groupSets(recs []*dnsmsg.RRSet) []*rrset {
	var out []*rrset
	idx := map[setKey]*rrset{}
	sigs := map[setKey]*dnsmsg.RRSet{}
	var sigOrder []setKey
	for _, r := range recs {
		if r.Owner == nil || r.Type == dnsmsg.TypeOPT || r.Type == dnsmsg.TypeTSIG {
			continue
		}
		if r.Type == typeRRSIG {
			for _, rd := range r.RData {
				k := keyOf(r.Owner.Wire, sigCovered(rd))
				s := sigs[k]
				if s == nil {
					s = &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: append([]byte(nil), r.Owner.Wire...)}, Type: typeRRSIG, Class: r.Class, TTL: r.TTL}
					sigs[k] = s
					sigOrder = append(sigOrder, k)
				}
				if r.TTL < s.TTL {
					s.TTL = r.TTL
				}
				s.Add(rd)
			}
			continue
		}
		k := keyOf(r.Owner.Wire, r.Type)
		s := idx[k]
		if s == nil {
			// the owner is copied: a name of the parsed message would keep its buffer alive in the cache
			s = &rrset{rr: &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: append([]byte(nil), r.Owner.Wire...)}, Type: r.Type, Class: r.Class, TTL: r.TTL}}
			idx[k] = s
			out = append(out, s)
		}
		if r.TTL < s.rr.TTL {
			s.rr.TTL = r.TTL
		}
		for _, rd := range r.RData {
			s.rr.Add(rd)
		}
	}
	for _, k := range sigOrder {
		if s := idx[k]; s != nil {
			s.sig = sigs[k]
		} else {
			out = append(out, &rrset{rr: sigs[k]})
		}
	}
	return out
}

// find returns the set of owner/type in sets, or nil.
func find(sets []*rrset, owner []byte, t uint16) *rrset {
	for _, s := range sets {
		if s.rr.Type == t && sameName(s.owner(), owner) {
			return s
		}
	}
	return nil
}

// parent returns the name w without its first label (the root stays root).
func parent(w []byte) []byte {
	if len(w) <= 1 {
		return w
	}
	return w[1+int(w[0]):]
}

// ancestor returns the suffix of w with n labels (n <= labels of w).
func ancestor(w []byte, n int) []byte {
	for k := dnsmsg.LabelCount(w) - n; k > 0; k-- {
		w = parent(w)
	}
	return w
}

// nameRData returns the domain name at the start of rd (NS, CNAME, DNAME
// RDATA are a single uncompressed name once parsed), or nil.
func nameRData(rd []byte) []byte {
	n := dnsmsg.DnameLen(rd)
	if n <= 0 || n > len(rd) {
		return nil
	}
	return rd[:n]
}

// isDNSSECType reports the types a non-DO answer leaves out.
func isDNSSECType(t uint16) bool {
	return t == typeRRSIG || t == typeNSEC || t == typeNSEC3
}

// sameName compares two wire names, ASCII case folded.
func sameName(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// below reports whether w lies strictly below zone.
func below(w, zone []byte) bool {
	return len(w) > len(zone) && dnsmsg.NameWithin(w, zone)
}

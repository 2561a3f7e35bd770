package validator

import (
	"bytes"
	"encoding/binary"
	"errors"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// rrset is one RR set of a message with the RRSIGs that cover it (same
// section, owner and class).
type rrset struct {
	set     *dnsmsg.RRSet // owner as received; RDATA merged
	low     []byte        // lower-case owner
	section int
	sigs    [][]byte // RRSIG RDATA covering it
}

// view is a message split into RR sets, in order of first appearance.
type view struct {
	sets []*rrset
}

// errMalformed is returned for a message that does not parse.
var errMalformed = errors.New("malformed message")

// parsed returns p if its records are available, else a parsed copy.
func parsed(p *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if p == nil {
		return nil, errMalformed
	}
	if !p.Empty() || p.Count(0)+p.Count(1)+p.Count(2) == 0 {
		if p.Size >= dnsmsg.HeaderLen {
			return p, nil
		}
		return nil, errMalformed
	}
	c := p.Copy()
	if c == nil {
		return nil, errMalformed
	}
	return c, nil
}

// newView groups the records of p (class IN only; OPT and TSIG left out).
func newView(p *dnsmsg.Packet) *view {
	m := &view{}
	type key struct {
		section int
		owner   string
		typ     uint16
	}
	idx := map[key]*rrset{}
	var sigs []struct {
		k  key
		rd []byte
	}
	for s := dnsmsg.SectionAN; s <= dnsmsg.SectionAR; s++ {
		for _, r := range p.Records(s) {
			if r.Class != dnsmsg.ClassINET || r.Type == dnsmsg.TypeOPT || r.Type == dnsmsg.TypeTSIG ||
				r.Owner == nil || len(r.RData) == 0 {
				continue
			}
			low := dnsmsg.LowerName(r.Owner.Wire)
			if r.Type == dnssec.TypeRRSIG {
				for _, rd := range r.RData {
					if len(rd) >= 2 {
						sigs = append(sigs, struct {
							k  key
							rd []byte
						}{key{s, string(low), binary.BigEndian.Uint16(rd)}, rd})
					}
				}
				continue
			}
			k := key{s, string(low), r.Type}
			rs := idx[k]
			if rs == nil {
				rs = &rrset{set: &dnsmsg.RRSet{Owner: r.Owner, Type: r.Type, Class: r.Class, TTL: r.TTL},
					low: low, section: s}
				idx[k] = rs
				m.sets = append(m.sets, rs)
			}
			rs.set.TTL = min(rs.set.TTL, r.TTL)
			for _, rd := range r.RData {
				rs.set.Add(rd)
			}
		}
	}
	for _, s := range sigs {
		if rs := idx[s.k]; rs != nil {
			rs.sigs = append(rs.sigs, s.rd)
		}
	}
	return m
}

// find returns the set of section s at owner (lower-case) of type t, or nil.
func (m *view) find(s int, owner []byte, t uint16) *rrset {
	for _, rs := range m.sets {
		if rs.section == s && rs.set.Type == t && bytes.Equal(rs.low, owner) {
			return rs
		}
	}
	return nil
}

// ofType returns the sets of section s of type t.
func (m *view) ofType(s int, t uint16) []*rrset {
	var out []*rrset
	for _, rs := range m.sets {
		if rs.section == s && rs.set.Type == t {
			out = append(out, rs)
		}
	}
	return out
}

// signers returns the distinct signer names (lower-case) of the RRSIGs of
// the sets of section s.
func (m *view) signers(s int) [][]byte {
	var out [][]byte
	for _, rs := range m.sets {
		if rs.section != s {
			continue
		}
		for _, sig := range rs.sigs {
			r, err := dnssec.ParseRRSIG(sig)
			if err != nil {
				continue
			}
			low := dnsmsg.LowerName(r.SignerName)
			dup := false
			for _, o := range out {
				dup = dup || bytes.Equal(o, low)
			}
			if !dup {
				out = append(out, low)
			}
		}
	}
	return out
}

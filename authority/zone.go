package authority

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
)

// Zone is one loaded zone: every node of the tree below its apex, keyed by
// lowercased wire name, plus the names sorted in canonical order (for NSEC
// proofs) and the NSEC3 chain when the zone has one.
type Zone struct {
	Origin []byte // apex, lowercased wire form
	File   string // the file it was loaded from ("" for a reader)
	nodes  map[string]*node
	sorted [][]byte // owners of NSEC records in canonical order
	soa    *dnsmsg.RRSet
	nsec3  *nsec3Chain
	Signed bool // the zone carries RRSIGs
	stamp  fileStamp
	online *online // signs answers on line (sign.go); nil for a static zone
}

// node is one name of a zone: its RR sets by type and their RRSIGs by the
// covered type. A node without sets is an empty non-terminal.
type node struct {
	name []byte // wire form as first seen in the file
	key  []byte // name lowercased
	sets map[uint16]*dnsmsg.RRSet
	sigs map[uint16]*dnsmsg.RRSet
	cut  bool // a delegation point (NS below the apex)
	// below a cut: the data is glue, never answered with AA.
}

func (n *node) empty() bool { return len(n.sets) == 0 }

// LoadZone reads the zone origin from the file path.
func LoadZone(origin, path string) (*Zone, error) {
	s, err := zone.NewFileScanner(path, origin, zone.ClassINET, zone.DefaultTTL)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	z, err := build(origin, s, path)
	if z != nil {
		z.File = path
	}
	return z, err
}

// ParseZone reads the zone origin from r; name is used in error messages.
func ParseZone(origin string, r io.Reader, name string) (*Zone, error) {
	return build(origin, zone.NewScanner(r, origin, zone.ClassINET, zone.DefaultTTL), name)
}

func build(origin string, s *zone.Scanner, fname string) (*Zone, error) {
	on, err := dnsmsg.NameFromText(origin)
	if err != nil {
		return nil, fmt.Errorf("%s: bad origin %q: %v", fname, origin, err)
	}
	z := &Zone{Origin: dnsmsg.LowerName(on.Wire), nodes: map[string]*node{}}
	lastLine := 0
	for s.Next() {
		rec := s.Record()
		lastLine = rec.Line
		if !dnsmsg.NameWithin(rec.Owner, z.Origin) {
			return nil, fmt.Errorf("%s:%d: owner %s is outside the zone %s", fname, rec.Line, nameText(rec.Owner), origin)
		}
		if rec.Class != zone.ClassINET {
			return nil, fmt.Errorf("%s:%d: class %d is not IN", fname, rec.Line, rec.Class)
		}
		n := z.addNode(rec.Owner)
		if rec.Type == typeRRSIG {
			if len(rec.RData) < 18 {
				return nil, fmt.Errorf("%s:%d: short RRSIG", fname, rec.Line)
			}
			cov := uint16(rec.RData[0])<<8 | uint16(rec.RData[1])
			z.Signed = true
			addTo(&n.sigs, n.name, typeRRSIG, rec.TTL, rec.RData, cov)
			continue
		}
		addTo(&n.sets, n.name, rec.Type, rec.TTL, rec.RData, rec.Type)
	}
	if err := s.Err(); err != nil {
		var pe *zone.ParseError
		if errors.As(err, &pe) && pe.File == "" && fname != "" {
			c := *pe
			c.File = fname
			return nil, &c
		}
		return nil, err
	}
	apex := z.nodes[string(z.Origin)]
	if apex == nil || apex.sets[typeSOA] == nil {
		return nil, fmt.Errorf("%s:%d: zone %s has no SOA at its apex", fname, lastLine, origin)
	}
	z.soa = apex.sets[typeSOA]
	if len(z.soa.RData) != 1 {
		return nil, fmt.Errorf("%s: zone %s has %d SOA records", fname, origin, len(z.soa.RData))
	}
	for k, n := range z.nodes {
		if n.sets[typeSOA] != nil && k != string(z.Origin) {
			return nil, fmt.Errorf("%s: SOA at %s below the apex", fname, nameText(n.name))
		}
		if c := n.sets[typeCNAME]; c != nil {
			if len(c.RData) > 1 {
				return nil, fmt.Errorf("%s: %s has more than one CNAME", fname, nameText(n.name))
			}
			for t := range n.sets {
				if t != typeCNAME && t != typeNSEC && t != typeRRSIG {
					return nil, fmt.Errorf("%s: %s has a CNAME and other data (%s)", fname, nameText(n.name), dnsmsg.TypeString(t))
				}
			}
		}
		if n.sets[typeNS] != nil && k != string(z.Origin) {
			n.cut = true
		}
		if n.sets[typeNSEC] != nil {
			z.sorted = append(z.sorted, n.key)
		}
	}
	slices.SortFunc(z.sorted, dnsmsg.CompareNames)
	if err := z.loadNSEC3(); err != nil {
		return nil, fmt.Errorf("%s: %v", fname, err)
	}
	return z, nil
}

// addNode returns the node of owner, creating it and every missing
// ancestor up to the apex (empty non-terminals).
func (z *Zone) addNode(owner []byte) *node {
	key := dnsmsg.LowerName(owner)
	if n := z.nodes[string(key)]; n != nil {
		return n
	}
	n := &node{name: slices.Clone(owner), key: key}
	z.nodes[string(key)] = n
	for p := parent(key); p != nil && len(p) >= len(z.Origin); p = parent(p) {
		if z.nodes[string(p)] != nil {
			break
		}
		z.nodes[string(p)] = &node{name: slices.Clone(p), key: p}
	}
	return n
}

func addTo(m *map[uint16]*dnsmsg.RRSet, owner []byte, t uint16, ttl uint32, rd []byte, key uint16) {
	if *m == nil {
		*m = map[uint16]*dnsmsg.RRSet{}
	}
	rr := (*m)[key]
	if rr == nil {
		rr = &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: owner}, Type: t, Class: zone.ClassINET, TTL: ttl}
		(*m)[key] = rr
	} else if ttl < rr.TTL && t != typeRRSIG {
		rr.TTL = ttl // one TTL per set: the lowest, as knotd does
	}
	rr.Add(rd)
}

// parent returns the wire name with its first label removed, nil for the root.
func parent(w []byte) []byte {
	if len(w) <= 1 {
		return nil
	}
	return w[1+int(w[0]):]
}

func nameText(w []byte) string { return (&dnsmsg.Name{Wire: w}).String() }

// SOA returns the zone's SOA set.
func (z *Zone) SOA() *dnsmsg.RRSet { return z.soa }

// Serial returns the SOA serial.
func (z *Zone) Serial() uint32 {
	_, _, nums, _ := dnsmsg.SOAFields(z.soa.RData[0])
	return nums[0]
}

package dnssec

import (
	"bytes"
	"slices"

	"ljdns/dnsmsg"
)

// classIN is the class of the NSEC records made here.
const classIN = 1

// TypeBitmap encodes types as an NSEC/NSEC3 type bit map (RFC 4034 §4.1.2).
// The input need not be sorted; duplicates are ignored.
func TypeBitmap(types []uint16) []byte {
	ts := slices.Clone(types)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	var out []byte
	for i := 0; i < len(ts); {
		win := ts[i] >> 8
		var bits [32]byte
		n := 0
		for ; i < len(ts) && ts[i]>>8 == win; i++ {
			lo := ts[i] & 0xff
			bits[lo/8] |= 0x80 >> (lo % 8)
			n = int(lo/8) + 1
		}
		out = append(out, byte(win), byte(n))
		out = append(out, bits[:n]...)
	}
	return out
}

// NSEC builds an NSEC RRset (class IN) owned by owner, with next name next
// and the type bit map of types.
func NSEC(owner, next []byte, ttl uint32, types []uint16) *dnsmsg.RRSet {
	rd := append(bytes.Clone(next), TypeBitmap(types)...)
	return &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: bytes.Clone(owner)}, Type: TypeNSEC, Class: classIN, TTL: ttl, RData: [][]byte{rd}}
}

// Denial returns an NSEC "black lie" for name (the on-line signing trick of
// draft-valsorda-dnsop-black-lies): the NSEC is owned by name itself and its
// next name is the immediate successor \000.name. For NXDOMAIN the bitmap
// holds only NSEC and RRSIG (the name "exists" but is empty); otherwise it
// holds every type of all except qtype (the "shotgun" bitmap), so the
// answer proves NODATA for qtype only.
func Denial(name []byte, qtype uint16, ttl uint32, nxdomain bool, all []uint16) *dnsmsg.RRSet {
	var types []uint16
	if nxdomain {
		types = []uint16{TypeRRSIG, TypeNSEC}
	} else {
		for _, t := range all {
			if t != qtype {
				types = append(types, t)
			}
		}
	}
	next := Successor(name)
	if len(name)+2 <= maxName {
		next = append([]byte{1, 0}, name...) // keep the owner's case
	}
	return NSEC(name, next, ttl, types)
}

// Cover returns an RFC 4470 "white lie": a minimally covering NSEC owned by
// the immediate predecessor of name, with the immediate successor of name
// as next name and a bitmap of NSEC and RRSIG. It proves that name does not
// exist without revealing any other name of the zone. For the root name
// (which always exists) it returns nil.
func Cover(name []byte, ttl uint32) *dnsmsg.RRSet {
	prev := Predecessor(name)
	if prev == nil {
		return nil
	}
	return NSEC(prev, Successor(name), ttl, []uint16{TypeRRSIG, TypeNSEC})
}

// ShotgunTypes are the types (the Lua dns.type constants below 127) whose
// bits a NODATA black lie sets when the caller gives no list of its own.
var ShotgunTypes = []uint16{1, 2, 5, 6, 12, 13, 14, 15, 16, 17, 18, 21, 24, 25, 28, 29, 33, 35, 36, 37,
	39, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 59, 60, 99, 104, 105, 106, 107, 108, 109}

// maxName is the longest wire name.
const maxName = 255

// Successor returns the immediate successor of wire name w in canonical
// order (RFC 4471 §3.1.1): \000.w when it fits, otherwise the first label
// is incremented (dropping labels as needed). The result is lowercased;
// nil when w is not a valid wire name.
func Successor(w []byte) []byte {
	n, err := wireNameLen(w)
	if err != nil {
		return nil
	}
	w = lowerName(w[:n])
	if len(w)+2 <= maxName {
		return append([]byte{1, 0}, w...)
	}
	for len(w) > 1 {
		l := int(w[0])
		label, rest := w[1:1+l], w[1+l:]
		// No name can sit below w (too long), so appending \000 to the
		// first label gives the next name when it fits.
		if len(w)+1 <= maxName && l < 63 {
			out := append([]byte{byte(l + 1)}, label...)
			out = append(out, 0)
			return append(out, rest...)
		}
		// Otherwise increment the last octet that is not 0xff, cutting
		// the octets after it.
		for i := len(label) - 1; i >= 0; i-- {
			if label[i] == 0xff {
				continue
			}
			c := label[i] + 1
			if c >= 'A' && c <= 'Z' { // sorts as lowercase: skip the range
				c = 'Z' + 1
			}
			out := append([]byte{byte(i + 1)}, label[:i]...)
			out = append(out, c)
			return append(out, rest...)
		}
		w = rest // every octet is 0xff: the successor follows the parent
	}
	return []byte{0} // wrapped around to the root
}

// Predecessor returns the immediate predecessor of wire name w in
// canonical order (RFC 4471 §3.1.2), lowercased, or nil for the root and
// invalid wire names.
func Predecessor(w []byte) []byte {
	n, err := wireNameLen(w)
	if err != nil {
		return nil
	}
	w = lowerName(w[:n])
	if len(w) <= 1 {
		return nil
	}
	l := int(w[0])
	label, rest := bytes.Clone(w[1:1+l]), w[1+l:]
	last := label[len(label)-1]
	if last == 0 {
		// Drop the trailing \000: with a single-octet label the parent
		// itself comes right before.
		label = label[:len(label)-1]
		if len(label) == 0 {
			return bytes.Clone(rest)
		}
	} else {
		c := last - 1
		if c >= 'A' && c <= 'Z' { // would sort as lowercase: go below 'A'
			c = 'A' - 1
		}
		label[len(label)-1] = c
		// Fill the label with 0xff up to 63 octets, as far as the name
		// length allows.
		for len(label) < 63 && len(rest)+len(label)+2 <= maxName {
			label = append(label, 0xff)
		}
	}
	base := append([]byte{byte(len(label))}, label...)
	base = append(base, rest...)
	// The largest name below base: prepend maximal 0xff labels.
	for room := maxName - len(base); room >= 2; room = maxName - len(base) {
		n := min(room-1, 63)
		pre := append([]byte{byte(n)}, bytes.Repeat([]byte{0xff}, n)...)
		base = append(pre, base...)
	}
	return base
}

package dnsmsg

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
)

// Add inserts a copy of rdata in canonical order (byte-wise over the
// common length, shorter first), ignoring exact duplicates.
func (rr *RRSet) Add(rdata []byte) {
	i := sort.Search(len(rr.RData), func(i int) bool { return bytes.Compare(rr.RData[i], rdata) >= 0 })
	if i < len(rr.RData) && bytes.Equal(rr.RData[i], rdata) {
		return
	}
	cp := make([]byte, len(rdata))
	copy(cp, rdata)
	rr.RData = append(rr.RData, nil)
	copy(rr.RData[i+1:], rr.RData[i:])
	rr.RData[i] = cp
}

// Copy returns a deep copy of rr (owner, type, class, TTL and RDATA).
func (rr *RRSet) Copy() *RRSet {
	// one block for the set and owner, one for the RDATA slice, one for all bytes
	blk := &struct {
		rr   RRSet
		name Name
	}{rr: RRSet{Type: rr.Type, Class: rr.Class, TTL: rr.TTL}}
	c := &blk.rr
	n := len(rr.OwnerWire())
	for _, rd := range rr.RData {
		n += len(rd)
	}
	buf := make([]byte, 0, n)
	if rr.Owner != nil {
		buf = append(buf, rr.Owner.Wire...)
		blk.name.Wire = buf[:len(buf):len(buf)]
		c.Owner = &blk.name
	}
	c.RData = make([][]byte, len(rr.RData))
	for i, rd := range rr.RData {
		start := len(buf)
		buf = append(buf, rd...)
		c.RData[i] = buf[start:len(buf):len(buf)]
	}
	return c
}

// OwnerWire returns the owner's wire form, or nil without owner.
func (rr *RRSet) OwnerWire() []byte {
	if rr.Owner == nil {
		return nil
	}
	return rr.Owner.Wire
}

// String is the zone-line text of API.md §1.7: one line per RDATA, or
// "<owner>\t<CLASS>\t<TYPE>" for a set without RDATA.
func (rr *RRSet) String() string {
	var sb strings.Builder
	sb.Grow(48 * (len(rr.RData) + 1))
	rr.appendText(&sb)
	return sb.String()
}

func (rr *RRSet) appendText(sb *strings.Builder) {
	if len(rr.RData) == 0 {
		appendNameText(sb, rr.OwnerWire())
		sb.WriteByte('\t')
		sb.WriteString(ClassString(rr.Class))
		sb.WriteByte('\t')
		sb.WriteString(TypeString(rr.Type))
		return
	}
	for _, rd := range rr.RData {
		appendRRLine(sb, rr.OwnerWire(), rr.Type, rr.TTL, rd)
	}
}

// appendRRLine writes one RR line: owner padded to 20, TAB (or a space
// for owners of 32+ chars), TTL, TAB, TYPE, TAB, RDATA text, newline.
func appendRRLine(sb *strings.Builder, owner []byte, t uint16, ttl uint32, rd []byte) {
	start := sb.Len()
	appendNameText(sb, owner)
	n := sb.Len() - start
	for i := n; i < 20; i++ {
		sb.WriteByte(' ')
	}
	if n < 32 {
		sb.WriteByte('\t')
	} else {
		sb.WriteByte(' ')
	}
	var nb [12]byte
	sb.Write(strconv.AppendUint(nb[:0], uint64(ttl), 10))
	sb.WriteByte('\t')
	sb.WriteString(TypeString(t))
	sb.WriteByte('\t')
	appendRDataText(sb, t, rd)
	sb.WriteByte('\n')
}

// LessRRSet orders sets by owner (canonical order), then type.
func LessRRSet(a, b *RRSet) bool {
	if c := CompareNames(a.OwnerWire(), b.OwnerWire()); c != 0 {
		return c < 0
	}
	return a.Type < b.Type
}

// SameSet reports whether a and b are the same RR set: equal owner bytes
// and type (class, TTL and RDATA are not compared).
func SameSet(a, b *RRSet) bool {
	return a.Type == b.Type && bytes.Equal(a.OwnerWire(), b.OwnerWire())
}

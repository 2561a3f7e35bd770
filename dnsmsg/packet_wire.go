package dnsmsg

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
)

// Library error codes (returned by parse, see StrError).
const (
	ErrCodeMalformed = -1000 // malformed message
	ErrCodeTruncated = -1001 // message ends too early
	ErrCodeTrailing  = -1002 // data after the last record
	ErrCodeSpace     = -1003 // no space left in the packet
	ErrCodeInvalid   = -1004 // invalid parameter
	ErrCodeBadSig    = -1005 // TSIG check failed
)

var errCodeText = map[int]string{
	0:                "OK",
	ErrCodeMalformed: "malformed data",
	ErrCodeTruncated: "not enough data",
	ErrCodeTrailing:  "trailing data",
	ErrCodeSpace:     "not enough space",
	ErrCodeInvalid:   "invalid parameter",
	ErrCodeBadSig:    "failed to verify TSIG",
}

// StrError returns the message of a library error code.
func StrError(code int) string {
	if s, ok := errCodeText[code]; ok {
		return s
	}
	return "unknown error"
}

// ErrSectionFinished is returned when writing to an earlier section.
var ErrSectionFinished = errors.New("cannot write to finished section")

// Header layout (RFC 1035 §4.1.1): byte offsets of the 16-bit words.
const (
	HeaderLen  = 12 // header length
	OffID      = 0  // message ID
	OffQDCount = 4  // question count
	OffANCount = 6  // answer count
	OffNSCount = 8  // authority count
	OffARCount = 10 // additional count

	MaxRDataLen = 65535 // longest RDATA

	hdrLen   = HeaderLen
	offQD    = OffQDCount
	offAN    = OffANCount
	offAR    = OffARCount
	maxPtrs  = 128
	maxRDLen = MaxRDataLen
)

// NewPacket returns an empty message of capacity maxSize (12 <= maxSize < 65536):
// size 12, random ID, all other header bits zero, section ANSWER.
func NewPacket(maxSize int) *Packet {
	if maxSize < hdrLen || maxSize > 65535 {
		panic("packet size must be <12, 65535>")
	}
	p := &Packet{Buf: make([]byte, maxSize)}
	p.Clear()
	binary.BigEndian.PutUint16(p.Buf, uint16(rand.IntN(65536)))
	return p
}

// NewPacketFrom returns a packet of capacity maxSize holding a copy of the
// first maxSize bytes of wire (unparsed).
func NewPacketFrom(maxSize int, wire []byte) *Packet {
	p := &Packet{Buf: make([]byte, maxSize)}
	copy(p.Buf, wire)
	p.Size = maxSize
	p.resetState()
	return p
}

func (p *Packet) resetState() {
	comp, log, rrs := p.comp, p.compLog[:0], p.rrs[:0]
	clear(comp)
	clear(p.rrs) // drop references, keep the array
	p.pstate = pstate{optOff: -1, tsigOff: -1, comp: comp, compLog: log, rrs: rrs}
}

// Clear resets p to an empty message: zero header, no question or records.
func (p *Packet) Clear() {
	clear(p.Buf[:hdrLen])
	p.Size = hdrLen
	p.resetState()
}

func (p *Packet) u16(off int) int {
	if off+2 > p.Size || off+2 > len(p.Buf) {
		return 0
	}
	return int(binary.BigEndian.Uint16(p.Buf[off:]))
}

func (p *Packet) setU16(off, v int) { binary.BigEndian.PutUint16(p.Buf[off:], uint16(v)) }

// Count returns the header count of section s (-1 QD, 0 AN, 1 NS, 2 AR).
func (p *Packet) Count(s int) int { return p.u16(offAN + 2*s) }

// Section returns the current section.
func (p *Packet) Section() int { return p.section }

// OPT returns the OPT RR of the packet or nil.
func (p *Packet) OPT() *RRSet { return p.opt }

// TSIG returns the TSIG RR found by the last parse or nil.
func (p *Packet) TSIG() *RRSet { return p.tsig }

// Records returns the records of section s.
func (p *Packet) Records(s int) []*RRSet {
	var out []*RRSet
	for _, r := range p.rrs {
		if r.section == s {
			out = append(out, r.rr)
		}
	}
	return out
}

// Empty reports whether no record has been written or parsed.
func (p *Packet) Empty() bool { return len(p.rrs) == 0 }

// Begin switches writing to section s; going back is an error.
func (p *Packet) Begin(s int) error {
	if s < p.section {
		return ErrSectionFinished
	}
	if s > SectionAR || s < 0 {
		return errors.New("invalid section")
	}
	p.section = s
	return nil
}

// SetQuestion writes the question (replacing any). It reports false when
// the question does not fit.
func (p *Packet) SetQuestion(qname []byte, qtype, qclass uint16) (bool, error) {
	if len(p.rrs) > 0 || p.Count(0)+p.Count(1)+p.Count(2) > 0 {
		return false, errors.New("packet must be empty to insert question")
	}
	if hdrLen+len(qname)+4 > len(p.Buf) {
		return false, nil
	}
	b := p.Buf
	copy(b[hdrLen:], qname)
	off := hdrLen + len(qname)
	binary.BigEndian.PutUint16(b[off:], qtype)
	binary.BigEndian.PutUint16(b[off+2:], qclass)
	p.Size = off + 4
	p.setU16(offQD, 1)
	p.qnameSize = len(qname)
	clear(p.comp)
	p.qcomp = true // targets added when a name is first written compressed (many answers never compress)
	return true, nil
}

// suffixHash is FNV-1a over an uncompressed name suffix.
func suffixHash(n []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range n {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// addCompTargets registers the label starts of name written uncompressed
// at off, for the labels before upto (the rest was a pointer).
func (p *Packet) addCompTargets(off int, name []byte, upto int) {
	if p.comp == nil {
		p.comp = make(map[uint64]uint16, 64)
	}
	for i := 0; i < upto && i < len(name) && name[i] != 0; i += 1 + int(name[i]) {
		if off+i >= 0x3FFF {
			return
		}
		h := suffixHash(name[i:])
		if _, ok := p.comp[h]; !ok {
			p.comp[h] = uint16(off + i)
			p.compLog = append(p.compLog, h)
		}
	}
}

// nameAtEquals reports whether the (possibly compressed) name at wire
// offset off equals the uncompressed name n byte for byte.
func nameAtEquals(w []byte, off int, n []byte) bool {
	j := 0
	for hops := 0; hops < maxPtrs; {
		if off >= len(w) || j >= len(n) {
			return false
		}
		l := int(w[off])
		if l >= 0xC0 {
			if off+1 >= len(w) {
				return false
			}
			off = (l&0x3F)<<8 | int(w[off+1])
			hops++
			continue
		}
		if l != int(n[j]) {
			return false
		}
		if l == 0 {
			return true
		}
		if off+1+l > len(w) || j+1+l > len(n) {
			return false
		}
		for k := 1; k <= l; k++ {
			if w[off+k] != n[j+k] {
				return false
			}
		}
		off += 1 + l
		j += 1 + l
	}
	return false
}

// writeName appends name at pos with compression, returning the new
// position or -1 when it does not fit.
func (p *Packet) writeName(pos int, name []byte, compress bool) int {
	b := p.Buf
	if compress && p.qcomp {
		// the question's targets, owed since SetQuestion; they stay when
		// the put in progress is rolled back
		p.qcomp = false
		n0 := len(p.compLog)
		if end := hdrLen + p.qnameSize; end <= p.Size && end <= len(b) {
			p.addCompTargets(hdrLen, b[hdrLen:end], p.qnameSize)
		}
		p.compLog = p.compLog[:n0]
	}
	for i := 0; i < len(name); i += 1 + int(name[i]) {
		if name[i] == 0 {
			break
		}
		if compress {
			if t, ok := p.comp[suffixHash(name[i:])]; ok && int(t) < pos && nameAtEquals(b[:pos], int(t), name[i:]) {
				if pos+2 > len(b) {
					return -1
				}
				p.addCompTargets(pos-i, name, i)
				b[pos] = 0xC0 | byte(t>>8)
				b[pos+1] = byte(t)
				return pos + 2
			}
		}
		l := int(name[i])
		if pos+1+l > len(b) {
			return -1
		}
		copy(b[pos:], name[i:i+1+l])
		pos += 1 + l
	}
	if pos+1 > len(b) {
		return -1
	}
	b[pos] = 0
	if compress {
		p.addCompTargets(pos+1-len(name), name, len(name))
	}
	return pos + 1
}

// rdataLayout describes RDATA holding domain names (RFC 3597 §4 types):
// 'n' name, '2' uint16, '4' uint32, 's' character-string.
var rdataLayout = map[uint16]string{
	2: "n", 3: "n", 4: "n", 5: "n", 7: "n", 8: "n", 9: "n", 12: "n",
	6: "nn44444", 14: "nn", 15: "2n",
	17: "nn", 18: "2n", 21: "2n", 26: "2nn", 33: "222n", 35: "22sssn",
}

// compressedTypes may have their RDATA names compressed on write (RFC 1035 types).
var compressedTypes = map[uint16]bool{2: true, 3: true, 4: true, 5: true, 6: true, 7: true,
	8: true, 9: true, 12: true, 14: true, 15: true}

// Put appends every RDATA of rr as one RR to the current section. It
// returns false (packet unchanged) when rr has no owner or does not fit.
func (p *Packet) Put(rr *RRSet, noref bool) bool {
	if rr == nil || rr.Owner == nil || len(rr.Owner.Wire) == 0 {
		return false
	}
	if len(rr.RData) == 0 {
		return true
	}
	p.compLog = p.compLog[:0]
	pos := p.Size
	b := p.Buf
	fail := func() bool {
		for _, h := range p.compLog {
			delete(p.comp, h)
		}
		return false
	}
	optOff := -1
	for _, rd := range rr.RData {
		start := pos
		if pos = p.writeName(pos, rr.Owner.Wire, true); pos < 0 || pos+10 > len(b) {
			return fail()
		}
		binary.BigEndian.PutUint16(b[pos:], rr.Type)
		binary.BigEndian.PutUint16(b[pos+2:], rr.Class)
		binary.BigEndian.PutUint32(b[pos+4:], rr.TTL)
		rdStart := pos + 10
		if pos = p.writeRData(rdStart, rr.Type, rd); pos < 0 || pos-rdStart > maxRDLen {
			return fail()
		}
		binary.BigEndian.PutUint16(b[rdStart-2:], uint16(pos-rdStart))
		if rr.Type == TypeOPT {
			optOff = start
		}
	}
	cnt := offAN + 2*p.section
	if p.u16(cnt)+len(rr.RData) > 65535 {
		return fail()
	}
	p.Size = pos
	p.setU16(cnt, p.u16(cnt)+len(rr.RData))
	cp := rr.Copy()
	p.rrs = append(p.rrs, pktRR{section: p.section, rr: cp})
	if rr.Type == TypeOPT && !noref {
		p.opt, p.optOff = cp, optOff
	}
	return true
}

// writeRData writes rd at pos, compressing names of RFC 1035 types.
func (p *Packet) writeRData(pos int, t uint16, rd []byte) int {
	b := p.Buf
	layout, ok := rdataLayout[t]
	if !ok || !compressedTypes[t] || !layoutMatches(layout, rd) {
		if pos+len(rd) > len(b) {
			return -1
		}
		copy(b[pos:], rd)
		return pos + len(rd)
	}
	r := &rdReader{b: rd}
	for _, f := range layout {
		if f == 'n' {
			if pos = p.writeName(pos, r.name(), true); pos < 0 {
				return -1
			}
			continue
		}
		var field []byte
		switch f {
		case '2':
			field = r.bytes(2)
		case '4':
			field = r.bytes(4)
		case 's':
			field = r.bytes(1 + int(rd[r.off]))
		}
		if pos+len(field) > len(b) {
			return -1
		}
		copy(b[pos:], field)
		pos += len(field)
	}
	return pos
}

// layoutMatches reports whether rd is exactly described by layout.
func layoutMatches(layout string, rd []byte) bool {
	r := &rdReader{b: rd}
	for _, f := range layout {
		switch f {
		case 'n':
			r.name()
		case '2':
			r.u16()
		case '4':
			r.u32()
		case 's':
			r.bytes(r.u8())
		}
		if r.bad {
			return false
		}
	}
	return r.done()
}

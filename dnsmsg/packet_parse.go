package dnsmsg

import "encoding/binary"

// readName reads a possibly compressed name at off of w. Pointers must
// point strictly backwards (each one before the previous), so loops and
// forward references fail. It returns the uncompressed name and the
// offset after the name as stored at off.
func readName(w []byte, off int, dst []byte) ([]byte, int, int) {
	end := -1
	limit := off // every pointer must target before this
	start := len(dst)
	for {
		if off >= len(w) {
			return nil, 0, ErrCodeTruncated
		}
		l := int(w[off])
		switch {
		case l == 0:
			dst = append(dst, 0)
			if end < 0 {
				end = off + 1
			}
			if len(dst)-start > maxNameLen {
				return nil, 0, ErrCodeMalformed
			}
			return dst, end, 0
		case l >= 0xC0:
			if off+1 >= len(w) {
				return nil, 0, ErrCodeTruncated
			}
			t := (l&0x3F)<<8 | int(w[off+1])
			if end < 0 {
				end = off + 2
			}
			if t >= limit || t < hdrLen {
				return nil, 0, ErrCodeMalformed
			}
			limit, off = t, t
		case l > 63:
			return nil, 0, ErrCodeMalformed
		default:
			if off+1+l > len(w) {
				return nil, 0, ErrCodeTruncated
			}
			dst = append(dst, w[off:off+1+l]...)
			if len(dst)-start+1 > maxNameLen {
				return nil, 0, ErrCodeMalformed
			}
			off += 1 + l
		}
	}
}

// Parse parses wire[0:Size]: header, question, all sections. OPT and
// TSIG are recorded; with stripEDNS the OPT RR is removed from the wire.
// It returns 0 or a library error code; the packet is then in an
// unspecified but safe parsed state.
func (p *Packet) Parse(stripEDNS bool) int {
	p.resetState()
	if p.Size > len(p.Buf) {
		p.Size = len(p.Buf)
	}
	w := p.Buf[:p.Size]
	if len(w) < hdrLen {
		return ErrCodeTruncated
	}
	off, code := p.parseQuestion(w)
	if code != 0 {
		return code
	}
	total := 0
	for s := 0; s < 3; s++ {
		total += p.Count(s)
	}
	if total*11 > len(w)-off {
		return ErrCodeTruncated
	}
	for s := 0; s < 3; s++ {
		p.section = s
		for i, n := 0, p.Count(s); i < n; i++ {
			if p.tsig != nil {
				return ErrCodeMalformed // TSIG must be the last record
			}
			if off, code = p.parseRR(w, off, s); code != 0 {
				return code
			}
		}
	}
	p.parsed = off
	if off != len(w) {
		return ErrCodeTrailing
	}
	if stripEDNS && p.optOff >= 0 {
		p.stripOPT()
	}
	return 0
}

// parseQuestion parses the header and question; returns the offset after it.
func (p *Packet) parseQuestion(w []byte) (int, int) {
	off := hdrLen
	switch binary.BigEndian.Uint16(w[offQD:]) {
	case 0:
		return off, 0
	case 1:
	default:
		return 0, ErrCodeMalformed
	}
	var buf [maxNameLen + 1]byte
	_, end, code := readName(w, off, buf[:0])
	if code != 0 {
		return 0, code
	}
	if end+4 > len(w) {
		return 0, ErrCodeTruncated
	}
	p.qnameSize = end - off
	return end + 4, 0
}

// ParseQuestion parses only the header and question.
func (p *Packet) ParseQuestion() int {
	p.resetState()
	if p.Size > len(p.Buf) {
		p.Size = len(p.Buf)
	}
	if p.Size < hdrLen {
		return ErrCodeTruncated
	}
	off, code := p.parseQuestion(p.Buf[:p.Size])
	p.parsed = off
	return code
}

// ParseSection parses the records of section s, continuing from the last
// parse position.
func (p *Packet) ParseSection(s int) int {
	if err := p.Begin(s); err != nil {
		return ErrCodeInvalid
	}
	if p.parsed < hdrLen {
		if code := p.ParseQuestion(); code != 0 {
			return code
		}
		p.section = s
	}
	w := p.Buf[:p.Size]
	off := p.parsed
	var code int
	for i, n := 0, p.Count(s); i < n; i++ {
		if off, code = p.parseRR(w, off, s); code != 0 {
			return code
		}
	}
	p.parsed = off
	return 0
}

// parseRR parses one RR at off into the section list.
func (p *Packet) parseRR(w []byte, off, section int) (int, int) {
	start := off
	var nb [maxNameLen + 1]byte
	ownerTmp, off, code := readName(w, off, nb[:0])
	if code != 0 {
		return 0, code
	}
	if off+10 > len(w) {
		return 0, ErrCodeTruncated
	}
	// one allocation for the set, its owner and its RDATA slice
	blk := &struct {
		rr    RRSet
		name  Name
		rdata [1][]byte
	}{}
	rr := &blk.rr
	blk.name.Wire = append(make([]byte, 0, len(ownerTmp)), ownerTmp...)
	owner := blk.name.Wire
	rr.Owner = &blk.name
	rr.Type = binary.BigEndian.Uint16(w[off:])
	rr.Class = binary.BigEndian.Uint16(w[off+2:])
	rr.TTL = binary.BigEndian.Uint32(w[off+4:])
	rdlen := int(binary.BigEndian.Uint16(w[off+8:]))
	off += 10
	if off+rdlen > len(w) {
		return 0, ErrCodeTruncated
	}
	rd, code := decompressRData(w, off, rdlen, rr.Type)
	if code != 0 {
		return 0, code
	}
	blk.rdata[0] = rd
	rr.RData = blk.rdata[:]
	switch rr.Type {
	case TypeOPT:
		if section != SectionAR || p.opt != nil || len(owner) != 1 {
			return 0, ErrCodeMalformed
		}
		p.opt, p.optOff = rr, start
	case TypeTSIG:
		if section != SectionAR {
			return 0, ErrCodeMalformed
		}
		p.tsig, p.tsigOff = rr, start
	}
	p.rrs = append(p.rrs, pktRR{section: section, rr: rr})
	return off + rdlen, 0
}

// decompressRData copies the RDATA at w[off:off+n], expanding compressed
// names of the types listed in rdataLayout.
func decompressRData(w []byte, off, n int, t uint16) ([]byte, int) {
	layout, ok := rdataLayout[t]
	if !ok {
		return append([]byte(nil), w[off:off+n]...), 0
	}
	end := off + n
	out := make([]byte, 0, n+16)
	for _, f := range layout {
		var l int
		switch f {
		case 'n':
			var code int
			var next int
			out, next, code = readName(w[:end], off, out)
			if code != 0 {
				return nil, ErrCodeMalformed
			}
			off = next
			continue
		case '2':
			l = 2
		case '4':
			l = 4
		case 's':
			if off >= end {
				return nil, ErrCodeMalformed
			}
			l = 1 + int(w[off])
		}
		if off+l > end {
			return nil, ErrCodeMalformed
		}
		out = append(out, w[off:off+l]...)
		off += l
	}
	if off != end || len(out) > maxRDLen {
		return nil, ErrCodeMalformed
	}
	return out, 0
}

// stripOPT removes the OPT RR from the wire (opt stays available).
func (p *Packet) stripOPT() {
	w := p.Buf
	start := p.optOff
	end := start + 11 + int(binary.BigEndian.Uint16(w[start+9:])) // root owner is 1 byte
	copy(w[start:], w[end:p.Size])
	p.Size -= end - start
	p.setU16(offAR, p.u16(offAR)-1)
	if p.tsigOff > start {
		p.tsigOff -= end - start
	}
	p.optOff = -1
}

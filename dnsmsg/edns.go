package dnsmsg

import "encoding/binary"

// EDNS (RFC 6891): the OPT pseudo-RR keeps the UDP payload size in its
// class and the extended RCODE, version and flags in its TTL; its one
// RDATA is the option list.

// NewOPT returns an OPT RR with the given version and UDP payload, DO
// clear and an empty option list.
func NewOPT(version int, payload int) *RRSet {
	return &RRSet{Owner: &Name{Wire: []byte{0}}, Type: TypeOPT, Class: uint16(payload),
		TTL: uint32(version&0xFF) << 16, RData: [][]byte{{}}}
}

// OPTVersion returns the EDNS version of an OPT RR.
func OPTVersion(opt *RRSet) int { return int(opt.TTL>>16) & 0xFF }

// SetOPTVersion sets the EDNS version of an OPT RR.
func SetOPTVersion(opt *RRSet, v int) {
	opt.TTL = opt.TTL&^0x00FF0000 | uint32(v&0xFF)<<16
}

// OPTDo reports the DO bit (RFC 3225) of an OPT RR; false for nil.
func OPTDo(opt *RRSet) bool { return opt != nil && opt.TTL&0x8000 != 0 }

// SetOPTDo sets or clears the DO bit of an OPT RR.
func SetOPTDo(opt *RRSet, on bool) {
	if on {
		opt.TTL |= 0x8000
	} else {
		opt.TTL &^= 0x8000
	}
}

// ednsOptions returns the option list (the first RDATA).
func ednsOptions(rr *RRSet) []byte {
	if rr == nil || len(rr.RData) == 0 {
		return nil
	}
	return rr.RData[0]
}

// EDNSOption returns the data of the first option with the given code in
// the OPT RR (nil allowed), and whether there is one. A malformed option
// list ends the search.
func EDNSOption(opt *RRSet, code int) ([]byte, bool) {
	b := ednsOptions(opt)
	for len(b) >= 4 {
		c, l := int(binary.BigEndian.Uint16(b)), int(binary.BigEndian.Uint16(b[2:]))
		if 4+l > len(b) {
			return nil, false
		}
		if c == code {
			return b[4 : 4+l], true
		}
		b = b[4+l:]
	}
	return nil, false
}

// SetEDNSOption adds option code with data to the OPT RR, replacing the
// options with the same code (a malformed tail of the list is dropped).
func SetEDNSOption(opt *RRSet, code int, data []byte) {
	b := ednsOptions(opt)
	out := make([]byte, 0, len(b)+4+len(data))
	for len(b) >= 4 {
		c, l := int(binary.BigEndian.Uint16(b)), int(binary.BigEndian.Uint16(b[2:]))
		if 4+l > len(b) {
			break
		}
		if c != code {
			out = append(out, b[:4+l]...)
		}
		b = b[4+l:]
	}
	out = binary.BigEndian.AppendUint16(out, uint16(code))
	out = binary.BigEndian.AppendUint16(out, uint16(len(data)))
	out = append(out, data...)
	opt.RData = [][]byte{out}
}

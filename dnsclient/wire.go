package dnsclient

import (
	"encoding/binary"
	"errors"

	"ljdns/dnsmsg"
)

// Wire-level helpers: the transports edit queries and answers in place
// (ID, EDNS options, TTLs) rather than rebuilding them.

var errWire = errors.New("malformed message")

// rrPos locates one resource record in a message.
type rrPos struct {
	start   int    // first byte of the owner name
	typ     uint16 // TYPE
	ttlOff  int    // offset of the 32-bit TTL
	rdOff   int    // offset of RDATA
	rdLen   int    // RDLENGTH
	section int    // dnsmsg.SectionAN, NS or AR
}

// skipName returns the offset after the (possibly compressed) name at off.
func skipName(w []byte, off int) (int, error) {
	for n := 0; n < 128; n++ {
		if off >= len(w) {
			return 0, errWire
		}
		l := int(w[off])
		switch {
		case l == 0:
			return off + 1, nil
		case l&0xC0 == 0xC0:
			if off+2 > len(w) {
				return 0, errWire
			}
			return off + 2, nil
		case l&0xC0 != 0:
			return 0, errWire
		}
		off += 1 + l
	}
	return 0, errWire
}

// questionEnd returns the offset after the question section (QDCOUNT 0 or
// 1; more is an error).
func questionEnd(w []byte) (int, error) {
	if len(w) < dnsmsg.HeaderLen {
		return 0, errWire
	}
	switch binary.BigEndian.Uint16(w[4:]) {
	case 0:
		return dnsmsg.HeaderLen, nil
	case 1:
	default:
		return 0, errWire
	}
	off, err := skipName(w, dnsmsg.HeaderLen)
	if err != nil || off+4 > len(w) {
		return 0, errWire
	}
	return off + 4, nil
}

// walkRRs calls fn for every record of the answer, authority and
// additional sections, in order; fn returning false stops the walk.
func walkRRs(w []byte, fn func(r rrPos) bool) error {
	off, err := questionEnd(w)
	if err != nil {
		return err
	}
	for s := 0; s < 3; s++ {
		n := int(binary.BigEndian.Uint16(w[6+2*s:]))
		for i := 0; i < n; i++ {
			end, err := skipName(w, off)
			if err != nil || end+10 > len(w) {
				return errWire
			}
			r := rrPos{start: off, typ: binary.BigEndian.Uint16(w[end:]), ttlOff: end + 4,
				rdOff: end + 10, rdLen: int(binary.BigEndian.Uint16(w[end+8:])), section: s}
			if r.rdOff+r.rdLen > len(w) {
				return errWire
			}
			off = r.rdOff + r.rdLen
			if !fn(r) {
				return nil
			}
		}
	}
	return nil
}

// queryInfo describes a query prepared for the wire.
type queryInfo struct {
	qEnd    int  // end of the question section
	signed  bool // carries a TSIG RR: nothing may be changed but the ID
	hasOPT  bool
	payload int // EDNS UDP payload size of the query (0 without OPT)
}

// inspectQuery checks that w is a query with one question and returns what
// the transports need to know about it.
func inspectQuery(w []byte) (queryInfo, error) {
	var qi queryInfo
	end, err := questionEnd(w)
	if err != nil || binary.BigEndian.Uint16(w[4:]) != 1 {
		return qi, ErrBadQuery
	}
	qi.qEnd = end
	err = walkRRs(w, func(r rrPos) bool {
		switch r.typ {
		case dnsmsg.TypeTSIG:
			qi.signed = true
		case dnsmsg.TypeOPT:
			qi.hasOPT = true
			qi.payload = int(binary.BigEndian.Uint16(w[r.ttlOff-2:]))
		}
		return true
	})
	if err != nil {
		return qi, ErrBadQuery
	}
	return qi, nil
}

// ednsOption is one EDNS option to add to a query.
type ednsOption struct {
	code int
	data []byte
}

// addEDNS returns w with an OPT RR of the given payload added (when w has
// none and payload > 0), carrying opts, or with opts appended to the
// existing OPT RR when that is the last record. Options whose code is
// already present are not added twice. Signed queries are returned as is.
func addEDNS(w []byte, qi queryInfo, payload int, opts []ednsOption) []byte {
	if qi.signed {
		return w
	}
	if !qi.hasOPT {
		if payload <= 0 {
			return w
		}
		out := make([]byte, len(w), len(w)+11+optsLen(opts))
		copy(out, w)
		out = append(out, 0, 0, byte(dnsmsg.TypeOPT), byte(payload>>8), byte(payload), 0, 0, 0, 0)
		out = binary.BigEndian.AppendUint16(out, uint16(optsLen(opts)))
		out = appendOpts(out, opts)
		binary.BigEndian.PutUint16(out[10:], binary.BigEndian.Uint16(out[10:])+1)
		return out
	}
	if len(opts) == 0 {
		return w
	}
	var opt rrPos
	last := false
	_ = walkRRs(w, func(r rrPos) bool {
		if r.typ == dnsmsg.TypeOPT {
			opt = r
		}
		last = r.typ == dnsmsg.TypeOPT
		return true
	})
	if !last {
		return w // an OPT before other records: leave the query alone
	}
	var add []ednsOption
	for _, o := range opts {
		if !hasOption(w[opt.rdOff:opt.rdOff+opt.rdLen], o.code) {
			add = append(add, o)
		}
	}
	if len(add) == 0 || opt.rdLen+optsLen(add) > 0xFFFF {
		return w
	}
	out := make([]byte, len(w), len(w)+optsLen(add))
	copy(out, w)
	out = appendOpts(out, add)
	binary.BigEndian.PutUint16(out[opt.rdOff-2:], uint16(opt.rdLen+optsLen(add)))
	return out
}

func optsLen(opts []ednsOption) int {
	n := 0
	for _, o := range opts {
		n += 4 + len(o.data)
	}
	return n
}

func appendOpts(b []byte, opts []ednsOption) []byte {
	for _, o := range opts {
		b = binary.BigEndian.AppendUint16(b, uint16(o.code))
		b = binary.BigEndian.AppendUint16(b, uint16(len(o.data)))
		b = append(b, o.data...)
	}
	return b
}

// optionIn returns the data of EDNS option code in an OPT RDATA.
func optionIn(rd []byte, code int) ([]byte, bool) {
	for len(rd) >= 4 {
		c, l := int(binary.BigEndian.Uint16(rd)), int(binary.BigEndian.Uint16(rd[2:]))
		if 4+l > len(rd) {
			return nil, false
		}
		if c == code {
			return rd[4 : 4+l], true
		}
		rd = rd[4+l:]
	}
	return nil, false
}

func hasOption(rd []byte, code int) bool {
	_, ok := optionIn(rd, code)
	return ok
}

// wireOption returns the data of EDNS option code in message w's OPT RR.
func wireOption(w []byte, code int) ([]byte, bool) {
	var data []byte
	found := false
	_ = walkRRs(w, func(r rrPos) bool {
		if r.typ == dnsmsg.TypeOPT {
			data, found = optionIn(w[r.rdOff:r.rdOff+r.rdLen], code)
			return false
		}
		return true
	})
	return data, found
}

// setID writes id into the message header.
func setID(w []byte, id uint16) { binary.BigEndian.PutUint16(w, id) }

// wireID reads the message ID.
func wireID(w []byte) uint16 { return binary.BigEndian.Uint16(w) }

// wireRcode returns the header RCODE of w extended by its OPT RR, if any.
func wireRcode(w []byte) int {
	rc := int(w[3] & 0x0F)
	_ = walkRRs(w, func(r rrPos) bool {
		if r.typ == dnsmsg.TypeOPT {
			rc |= int(w[r.ttlOff]) << 4
			return false
		}
		return true
	})
	return rc
}

package authority

import "encoding/binary"

// query is what Answer reads of a query: the question and the OPT RR.
type query struct {
	id       uint16
	flags    uint16 // header flags word as received
	qdcount  uint16
	question []byte // the question as on the wire (QNAME QTYPE QCLASS)
	qname    []byte // uncompressed, as received (case kept)
	qtype    uint16
	qclass   uint16
	edns     bool
	payload  uint16
	version  uint8
	do       bool
}

// parseQuery reads the header, the question and the OPT RR of msg. It
// returns false for a message it cannot read (FORMERR).
func parseQuery(msg []byte, q *query) bool {
	if len(msg) < 12 {
		return false
	}
	q.id = binary.BigEndian.Uint16(msg)
	q.flags = binary.BigEndian.Uint16(msg[2:])
	q.qdcount = binary.BigEndian.Uint16(msg[4:])
	if q.qdcount != 1 {
		return false
	}
	off := 12
	for {
		if off >= len(msg) {
			return false
		}
		l := int(msg[off])
		if l&0xc0 != 0 {
			return false // no pointer can precede the question
		}
		off += 1 + l
		if l == 0 {
			break
		}
	}
	if off-12 > 255 || off+4 > len(msg) {
		return false
	}
	q.qname = msg[12:off]
	q.qtype = binary.BigEndian.Uint16(msg[off:])
	q.qclass = binary.BigEndian.Uint16(msg[off+2:])
	q.question = msg[12 : off+4]
	off += 4
	n := int(binary.BigEndian.Uint16(msg[6:])) + int(binary.BigEndian.Uint16(msg[8:]))
	ar := int(binary.BigEndian.Uint16(msg[10:]))
	for i := 0; i < n+ar; i++ {
		var ok bool
		if off, ok = skipName(msg, off); !ok || off+10 > len(msg) {
			return false
		}
		t := binary.BigEndian.Uint16(msg[off:])
		rdl := int(binary.BigEndian.Uint16(msg[off+8:]))
		if off+10+rdl > len(msg) {
			return false
		}
		if t == typeOPT {
			if i < n || q.edns || msg[off-1] != 0 {
				return false // OPT outside additional, twice, or not at the root
			}
			q.edns = true
			q.payload = binary.BigEndian.Uint16(msg[off+2:])
			q.version = msg[off+5]
			q.do = msg[off+6]&0x80 != 0
		}
		off += 10 + rdl
	}
	return true
}

// skipName steps over a possibly compressed name at off.
func skipName(msg []byte, off int) (int, bool) {
	for {
		if off >= len(msg) {
			return 0, false
		}
		l := int(msg[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xc0 == 0xc0:
			return off + 2, off+2 <= len(msg)
		case l&0xc0 != 0:
			return 0, false
		}
		off += 1 + l
	}
}

// writer builds an answer in a buffer of fixed capacity, compressing
// owner names and the names in RDATA of RFC 1035 types.
type writer struct {
	b     []byte
	limit int
	comp  []compEntry
}

// compEntry is a name written at off (its wire bytes in the message,
// uncompressed from off on up to a pointer).
type compEntry struct {
	off  uint16
	name []byte // the uncompressed suffix written there
}

func (w *writer) reset(limit int) {
	if cap(w.b) < limit {
		w.b = make([]byte, 0, limit)
	}
	w.b = w.b[:0]
	w.limit = limit
	w.comp = w.comp[:0]
}

// foldEqual compares two wire names ASCII case-insensitively.
func foldEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x != y {
			if 'A' <= x && x <= 'Z' {
				x += 32
			}
			if 'A' <= y && y <= 'Z' {
				y += 32
			}
			if x != y {
				return false
			}
		}
	}
	return true
}

// name appends the wire name n, compressed when compress; false when it
// does not fit.
func (w *writer) name(n []byte, compress bool) bool {
	for s := n; len(s) > 1; s = s[1+int(s[0]):] {
		if compress {
			for _, c := range w.comp {
				if foldEqual(c.name, s) {
					if len(w.b)+2 > w.limit {
						return false
					}
					w.b = binary.BigEndian.AppendUint16(w.b, 0xc000|c.off)
					return true
				}
			}
		}
		if len(w.b)+1+int(s[0]) > w.limit {
			return false
		}
		if len(w.b) < 0x3fff && len(w.comp) < 64 {
			w.comp = append(w.comp, compEntry{uint16(len(w.b)), s})
		}
		w.b = append(w.b, s[:1+int(s[0])]...)
	}
	if len(w.b)+1 > w.limit {
		return false
	}
	w.b = append(w.b, 0)
	return true
}

// rr appends one record; on failure the buffer is left as before.
func (w *writer) rr(owner []byte, t, class uint16, ttl uint32, rd []byte) bool {
	start, ncomp := len(w.b), len(w.comp)
	fail := func() bool { w.b, w.comp = w.b[:start], w.comp[:ncomp]; return false }
	if !w.name(owner, true) || len(w.b)+10 > w.limit {
		return fail()
	}
	w.b = binary.BigEndian.AppendUint16(w.b, t)
	w.b = binary.BigEndian.AppendUint16(w.b, class)
	w.b = binary.BigEndian.AppendUint32(w.b, ttl)
	lenOff := len(w.b)
	w.b = append(w.b, 0, 0)
	switch {
	case (t == typeNS || t == typeCNAME || t == typePTR) && validName(rd) == len(rd):
		if !w.name(rd, true) {
			return fail()
		}
	case t == typeMX && len(rd) > 2 && validName(rd[2:]) == len(rd)-2:
		if len(w.b)+2 > w.limit {
			return fail()
		}
		w.b = append(w.b, rd[:2]...)
		if !w.name(rd[2:], true) {
			return fail()
		}
	case t == typeSOA && soaOK(rd):
		m := validName(rd)
		r := validName(rd[m:])
		if !w.name(rd[:m], true) || !w.name(rd[m:m+r], true) || len(w.b)+20 > w.limit {
			return fail()
		}
		w.b = append(w.b, rd[m+r:]...)
	default:
		if len(w.b)+len(rd) > w.limit {
			return fail()
		}
		w.b = append(w.b, rd...)
	}
	rdl := len(w.b) - lenOff - 2
	if rdl > 0xffff {
		return fail()
	}
	binary.BigEndian.PutUint16(w.b[lenOff:], uint16(rdl))
	return true
}

func soaOK(rd []byte) bool {
	m := validName(rd)
	if m < 0 {
		return false
	}
	r := validName(rd[m:])
	return r > 0 && len(rd) == m+r+20
}

// validName returns the length of the uncompressed wire name at the start
// of b, or -1.
func validName(b []byte) int {
	off := 0
	for {
		if off >= len(b) {
			return -1
		}
		l := int(b[off])
		if l&0xc0 != 0 {
			return -1
		}
		off += 1 + l
		if l == 0 {
			return off
		}
	}
}

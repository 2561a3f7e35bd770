package authority

import (
	"encoding/binary"
	"sync"

	"ljdns/dnsmsg"
)

const optLen = 11 // an OPT RR without options

var writers = sync.Pool{New: func() any { return new(writer) }}

// Answer answers one query in wire form; tcp says which transport it came
// over (for the size limit). It returns the answer in wire form, or nil
// when the message must be dropped (a response, or too short for a header).
func (e *Engine) Answer(query []byte, tcp bool) []byte {
	return e.AppendAnswer(nil, query, tcp)
}

// AppendAnswer is Answer appending the answer to dst; it returns dst
// unchanged when the message must be dropped.
func (e *Engine) AppendAnswer(dst, msg []byte, tcp bool) []byte {
	if len(msg) < dnsmsg.HeaderLen || msg[2]&0x80 != 0 {
		return dst
	}
	var q query
	if !parseQuery(msg, &q) {
		if q.question != nil { // the question is readable: echo it, as knotd does
			q.edns = false
			return e.write(dst, &q, &result{rcode: rcodeFormErr}, 512)
		}
		return append(dst, header(msg, rcodeFormErr)...)
	}
	if q.flags>>11&0xf != 0 {
		return append(dst, header(msg, rcodeNotImp)...)
	}
	limit := 512
	if tcp {
		limit = 65535
	} else if q.edns {
		limit = max(512, min(int(q.payload), e.opt.UDPMax))
	}
	var r *result
	switch {
	case q.edns && q.version != 0:
		r = &result{rcode: 16} // BADVERS
	case q.qclass != classIN:
		r = &result{rcode: rcodeRefused}
	case q.qtype == typeAXFR || q.qtype == typeIXFR || q.qtype == typeOPT:
		r = &result{rcode: rcodeRefused} // transfers go through Transfer
	default:
		r = e.resolve(q.qname, q.qtype, q.edns && q.do)
	}
	return e.write(dst, &q, r, limit)
}

// header answers with just a header (echoing ID, opcode and RD) and rcode.
func header(query []byte, rcode int) []byte {
	out := make([]byte, dnsmsg.HeaderLen)
	copy(out, query[:4])
	out[2] = 0x80 | query[2]&0x79 // QR, opcode, RD
	out[3] = byte(rcode & 0xf)
	return out
}

// write serialises r as the answer to q within limit bytes and appends it
// to dst.
func (e *Engine) write(dst []byte, q *query, r *result, limit int) []byte {
	w := writers.Get().(*writer)
	defer writers.Put(w)
	size := limit
	if q.edns {
		size -= optLen
	}
	w.reset(size)
	flags := uint16(0x8000) | q.flags&(0x7800|0x0100|0x0010) // QR, opcode, RD, CD
	if r.aa {
		flags |= 0x0400
	}
	flags |= uint16(r.rcode & 0xf)
	w.b = binary.BigEndian.AppendUint16(w.b, q.id)
	w.b = binary.BigEndian.AppendUint16(w.b, flags)
	w.b = append(w.b, 0, 1, 0, 0, 0, 0, 0, 0)
	w.name(q.qname, false)
	w.b = append(w.b, q.question[len(q.qname):]...)
	tc := false
	var counts [3]uint16
	// Each section gets its sets first, then their signatures (as knotd
	// writes them): a signature that does not fit leaves the answer
	// truncated with the sets it has.
	var done [16]bool
	put := func(sec int, items []item) {
		for i, it := range items {
			if i < len(done) {
				done[i] = false
			}
			if it.rr == nil {
				continue
			}
			start, ncomp, cnt := len(w.b), len(w.comp), counts[sec]
			if !w.set(it.rr, &counts[sec]) {
				w.b, w.comp, counts[sec] = w.b[:start], w.comp[:ncomp], cnt
				if it.req {
					tc = true
					if sec != dnsmsg.SectionAR {
						items = items[:i]
						break
					}
				}
				continue
			}
			if i < len(done) {
				done[i] = true
			}
		}
		if !r.do {
			return
		}
		for i, it := range items {
			if it.sig == nil || i >= len(done) || !done[i] {
				continue
			}
			start, ncomp, cnt := len(w.b), len(w.comp), counts[sec]
			if !w.set(it.sig, &counts[sec]) {
				w.b, w.comp, counts[sec] = w.b[:start], w.comp[:ncomp], cnt
				if it.req {
					tc = true
					return
				}
			}
		}
	}
	put(dnsmsg.SectionAN, r.an)
	if !tc {
		put(dnsmsg.SectionNS, r.ns)
	}
	if !tc {
		put(dnsmsg.SectionAR, r.ar)
	}
	if tc {
		w.b[2] |= 0x02
	}
	binary.BigEndian.PutUint16(w.b[6:], counts[0])
	binary.BigEndian.PutUint16(w.b[8:], counts[1])
	binary.BigEndian.PutUint16(w.b[10:], counts[2])
	if q.edns {
		var o [optLen]byte
		o[2] = byte(typeOPT)
		binary.BigEndian.PutUint16(o[3:], uint16(e.opt.UDPMax))
		o[5] = byte(r.rcode >> 4)
		if r.do {
			o[7] = 0x80
		}
		w.b = append(w.b, o[:]...)
		binary.BigEndian.PutUint16(w.b[10:], counts[2]+1)
	}
	return append(dst, w.b...)
}

// set writes every record of rr, counting them in *n.
func (w *writer) set(rr *dnsmsg.RRSet, n *uint16) bool {
	for _, rd := range rr.RData {
		if !w.rr(rr.Owner.Wire, rr.Type, rr.Class, rr.TTL, rd) {
			return false
		}
		*n++
	}
	return true
}

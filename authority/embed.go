package authority

import (
	"sync"

	"ljdns/dnsmsg"
)

// AppendAnswerRoom answers the query msg for a server that writes the
// EDNS part itself (ljdns serve's pipeline): the answer is appended to dst
// without an OPT RR, within room bytes (sets that do not fit set TC as in
// AppendAnswer), RRSIGs included when the query has DO. The caller has
// checked the header (a query, opcode QUERY, EDNS version 0).
//
// ok is false, and dst returned unchanged, when the engine has nothing to
// say: the question is not class IN, lies in none of its zones, asks for
// a transfer (TransferRoom), or msg does not parse; the caller passes the
// query on (another source, or REFUSED).
func (e *Engine) AppendAnswerRoom(dst, msg []byte, room int) (out []byte, ok bool) {
	if len(msg) < dnsmsg.HeaderLen || msg[2]&0x80 != 0 {
		return dst, false
	}
	var q query
	if !parseQuery(msg, &q) || q.qclass != classIN || q.qtype == typeAXFR || q.qtype == typeIXFR {
		return dst, false
	}
	var lb [256]byte
	if e.find(lower(&lb, q.qname), q.qtype) == nil {
		return dst, false
	}
	r := results.Get().(*result)
	e.resolveInto(r, q.qname, q.qtype, q.edns && q.do)
	q.edns = false // no OPT RR: the caller writes it
	out = e.write(dst, &q, r, max(room, dnsmsg.HeaderLen+len(q.question)))
	clear(r.an)
	clear(r.ns)
	clear(r.ar)
	results.Put(r)
	return out, true
}

// results pools the results of AppendAnswerRoom (with their slices).
var results = sync.Pool{New: func() any { return new(result) }}

// Covers reports whether qname (wire form, any case) lies in one of the
// engine's zones.
func (e *Engine) Covers(qname []byte) bool {
	if len(qname) > 255 {
		return false
	}
	var lb [256]byte
	return e.find(lower(&lb, qname), 0) != nil
}

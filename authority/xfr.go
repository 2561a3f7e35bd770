package authority

import (
	"encoding/binary"
	"errors"

	"ljdns/dnsmsg"
)

// Transfer answers an AXFR query (RFC 5936) as a stream of messages, each
// at most 65535 bytes: the SOA first and last, every other set between.
// Who may transfer (ACL, TSIG) and over which transport is decided by the
// caller.
func (e *Engine) Transfer(msg []byte) ([][]byte, error) {
	return e.TransferRoom(msg, 65535)
}

// TransferRoom is Transfer with messages of at most room bytes (room for a
// TSIG RR the caller appends), also answering an IXFR query with the whole
// zone (RFC 1995 §4's AXFR-style reply; the question stays IXFR).
func (e *Engine) TransferRoom(msg []byte, room int) ([][]byte, error) {
	var q query
	if len(msg) < dnsmsg.HeaderLen || !parseQuery(msg, &q) {
		return nil, errors.New("malformed AXFR query")
	}
	if q.qtype != typeAXFR && q.qtype != typeIXFR {
		return nil, errors.New("not an AXFR query")
	}
	room = max(512, min(room, 65535))
	z := e.Zone(q.qname)
	if z == nil {
		return [][]byte{e.write(nil, &q, &result{rcode: rcodeNotAuth}, room)}, nil
	}
	var sets []*dnsmsg.RRSet
	if z.online != nil {
		// the whole zone signed, with an NSEC chain (sign.go)
		var err error
		if sets, err = z.online.transferSets(); err != nil {
			return nil, err
		}
	} else {
		sets = append(sets, z.soa)
		for _, n := range z.sortedNodes() {
			for _, t := range sortedTypes(n) {
				if n == z.nodes[string(z.Origin)] && t == typeSOA {
					continue
				}
				sets = append(sets, n.sets[t])
			}
			for _, t := range sortedSigTypes(n) {
				sets = append(sets, n.sigs[t])
			}
		}
		sets = append(sets, z.soa)
	}
	// one record at a time, so a large set may span messages (RFC 5936 §2.2)
	var out [][]byte
	w := new(writer)
	for si, ri := 0, 0; si < len(sets); {
		w.reset(room)
		w.b = binary.BigEndian.AppendUint16(w.b, q.id)
		w.b = binary.BigEndian.AppendUint16(w.b, 0x8400) // QR AA
		w.b = append(w.b, 0, 1, 0, 0, 0, 0, 0, 0)
		w.name(q.qname, false)
		w.b = append(w.b, q.question[len(q.qname):]...)
		var n uint16
		for si < len(sets) && n < 0xffff {
			rr := sets[si]
			if !w.rr(rr.Owner.Wire, rr.Type, rr.Class, rr.TTL, rr.RData[ri]) {
				break
			}
			n++
			if ri++; ri == len(rr.RData) {
				si, ri = si+1, 0
			}
		}
		if n == 0 {
			return nil, errors.New("a record larger than a message")
		}
		binary.BigEndian.PutUint16(w.b[6:], n)
		out = append(out, append([]byte(nil), w.b...))
	}
	return out, nil
}

// sortedNodes returns the zone's nodes with data in canonical order.
func (z *Zone) sortedNodes() []*node {
	var ns []*node
	for _, n := range z.nodes {
		if len(n.sets) > 0 || len(n.sigs) > 0 {
			ns = append(ns, n)
		}
	}
	sortNodes(ns)
	return ns
}

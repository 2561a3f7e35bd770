package authority

import (
	"errors"

	"ljdns/dnsmsg"
)

// Transfer answers an AXFR query (RFC 5936) as a stream of messages, each
// at most 65535 bytes: the SOA first and last, every other set between.
// Who may transfer (ACL, TSIG) and over which transport is decided by the
// caller.
func (e *Engine) Transfer(query []byte) ([][]byte, error) {
	q := dnsmsg.NewPacketFrom(len(query), query)
	if q.Parse(false) != 0 {
		return nil, errors.New("malformed AXFR query")
	}
	qname, qtype, _, ok := q.Question()
	if !ok || qtype != typeAXFR {
		return nil, errors.New("not an AXFR query")
	}
	z := e.Zone(qname)
	if z == nil {
		return [][]byte{e.write(q, &result{rcode: rcodeNotAuth}, 65535, q.OPT() != nil)}, nil
	}
	var sets []*dnsmsg.RRSet
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
	var out [][]byte
	for len(sets) > 0 {
		p := dnsmsg.NewPacket(65535)
		if err := q.ToAnswer(p); err != nil {
			return nil, err
		}
		p.SetFlag("aa", true)
		_ = p.Begin(dnsmsg.SectionAN)
		n := 0
		for n < len(sets) && p.Put(sets[n], true) {
			n++
		}
		if n == 0 {
			return nil, errors.New("an RR set larger than a message")
		}
		sets = sets[n:]
		out = append(out, append([]byte(nil), p.Bytes()...))
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

package authority

import (
	"encoding/binary"

	"ljdns/dnsmsg"
)

const optLen = 11 // an OPT RR without options

// Answer answers one query in wire form; tcp says which transport it came
// over (for the size limit). It returns the answer in wire form, or nil
// when the message must be dropped (a response, or too short for a header).
func (e *Engine) Answer(query []byte, tcp bool) []byte {
	if len(query) < dnsmsg.HeaderLen || query[2]&0x80 != 0 {
		return nil
	}
	q := dnsmsg.NewPacketFrom(len(query), query)
	if q.Parse(false) != 0 {
		return header(query, rcodeFormErr)
	}
	if q.Opcode() != 0 {
		return header(query, rcodeNotImp)
	}
	qname, qtype, qclass, ok := q.Question()
	if !ok || q.Count(-1) != 1 {
		return header(query, rcodeFormErr)
	}
	opt := q.OPT()
	limit := 512
	if tcp {
		limit = 65535
	}
	do := false
	if opt != nil {
		if !tcp {
			limit = max(512, min(int(opt.Class), e.opt.UDPMax))
		}
		do = dnsmsg.OPTDo(opt)
		if dnsmsg.OPTVersion(opt) != 0 {
			return e.write(q, &result{rcode: 16}, limit, opt != nil)
		}
	}
	var r *result
	switch {
	case qclass != classIN:
		r = &result{rcode: rcodeRefused}
	case qtype == typeAXFR || qtype == typeIXFR || qtype == typeOPT:
		r = &result{rcode: rcodeRefused} // transfers go through Transfer
	default:
		r = e.resolve(qname, qtype, do)
	}
	return e.write(q, r, limit, opt != nil)
}

// header answers with just a header (echoing ID, opcode and RD) and rcode.
func header(query []byte, rcode int) []byte {
	out := make([]byte, dnsmsg.HeaderLen)
	copy(out, query[:4])
	out[2] = 0x80 | query[2]&0x79 // QR, opcode, RD
	out[3] = byte(rcode & 0xf)
	return out
}

// write serialises r as the answer to q within limit bytes.
func (e *Engine) write(q *dnsmsg.Packet, r *result, limit int, edns bool) []byte {
	size := limit
	if edns {
		size -= optLen
	}
	p := dnsmsg.NewPacket(size)
	if err := q.ToAnswer(p); err != nil {
		return header(q.Bytes(), rcodeServFail)
	}
	p.SetFlag("rd", q.Flag("rd"))
	p.SetFlag("cd", q.Flag("cd"))
	p.SetFlag("aa", r.aa)
	_ = p.SetRcode(r.rcode & 0xf)
	tc := false
	put := func(sec int, items []item) {
		if tc && sec != dnsmsg.SectionAR {
			return
		}
		_ = p.Begin(sec)
		for _, it := range items {
			if it.rr == nil {
				continue
			}
			if !p.Put(it.rr, true) || r.do && it.sig != nil && !p.Put(it.sig, true) {
				if it.req {
					tc = true
					if sec != dnsmsg.SectionAR {
						return
					}
				}
				continue
			}
		}
	}
	put(dnsmsg.SectionAN, r.an)
	put(dnsmsg.SectionNS, r.ns)
	if !tc {
		put(dnsmsg.SectionAR, r.ar)
	}
	if tc {
		p.SetFlag("tc", true)
	}
	out := make([]byte, p.Size, p.Size+optLen)
	copy(out, p.Bytes())
	if edns {
		var o [optLen]byte
		o[2] = byte(typeOPT)
		binary.BigEndian.PutUint16(o[3:], uint16(e.opt.UDPMax))
		o[5] = byte(r.rcode >> 4)
		if r.do {
			o[7] = 0x80
		}
		out = append(out, o[:]...)
		binary.BigEndian.PutUint16(out[10:], binary.BigEndian.Uint16(out[10:])+1)
	}
	return out
}

package dnsclient

import (
	"bytes"
	"encoding/binary"
	"errors"

	"ljdns/dnsmsg"
)

// Reasons for dropping a received message; the transports drop it and go
// on waiting for the real answer.
var (
	errNotResponse   = errors.New("not a response (QR clear)")
	errWrongID       = errors.New("wrong message ID")
	errWrongOpcode   = errors.New("wrong opcode")
	errWrongQuestion = errors.New("question does not match the query")
	errWrongCookie   = errors.New("client cookie does not match")
	errNoCookie      = errors.New("server supports cookies but the answer has none")
	errUnparsable    = errors.New("answer does not parse")
)

// MatchAnswer reports whether wire is an acceptable answer to the query
// query (as sent, ID included), and returns it parsed. This is the check
// every transport applies to what it receives: QR set, the same ID and
// opcode, and the same question byte for byte (QNAME case included); an
// answer without question is accepted only with an error RCODE and empty
// sections. A truncated (TC) answer whose records do not parse is returned
// with its header and question only. Anything else is an error, and the
// transports drop such messages and keep waiting.
func MatchAnswer(query, wire []byte) (*dnsmsg.Packet, error) {
	qi, err := inspectQuery(query)
	if err != nil {
		return nil, err
	}
	return matchAnswer(query, qi, wire, nil, false, false)
}

// matchAnswer is MatchAnswer with the query already inspected and the
// cookie rules of RFC 7873 §5.3: with cookie (the client cookie sent) an
// answer carrying a COOKIE option must echo it; with needCookie (the server
// is known to use cookies) an answer without one is dropped. With later,
// the message is a later one of a transfer, whose question section may be
// empty (RFC 5936 §2.2).
func matchAnswer(q []byte, qi queryInfo, a []byte, cookie []byte, needCookie, later bool) (*dnsmsg.Packet, error) {
	if len(a) < dnsmsg.HeaderLen {
		return nil, errUnparsable
	}
	if a[2]&0x80 == 0 {
		return nil, errNotResponse
	}
	if wireID(a) != wireID(q) {
		return nil, errWrongID
	}
	if (a[2]^q[2])&0x78 != 0 {
		return nil, errWrongOpcode
	}
	qd := binary.BigEndian.Uint16(a[4:])
	switch {
	case qd == 1:
		if len(a) < qi.qEnd || !bytes.Equal(a[dnsmsg.HeaderLen:qi.qEnd], q[dnsmsg.HeaderLen:qi.qEnd]) {
			return nil, errWrongQuestion
		}
	case qd == 0 && a[3]&0x0F != 0 && a[6]|a[7]|a[8]|a[9] == 0:
		// FORMERR and the like without question: accepted (as domain does)
	case qd == 0 && later:
	default:
		return nil, errWrongQuestion
	}
	if cookie != nil {
		c, ok := wireOption(a, dnsmsg.OptionCookie)
		switch {
		case ok && (len(c) < 8 || !bytes.Equal(c[:8], cookie)):
			return nil, errWrongCookie
		case !ok && needCookie && a[2]&0x02 == 0:
			return nil, errNoCookie
		}
	}
	p := dnsmsg.NewPacketFrom(len(a), a)
	if p.Parse(false) == 0 {
		return p, nil
	}
	if a[2]&0x02 == 0 || qd != 1 {
		return nil, errUnparsable
	}
	// truncated: keep the header and question so that the caller sees TC
	p = dnsmsg.NewPacketFrom(qi.qEnd, a[:qi.qEnd])
	clear(p.Buf[6:12])
	if p.Parse(false) != 0 {
		return nil, errUnparsable
	}
	return p, nil
}

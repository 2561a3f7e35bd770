package dnsmsg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors of the packet setters.
var (
	// ErrExtendedRcode is returned when an RCODE above 15 is set on a
	// packet without an OPT RR to hold its upper bits.
	ErrExtendedRcode = errors.New("cannot use extended without OPT in packet")
	// ErrAnswerIntoQuery is returned by ToAnswer when both packets are one.
	ErrAnswerIntoQuery = errors.New("cannot answer into the query packet")
)

// HeaderField returns the 16-bit header word at byte offset off (OffID,
// OffQDCount, ...), read from Buf whatever Size is.
func (p *Packet) HeaderField(off int) uint16 { return binary.BigEndian.Uint16(p.Buf[off:]) }

// SetHeaderField sets the 16-bit header word at byte offset off.
func (p *Packet) SetHeaderField(off int, v uint16) { binary.BigEndian.PutUint16(p.Buf[off:], v) }

// SetID sets the message ID.
func (p *Packet) SetID(id uint16) { p.SetHeaderField(OffID, id) }

// SetOpcode sets the header opcode (4 bits).
func (p *Packet) SetOpcode(op int) { p.Buf[2] = p.Buf[2]&^0x78 | byte(op&0x0F)<<3 }

// SetRcode sets the RCODE: the low 4 bits in the header, the next 8 in the
// OPT RR (written through to the wire when the OPT RR is there). Values
// above 15 need an OPT RR (ErrExtendedRcode).
func (p *Packet) SetRcode(rc int) error {
	if rc > 15 && p.opt == nil {
		return ErrExtendedRcode
	}
	p.Buf[3] = p.Buf[3]&^0x0F | byte(rc&0x0F)
	if p.opt != nil {
		p.opt.TTL = p.opt.TTL&0x00FFFFFF | uint32(rc>>4&0xFF)<<24
		if p.optOff >= 0 && p.optOff+9 <= p.Size {
			binary.BigEndian.PutUint32(p.Buf[p.optOff+5:], p.opt.TTL)
		}
	}
	return nil
}

// Parsed returns the number of bytes consumed by the last parse.
func (p *Packet) Parsed() int { return p.parsed }

// QNameSize returns the wire length of QNAME in the message (0 without
// a question).
func (p *Packet) QNameSize() int { return p.qnameSize }

// RecordCount returns the number of records written or parsed so far, in
// all sections.
func (p *Packet) RecordCount() int { return len(p.rrs) }

// Copy returns a parsed copy of p, or nil if p does not parse.
func (p *Packet) Copy() *Packet {
	c := &Packet{Buf: make([]byte, len(p.Buf)), Size: p.Size}
	copy(c.Buf, p.Buf[:p.Size])
	if c.Parse(false) != 0 {
		return nil
	}
	return c
}

// Answers reports whether p is a response matching query q: QR set, same
// ID and same question.
func (p *Packet) Answers(q *Packet) bool {
	if !p.Flag("qr") || p.ID() != q.ID() {
		return false
	}
	n1, t1, c1, ok1 := p.Question()
	n2, t2, c2, ok2 := q.Question()
	return ok1 == ok2 && t1 == t2 && c1 == c2 && bytes.Equal(n1, n2)
}

// ToAnswer clears a and makes it the start of an answer to query p: the
// question and ID of p, QR set.
func (p *Packet) ToAnswer(a *Packet) error {
	if a == p {
		return ErrAnswerIntoQuery
	}
	if len(a.Buf) < p.Size {
		return fmt.Errorf("answer packet too small (%d < %d)", len(a.Buf), p.Size)
	}
	a.Clear()
	if qn, qt, qc, ok := p.Question(); ok {
		if _, err := a.SetQuestion(qn, qt, qc); err != nil {
			return err
		}
	}
	a.SetID(p.ID())
	a.SetFlag("qr", true)
	return nil
}

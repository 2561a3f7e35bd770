package replay

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"ljdns/dnsmsg"
)

const (
	typeOPT   = 41
	typeRRSIG = 46
	typeTSIG  = 250
)

// message is the comparable view of a DNS message, as Deckard (dnspython)
// sees it: header fields, the question, and each section as a list of RR
// sets (records of one owner, class, type and covered type merged, TTLs
// ignored, RDATA compared in canonical form).
type message struct {
	id       uint16
	opcode   int
	rcode    int
	flags    uint16 // flagMask bits only
	edns     bool
	version  int
	payload  int
	do       bool
	question []Question
	sections [3][]*rrset
}

// rrset is one RR set of a message section.
type rrset struct {
	owner         []byte // lowercased wire
	class, typ    uint16
	covers        uint16 // for RRSIG
	rdata         [][]byte
	canon         [][]byte // canonical RDATA, sorted, without duplicates
	text          []string // the records as zone lines, for messages
	ttl           uint32
	originalOwner []byte
}

// equal compares two RR sets as dnspython does: owner (case-insensitive),
// class, type, covered type and the set of RDATA; TTLs are ignored.
func (a *rrset) equal(b *rrset) bool {
	return a.class == b.class && a.typ == b.typ && a.covers == b.covers &&
		bytes.Equal(a.owner, b.owner) && slices.EqualFunc(a.canon, b.canon, bytes.Equal)
}

// add merges one record into the section list ss.
func addRecord(ss []*rrset, owner []byte, class, typ uint16, ttl uint32, rd []byte) []*rrset {
	lo := dnsmsg.LowerName(bytes.Clone(owner))
	var covers uint16
	if typ == typeRRSIG && len(rd) >= 2 {
		covers = binary.BigEndian.Uint16(rd)
	}
	var set *rrset
	for _, s := range ss {
		if s.class == class && s.typ == typ && s.covers == covers && bytes.Equal(s.owner, lo) {
			set = s
			break
		}
	}
	if set == nil {
		set = &rrset{owner: lo, originalOwner: owner, class: class, typ: typ, covers: covers, ttl: ttl}
		ss = append(ss, set)
	}
	c := canonicalRData(typ, rd)
	i, found := slices.BinarySearchFunc(set.canon, c, bytes.Compare)
	if !found {
		set.canon = slices.Insert(set.canon, i, c)
	}
	set.rdata = append(set.rdata, rd)
	rr := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: owner}, Type: typ, Class: class, TTL: ttl, RData: [][]byte{rd}}
	set.text = append(set.text, strings.TrimRight(rr.String(), "\n"))
	return ss
}

// entryMessage is the message an entry describes (its REPLY flags, opcode
// and rcode, question and sections; EDNS 0 with a 4096-byte payload).
func entryMessage(e *Entry) *message {
	m := &message{opcode: e.Opcode, rcode: e.Rcode, flags: e.Flags, edns: true, payload: 4096, do: e.DO}
	m.question = e.Question
	for s := range e.Sections {
		for _, r := range e.Sections[s] {
			m.sections[s] = addRecord(m.sections[s], r.Owner, r.Class, r.Type, r.TTL, r.RData)
		}
	}
	return m
}

// packetMessage is the view of a parsed packet. OPT and TSIG are not part
// of the ADDITIONAL section (as in dnspython).
func packetMessage(p *dnsmsg.Packet) *message {
	w := p.Bytes()
	m := &message{id: p.ID(), opcode: p.Opcode(), rcode: p.Rcode()}
	if len(w) >= 4 {
		m.flags = binary.BigEndian.Uint16(w[2:]) & flagMask
	}
	if qname, qt, qc, ok := p.Question(); ok {
		m.question = []Question{{Name: bytes.Clone(qname), Type: qt, Class: qc}}
	}
	if opt := p.OPT(); opt != nil {
		m.edns, m.version, m.payload, m.do = true, dnsmsg.OPTVersion(opt), int(opt.Class), dnsmsg.OPTDo(opt)
	}
	for s := range m.sections {
		for _, rr := range p.Records(s) {
			if rr.Type == typeOPT || rr.Type == typeTSIG {
				continue
			}
			for _, rd := range rr.RData {
				m.sections[s] = addRecord(m.sections[s], rr.OwnerWire(), rr.Class, rr.Type, rr.TTL, rd)
			}
		}
	}
	return m
}

// canonicalRData lowercases the domain names in rd that RFC 4034 §6.2 lists
// (and the RRSIG signer, as dnspython does), so that RDATA compare as
// dnspython compares them. Malformed RDATA are returned unchanged.
func canonicalRData(t uint16, rd []byte) []byte {
	var names, skip int // how many names, after how many fixed bytes
	switch t {
	case 2, 3, 4, 5, 7, 8, 9, 12, 39: // NS MD MF CNAME MB MG MR PTR DNAME
		names = 1
	case 6, 14, 17: // SOA MINFO RP
		names = 2
	case 15, 18, 21, 36: // MX AFSDB RT KX
		names, skip = 1, 2
	case 26: // PX
		names, skip = 2, 2
	case 33: // SRV
		names, skip = 1, 6
	case typeRRSIG:
		names, skip = 1, 18
	default:
		return rd
	}
	out := bytes.Clone(rd)
	off := skip
	for range names {
		n := dnsmsg.DnameLen(out[min(off, len(out)):])
		if n <= 0 || off+n > len(out) {
			return rd
		}
		copy(out[off:], dnsmsg.LowerName(out[off:off+n]))
		off += n
	}
	return out
}

// flagsText writes header flags as Deckard's REPLY line does.
func flagsText(f uint16) string {
	var parts []string
	for _, fl := range flagNames {
		if f&fl.bit != 0 {
			parts = append(parts, fl.name)
		}
	}
	return strings.Join(parts, " ")
}

// rcodeText names an rcode.
func rcodeText(rc int) string {
	if rc >= 0 && rc < len(rcodeNames) {
		return rcodeNames[rc]
	}
	if rc == 16 {
		return "BADVERS"
	}
	return fmt.Sprintf("RCODE%d", rc)
}

// questionText writes a question list.
func questionText(q []Question) string {
	var parts []string
	for _, x := range q {
		parts = append(parts, fmt.Sprintf("%s %s %s", (&dnsmsg.Name{Wire: x.Name}).String(),
			dnsmsg.ClassString(x.Class), dnsmsg.TypeString(x.Type)))
	}
	if parts == nil {
		return "(none)"
	}
	return strings.Join(parts, ", ")
}

// sectionText writes a section's records on one line: "[rr; rr]".
func sectionText(ss []*rrset) string {
	var parts []string
	for _, s := range ss {
		for _, t := range s.text {
			parts = append(parts, strings.Join(strings.Fields(t), " "))
		}
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// buildPacket writes m as wire: header, first question, the sections in
// the order their records were added, and an OPT RR when m.edns.
func buildPacket(m *message) (*dnsmsg.Packet, error) {
	p := dnsmsg.NewPacket(65535)
	p.Clear()
	if len(m.question) > 0 {
		q := m.question[0]
		if ok, err := p.SetQuestion(q.Name, q.Type, q.Class); !ok || err != nil {
			return nil, fmt.Errorf("question does not fit: %v", err)
		}
	}
	p.SetID(m.id)
	p.SetOpcode(m.opcode)
	for _, fl := range flagNames {
		p.SetFlag(strings.ToLower(fl.name), m.flags&fl.bit != 0)
	}
	for s := range m.sections {
		if err := p.Begin(s); err != nil {
			return nil, err
		}
		for _, set := range m.sections[s] {
			for _, rd := range set.rdata {
				rr := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: set.originalOwner}, Type: set.typ, Class: set.class,
					TTL: set.ttl, RData: [][]byte{rd}}
				if !p.Put(rr, false) {
					return nil, fmt.Errorf("record %s does not fit", set.text[0])
				}
			}
		}
		if s == dnsmsg.SectionAR && m.edns {
			opt := dnsmsg.NewOPT(m.version, m.payload)
			dnsmsg.SetOPTDo(opt, m.do)
			if !p.Put(opt, false) {
				return nil, fmt.Errorf("OPT does not fit")
			}
		}
	}
	if err := p.SetRcode(m.rcode); err != nil {
		return nil, err
	}
	return p, nil
}

package dnsmsg

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// Header flag bits: byte 2 and byte 3 of the header.
var flagBits = []struct {
	name string
	byte int
	mask byte
}{{"rd", 2, 0x01}, {"tc", 2, 0x02}, {"aa", 2, 0x04}, {"qr", 2, 0x80},
	{"cd", 3, 0x10}, {"ad", 3, 0x20}, {"ra", 3, 0x80}}

// FlagNames returns the names of the header flags Flag and SetFlag know,
// in the order the text forms print them.
func FlagNames() []string {
	out := make([]string, len(flagBits))
	for i, f := range flagBits {
		out[i] = f.name
	}
	return out
}

// Flag reports a header flag by name (rd tc aa qr cd ad ra).
func (p *Packet) Flag(name string) bool {
	for _, f := range flagBits {
		if f.name == name {
			return p.Buf[f.byte]&f.mask != 0
		}
	}
	return false
}

// SetFlag sets or clears a header flag by name.
func (p *Packet) SetFlag(name string, on bool) {
	for _, f := range flagBits {
		if f.name == name {
			if on {
				p.Buf[f.byte] |= f.mask
			} else {
				p.Buf[f.byte] &^= f.mask
			}
		}
	}
}

// Opcode returns the header opcode.
func (p *Packet) Opcode() int { return int(p.Buf[2]>>3) & 0x0F }

// Rcode returns the RCODE including the OPT extended bits.
func (p *Packet) Rcode() int {
	rc := int(p.Buf[3] & 0x0F)
	if p.opt != nil {
		rc |= int(p.opt.TTL>>24) << 4
	}
	return rc
}

// Question returns QNAME (uncompressed), QTYPE and QCLASS; ok is false
// without a (well-formed) question.
func (p *Packet) Question() (qname []byte, qtype, qclass uint16, ok bool) {
	if p.Size < hdrLen || p.u16(offQD) == 0 {
		return nil, 0, 0, false
	}
	w := p.Buf[:p.Size]
	n, end, code := readName(w, hdrLen, nil)
	if code != 0 || end+4 > len(w) {
		return nil, 0, 0, false
	}
	return n, binary.BigEndian.Uint16(w[end:]), binary.BigEndian.Uint16(w[end+2:]), true
}

func tostringConst(tbl []Const, v int) string { return constName(tbl, v) }

// String returns the dig-like text of API.md §1.7.
func (p *Packet) String() string {
	var sb strings.Builder
	sb.WriteString(";; ->>HEADER<<- opcode: ")
	sb.WriteString(tostringConst(opcodeConsts, p.Opcode()))
	sb.WriteString("; status: ")
	sb.WriteString(tostringConst(rcodeConsts, p.Rcode()))
	sb.WriteString("; id: ")
	sb.WriteString(strconv.Itoa(int(p.ID())))
	sb.WriteString("\n;; Flags: ")
	first := true
	for _, f := range flagBits {
		if p.Buf[f.byte]&f.mask != 0 {
			if !first {
				sb.WriteByte(' ')
			}
			sb.WriteString(f.name)
			first = false
		}
	}
	sb.WriteString("; QUERY: ")
	sb.WriteString(strconv.Itoa(p.u16(offQD)))
	for i, s := range []string{"ANSWER", "AUTHORITY", "ADDITIONAL"} {
		sb.WriteString("; ")
		sb.WriteString(s)
		sb.WriteString(": ")
		sb.WriteString(strconv.Itoa(p.Count(i)))
	}
	sb.WriteString("\n\n")
	if p.opt != nil {
		sb.WriteString(";; OPT PSEUDOSECTION:\n; EDNS: version: ")
		sb.WriteString(strconv.Itoa(int(p.opt.TTL>>16) & 0xFF))
		sb.WriteString(", flags:")
		if p.opt.TTL&0x8000 != 0 {
			sb.WriteString(" do")
		}
		sb.WriteString("; udp: ")
		sb.WriteString(strconv.Itoa(int(p.opt.Class)))
		if c, ok := EDNSOption(p.opt, OptionCookie); ok {
			sb.WriteString("; cookie: ")
			sb.WriteString(upperHex(c))
		}
		sb.WriteByte('\n')
	}
	if p.tsig != nil {
		sb.WriteString(";; TSIG PSEUDOSECTION:\n")
		p.tsig.appendText(&sb)
	}
	if qn, qt, qc, ok := p.Question(); ok {
		sb.WriteString(";; QUESTION\n;")
		appendNameText(&sb, qn)
		sb.WriteByte('\t')
		sb.WriteString(TypeString(qt))
		sb.WriteByte('\t')
		sb.WriteString(ClassString(qc))
		sb.WriteByte('\n')
	}
	for i, s := range []string{";; ANSWER\n", ";; AUTHORITY\n", ";; ADDITIONAL\n"} {
		recs := p.Records(i)
		if len(recs) == 0 {
			continue
		}
		sb.WriteString(s)
		for _, rr := range recs {
			if rr.Type != TypeOPT && rr.Type != TypeTSIG {
				rr.appendText(&sb)
			}
		}
	}
	return sb.String()
}

// ShortString returns the RR lines of the ANSWER section only.
func (p *Packet) ShortString() string {
	var sb strings.Builder
	for _, rr := range p.Records(SectionAN) {
		if rr.Type != TypeOPT && rr.Type != TypeTSIG {
			rr.appendText(&sb)
		}
	}
	return sb.String()
}

// JSON returns the Google DNS-over-HTTPS flavoured JSON of API.md §1.7.
func (p *Packet) JSON() string {
	var sb strings.Builder
	b := func(name string, v bool, sep string) {
		sb.WriteString(sep)
		sb.WriteString(`"` + name + `": `)
		sb.WriteString(strconv.FormatBool(v))
	}
	sb.WriteString(`{"Status": `)
	sb.WriteString(strconv.Itoa(p.Rcode()))
	b("TC", p.Flag("tc"), ",")
	b("RD", p.Flag("rd"), ",")
	b("RA", p.Flag("ra"), ", ")
	b("AD", p.Flag("ad"), ", ")
	b("CD", p.Flag("cd"), ",")
	if qn, qt, _, ok := p.Question(); ok {
		sb.WriteString(`,"Question":[{"name": `)
		sb.WriteString(jsonString((&Name{Wire: qn}).String()))
		sb.WriteString(`, "type": `)
		sb.WriteString(strconv.Itoa(int(qt)))
		sb.WriteString(`}]`)
	}
	for i, s := range []string{"Answer", "Authority", "Additional"} {
		n := 0
		for _, rr := range p.Records(i) {
			if rr.Type == TypeOPT || rr.Type == TypeTSIG {
				continue
			}
			for _, rd := range rr.RData {
				if n == 0 {
					sb.WriteString(`,"` + s + `":[`)
				} else {
					sb.WriteByte(',')
				}
				n++
				sb.WriteString(`{"name": `)
				sb.WriteString(jsonString(rr.Owner.String()))
				sb.WriteString(`, "type": `)
				sb.WriteString(strconv.Itoa(int(rr.Type)))
				sb.WriteString(`, "TTL": `)
				sb.WriteString(strconv.FormatUint(uint64(rr.TTL), 10))
				sb.WriteString(`, "data": `)
				sb.WriteString(jsonString(RDataText(rr.Type, rd)))
				sb.WriteByte('}')
			}
		}
		if n > 0 {
			sb.WriteByte(']')
		}
	}
	sb.WriteByte('}')
	return sb.String()
}

// jsonString quotes s as a JSON string (no HTML escaping).
func jsonString(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r < 0x20:
			sb.WriteString(`\u00`)
			sb.WriteByte("0123456789abcdef"[r>>4])
			sb.WriteByte("0123456789abcdef"[r&15])
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

package dnsmsg

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// RDataText returns the presentation text of one RDATA of type t (knot's
// default style, API.md §1.7). Malformed RDATA is printed in the RFC 3597
// generic form.
func RDataText(t uint16, rdata []byte) string {
	var sb strings.Builder
	appendRDataText(&sb, t, rdata)
	return sb.String()
}

var b32hex = base32.HexEncoding.WithPadding(base32.NoPadding)

// rdReader walks RDATA fields; any overrun sets bad.
type rdReader struct {
	b   []byte
	off int
	bad bool
}

func (r *rdReader) u8() int {
	if r.off+1 > len(r.b) {
		r.bad = true
		return 0
	}
	r.off++
	return int(r.b[r.off-1])
}

func (r *rdReader) u16() int {
	if r.off+2 > len(r.b) {
		r.bad = true
		return 0
	}
	r.off += 2
	return int(binary.BigEndian.Uint16(r.b[r.off-2:]))
}

func (r *rdReader) u32() uint32 {
	if r.off+4 > len(r.b) {
		r.bad = true
		return 0
	}
	r.off += 4
	return binary.BigEndian.Uint32(r.b[r.off-4:])
}

func (r *rdReader) bytes(n int) []byte {
	if n < 0 || r.off+n > len(r.b) {
		r.bad = true
		return nil
	}
	r.off += n
	return r.b[r.off-n : r.off]
}

func (r *rdReader) rest() []byte {
	if r.off > len(r.b) {
		r.bad = true
		return nil
	}
	b := r.b[r.off:]
	r.off = len(r.b)
	return b
}

// name returns an uncompressed wire name with an explicit root label.
func (r *rdReader) name() []byte {
	i := r.off
	for {
		if i >= len(r.b) || i-r.off >= maxNameLen {
			r.bad = true
			return nil
		}
		l := int(r.b[i])
		if l == 0 {
			break
		}
		if l > 63 {
			r.bad = true
			return nil
		}
		i += 1 + l
	}
	n := r.b[r.off : i+1]
	r.off = i + 1
	return n
}

func (r *rdReader) done() bool { return !r.bad && r.off == len(r.b) }

// appendRDataText writes the text of rd (type t) to sb.
func appendRDataText(sb *strings.Builder, t uint16, rd []byte) {
	if t == 50 && nsec3EmptyHash(rd) {
		appendGeneric(sb, rd)
		return
	}
	start := sb.Len()
	if ok := appendKnownRData(sb, t, rd); ok {
		return
	}
	// roll back a partial native attempt
	s := sb.String()[:start]
	sb.Reset()
	sb.WriteString(s)
	if nativeTypes[t] { // malformed RDATA of a type we print ourselves
		appendGeneric(sb, rd)
		return
	}
	if txt, ok := miekgRDataText(t, rd); ok {
		sb.WriteString(txt)
		return
	}
	appendGeneric(sb, rd)
}

// appendGeneric writes the RFC 3597 form `\# len HEX`.
func appendGeneric(sb *strings.Builder, rd []byte) {
	sb.WriteString(`\# `)
	sb.WriteString(strconv.Itoa(len(rd)))
	if len(rd) > 0 {
		sb.WriteByte(' ')
		sb.WriteString(upperHex(rd))
	}
}

func upperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

func writeU(sb *strings.Builder, v uint64) {
	var nb [20]byte
	sb.Write(strconv.AppendUint(nb[:0], v, 10))
}

// appendCharString writes one double-quoted character-string.
func appendCharString(sb *strings.Builder, s []byte) {
	sb.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			sb.WriteByte('\\')
			sb.WriteByte('0' + c/100)
			sb.WriteByte('0' + c/10%10)
			sb.WriteByte('0' + c%10)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
}

func appendTime(sb *strings.Builder, v uint32) {
	sb.WriteString(time.Unix(int64(v), 0).UTC().Format("20060102150405"))
}

// appendBitmap writes the type list of an NSEC/NSEC3 bitmap (leading space per type).
func appendBitmap(sb *strings.Builder, b []byte) bool {
	for len(b) > 0 {
		if len(b) < 2 || b[1] == 0 || b[1] > 32 || len(b) < 2+int(b[1]) {
			return false
		}
		win, l := int(b[0]), int(b[1])
		for i, c := range b[2 : 2+l] {
			for bit := 0; bit < 8; bit++ {
				if c&(0x80>>bit) != 0 {
					sb.WriteByte(' ')
					sb.WriteString(TypeString(uint16(win*256 + i*8 + bit)))
				}
			}
		}
		b = b[2+l:]
	}
	return true
}

// nativeTypes are printed by appendKnownRData (never through miekg/dns).
var nativeTypes = map[uint16]bool{1: true, 28: true, 2: true, 5: true, 12: true, 39: true, 3: true,
	4: true, 7: true, 8: true, 9: true, 6: true, 15: true, 18: true, 21: true, 36: true, 107: true,
	14: true, 17: true, 16: true, 99: true, 13: true, 33: true, 35: true, 43: true, 59: true,
	32769: true, 44: true, 52: true, 53: true, 48: true, 60: true, 25: true, 46: true, 24: true,
	47: true, 50: true, 51: true, 108: true, 109: true}

// appendKnownRData formats the types knot prints natively; false means
// "not handled or malformed".
func appendKnownRData(sb *strings.Builder, t uint16, rd []byte) bool {
	r := &rdReader{b: rd}
	sp := func() { sb.WriteByte(' ') }
	switch t {
	case TypeA:
		if len(rd) != 4 {
			return false
		}
		for i, c := range rd {
			if i > 0 {
				sb.WriteByte('.')
			}
			writeU(sb, uint64(c))
		}
		return true
	case TypeAAAA:
		if len(rd) != 16 {
			return false
		}
		sb.WriteString(netip.AddrFrom16([16]byte(rd)).String())
		return true
	case TypeNS, TypeCNAME, TypePTR, 39, 3, 4, 7, 8, 9: // DNAME, MD, MF, MB, MG, MR
		appendNameText(sb, r.name())
	case TypeSOA:
		appendNameText(sb, r.name())
		sp()
		appendNameText(sb, r.name())
		for i := 0; i < 5; i++ {
			sp()
			writeU(sb, uint64(r.u32()))
		}
	case TypeMX, 18, 21, 36, 107: // AFSDB, RT, KX, LP
		writeU(sb, uint64(r.u16()))
		sp()
		appendNameText(sb, r.name())
	case 14, 17: // MINFO, RP
		appendNameText(sb, r.name())
		sp()
		appendNameText(sb, r.name())
	case TypeTXT, 99, 13: // SPF, HINFO
		if len(rd) == 0 {
			return false
		}
		for i := 0; r.off < len(rd); i++ {
			if i > 0 {
				sp()
			}
			appendCharString(sb, r.bytes(r.u8()))
		}
	case 33: // SRV
		for i := 0; i < 3; i++ {
			writeU(sb, uint64(r.u16()))
			sp()
		}
		appendNameText(sb, r.name())
	case 35: // NAPTR
		writeU(sb, uint64(r.u16()))
		sp()
		writeU(sb, uint64(r.u16()))
		for i := 0; i < 3; i++ {
			sp()
			appendCharString(sb, r.bytes(r.u8()))
		}
		sp()
		appendNameText(sb, r.name())
	case 43, 59, 32769: // DS, CDS, DLV
		writeU(sb, uint64(r.u16()))
		sp()
		writeU(sb, uint64(r.u8()))
		sp()
		writeU(sb, uint64(r.u8()))
		sp()
		sb.WriteString(upperHex(r.rest()))
	case 44: // SSHFP
		writeU(sb, uint64(r.u8()))
		sp()
		writeU(sb, uint64(r.u8()))
		sp()
		sb.WriteString(upperHex(r.rest()))
	case 52, 53: // TLSA, SMIMEA
		for i := 0; i < 3; i++ {
			writeU(sb, uint64(r.u8()))
			sp()
		}
		sb.WriteString(upperHex(r.rest()))
	case 48, 60, 25: // DNSKEY, CDNSKEY, KEY
		writeU(sb, uint64(r.u16()))
		sp()
		writeU(sb, uint64(r.u8()))
		sp()
		writeU(sb, uint64(r.u8()))
		sp()
		sb.WriteString(base64.StdEncoding.EncodeToString(r.rest()))
	case 46, 24: // RRSIG, SIG
		sb.WriteString(TypeString(uint16(r.u16())))
		sp()
		writeU(sb, uint64(r.u8()))
		sp()
		writeU(sb, uint64(r.u8()))
		sp()
		writeU(sb, uint64(r.u32()))
		sp()
		appendTime(sb, r.u32())
		sp()
		appendTime(sb, r.u32())
		sp()
		writeU(sb, uint64(r.u16()))
		sp()
		appendNameText(sb, r.name())
		sp()
		sb.WriteString(base64.StdEncoding.EncodeToString(r.rest()))
	case 47: // NSEC
		appendNameText(sb, r.name())
		if r.bad || !appendBitmap(sb, r.rest()) {
			return false
		}
	case 50, 51: // NSEC3, NSEC3PARAM
		writeU(sb, uint64(r.u8()))
		sp()
		writeU(sb, uint64(r.u8()))
		sp()
		writeU(sb, uint64(r.u16()))
		sp()
		if salt := r.bytes(r.u8()); len(salt) == 0 {
			sb.WriteByte('-')
		} else {
			sb.WriteString(upperHex(salt))
		}
		if t == 50 {
			sp()
			sb.WriteString(strings.ToLower(b32hex.EncodeToString(r.bytes(r.u8()))))
			if r.bad || !appendBitmap(sb, r.rest()) {
				return false
			}
		}
	case 108, 109: // EUI48, EUI64
		if (t == 108 && len(rd) != 6) || (t == 109 && len(rd) != 8) {
			return false
		}
		for i, c := range rd {
			if i > 0 {
				sb.WriteByte('-')
			}
			sb.WriteString(strings.ToLower(hex.EncodeToString([]byte{c})))
		}
		return true
	default:
		return false
	}
	return r.done()
}

// miekgRDataText formats rd through miekg/dns (types not handled natively).
func miekgRDataText(t uint16, rd []byte) (string, bool) {
	if len(rd) > 65535 {
		return "", false
	}
	msg := make([]byte, 11+len(rd))
	binary.BigEndian.PutUint16(msg[1:], t)
	binary.BigEndian.PutUint16(msg[3:], ClassINET)
	binary.BigEndian.PutUint16(msg[9:], uint16(len(rd)))
	copy(msg[11:], rd)
	rr, off, err := mdns.UnpackRR(msg, 0)
	if err != nil || off != len(msg) || rr == nil {
		return "", false
	}
	if _, generic := rr.(*mdns.RFC3597); generic {
		return "", false
	}
	full := rr.String()
	hdr := rr.Header().String()
	if !strings.HasPrefix(full, hdr) {
		return "", false
	}
	return full[len(hdr):], true
}

// nsec3EmptyHash reports NSEC3 RDATA whose next hashed owner is empty
// (no presentation form exists for it).
func nsec3EmptyHash(rd []byte) bool {
	r := &rdReader{b: rd}
	r.bytes(4)
	r.bytes(r.u8())
	return !r.bad && r.u8() == 0
}

package zone

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// fastRData encodes the RDATA of the common types directly from the
// tokens k.. of the current entry. It returns ok=false when the type has
// no fast path or the tokens have an unusual shape (escapes, quotes,
// mnemonics, wrong count, bad values); the caller then uses miekg/dns,
// which also produces the error message.
func (s *Scanner) fastRData(typ uint16, k int) ([]byte, bool) {
	rd := s.rdata[:0]
	n := len(s.toks) - k
	switch typ {
	case dns.TypeA:
		if n != 1 || s.toks[k].flags != 0 {
			return nil, false
		}
		return appendIPv4(rd, s.tok(k))
	case dns.TypeAAAA:
		if n != 1 || s.toks[k].flags != 0 {
			return nil, false
		}
		return appendIPv6(rd, s.tok(k))
	case dns.TypeNS, dns.TypeCNAME, dns.TypePTR, dns.TypeDNAME:
		if n != 1 {
			return nil, false
		}
		return s.appendRDName(rd, k)
	case dns.TypeMX:
		if n != 2 {
			return nil, false
		}
		rd, ok := s.appendUint(rd, k, 16)
		if !ok {
			return nil, false
		}
		return s.appendRDName(rd, k+1)
	case dns.TypeSRV:
		if n != 4 {
			return nil, false
		}
		ok := true
		for i := 0; i < 3 && ok; i++ {
			rd, ok = s.appendUint(rd, k+i, 16)
		}
		if !ok {
			return nil, false
		}
		return s.appendRDName(rd, k+3)
	case dns.TypeSOA:
		if n != 7 {
			return nil, false
		}
		rd, ok := s.appendRDName(rd, k)
		if !ok {
			return nil, false
		}
		if rd, ok = s.appendRDName(rd, k+1); !ok {
			return nil, false
		}
		if rd, ok = s.appendUint(rd, k+2, 32); !ok {
			return nil, false
		}
		for i := 3; i < 7; i++ {
			if s.toks[k+i].flags != 0 {
				return nil, false
			}
			t := s.tok(k + i)
			v, ok := parseUint(t, 32)
			if !ok {
				if allDigits(t) {
					return nil, false
				}
				t32, ok := parseTTL(t)
				if !ok {
					return nil, false
				}
				v = uint64(t32)
			}
			rd = append(rd, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		}
		return rd, true
	case dns.TypeTXT, dns.TypeSPF:
		if n == 0 {
			return nil, false
		}
		for i := k; i < len(s.toks); i++ {
			if s.toks[i].flags&tEscaped != 0 {
				return nil, false
			}
			t := s.tok(i)
			for len(t) > 255 {
				rd = append(rd, 255)
				rd = append(rd, t[:255]...)
				t = t[255:]
			}
			rd = append(rd, byte(len(t)))
			rd = append(rd, t...)
		}
		return rd, true
	case dns.TypeDS, dns.TypeCDS:
		rd, ok := s.appendKeyPrefix(rd, k, n)
		if !ok {
			return nil, false
		}
		// miekg/dns concatenates the digest tokens, then hex-decodes
		hx := s.joinToks(k + 3)
		if len(hx)%2 != 0 {
			return nil, false
		}
		rd, err := hex.AppendDecode(rd, hx)
		return rd, err == nil
	case dns.TypeDNSKEY, dns.TypeCDNSKEY:
		rd, ok := s.appendKeyPrefix(rd, k, n)
		if !ok {
			return nil, false
		}
		rd, err := base64.StdEncoding.AppendDecode(rd, s.joinToks(k+3))
		return rd, err == nil
	case dns.TypeRRSIG:
		return s.fastRRSIG(rd, k, n)
	case dns.TypeNSEC:
		if n < 2 {
			return nil, false
		}
		rd, ok := s.appendRDName(rd, k)
		if !ok {
			return nil, false
		}
		return s.appendBitmap(rd, k+1)
	case dns.TypeCAA:
		if n != 3 {
			return nil, false
		}
		rd, ok := s.appendUint(rd, k, 8)
		if !ok || s.toks[k+1].flags != 0 || s.toks[k+2].flags&tEscaped != 0 {
			return nil, false
		}
		tag, val := s.tok(k+1), s.tok(k+2)
		if len(tag) == 0 || len(tag) > 255 || len(val) > 255 {
			return nil, false
		}
		for _, c := range tag {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return nil, false
			}
		}
		rd = append(rd, byte(len(tag)))
		rd = append(rd, tag...)
		return append(rd, val...), true
	}
	return nil, false
}

// fastRRSIG encodes covered alg labels origttl expiration inception
// keytag signer signature... (RFC 4034 §3.2) as miekg/dns parses it.
func (s *Scanner) fastRRSIG(rd []byte, k, n int) ([]byte, bool) {
	if n < 9 {
		return nil, false
	}
	for i := k; i < len(s.toks); i++ {
		if s.toks[i].flags != 0 {
			return nil, false
		}
	}
	covered, ok := typeFromText(s.tok(k))
	if !ok {
		return nil, false
	}
	rd = append(rd, byte(covered>>8), byte(covered))
	if rd, ok = s.appendUint(rd, k+1, 8); !ok {
		return nil, false
	}
	if rd, ok = s.appendUint(rd, k+2, 8); !ok {
		return nil, false
	}
	if rd, ok = s.appendUint(rd, k+3, 32); !ok {
		return nil, false
	}
	for i := k + 4; i < k+6; i++ {
		t := s.tok(i)
		var v uint32
		if tv, err := dns.StringToTime(string(t)); err == nil {
			v = tv
		} else if u, ok := parseUint(t, 32); ok {
			v = uint32(u)
		} else {
			return nil, false
		}
		rd = append(rd, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	if rd, ok = s.appendUint(rd, k+6, 16); !ok {
		return nil, false
	}
	if rd, ok = s.appendRDName(rd, k+7); !ok {
		return nil, false
	}
	rd, err := base64.StdEncoding.AppendDecode(rd, s.joinToks(k+8))
	return rd, err == nil
}

// appendBitmap encodes the type list in tokens k.. as an RFC 4034 §4.1.2
// type bitmap. Only strictly increasing lists take this path.
func (s *Scanner) appendBitmap(rd []byte, k int) ([]byte, bool) {
	prev := -1
	window, wstart := -1, 0
	for i := k; i < len(s.toks); i++ {
		if s.toks[i].flags != 0 {
			return nil, false
		}
		t, ok := typeFromText(s.tok(i))
		if !ok || int(t) <= prev {
			return nil, false
		}
		prev = int(t)
		w := int(t >> 8)
		if w != window {
			window = w
			rd = append(rd, byte(w), 0)
			wstart = len(rd)
		}
		octet := int(t&0xff) / 8
		for len(rd)-wstart <= octet {
			rd = append(rd, 0)
		}
		rd[wstart+octet] |= 0x80 >> (t & 7)
		rd[wstart-1] = byte(len(rd) - wstart)
	}
	return rd, true
}

// joinToks concatenates tokens k.. into s.scratch2-like storage.
func (s *Scanner) joinToks(k int) []byte {
	b := s.line[:0]
	for i := k; i < len(s.toks); i++ {
		b = append(b, s.tok(i)...)
	}
	s.line = b
	return b
}

// appendRDName appends the name in token k (no quotes, no escapes: those
// go to miekg/dns).
func (s *Scanner) appendRDName(rd []byte, k int) ([]byte, bool) {
	if s.toks[k].flags != 0 {
		return nil, false
	}
	rd, err := appendName(rd, s.tok(k), s.origin)
	return rd, err == nil
}

// appendUint appends token k as a big-endian unsigned integer of the given
// bit size (8, 16 or 32), parsed as strconv.ParseUint(t, 10, bits).
// appendKeyPrefix appends the fixed fields shared by DS/CDS (tag, algorithm,
// digest type) and DNSKEY/CDNSKEY (flags, protocol, algorithm) from the n
// tokens at k: a 16-bit and two 8-bit numbers, followed by at least one
// unquoted token (the digest or key) that the caller decodes.
func (s *Scanner) appendKeyPrefix(rd []byte, k, n int) ([]byte, bool) {
	if n < 4 {
		return nil, false
	}
	rd, ok := s.appendUint(rd, k, 16)
	if !ok {
		return nil, false
	}
	if rd, ok = s.appendUint(rd, k+1, 8); !ok {
		return nil, false
	}
	if rd, ok = s.appendUint(rd, k+2, 8); !ok {
		return nil, false
	}
	for i := k + 3; i < len(s.toks); i++ {
		if s.toks[i].flags != 0 {
			return nil, false
		}
	}
	return rd, true
}

func (s *Scanner) appendUint(rd []byte, k int, bits int) ([]byte, bool) {
	if s.toks[k].flags != 0 {
		return nil, false
	}
	v, ok := parseUint(s.tok(k), bits)
	if !ok {
		return nil, false
	}
	switch bits {
	case 8:
		return append(rd, byte(v)), true
	case 16:
		return append(rd, byte(v>>8), byte(v)), true
	}
	return append(rd, byte(v>>24), byte(v>>16), byte(v>>8), byte(v)), true
}

// parseUint parses decimal digits (at least one) into a value that fits
// in bits.
func parseUint(t []byte, bits int) (uint64, bool) {
	if len(t) == 0 || len(t) > 20 {
		return 0, false
	}
	var v uint64
	max := uint64(1)<<bits - 1
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v > max {
			return 0, false
		}
	}
	return v, true
}

func allDigits(t []byte) bool {
	for _, c := range t {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(t) > 0
}

// appendIPv4 parses a dotted quad as Go's net.ParseIP does (no leading
// zeros, each part 0..255).
func appendIPv4(rd []byte, t []byte) ([]byte, bool) {
	parts := 0
	i := 0
	for parts < 4 {
		if i >= len(t) || !isDigit(t[i]) {
			return nil, false
		}
		v := 0
		j := i
		for j < len(t) && isDigit(t[j]) && j-i < 4 {
			v = v*10 + int(t[j]-'0')
			j++
		}
		if j-i > 3 || v > 255 || (j-i > 1 && t[i] == '0') {
			return nil, false
		}
		rd = append(rd, byte(v))
		parts++
		i = j
		if parts < 4 {
			if i >= len(t) || t[i] != '.' {
				return nil, false
			}
			i++
		}
	}
	if i != len(t) {
		return nil, false
	}
	return rd, true
}

// appendIPv6 parses a pure-hex IPv6 address (with at most one "::"); the
// forms with an embedded IPv4 address go to the miekg/dns path.
func appendIPv6(rd []byte, t []byte) ([]byte, bool) {
	var groups [8]uint16
	n := 0
	ellipsis := -1
	i := 0
	if len(t) < 2 {
		return nil, false
	}
	if t[0] == ':' {
		if t[1] != ':' {
			return nil, false
		}
		ellipsis = 0
		i = 2
		if i == len(t) {
			return append(rd, make([]byte, 16)...), true
		}
	}
	for i < len(t) {
		if n == 8 {
			return nil, false
		}
		v, j := 0, i
		for j < len(t) && j-i < 5 {
			c := t[j]
			var d int
			switch {
			case c >= '0' && c <= '9':
				d = int(c - '0')
			case c >= 'a' && c <= 'f':
				d = int(c-'a') + 10
			case c >= 'A' && c <= 'F':
				d = int(c-'A') + 10
			default:
				goto done
			}
			v = v<<4 | d
			j++
		}
	done:
		if j == i || j-i > 4 {
			return nil, false
		}
		groups[n] = uint16(v)
		n++
		i = j
		if i == len(t) {
			break
		}
		if t[i] != ':' {
			return nil, false
		}
		i++
		if i < len(t) && t[i] == ':' {
			if ellipsis >= 0 {
				return nil, false
			}
			ellipsis = n
			i++
			if i == len(t) {
				break
			}
		} else if i == len(t) {
			return nil, false // trailing single colon
		}
	}
	if ellipsis < 0 {
		if n != 8 {
			return nil, false
		}
	} else {
		if n > 7 {
			return nil, false
		}
		// move groups after the ellipsis to the end
		m := n - ellipsis
		copy(groups[8-m:], groups[ellipsis:n])
		for j := ellipsis; j < 8-m; j++ {
			groups[j] = 0
		}
	}
	for _, g := range groups {
		rd = append(rd, byte(g>>8), byte(g))
	}
	return rd, true
}

// slowRData rebuilds the record as one text line and lets miekg/dns parse
// and pack it (uncompressed). Used for every type without a fast path and
// for unusual spellings of the common ones.
func (s *Scanner) slowRData(typTok []byte, k int) ([]byte, error) {
	s.slowCount++
	if s.textFor == nil || string(s.textFor) != string(s.origin) {
		s.originText = wireToText(s.origin)
		s.textFor = append(s.textFor[:0], s.origin...)
	}
	var sb strings.Builder
	sb.WriteString(". 0 IN ")
	sb.Write(typTok)
	for i := k; i < len(s.toks); i++ {
		sb.WriteByte(' ')
		t := s.tok(i)
		if s.toks[i].flags&tQuoted != 0 {
			sb.WriteByte('"')
			sb.Write(t)
			sb.WriteByte('"')
		} else {
			sb.Write(t)
		}
	}
	sb.WriteByte('\n')
	zp := dns.NewZoneParser(strings.NewReader(sb.String()), s.originText, "")
	rr, ok := zp.Next()
	if !ok {
		if err := zp.Err(); err != nil {
			return nil, stripPE(err)
		}
		return nil, fmt.Errorf("no record")
	}
	if _, more := zp.Next(); more {
		return nil, fmt.Errorf("trailing data")
	}
	if err := zp.Err(); err != nil {
		return nil, stripPE(err)
	}
	buf := make([]byte, dns.Len(rr)+64)
	off, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return nil, err
	}
	if off < 11 {
		return nil, fmt.Errorf("short record")
	}
	return append(s.rdata[:0], buf[11:off]...), nil
}

// stripPE removes miekg's position suffix (it refers to the rebuilt line).
func stripPE(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, ": \""); i > 0 && strings.HasPrefix(msg, "dns: ") {
		msg = msg[5:i] + msg[i:]
		if j := strings.LastIndex(msg, " at line:"); j > 0 {
			msg = msg[:j]
		}
		return fmt.Errorf("%s", msg)
	}
	return err
}

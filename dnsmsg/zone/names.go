package zone

import (
	"errors"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// Name errors.
var (
	ErrEmptyLabel   = errors.New("empty label")
	ErrLabelTooLong = errors.New("label longer than 63 bytes")
	ErrNameTooLong  = errors.New("name longer than 255 bytes")
	ErrBadEscape    = errors.New("bad escape")
)

// appendName appends the wire form of the presentation name t to dst.
// "@" is origin; a name without a trailing dot is relative to origin
// (uncompressed wire incl. root). Escapes \DDD and \X are decoded.
func appendName(dst, t, origin []byte) ([]byte, error) {
	start := len(dst)
	if len(t) == 1 {
		switch t[0] {
		case '@':
			return append(dst, origin...), nil
		case '.':
			return append(dst, 0), nil
		}
	}
	if len(t) == 0 {
		return dst, ErrEmptyLabel
	}
	lpos := len(dst)
	dst = append(dst, 0)
	absolute := false
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c == '.' {
			l := len(dst) - lpos - 1
			if l == 0 {
				return dst[:start], ErrEmptyLabel
			}
			dst[lpos] = byte(l)
			if i == len(t)-1 {
				absolute = true
				break
			}
			lpos = len(dst)
			dst = append(dst, 0)
			continue
		}
		if c == '\\' {
			if i+1 >= len(t) {
				return dst[:start], ErrBadEscape
			}
			if isDigit(t[i+1]) {
				if i+3 >= len(t) || !isDigit(t[i+2]) || !isDigit(t[i+3]) {
					return dst[:start], ErrBadEscape
				}
				v := int(t[i+1]-'0')*100 + int(t[i+2]-'0')*10 + int(t[i+3]-'0')
				if v > 255 {
					return dst[:start], ErrBadEscape
				}
				c = byte(v)
				i += 3
			} else {
				c = t[i+1]
				i++
			}
		}
		if len(dst)-lpos-1 >= 63 {
			return dst[:start], ErrLabelTooLong
		}
		dst = append(dst, c)
	}
	if absolute {
		dst = append(dst, 0)
	} else {
		l := len(dst) - lpos - 1
		if l == 0 {
			return dst[:start], ErrEmptyLabel
		}
		dst[lpos] = byte(l)
		dst = append(dst, origin...)
	}
	if len(dst)-start > 255 {
		return dst[:start], ErrNameTooLong
	}
	return dst, nil
}

// wireToText returns the presentation text of a wire name (absolute,
// every byte other than letters, digits, '-', '_' and '*' escaped as
// \DDD), suitable for miekg/dns.
func wireToText(w []byte) string {
	var sb strings.Builder
	for i := 0; i < len(w); {
		l := int(w[i])
		if l == 0 || i+1+l > len(w) {
			break
		}
		for _, c := range w[i+1 : i+1+l] {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '*':
				sb.WriteByte(c)
			default:
				sb.WriteByte('\\')
				sb.WriteByte('0' + c/100)
				sb.WriteByte('0' + c/10%10)
				sb.WriteByte('0' + c%10)
			}
		}
		sb.WriteByte('.')
		i += 1 + l
	}
	if sb.Len() == 0 {
		return "."
	}
	return sb.String()
}

// upper copies t upper-cased into buf (which must be at least len(t)).
func upper(buf []byte, t []byte) []byte {
	b := buf[:len(t)]
	for i, c := range t {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		b[i] = c
	}
	return b
}

// typeFromText maps a type mnemonic (case-insensitive) or TYPEnnn to its
// number.
func typeFromText(t []byte) (uint16, bool) {
	// fast path for the most common types
	switch len(t) {
	case 1:
		if t[0]|0x20 == 'a' {
			return dns.TypeA, true
		}
	case 2:
		if t[0]|0x20 == 'n' && t[1]|0x20 == 's' {
			return dns.TypeNS, true
		}
		if t[0]|0x20 == 'm' && t[1]|0x20 == 'x' {
			return dns.TypeMX, true
		}
	case 3:
		if equalFold(t, "TXT") {
			return dns.TypeTXT, true
		}
		if equalFold(t, "SOA") {
			return dns.TypeSOA, true
		}
	case 4:
		if equalFold(t, "AAAA") {
			return dns.TypeAAAA, true
		}
	}
	if len(t) > 16 {
		return 0, false
	}
	var buf [16]byte
	u := upper(buf[:], t)
	if v, ok := dns.StringToType[string(u)]; ok {
		return v, true
	}
	if len(u) > 4 && string(u[:4]) == "TYPE" {
		return parseNumber16(u[4:])
	}
	return 0, false
}

// Kinds of mnemonics.
const (
	kindNone = iota
	kindType
	kindClass
)

// mnemonic classifies a token as a type (mnemonic or TYPEnnn) or a class
// (mnemonic or CLASSnnn), types first.
func mnemonic(t []byte) (int, uint16) {
	if len(t) == 2 && t[0]|0x20 == 'i' && t[1]|0x20 == 'n' {
		return kindClass, dns.ClassINET
	}
	if v, ok := typeFromText(t); ok {
		return kindType, v
	}
	if v, ok := classFromText(t); ok {
		return kindClass, v
	}
	return kindNone, 0
}

// classFromText maps a class mnemonic (case-insensitive) or CLASSnnn to
// its number.
func classFromText(t []byte) (uint16, bool) {
	if len(t) == 2 && t[0]|0x20 == 'i' && t[1]|0x20 == 'n' {
		return dns.ClassINET, true
	}
	if len(t) > 16 || len(t) < 2 {
		return 0, false
	}
	var buf [16]byte
	u := upper(buf[:], t)
	if v, ok := dns.StringToClass[string(u)]; ok {
		return v, true
	}
	if len(u) > 5 && string(u[:5]) == "CLASS" {
		return parseNumber16(u[5:])
	}
	return 0, false
}

// parseNumber16 parses a decimal 16-bit number as strconv.ParseUint(s, 10, 16).
func parseNumber16(t []byte) (uint16, bool) {
	v, err := strconv.ParseUint(string(t), 10, 16)
	return uint16(v), err == nil
}

package dnsmsg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
)

// Errors returned by the name functions.
var (
	ErrNameTooLong  = errors.New("dns: name longer than 255 bytes")
	ErrLabelTooLong = errors.New("dns: label longer than 63 bytes")
	ErrLabelRunsOut = errors.New("dns: label runs past the data")
	ErrBadLabel     = errors.New("dns: compression pointer or bad label type")
	ErrEmptyLabel   = errors.New("dns: empty label")
	ErrBadEscape    = errors.New("dns: bad escape")
)

// maxNameLen is the longest wire name (RFC 1035 §2.3.4).
const maxNameLen = 255

// rootName is the wire form of the root.
var rootName = []byte{0}

// NameFromWire parses a wire-format name from the start of b: the end of
// b counts as the root label; compression pointers, labels running past
// the data and names over 255 bytes are errors. Returns the uncompressed
// wire form including the root label (a fresh copy).
func NameFromWire(b []byte) ([]byte, error) {
	n, err := wireNameLen(b)
	if err != nil {
		return nil, err
	}
	out := make([]byte, n)
	copy(out, b)
	if n > len(b) { // implicit root label
		out[n-1] = 0
	}
	return out, nil
}

// wireNameLen returns the length of the uncompressed name at the start of b
// including its root label (counted even when b ends before it).
func wireNameLen(b []byte) (int, error) {
	i := 0
	for i < len(b) {
		l := int(b[i])
		if l == 0 {
			return i + 1, nil
		}
		if l > 63 {
			return 0, ErrBadLabel
		}
		if i+1+l > len(b) {
			return 0, ErrLabelRunsOut
		}
		i += 1 + l
		if i+1 > maxNameLen {
			return 0, ErrNameTooLong
		}
	}
	return i + 1, nil // implicit root
}

// NameFromText parses presentation text (trailing dot optional, escapes
// \DDD and \X) into a Name. The empty string, empty inner labels, labels
// over 63 bytes and names over 255 bytes are errors.
func NameFromText(s string) (*Name, error) {
	w, err := nameFromText(s, make([]byte, 0, len(s)+2))
	if err != nil {
		return nil, err
	}
	return &Name{Wire: w}, nil
}

// nameFromText appends the wire form of s to dst.
func nameFromText(s string, dst []byte) ([]byte, error) {
	if s == "" {
		return nil, ErrEmptyLabel
	}
	if s == "." {
		return append(dst, 0), nil
	}
	start := len(dst)
	lpos := len(dst)
	dst = append(dst, 0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '.':
			if len(dst)-lpos-1 == 0 {
				return nil, ErrEmptyLabel
			}
			dst[lpos] = byte(len(dst) - lpos - 1)
			if i == len(s)-1 { // trailing dot
				return finishText(dst, start)
			}
			lpos = len(dst)
			dst = append(dst, 0)
			continue
		case '\\':
			if i+1 >= len(s) {
				return nil, ErrBadEscape
			}
			if isDigit(s[i+1]) {
				if i+3 >= len(s) || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
					return nil, ErrBadEscape
				}
				v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
				if v > 255 {
					return nil, ErrBadEscape
				}
				c = byte(v)
				i += 3
			} else {
				c = s[i+1]
				i++
			}
		}
		if len(dst)-lpos-1 >= 63 {
			return nil, ErrLabelTooLong
		}
		dst = append(dst, c)
		if len(dst)-start > maxNameLen {
			return nil, ErrNameTooLong
		}
	}
	if len(dst)-lpos-1 == 0 {
		return nil, ErrEmptyLabel
	}
	dst[lpos] = byte(len(dst) - lpos - 1)
	return finishText(dst, start)
}

func finishText(dst []byte, start int) ([]byte, error) {
	dst = append(dst, 0)
	if len(dst)-start > maxNameLen {
		return nil, ErrNameTooLong
	}
	return dst, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// String returns the text form of API.md §1.7 (always absolute; the root
// and the owner placeholder are ".").
func (n *Name) String() string {
	if n == nil {
		return "."
	}
	var sb strings.Builder
	appendNameText(&sb, n.Wire)
	return sb.String()
}

// appendNameText writes the text of wire name w to sb.
func appendNameText(sb *strings.Builder, w []byte) {
	i := 0
	wrote := false
	for i < len(w) {
		l := int(w[i])
		if l == 0 || l > 63 || i+1+l > len(w) {
			break
		}
		for _, c := range w[i+1 : i+1+l] {
			appendNameByte(sb, c)
		}
		sb.WriteByte('.')
		wrote = true
		i += 1 + l
	}
	if !wrote {
		sb.WriteByte('.')
	}
}

// appendNameByte writes one label byte with the escaping of §1.7.
func appendNameByte(sb *strings.Builder, c byte) {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
		c == '-', c == '_', c == '*', c == '/':
		sb.WriteByte(c)
	case c > 0x20 && c < 0x7f:
		sb.WriteByte('\\')
		sb.WriteByte(c)
	default:
		sb.WriteByte('\\')
		sb.WriteByte('0' + c/100)
		sb.WriteByte('0' + c/10%10)
		sb.WriteByte('0' + c%10)
	}
}

// lowerByte folds ASCII upper case.
func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// labelOffsets fills offs with the start of every label of w (root
// excluded) and returns their count. Malformed data ends the walk.
func labelOffsets(w []byte, offs *[128]uint8) int {
	n, i := 0, 0
	for i < len(w) && n < len(offs) {
		l := int(w[i])
		if l == 0 || l > 63 || i+1+l > len(w) || i+1+l >= maxNameLen {
			break
		}
		offs[n] = uint8(i)
		n++
		i += 1 + l
	}
	return n
}

// CompareNames compares two wire names in canonical DNS order (RFC 4034
// §6.1, ASCII case folded, ties broken on raw bytes): <0, 0, >0. It does
// not allocate.
func CompareNames(a, b []byte) int {
	var oa, ob [128]uint8
	na := labelOffsets(a, &oa)
	nb := labelOffsets(b, &ob)
	for na > 0 && nb > 0 {
		na--
		nb--
		la, lb := a[oa[na]+1:oa[na]+1+a[oa[na]]], b[ob[nb]+1:ob[nb]+1+b[ob[nb]]]
		if c := compareFolded(la, lb); c != 0 {
			return c
		}
	}
	switch {
	case na > 0:
		return 1
	case nb > 0:
		return -1
	}
	return bytes.Compare(a, b)
}

// compareFolded compares two labels byte-wise with ASCII case folded,
// the shorter first when one is a prefix of the other.
func compareFolded(a, b []byte) int {
	n := min(len(a), len(b))
	for i, x := range a[:n] {
		y := b[i]
		if x == y {
			continue
		}
		x, y = lowerTable[x], lowerTable[y]
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

// lowerTable maps every byte to its ASCII lower case.
var lowerTable = func() (t [256]byte) {
	for i := range t {
		t[i] = lowerByte(byte(i))
	}
	return t
}()

// LabelCount counts the labels of w (root excluded).
func LabelCount(w []byte) int {
	var offs [128]uint8
	return labelOffsets(w, &offs)
}

// NameWithin reports whether w equals parent or lies below it (label-wise
// suffix, ASCII case-insensitive).
func NameWithin(w, parent []byte) bool {
	var oa, ob [128]uint8
	na := labelOffsets(w, &oa)
	nb := labelOffsets(parent, &ob)
	if nb > na {
		return false
	}
	for nb > 0 {
		na--
		nb--
		la, lb := w[oa[na]+1:oa[na]+1+w[oa[na]]], parent[ob[nb]+1:ob[nb]+1+parent[ob[nb]]]
		if len(la) != len(lb) || compareFolded(la, lb) != 0 {
			return false
		}
	}
	return true
}

// LowerName returns a copy of w with ASCII letters lowercased.
func LowerName(w []byte) []byte {
	out := make([]byte, len(w))
	i := 0
	for i < len(w) {
		l := int(w[i])
		out[i] = w[i]
		if l == 0 || i+1+l > len(w) {
			copy(out[i:], w[i:])
			break
		}
		for j := i + 1; j <= i+l; j++ {
			out[j] = lowerByte(w[j])
		}
		i += 1 + l
	}
	return out
}

// SplitName returns the labels of wire name w (root excluded) as
// sub-slices of w, from the leftmost label. Malformed data ends the list.
func SplitName(w []byte) [][]byte {
	var offs [128]uint8
	n := labelOffsets(w, &offs)
	out := make([][]byte, n)
	for i := range out {
		o := int(offs[i])
		out[i] = w[o+1 : o+1+int(w[o])]
	}
	return out
}

// IsWildcard reports whether the leftmost label of wire name w is "*".
func IsWildcard(w []byte) bool { return len(w) >= 2 && w[0] == 1 && w[1] == '*' }

// DnameLen is the wire length of the name starting at b: labels plus the
// root byte, or plus 2 when it ends in a compression pointer. Data ending
// early counts as an implicit root byte.
func DnameLen(b []byte) int {
	i := 0
	for i < len(b) {
		l := int(b[i])
		switch {
		case l == 0:
			return i + 1
		case l >= 0xC0:
			return i + 2
		}
		i += 1 + l
	}
	return min(i, len(b)) + 1
}

// AppendSearchKey appends the lookup key of (owner, type) used by ljdns's
// LMDB stores (utils.searchkey, API.md §2.2): the labels of owner from the
// root side, each followed by one zero byte, then the type in network
// order.
func AppendSearchKey(dst, owner []byte, t uint16) []byte {
	var offs [128]uint8
	for i := labelOffsets(owner, &offs) - 1; i >= 0; i-- {
		o := int(offs[i])
		dst = append(dst, owner[o+1:o+1+int(owner[o])]...)
		dst = append(dst, 0)
	}
	return binary.BigEndian.AppendUint16(dst, t)
}

// SearchKey returns AppendSearchKey(nil, owner, t) in a buffer of the
// exact size.
func SearchKey(owner []byte, t uint16) []byte {
	return AppendSearchKey(make([]byte, 0, len(owner)+2), owner, t)
}

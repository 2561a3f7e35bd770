package host

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// rewriteEscapes turns the LuaJIT string escapes that gopher-lua's lexer
// does not know (\xHH, \z, \u{XXXX}) into Lua 5.1 decimal escapes inside
// short string literals. Long strings, long comments and line comments are
// copied untouched. Source without a backslash is returned as is.
func rewriteEscapes(src string) string {
	s, _ := rewriteEscapesChecked(src)
	return s
}

// rewriteEscapesChecked is rewriteEscapes that also reports whether every
// escape was one LuaJIT accepts (gopher-lua reads an unknown escape such
// as \q or a bad \x4 as plain characters).
func rewriteEscapesChecked(src string) (string, bool) {
	if !strings.Contains(src, `\`) {
		return src, true
	}
	valid := true
	var out strings.Builder
	out.Grow(len(src) + 16)
	i, n := 0, len(src)
	for i < n {
		c := src[i]
		switch {
		case c == '-' && i+1 < n && src[i+1] == '-':
			// comment: long or to end of line
			j := i + 2
			if lvl, ok := longBracket(src, j); ok {
				end := closeLong(src, j, lvl)
				out.WriteString(src[i:end])
				i = end
				continue
			}
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = n
			} else {
				end += i
			}
			out.WriteString(src[i:end])
			i = end
		case c == '[':
			if lvl, ok := longBracket(src, i); ok {
				end := closeLong(src, i, lvl)
				out.WriteString(src[i:end])
				i = end
				continue
			}
			out.WriteByte(c)
			i++
		case c == '"' || c == '\'':
			var ok bool
			i, ok = copyString(&out, src, i)
			valid = valid && ok
		default:
			out.WriteByte(c)
			i++
		}
	}
	return out.String(), valid
}

// longBracket reports whether src[i:] opens a long bracket [=*[ and its level.
func longBracket(src string, i int) (int, bool) {
	if i >= len(src) || src[i] != '[' {
		return 0, false
	}
	j := i + 1
	for j < len(src) && src[j] == '=' {
		j++
	}
	if j < len(src) && src[j] == '[' {
		return j - i - 1, true
	}
	return 0, false
}

// closeLong returns the index just past the long bracket opened at i.
func closeLong(src string, i, lvl int) int {
	closer := "]" + strings.Repeat("=", lvl) + "]"
	k := strings.Index(src[i+lvl+2:], closer)
	if k < 0 {
		return len(src)
	}
	return i + lvl + 2 + k + len(closer)
}

// copyString copies the short string literal starting at src[i] to out,
// rewriting LuaJIT escapes, and returns the index past its closing quote
// and whether its escapes were all valid.
func copyString(out *strings.Builder, src string, i int) (int, bool) {
	valid := true
	q := src[i]
	out.WriteByte(q)
	i++
	n := len(src)
	for i < n {
		c := src[i]
		if c == q {
			out.WriteByte(c)
			return i + 1, valid
		}
		if c == '\n' {
			return i, valid // unfinished string: let the parser report it
		}
		if c != '\\' || i+1 >= n {
			out.WriteByte(c)
			i++
			continue
		}
		e := src[i+1]
		switch {
		case e == 'x' && i+3 < n && isHex(src[i+2]) && isHex(src[i+3]):
			v, _ := strconv.ParseUint(src[i+2:i+4], 16, 8)
			writeDec(out, byte(v))
			i += 4
		case e == 'z':
			i += 2
			for i < n && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r' || src[i] == '\f' || src[i] == '\v') {
				i++
			}
		case e == 'u' && i+2 < n && src[i+2] == '{':
			end := strings.IndexByte(src[i+3:], '}')
			if end < 0 {
				out.WriteString(src[i : i+2])
				i += 2
				valid = false
				continue
			}
			v, err := strconv.ParseUint(src[i+3:i+3+end], 16, 32)
			if err != nil || v > 0x7FFFFFFF {
				out.WriteString(src[i : i+2])
				i += 2
				valid = false
				continue
			}
			var enc []byte
			if v > utf8.MaxRune || (v >= 0xD800 && v <= 0xDFFF) {
				enc = appendLongUTF8(nil, uint32(v))
			} else {
				enc = utf8.AppendRune(nil, rune(v))
			}
			for _, b := range enc {
				writeDec(out, b)
			}
			i += 3 + end + 1
		default:
			valid = valid && validEscape(src, i+1)
			out.WriteByte('\\')
			out.WriteByte(e)
			i += 2
		}
	}
	return i, valid
}

// validEscape reports whether the escape whose letter is at src[i] (one
// gopher-lua reads itself) is one LuaJIT reads: a letter of \a\b\f\n\r\t\v,
// a quote, backslash or line break, or a decimal byte value up to 255.
func validEscape(src string, i int) bool {
	e := src[i]
	if strings.IndexByte("abfnrtv\\\"'\n\r", e) >= 0 {
		return true
	}
	if e < '0' || e > '9' {
		return false
	}
	v := 0
	for j := i; j < len(src) && j < i+3 && src[j] >= '0' && src[j] <= '9'; j++ {
		v = v*10 + int(src[j]-'0')
	}
	return v <= 255
}

// appendLongUTF8 encodes code points that utf8.EncodeRune refuses
// (surrogates, and up to 0x7FFFFFFF as LuaJIT allows) in the original UTF-8 scheme.
func appendLongUTF8(b []byte, v uint32) []byte {
	switch {
	case v < 0x10000:
		b = append(b, byte(0xE0|v>>12), byte(0x80|(v>>6)&0x3F), byte(0x80|v&0x3F))
	case v < 0x200000:
		b = append(b, byte(0xF0|v>>18), byte(0x80|(v>>12)&0x3F), byte(0x80|(v>>6)&0x3F), byte(0x80|v&0x3F))
	default:
		b = append(b, byte(0xF8|v>>24&0x3), byte(0x80|(v>>18)&0x3F), byte(0x80|(v>>12)&0x3F), byte(0x80|(v>>6)&0x3F), byte(0x80|v&0x3F))
	}
	return b
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func writeDec(out *strings.Builder, b byte) {
	out.WriteByte('\\')
	out.WriteByte('0' + b/100)
	out.WriteByte('0' + b/10%10)
	out.WriteByte('0' + b%10)
}

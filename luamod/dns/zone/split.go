package zone

// split.go finds where zone text can be cut in two so that two scanners
// parse the halves at once (sift loads large files on both cores).

import (
	"bytes"
	"io"
)

// Split is a point where zone text can be cut: the second part parses on
// its own with the origin and default TTL in force there.
type Split struct {
	Offset int64 // byte offset of the cut: the start of a line
	Line   int   // line number of that line
	origin []byte
	ttl    uint32
}

// FindSplit reads zone text from r, from its start, and returns the first
// cut at or after byte at: a line that begins with an owner name (not
// blank, not a comment or directive) outside parentheses and quotes.
// first is the scanner that will parse the first part, which gives the
// initial origin and default TTL. ok is false when there is no such line,
// the text before it has an $INCLUDE, or a directive there is malformed
// (the first scanner will report it).
func FindSplit(r io.Reader, at int64, first *Scanner) (sp Split, ok bool) {
	origin := append([]byte(nil), first.initOrigin...)
	ttl := first.initTTL
	var (
		buf     = make([]byte, 1<<20)
		off     int64 // offset of buf[0]
		line    = 1
		depth   = 0
		quoted  = false
		comment = false
		escape  = false
		bol     = true  // at the beginning of a line
		dir     []byte  // the directive line being collected
		inDir   = false // collecting a directive line
	)
	for {
		n, err := r.Read(buf)
		for i := 0; i < n; i++ {
			c := buf[i]
			if bol {
				bol = false
				pos := off + int64(i)
				if pos >= at && depth == 0 && !quoted && !isLineSpace(c) && c != ';' && c != '$' && c != '\n' && c != '\r' && c != '(' && c != ')' {
					return Split{Offset: pos, Line: line, origin: origin, ttl: ttl}, true
				}
				if c == '$' && depth == 0 && !quoted {
					inDir, dir = true, dir[:0]
				}
			}
			if inDir && c != '\n' {
				dir = append(dir, c)
			}
			switch {
			case c == '\n':
				line++
				bol, comment, escape = true, false, false
				if inDir {
					inDir = false
					if !applyDirective(dir, &origin, &ttl) {
						return Split{}, false
					}
				}
			case comment:
			case escape:
				escape = false
			case c == '\\':
				escape = true
			case c == '"':
				quoted = !quoted
			case quoted:
			case c == ';':
				comment = true
			case c == '(':
				depth++
			case c == ')':
				depth--
			}
		}
		off += int64(n)
		if err != nil {
			return Split{}, false
		}
	}
}

func isLineSpace(c byte) bool { return c == ' ' || c == '\t' }

// applyDirective follows $ORIGIN and $TTL lines; false for $INCLUDE or a
// malformed directive.
func applyDirective(d []byte, origin *[]byte, ttl *uint32) bool {
	if i := bytes.IndexByte(d, ';'); i >= 0 {
		d = d[:i]
	}
	f := bytes.Fields(d)
	if len(f) == 0 {
		return false
	}
	switch {
	case equalFold(f[0], "$ORIGIN") && len(f) == 2:
		o, err := appendName(nil, f[1], *origin)
		if err != nil {
			return false
		}
		*origin = o
	case equalFold(f[0], "$TTL") && len(f) == 2:
		v, ok := parseTTL(f[1])
		if !ok {
			return false
		}
		*ttl = v
	default:
		return false
	}
	return true
}

// StartAt makes s parse the part after split sp: origin, default TTL and
// line numbers are those in force at the cut. Call it before the first
// Next, on a scanner reading from sp.Offset.
func (s *Scanner) StartAt(sp Split) {
	s.origin = append(s.origin[:0], sp.origin...)
	s.defTTL = sp.ttl
	s.in.line = sp.Line
}

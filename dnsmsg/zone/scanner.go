package zone

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Class numbers used as defaults.
const (
	ClassINET = 1 // IN, the default class
)

// DefaultTTL is the TTL used when neither the record nor a $TTL gives one
// and the caller passes no other default (knot/ljdns default).
const DefaultTTL = 3600

// Limits of the scanner.
const (
	maxEntry        = 16 << 20 // longest logical entry (bytes)
	maxIncludeDepth = 16       // nested $INCLUDE levels
	initialBuf      = 64 << 10 // read buffer size
)

// Sentinel errors, wrapped in *ParseError.
var (
	ErrSyntax      = errors.New("zone: syntax error")
	ErrEntryTooBig = errors.New("zone: entry too long")
)

// Record is one resource record produced by Scanner.Next. Its slices point
// into the scanner's buffers and stay valid only until the next call to
// Next (copy them to keep them).
type Record struct {
	Owner []byte // owner, uncompressed wire form incl. the root label
	Type  uint16 // RR type
	Class uint16 // RR class
	TTL   uint32 // TTL in seconds
	RData []byte // canonical uncompressed wire RDATA
	Line  int    // line number where the record starts
}

// ParseError is a syntax or I/O error with its position.
type ParseError struct {
	File string // file name, "" for a reader without name
	Line int    // 1-based line number
	Msg  string // description
	Err  error  // underlying error (ErrSyntax, an I/O or miekg/dns error)
}

// Error returns "file:line: msg" (or "line N: msg" without a file name).
func (e *ParseError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// token is one lexical token of the current entry: a byte range relative
// to the entry's base offset in the buffer.
type token struct {
	start, end int32
	flags      uint8
}

const (
	tQuoted  = 1 << iota // was written inside double quotes
	tEscaped             // contains a backslash
)

// input is one open input (the main reader or an included file).
type input struct {
	r      io.Reader
	closer io.Closer
	file   string
	buf    []byte
	pos    int // next unread byte
	end    int // end of valid data
	eof    bool
	line   int
	origin []byte // origin to restore when this input resumes
	ioErr  error
}

// Scanner reads resource records from a zone file. See the package doc.
type Scanner struct {
	AllowInclude bool // follow $INCLUDE (default true); false makes it an error

	in    input   // current input
	stack []input // suspended inputs ($INCLUDE)

	// current entry
	base       int // offset of the entry start in in.buf
	toks       []token
	blankOwner bool
	entryLine  int

	origin     []byte // current origin (wire)
	defTTL     uint32 // TTL for records without one
	class      uint16 // class for records without one
	owner      []byte // current owner (wire); previous owner for blank owners
	haveOwner  bool
	ownerGen   uint32 // counts the owners set (parse-ahead shares an unchanged one)
	rdata      []byte // RDATA of the current record
	rec        Record
	err        error
	originText string // text of origin, computed lazily for the miekg fallback
	textFor    []byte // origin wire that originText was computed for
	line       []byte // scratch for the miekg fallback line
	scratch    []byte
	slowCount  int // records encoded by miekg/dns (tests)
	initOrigin []byte
	initTTL    uint32
	async      bool        // parse ahead in a goroutine (async.go)
	as         *asyncState // running producer, nil when none
}

// NewScanner returns a Scanner reading zone text from r. origin is the
// initial $ORIGIN in text form ("" or "." for the root), class the class
// of records that give none, defaultTTL the TTL of records without TTL
// before any $TTL. An invalid origin is reported by Err after the first
// Next.
func NewScanner(r io.Reader, origin string, class uint16, defaultTTL uint32) *Scanner {
	s := &Scanner{
		AllowInclude: true,
		defTTL:       defaultTTL,
		class:        class,
		toks:         make([]token, 0, 64),
		owner:        make([]byte, 0, 256),
		rdata:        make([]byte, 0, 512),
	}
	s.in = input{r: r, buf: make([]byte, initialBuf), line: 1}
	if origin == "" {
		origin = "."
	}
	o, err := appendName(nil, []byte(origin), []byte{0})
	if err != nil {
		s.err = &ParseError{Line: 0, Msg: fmt.Sprintf("bad origin %q: %v", origin, err), Err: err}
	}
	s.origin = o
	s.initOrigin, s.initTTL = append([]byte(nil), o...), defaultTTL
	return s
}

// Restart forgets everything learnt from earlier input: the origin and
// the default TTL return to the values given to NewScanner and there is
// no previous owner. The input is not changed.
func (s *Scanner) Restart() {
	s.stopAsync()
	s.origin = append(s.origin[:0], s.initOrigin...)
	s.defTTL = s.initTTL
	s.haveOwner = false
	s.owner = s.owner[:0]
}

// NewFileScanner opens path and returns a Scanner over it; error messages
// and $INCLUDE paths are relative to path. Call Close when done.
func NewFileScanner(path, origin string, class uint16, defaultTTL uint32) (*Scanner, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := NewScanner(f, origin, class, defaultTTL)
	s.in.closer = f
	s.in.file = path
	return s, nil
}

// SetFile names the input for error messages and $INCLUDE resolution.
func (s *Scanner) SetFile(name string) { s.in.file = name }

// Reset makes the scanner read r from line 1, keeping the current origin,
// $TTL and previous owner; open includes are closed and a previous error
// is cleared.
func (s *Scanner) Reset(r io.Reader) {
	s.stopAsync()
	s.closeAll()
	buf := s.in.buf
	if buf == nil {
		buf = make([]byte, initialBuf)
	}
	s.in = input{r: r, buf: buf, line: 1}
	s.toks = s.toks[:0]
	if pe, ok := s.err.(*ParseError); !ok || pe.Line != 0 {
		s.err = nil
	}
}

// Close closes every file the scanner opened.
func (s *Scanner) Close() error {
	s.stopAsync()
	s.closeAll()
	return nil
}

func (s *Scanner) closeAll() {
	if s.in.closer != nil {
		s.in.closer.Close()
		s.in.closer = nil
	}
	for i := len(s.stack) - 1; i >= 0; i-- {
		if s.stack[i].closer != nil {
			s.stack[i].closer.Close()
		}
	}
	if len(s.stack) > 0 {
		s.in = s.stack[0]
		s.in.closer = nil
		s.stack = s.stack[:0]
	}
}

// Record returns the record produced by the last successful Next. Its
// slices are only valid until the next call to Next.
func (s *Scanner) Record() *Record {
	if s.as != nil {
		return &s.as.rec
	}
	return &s.rec
}

// Err returns the error that stopped the scan, nil at a clean end of input.
func (s *Scanner) Err() error {
	if s.as != nil {
		return s.as.final
	}
	return s.err
}

// Line returns the current line number of the input being read.
func (s *Scanner) Line() int { return s.in.line }

// Origin returns the current origin in wire form (do not modify).
func (s *Scanner) Origin() []byte { return s.origin }

// fail records a syntax error at the current entry.
func (s *Scanner) fail(format string, args ...any) bool {
	s.err = &ParseError{File: s.in.file, Line: s.entryLine, Msg: fmt.Sprintf(format, args...), Err: ErrSyntax}
	return false
}

func (s *Scanner) failErr(err error, format string, args ...any) bool {
	s.err = &ParseError{File: s.in.file, Line: s.entryLine, Msg: fmt.Sprintf(format, args...), Err: err}
	return false
}

// tok returns the bytes of token k of the current entry.
func (s *Scanner) tok(k int) []byte {
	t := s.toks[k]
	return s.in.buf[s.base+int(t.start) : s.base+int(t.end)]
}

// character classes of the lexer
const (
	cNormal = iota
	cSpace
	cNewline
	cComment
	cOpen
	cClose
	cQuote
	cEscape
)

var charClass = func() (t [256]uint8) {
	t[' '], t['\t'], t['\r'] = cSpace, cSpace, cSpace
	t['\n'] = cNewline
	t[';'] = cComment
	t['('] = cOpen
	t[')'] = cClose
	t['"'] = cQuote
	t['\\'] = cEscape
	return
}()

// fill makes more input available: it moves the current entry to the
// front of the buffer (adjusting *i), grows the buffer if the entry fills
// it, and reads. It returns false at the end of input.
func (s *Scanner) fill(i *int) bool {
	in := &s.in
	if in.eof {
		return false
	}
	if s.base > 0 {
		n := copy(in.buf, in.buf[s.base:in.end])
		in.end = n
		*i -= s.base
		s.base = 0
	}
	if in.end == len(in.buf) {
		if len(in.buf) >= maxEntry {
			in.eof = true
			in.ioErr = ErrEntryTooBig
			return false
		}
		nb := make([]byte, 2*len(in.buf))
		copy(nb, in.buf[:in.end])
		in.buf = nb
	}
	for tries := 0; ; tries++ {
		n, err := in.r.Read(in.buf[in.end:])
		in.end += n
		if err != nil {
			in.eof = true
			if err != io.EOF {
				in.ioErr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
		if tries > 100 {
			in.eof = true
			in.ioErr = io.ErrNoProgress
			return false
		}
	}
}

// lexEntry reads the next logical entry (one record or directive, possibly
// spread over several lines with parentheses) into s.toks. It returns
// false at the end of the input or on error (s.err set).
func (s *Scanner) lexEntry() bool {
	if s.lexLine() {
		return true
	}
	in := &s.in
	s.toks = s.toks[:0]
	s.blankOwner = false
	s.base = in.pos
	s.entryLine = in.line
	depth := 0
	i := in.pos
	for {
		if i >= in.end && !s.fill(&i) {
			in.pos = i
			if in.ioErr != nil {
				if in.ioErr == ErrEntryTooBig {
					return s.failErr(in.ioErr, "entry longer than %d bytes", maxEntry)
				}
				return s.failErr(in.ioErr, "read error: %v", in.ioErr)
			}
			if depth > 0 {
				return s.fail("unbalanced parenthesis: end of input inside ( )")
			}
			return len(s.toks) > 0
		}
		c := in.buf[i]
		switch charClass[c] {
		case cSpace:
			if i == s.base && len(s.toks) == 0 {
				s.blankOwner = true
			}
			i++
		case cNewline:
			i++
			in.line++
			if depth == 0 {
				if len(s.toks) > 0 {
					in.pos = i
					return true
				}
				// empty line: the entry starts on the next line
				s.base = i
				s.blankOwner = false
				s.entryLine = in.line
			}
		case cComment:
			for {
				for i < in.end && in.buf[i] != '\n' {
					i++
				}
				if i < in.end || !s.fill(&i) {
					break
				}
			}
		case cOpen:
			depth++
			i++
		case cClose:
			if depth == 0 {
				return s.fail("unbalanced parenthesis: ')' without '('")
			}
			depth--
			i++
		case cQuote:
			i++
			start := i - s.base
			var flags uint8 = tQuoted
			for {
				if i >= in.end && !s.fill(&i) {
					return s.fail("unterminated quoted string")
				}
				c := in.buf[i]
				if c == '"' {
					break
				}
				if c == '\n' {
					return s.fail("unterminated quoted string")
				}
				if c == '\\' {
					flags |= tEscaped
					i++
					if i >= in.end && !s.fill(&i) {
						return s.fail("unterminated quoted string")
					}
					if in.buf[i] == '\n' {
						in.line++
					}
				}
				i++
			}
			s.toks = append(s.toks, token{int32(start), int32(i - s.base), flags})
			i++ // closing quote
		default: // cNormal, cEscape
			start := i - s.base
			var flags uint8
			for {
				buf := in.buf[:in.end]
				for i < len(buf) {
					cl := charClass[buf[i]]
					if cl == cNormal {
						i++
						continue
					}
					if cl != cEscape {
						break
					}
					flags |= tEscaped
					i++
					if i >= in.end && !s.fill(&i) {
						return s.fail("backslash at end of input")
					}
					if in.buf[i] == '\n' {
						in.line++
					}
					i++
				}
				if i < in.end || !s.fill(&i) {
					break
				}
			}
			s.toks = append(s.toks, token{int32(start), int32(i - s.base), flags})
		}
	}
}

// lexLine is lexEntry's fast path for the common entry: one whole line
// in the buffer made only of plain tokens, quoted strings without escapes,
// blanks and tabs (no comment, parenthesis, escape or carriage return)
// with at least one token.
// It returns false, consuming nothing, for anything else.
func (s *Scanner) lexLine() bool {
	in := &s.in
	i := in.pos
	nl := bytes.IndexByte(in.buf[i:in.end], '\n')
	if nl <= 0 {
		return false
	}
	line := in.buf[i : i+nl]
	toks := s.toks[:0]
	j := 0
	for j < len(line) {
		c := line[j]
		if c == ' ' || c == '\t' {
			j++
			continue
		}
		if c == '"' {
			// a quoted string without escapes, followed by a blank
			start := j + 1
			q := bytes.IndexByte(line[start:], '"')
			if q < 0 || bytes.IndexByte(line[start:start+q], '\\') >= 0 {
				return false
			}
			j = start + q + 1
			if j < len(line) && line[j] != ' ' && line[j] != '\t' {
				return false
			}
			toks = append(toks, token{int32(start), int32(start + q), tQuoted})
			continue
		}
		start := j
		for j < len(line) && charClass[line[j]] == cNormal {
			j++
		}
		if j == start || j < len(line) && line[j] != ' ' && line[j] != '\t' {
			return false
		}
		toks = append(toks, token{int32(start), int32(j), 0})
	}
	if len(toks) == 0 {
		return false
	}
	s.toks = toks
	s.blankOwner = line[0] == ' ' || line[0] == '\t'
	s.base = i
	s.entryLine = in.line
	in.pos = i + nl + 1
	in.line++
	return true
}

// Next scans the next record. It returns false at the end of the input or
// on error (see Err).
func (s *Scanner) Next() bool {
	if s.async {
		return s.nextAsync()
	}
	return s.next()
}

// next is Next in synchronous mode (and the producer of async mode).
func (s *Scanner) next() bool {
	if s.err != nil {
		return false
	}
	for {
		if !s.lexEntry() {
			if s.err != nil {
				return false
			}
			if len(s.stack) == 0 {
				return false
			}
			s.popInclude()
			continue
		}
		k := 0
		if !s.blankOwner {
			t0 := s.tok(0)
			if s.toks[0].flags == 0 && len(t0) > 0 && t0[0] == '$' {
				if !s.directive(t0) {
					return false
				}
				continue
			}
			if s.toks[0].flags&tQuoted != 0 {
				return s.fail("bad owner name: quoted")
			}
			o, err := appendName(s.owner[:0], t0, s.origin)
			if err != nil {
				return s.fail("bad owner name %q: %v", t0, err)
			}
			s.owner = o
			s.haveOwner = true
			s.ownerGen++
			k = 1
		} else if !s.haveOwner {
			return s.fail("no previous owner for a record with a blank owner")
		}
		return s.record(k)
	}
}

// record parses [ttl] [class] type rdata from token k on.
func (s *Scanner) record(k int) bool {
	ttl, class := s.defTTL, s.class
	haveTTL, haveClass := false, false
	n := len(s.toks)
	var typ uint16
	for {
		if k >= n {
			return s.fail("missing type")
		}
		t := s.tok(k)
		if s.toks[k].flags != 0 {
			return s.fail("bad type %q", t)
		}
		if !haveTTL && t[0] >= '0' && t[0] <= '9' {
			v, ok := parseTTL(t)
			if !ok {
				return s.fail("bad TTL %q", t)
			}
			ttl, haveTTL = v, true
			k++
			continue
		}
		// types first, as miekg/dns does ("ANY" is a type)
		kind, v := mnemonic(t)
		if kind == kindClass && !haveClass {
			class, haveClass = v, true
			k++
			continue
		}
		if kind != kindType {
			return s.fail("unknown type %q", t)
		}
		typ = v
		break
	}
	typTok := s.tok(k)
	k++
	rd, ok := s.fastRData(typ, k)
	if !ok {
		var err error
		rd, err = s.slowRData(typTok, k)
		if err != nil {
			if msg := err.Error(); strings.HasPrefix(msg, "bad ") {
				return s.failErr(err, "%s", msg)
			}
			return s.failErr(err, "bad %s rdata: %v", typTok, err)
		}
	}
	s.rdata = rd
	s.rec = Record{Owner: s.owner, Type: typ, Class: class, TTL: ttl, RData: rd, Line: s.entryLine}
	return true
}

// directive handles $ORIGIN, $TTL and $INCLUDE.
func (s *Scanner) directive(name []byte) bool {
	args := len(s.toks) - 1
	switch {
	case equalFold(name, "$ORIGIN"):
		if args != 1 {
			return s.fail("$ORIGIN needs one argument")
		}
		o, err := appendName(s.scratch[:0], s.tok(1), s.origin)
		if err != nil {
			return s.fail("bad $ORIGIN %q: %v", s.tok(1), err)
		}
		s.scratch = s.origin
		s.origin = o
		return true
	case equalFold(name, "$TTL"):
		if args != 1 {
			return s.fail("$TTL needs one argument")
		}
		v, ok := parseTTL(s.tok(1))
		if !ok {
			return s.fail("bad $TTL %q", s.tok(1))
		}
		s.defTTL = v
		return true
	case equalFold(name, "$INCLUDE"):
		if !s.AllowInclude {
			return s.fail("$INCLUDE not allowed")
		}
		if args < 1 || args > 2 {
			return s.fail("$INCLUDE needs a file name and an optional origin")
		}
		return s.pushInclude()
	}
	return s.fail("unsupported directive %q", name)
}

// pushInclude suspends the current input and opens the included file.
func (s *Scanner) pushInclude() bool {
	if len(s.stack) >= maxIncludeDepth {
		return s.fail("$INCLUDE nested too deeply")
	}
	path := string(unescapeText(s.tok(1)))
	if !filepath.IsAbs(path) && s.in.file != "" {
		path = filepath.Join(filepath.Dir(s.in.file), path)
	}
	var newOrigin []byte
	if len(s.toks) == 3 {
		o, err := appendName(nil, s.tok(2), s.origin)
		if err != nil {
			return s.fail("bad $INCLUDE origin %q: %v", s.tok(2), err)
		}
		newOrigin = o
	}
	f, err := os.Open(path)
	if err != nil {
		return s.failErr(err, "$INCLUDE: %v", err)
	}
	s.in.origin = append([]byte(nil), s.origin...)
	s.stack = append(s.stack, s.in)
	s.in = input{r: f, closer: f, file: path, buf: make([]byte, initialBuf), line: 1}
	s.base = 0
	if newOrigin != nil {
		s.origin = newOrigin
	}
	return true
}

// popInclude closes the finished included file and resumes its parent.
func (s *Scanner) popInclude() {
	if s.in.closer != nil {
		s.in.closer.Close()
	}
	s.in = s.stack[len(s.stack)-1]
	s.stack = s.stack[:len(s.stack)-1]
	s.origin = s.in.origin
	s.base = s.in.pos
}

// equalFold compares b with the upper-case ASCII string u, ignoring case.
func equalFold(b []byte, u string) bool {
	if len(b) != len(u) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != u[i] {
			return false
		}
	}
	return true
}

// unescapeText decodes \DDD and \X escapes.
func unescapeText(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\\' && i+1 < len(b) {
			if i+3 < len(b) && isDigit(b[i+1]) && isDigit(b[i+2]) && isDigit(b[i+3]) {
				c = byte(int(b[i+1]-'0')*100 + int(b[i+2]-'0')*10 + int(b[i+3]-'0'))
				i += 3
			} else {
				c = b[i+1]
				i++
			}
		}
		out = append(out, c)
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseTTL parses a TTL with optional units (s m h d w, case-insensitive),
// exactly as miekg/dns does.
func parseTTL(t []byte) (uint32, bool) {
	if len(t) == 0 {
		return 0, false
	}
	var sum, cur uint
	for _, c := range t {
		switch c {
		case 's', 'S':
			sum += cur
			cur = 0
		case 'm', 'M':
			sum += cur * 60
			cur = 0
		case 'h', 'H':
			sum += cur * 3600
			cur = 0
		case 'd', 'D':
			sum += cur * 86400
			cur = 0
		case 'w', 'W':
			sum += cur * 604800
			cur = 0
		default:
			if c < '0' || c > '9' {
				return 0, false
			}
			cur = cur*10 + uint(c-'0')
		}
	}
	if sum+cur > 0xFFFFFFFF {
		return 0, false
	}
	return uint32(sum + cur), true
}

// ResetFile makes the scanner read the file at path from line 1 with the
// initial origin and TTL (Reset then Restart); error messages and
// $INCLUDE paths are relative to it. The file is closed by the next Reset, ResetFile or Close.
func (s *Scanner) ResetFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	s.Reset(f)
	s.Restart()
	s.in.closer = f
	s.in.file = path
	return nil
}

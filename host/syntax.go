package host

import (
	"fmt"
	"strconv"
	"strings"
)

// gopher-lua's parser says only "syntax error" and where. When a chunk
// does not parse, the host runs this checker over the source to word the
// error as LuaJIT 2.1 does: "file:line: 'end' expected (to close
// 'function' at line 1) near '<eof>'". It follows LuaJIT's lexer and
// parser (lj_lex.c, lj_parse.c: Lua 5.1 plus goto and labels) closely
// enough to find the same first error, and builds nothing.

// SyntaxError is a chunk that does not compile, worded as LuaJIT words it.
type SyntaxError struct {
	Chunk string // chunk name as messages show it
	Line  int
	Msg   string // e.g. "unexpected symbol near '='"
	AtEOF bool   // the error is at the end of the source: more input could fix it
}

func (e *SyntaxError) Error() string {
	return e.Chunk + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// token kinds besides single characters
const (
	tkEOF = 256 + iota
	tkName
	tkNumber
	tkString
	tkDots   // ...
	tkConcat // ..
	tkEq     // ==
	tkNe     // ~=
	tkLe     // <=
	tkGe     // >=
	tkLabel  // ::
	tkKeyword
)

var luaKeywords = map[string]bool{
	"and": true, "break": true, "do": true, "else": true, "elseif": true, "end": true,
	"false": true, "for": true, "function": true, "if": true, "in": true, "local": true,
	"nil": true, "not": true, "or": true, "repeat": true, "return": true, "then": true,
	"true": true, "until": true, "while": true,
}

type synToken struct {
	kind int
	text string // source text (name, number, string, keyword or symbol)
}

// synError stops the checker.
type synError struct {
	line  int
	msg   string
	atEOF bool
}

type syntaxChecker struct {
	src      string
	pos      int
	line     int // line where the current token ends
	lastline int // line where the previous token ended
	tok      synToken
	ahead    *synToken // lookahead token
	aheadPos int
	aheadLn  int
	fs       *synFunc
}

// synFunc is the per-function state: vararg, blocks and gotos.
type synFunc struct {
	vararg bool
	block  *synBlock
	gotos  []synGoto
	prev   *synFunc
}

// synBlock counts its statements to place labels, locals and gotos.
type synBlock struct {
	loop     bool
	labels   map[string]int // label → index of its statement
	nstmt    int            // statements so far
	lastReal int            // index of the last statement that is not a label
	locals   []synLocal
	prev     *synBlock
	at       int // index of the statement of prev that holds this block
}

type synLocal struct {
	name string
	stmt int
}

type synGoto struct {
	name  string
	line  int
	block *synBlock
	stmt  int
}

// checkSyntax returns LuaJIT's error for src, or nil when it finds none.
func checkSyntax(src, chunk string) (err *SyntaxError) {
	c := &syntaxChecker{src: src, line: 1, lastline: 1}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(synError)
			if !ok {
				panic(r)
			}
			err = &SyntaxError{Chunk: chunk, Line: se.line, Msg: se.msg, AtEOF: se.atEOF}
		}
	}()
	// a leading #! line is skipped by the loader (kept as an empty line)
	if strings.HasPrefix(c.src, "#") {
		if i := strings.IndexByte(c.src, '\n'); i >= 0 {
			c.pos = i
		} else {
			c.pos = len(c.src)
		}
	}
	c.next()
	c.openFunc(true)
	c.chunk()
	if c.tok.kind != tkEOF {
		c.errExpected("<eof>")
	}
	c.closeFunc()
	return nil
}

// fail raises an error near the current token (near == false: no token).
func (c *syntaxChecker) fail(msg string, near bool) {
	if near {
		msg += " near '" + c.tokenText(c.tok) + "'"
	}
	panic(synError{line: c.line, msg: msg, atEOF: c.tok.kind == tkEOF})
}

func (c *syntaxChecker) tokenText(t synToken) string {
	if t.kind == tkEOF {
		return "<eof>"
	}
	if len(t.text) == 1 && (t.text[0] < 32 || t.text[0] == 127) {
		return "char(" + strconv.Itoa(int(t.text[0])) + ")"
	}
	return t.text
}

func (c *syntaxChecker) errExpected(what string) {
	c.fail("'"+what+"' expected", true)
}

// lexFail raises a lexer error near text (the token read so far).
func (c *syntaxChecker) lexFail(msg, text string, eof bool) {
	if eof {
		text = "<eof>"
	}
	// a short string cannot go on past the end of its line
	more := eof && msg != "unfinished string"
	panic(synError{line: c.line, msg: msg + " near '" + text + "'", atEOF: more})
}

// --- lexer ---

func (c *syntaxChecker) next() {
	c.lastline = c.line
	if c.ahead != nil {
		c.tok, c.pos, c.line = *c.ahead, c.aheadPos, c.aheadLn
		c.ahead = nil
		return
	}
	c.tok = c.scan()
}

func (c *syntaxChecker) lookahead() synToken {
	if c.ahead == nil {
		pos, line := c.pos, c.line
		t := c.scan()
		c.ahead, c.aheadPos, c.aheadLn = &t, c.pos, c.line
		c.pos, c.line = pos, line
	}
	return *c.ahead
}

func (c *syntaxChecker) peekByte(off int) byte {
	if c.pos+off < len(c.src) {
		return c.src[c.pos+off]
	}
	return 0
}

// newline consumes \n, \r, \r\n or \n\r as one line break.
func (c *syntaxChecker) newline() {
	first := c.src[c.pos]
	c.pos++
	if c.pos < len(c.src) && (c.src[c.pos] == '\n' || c.src[c.pos] == '\r') && c.src[c.pos] != first {
		c.pos++
	}
	c.line++
}

func isIdentByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b >= 0x80
}

func (c *syntaxChecker) scan() synToken {
	for c.pos < len(c.src) {
		b := c.src[c.pos]
		switch {
		case b == '\n' || b == '\r':
			c.newline()
		case b == ' ' || b == '\t' || b == '\v' || b == '\f':
			c.pos++
		case b == '-' && c.peekByte(1) == '-':
			c.pos += 2
			if c.peekByte(0) == '[' {
				if lvl := c.longLevel(); lvl >= 0 {
					c.longString(lvl, true)
					continue
				}
			}
			for c.pos < len(c.src) && c.src[c.pos] != '\n' && c.src[c.pos] != '\r' {
				c.pos++
			}
		case b == '[':
			lvl := c.longLevel()
			if lvl >= 0 {
				start := c.pos
				c.longString(lvl, false)
				return synToken{tkString, c.src[start:c.pos]}
			}
			if lvl == -1 {
				c.pos++
				return synToken{'[', "["}
			}
			c.lexFail("invalid long string delimiter", c.src[c.pos:c.pos-lvl-1], false)
		case b == '"' || b == '\'':
			return c.shortString(b)
		case b >= '0' && b <= '9' || b == '.' && c.peekByte(1) >= '0' && c.peekByte(1) <= '9':
			return c.number()
		case isIdentByte(b):
			start := c.pos
			for c.pos < len(c.src) && isIdentByte(c.src[c.pos]) {
				c.pos++
			}
			w := c.src[start:c.pos]
			if luaKeywords[w] {
				return synToken{tkKeyword, w}
			}
			return synToken{tkName, w}
		default:
			for _, op := range []struct {
				s    string
				kind int
			}{{"...", tkDots}, {"..", tkConcat}, {"==", tkEq}, {"~=", tkNe}, {"<=", tkLe}, {">=", tkGe}, {"::", tkLabel}} {
				if strings.HasPrefix(c.src[c.pos:], op.s) {
					c.pos += len(op.s)
					return synToken{op.kind, op.s}
				}
			}
			c.pos++
			return synToken{int(b), string(b)}
		}
	}
	return synToken{kind: tkEOF}
}

// longLevel reads the opening of a long bracket at pos: its level, -1 for
// a lone '[', or -(n+2) for '[' and n '=' not followed by '['.
func (c *syntaxChecker) longLevel() int {
	i := c.pos + 1
	for i < len(c.src) && c.src[i] == '=' {
		i++
	}
	if i < len(c.src) && c.src[i] == '[' {
		return i - c.pos - 1
	}
	if i == c.pos+1 {
		return -1
	}
	return -(i - c.pos + 1)
}

func (c *syntaxChecker) longString(lvl int, comment bool) {
	c.pos += lvl + 2
	closer := "]" + strings.Repeat("=", lvl) + "]"
	for c.pos < len(c.src) {
		switch b := c.src[c.pos]; {
		case b == '\n' || b == '\r':
			c.newline()
		case strings.HasPrefix(c.src[c.pos:], closer):
			c.pos += len(closer)
			return
		default:
			c.pos++
		}
	}
	if comment {
		c.lexFail("unfinished long comment", "", true)
	}
	c.lexFail("unfinished long string", "", true)
}

func (c *syntaxChecker) shortString(quote byte) synToken {
	start := c.pos
	c.pos++
	var text strings.Builder // what LuaJIT has saved so far, for messages
	text.WriteByte(quote)
	for {
		if c.pos >= len(c.src) {
			c.lexFail("unfinished string", "", true)
		}
		b := c.src[c.pos]
		switch {
		case b == quote:
			c.pos++
			return synToken{tkString, c.src[start:c.pos]}
		case b == '\n' || b == '\r':
			c.lexFail("unfinished string", text.String(), false)
		case b == '\\':
			c.pos++
			if c.pos >= len(c.src) {
				c.lexFail("unfinished string", "", true)
			}
			e := c.src[c.pos]
			switch {
			case strings.IndexByte("abfnrtv\\\"'", e) >= 0:
				c.pos++
			case e == '\n' || e == '\r':
				c.newline()
			case e == 'x':
				if !isHex(c.peekByte(1)) || !isHex(c.peekByte(2)) {
					c.lexFail("invalid escape sequence", text.String(), false)
				}
				c.pos += 3
			case e == 'z':
				c.pos++
				for c.pos < len(c.src) {
					if s := c.src[c.pos]; s == '\n' || s == '\r' {
						c.newline()
					} else if s == ' ' || s == '\t' || s == '\v' || s == '\f' {
						c.pos++
					} else {
						break
					}
				}
			case e == 'u':
				if c.peekByte(1) != '{' {
					c.lexFail("invalid escape sequence", text.String(), false)
				}
				i, v := c.pos+2, 0
				for i < len(c.src) && isHex(c.src[i]) {
					d, _ := strconv.ParseUint(c.src[i:i+1], 16, 8)
					v = v<<4 | int(d)
					if v >= 0x80000000 {
						c.lexFail("invalid escape sequence", text.String(), false)
					}
					i++
				}
				if i == c.pos+2 || i >= len(c.src) || c.src[i] != '}' {
					c.lexFail("invalid escape sequence", text.String(), false)
				}
				c.pos = i + 1
			case e >= '0' && e <= '9':
				v, i := 0, c.pos
				for i < len(c.src) && i < c.pos+3 && c.src[i] >= '0' && c.src[i] <= '9' {
					v = v*10 + int(c.src[i]-'0')
					i++
				}
				if v > 255 {
					c.lexFail("invalid escape sequence", text.String(), false)
				}
				c.pos = i
			default:
				c.lexFail("invalid escape sequence", text.String(), false)
			}
			text.WriteByte('?')
		default:
			text.WriteByte(b)
			c.pos++
		}
	}
}

// number reads LuaJIT's number token: digits, letters, dots and an
// exponent's sign, then checks the text is a number.
func (c *syntaxChecker) number() synToken {
	start := c.pos
	var prev byte
	for c.pos < len(c.src) {
		b := c.src[c.pos]
		if isIdentByte(b) || b == '.' || (b == '+' || b == '-') && (prev|0x20 == 'e' || prev|0x20 == 'p') {
			prev = b
			c.pos++
			continue
		}
		break
	}
	text := c.src[start:c.pos]
	if !validNumber(text) {
		c.lexFail("malformed number", text, false)
	}
	return synToken{tkNumber, text}
}

// validNumber accepts Lua's decimal and hexadecimal numbers and LuaJIT's
// 64-bit integer (LL, ULL) and imaginary (i) suffixes.
func validNumber(s string) bool {
	t := strings.ToLower(s)
	for _, suffix := range []string{"ull", "ll", "i"} {
		if strings.HasSuffix(t, suffix) && len(t) > len(suffix) {
			t = strings.TrimSuffix(t, suffix)
			if suffix != "i" && strings.ContainsAny(t, ".ep") && !strings.HasPrefix(t, "0x") {
				return false
			}
			break
		}
	}
	if strings.HasPrefix(t, "0x") {
		mant, exp, hasExp := strings.Cut(t[2:], "p")
		if strings.Trim(mant, ".") == "" || strings.Count(mant, ".") > 1 {
			return false
		}
		for _, r := range strings.ReplaceAll(mant, ".", "") {
			if !isHex(byte(r)) {
				return false
			}
		}
		if hasExp {
			exp = strings.TrimLeft(exp, "+-")
			if exp == "" || strings.Trim(exp, "0123456789") != "" {
				return false
			}
		}
		return true
	}
	mant, exp, hasExp := strings.Cut(t, "e")
	if strings.Trim(mant, ".") == "" || strings.Count(mant, ".") > 1 || strings.Trim(mant, "0123456789.") != "" {
		return false
	}
	if hasExp {
		if len(exp) > 0 && (exp[0] == '+' || exp[0] == '-') {
			exp = exp[1:]
		}
		if exp == "" || strings.Trim(exp, "0123456789") != "" {
			return false
		}
	}
	return true
}

// --- parser ---

func (c *syntaxChecker) is(kw string) bool {
	return c.tok.kind == tkKeyword && c.tok.text == kw
}

func (c *syntaxChecker) isSym(sym int) bool { return c.tok.kind == sym }

// opt consumes the keyword or symbol kw when it is the current token.
func (c *syntaxChecker) opt(kw string) bool {
	if c.tok.text == kw && c.tok.kind != tkName && c.tok.kind != tkString && c.tok.kind != tkNumber {
		c.next()
		return true
	}
	return false
}

func (c *syntaxChecker) check(kw string) {
	if !c.opt(kw) {
		c.errExpected(kw)
	}
}

// match closes what (opened by who at line), LuaJIT's lex_match.
func (c *syntaxChecker) match(what, who string, line int) {
	if c.opt(what) {
		return
	}
	if line == c.line {
		c.errExpected(what)
	}
	c.fail(fmt.Sprintf("'%s' expected (to close '%s' at line %d)", what, who, line), true)
}

func (c *syntaxChecker) name() string {
	if c.tok.kind != tkName {
		c.errExpected("<name>")
	}
	n := c.tok.text
	c.next()
	return n
}

func (c *syntaxChecker) blockEnd() bool {
	if c.tok.kind == tkEOF {
		return true
	}
	if c.tok.kind == tkKeyword {
		switch c.tok.text {
		case "else", "elseif", "end", "until":
			return true
		}
	}
	return false
}

func (c *syntaxChecker) openFunc(vararg bool) {
	c.fs = &synFunc{vararg: vararg, prev: c.fs}
	c.openBlock(false)
}

// closeFunc resolves the function's gotos: a label is visible in its
// whole block and the blocks inside it, and a forward jump must not enter
// the scope of a local unless the label ends the block.
func (c *syntaxChecker) closeFunc() {
	c.closeBlock()
	for _, g := range c.fs.gotos {
		found := false
		for b, s := g.block, g.stmt; b != nil && !found; s, b = b.at, b.prev {
			target, ok := b.labels[g.name]
			if !ok {
				continue
			}
			found = true
			if target > s && target < b.lastReal {
				for _, l := range b.locals {
					if l.stmt >= s && l.stmt < target {
						panic(synError{line: g.line, msg: fmt.Sprintf("<goto %s> jumps into the scope of local '%s'", g.name, l.name)})
					}
				}
			}
		}
		if !found {
			panic(synError{line: g.line, msg: "undefined label '" + g.name + "'"})
		}
	}
	c.fs = c.fs.prev
}

func (c *syntaxChecker) openBlock(loop bool) {
	b := &synBlock{loop: loop, labels: map[string]int{}, prev: c.fs.block, lastReal: -1}
	if b.prev != nil {
		b.at = b.prev.nstmt
	}
	c.fs.block = b
}

func (c *syntaxChecker) closeBlock() {
	c.fs.block = c.fs.block.prev
}

// inLoop reports whether a loop encloses the current block of the function.
func (c *syntaxChecker) inLoop() bool {
	for b := c.fs.block; b != nil; b = b.prev {
		if b.loop {
			return true
		}
	}
	return false
}

func (c *syntaxChecker) chunk() {
	last := false
	for !last && !c.blockEnd() {
		last = c.statement()
		c.opt(";")
	}
}

func (c *syntaxChecker) blockOf(loop bool) {
	c.openBlock(loop)
	c.chunk()
	c.closeBlock()
}

// statement parses one statement; it reports whether it must be the last.
func (c *syntaxChecker) statement() bool {
	line := c.line
	b := c.fs.block
	defer func() { b.nstmt++ }()
	if c.tok.kind == tkLabel {
		c.next()
		n := c.name()
		for o := b; o != nil; o = o.prev {
			if _, dup := o.labels[n]; dup {
				panic(synError{line: line, msg: "duplicate label '" + n + "'"})
			}
		}
		c.check("::")
		b.labels[n] = b.nstmt
		return false
	}
	b.lastReal = b.nstmt
	if c.tok.kind == tkName && c.tok.text == "goto" && c.lookahead().kind == tkName {
		c.next()
		n := c.name()
		c.fs.gotos = append(c.fs.gotos, synGoto{name: n, line: line, block: b, stmt: b.nstmt})
		return false
	}
	if c.tok.kind != tkKeyword {
		c.callOrAssign()
		return false
	}
	switch c.tok.text {
	case "if":
		c.next()
		c.expr()
		c.check("then")
		c.blockOf(false)
		for c.is("elseif") {
			c.next()
			c.expr()
			c.check("then")
			c.blockOf(false)
		}
		if c.opt("else") {
			c.blockOf(false)
		}
		c.match("end", "if", line)
	case "while":
		c.next()
		c.expr()
		c.check("do")
		c.blockOf(true)
		c.match("end", "while", line)
	case "do":
		c.next()
		c.blockOf(false)
		c.match("end", "do", line)
	case "for":
		c.next()
		c.name()
		switch {
		case c.isSym('='):
			c.next()
			c.expr()
			c.check(",")
			c.expr()
			if c.opt(",") {
				c.expr()
			}
		case c.isSym(',') || c.is("in"):
			for c.opt(",") {
				c.name()
			}
			c.check("in")
			c.exprList()
		default:
			c.fail("'=' or 'in' expected", true)
		}
		c.check("do")
		c.blockOf(true)
		c.match("end", "for", line)
	case "repeat":
		c.next()
		c.openBlock(true)
		c.chunk()
		c.match("until", "repeat", line)
		c.expr()
		c.closeBlock()
	case "function":
		c.next()
		c.name()
		for c.isSym('.') {
			c.next()
			c.name()
		}
		if c.isSym(':') {
			c.next()
			c.name()
		}
		c.body(line)
	case "local":
		c.next()
		if c.opt("function") {
			n := c.name()
			b.locals = append(b.locals, synLocal{n, b.nstmt})
			c.body(line)
			return false
		}
		for {
			b.locals = append(b.locals, synLocal{c.name(), b.nstmt})
			if !c.opt(",") {
				break
			}
		}
		if c.opt("=") {
			c.exprList()
		}
	case "return":
		c.next()
		if !c.blockEnd() && !c.isSym(';') {
			c.exprList()
		}
		return true
	case "break":
		if !c.inLoop() {
			c.fail("no loop to break", false)
		}
		c.next()
		return true
	default:
		c.callOrAssign()
	}
	return false
}

// callOrAssign is LuaJIT's parse_call_assign.
func (c *syntaxChecker) callOrAssign() {
	switch c.primary() {
	case exprCall:
		return
	case exprValue:
		c.fail("syntax error", true)
	}
	for c.opt(",") {
		if k := c.primary(); k != exprVar {
			c.fail("syntax error", true)
		}
	}
	c.check("=")
	c.exprList()
}

const (
	exprValue = iota
	exprVar   // assignable: a name or an indexed value
	exprCall
)

func (c *syntaxChecker) primary() int {
	kind := exprVar
	switch {
	case c.isSym('('):
		line := c.line
		c.next()
		c.expr()
		c.match(")", "(", line)
		kind = exprValue
	case c.tok.kind == tkName:
		c.next()
	default:
		c.fail("unexpected symbol", true)
	}
	for {
		switch {
		case c.isSym('.'):
			c.next()
			c.name()
			kind = exprVar
		case c.isSym('['):
			c.next()
			c.expr()
			c.check("]")
			kind = exprVar
		case c.isSym(':'):
			c.next()
			c.name()
			c.args()
			kind = exprCall
		case c.isSym('(') || c.tok.kind == tkString || c.isSym('{'):
			c.args()
			kind = exprCall
		default:
			return kind
		}
	}
}

func (c *syntaxChecker) args() {
	switch {
	case c.isSym('('):
		if c.line != c.lastline {
			c.fail("ambiguous syntax (function call x new statement)", true)
		}
		line := c.line
		c.next()
		if !c.isSym(')') {
			c.exprList()
		}
		c.match(")", "(", line)
	case c.isSym('{'):
		c.table()
	case c.tok.kind == tkString:
		c.next()
	default:
		c.fail("function arguments expected", true)
	}
}

func (c *syntaxChecker) table() {
	line := c.line
	c.check("{")
	for !c.isSym('}') {
		switch {
		case c.isSym('['):
			c.next()
			c.expr()
			c.check("]")
			c.check("=")
			c.expr()
		case c.tok.kind == tkName && c.lookahead().kind == '=':
			c.next()
			c.check("=")
			c.expr()
		default:
			c.expr()
		}
		if !c.opt(",") && !c.opt(";") {
			break
		}
	}
	c.match("}", "{", line)
}

func (c *syntaxChecker) body(line int) {
	c.check("(")
	vararg := false
	if !c.isSym(')') {
		for {
			if c.tok.kind == tkName {
				c.next()
			} else if c.tok.kind == tkDots {
				c.next()
				vararg = true
				break
			} else {
				c.fail("<name> or '...' expected", true)
			}
			if !c.opt(",") {
				break
			}
		}
	}
	c.check(")")
	c.openFunc(vararg)
	c.chunk()
	c.match("end", "function", line)
	c.closeFunc()
}

func (c *syntaxChecker) exprList() {
	c.expr()
	for c.opt(",") {
		c.expr()
	}
}

func (c *syntaxChecker) expr() { c.subexpr(0) }

// binary operator priorities (left, right), as in Lua 5.1
func binaryPriority(t synToken) (int, int) {
	switch t.kind {
	case '+', '-':
		return 6, 6
	case '*', '/', '%':
		return 7, 7
	case '^':
		return 10, 9
	case tkConcat:
		return 5, 4
	case tkEq, tkNe, '<', tkLe, '>', tkGe:
		return 3, 3
	case tkKeyword:
		switch t.text {
		case "and":
			return 2, 2
		case "or":
			return 1, 1
		}
	}
	return 0, 0
}

func (c *syntaxChecker) subexpr(limit int) {
	if c.is("not") || c.isSym('-') || c.isSym('#') {
		c.next()
		c.subexpr(8)
	} else {
		c.simple()
	}
	for {
		left, right := binaryPriority(c.tok)
		if left <= limit {
			return
		}
		c.next()
		c.subexpr(right)
	}
}

func (c *syntaxChecker) simple() {
	switch {
	case c.tok.kind == tkNumber, c.tok.kind == tkString, c.is("nil"), c.is("true"), c.is("false"):
		c.next()
	case c.tok.kind == tkDots:
		if !c.fs.vararg {
			c.fail("cannot use '...' outside a vararg function", true)
		}
		c.next()
	case c.isSym('{'):
		c.table()
	case c.is("function"):
		line := c.line
		c.next()
		c.body(line)
	default:
		c.primary()
	}
}

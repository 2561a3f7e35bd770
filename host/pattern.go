package host

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// string.find, match, gmatch and gsub run on this matcher, a Lua 5.1
// pattern engine: gopher-lua's lacks the %f frontier pattern and its gsub
// is quadratic in the number of matches (20k matches in 160 KB take
// seconds).

const maxCaptures = 32

const (
	capUnfinished = -1
	capPosition   = -2
)

type matchState struct {
	src, pat string
	level    int
	capture  [maxCaptures]struct{ init, len int }
	depth    int
}

type patternError string

func (m *matchState) fail(msg string) { panic(patternError(msg)) }

func classEnd(m *matchState, p int) int {
	if p >= len(m.pat) {
		m.fail("malformed pattern (ends with '%')")
	}
	c := m.pat[p]
	p++
	if c == '%' {
		if p >= len(m.pat) {
			m.fail("malformed pattern (ends with '%')")
		}
		return p + 1
	}
	if c == '[' {
		if p < len(m.pat) && m.pat[p] == '^' {
			p++
		}
		for {
			if p >= len(m.pat) {
				m.fail("malformed pattern (missing ']')")
			}
			c := m.pat[p]
			p++
			if c == '%' {
				p++
			}
			if p < len(m.pat) && m.pat[p] == ']' {
				return p + 1
			}
			if p >= len(m.pat) {
				m.fail("malformed pattern (missing ']')")
			}
		}
	}
	return p
}

func singleClass(c byte, cl byte) bool {
	var r bool
	switch cl | 0x20 {
	case 'a':
		r = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	case 'c':
		r = c < 32 || c == 127
	case 'd':
		r = c >= '0' && c <= '9'
	case 'l':
		r = c >= 'a' && c <= 'z'
	case 'p':
		r = c > 32 && c < 127 && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
	case 's':
		r = c == ' ' || c >= '\t' && c <= '\r'
	case 'u':
		r = c >= 'A' && c <= 'Z'
	case 'w':
		r = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	case 'x':
		r = c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	case 'z':
		r = c == 0
	default:
		return cl == c
	}
	if cl >= 'A' && cl <= 'Z' {
		return !r
	}
	return r
}

// matchClassSet matches c against the set pat[p:ec] where pat[p] == '[' and pat[ec-1] == ']'.
func matchClassSet(pat string, c byte, p, ec int) bool {
	sig := true
	p++
	if pat[p] == '^' {
		sig = false
		p++
	}
	for ; p < ec; p++ {
		if pat[p] == '%' {
			p++
			if singleClass(c, pat[p]) {
				return sig
			}
		} else if p+2 < ec && pat[p+1] == '-' {
			if pat[p] <= c && c <= pat[p+2] {
				return sig
			}
			p += 2
		} else if pat[p] == c {
			return sig
		}
	}
	return !sig
}

func singleMatch(m *matchState, s, p, ep int) bool {
	if s >= len(m.src) {
		return false
	}
	c := m.src[s]
	switch m.pat[p] {
	case '.':
		return true
	case '%':
		return singleClass(c, m.pat[p+1])
	case '[':
		return matchClassSet(m.pat, c, p, ep-1)
	}
	return m.pat[p] == c
}

func (m *matchState) match(s, p int) int {
	m.depth++
	if m.depth > 200 {
		m.fail("pattern too complex")
	}
	defer func() { m.depth-- }()
	for {
		if p >= len(m.pat) {
			return s
		}
		switch m.pat[p] {
		case '(':
			if p+1 < len(m.pat) && m.pat[p+1] == ')' {
				return m.startCapture(s, p+2, capPosition)
			}
			return m.startCapture(s, p+1, capUnfinished)
		case ')':
			return m.endCapture(s, p+1)
		case '$':
			if p+1 == len(m.pat) {
				if s == len(m.src) {
					return s
				}
				return -1
			}
		case '%':
			if p+1 < len(m.pat) {
				switch m.pat[p+1] {
				case 'b':
					s = m.matchBalance(s, p+2)
					if s == -1 {
						return -1
					}
					p += 4
					continue
				case 'f':
					p += 2
					if p >= len(m.pat) || m.pat[p] != '[' {
						m.fail("missing '[' after '%f' in pattern")
					}
					ep := classEnd(m, p)
					var prev, cur byte
					if s > 0 {
						prev = m.src[s-1]
					}
					if s < len(m.src) {
						cur = m.src[s]
					}
					if matchClassSet(m.pat, prev, p, ep-1) || !matchClassSet(m.pat, cur, p, ep-1) {
						return -1
					}
					p = ep
					continue
				default:
					if d := m.pat[p+1]; d >= '0' && d <= '9' {
						s = m.matchCapture(s, int(d-'1'))
						if s == -1 {
							return -1
						}
						p += 2
						continue
					}
				}
			}
		}
		ep := classEnd(m, p)
		ok := singleMatch(m, s, p, ep)
		var q byte
		if ep < len(m.pat) {
			q = m.pat[ep]
		}
		switch q {
		case '?':
			if ok {
				if r := m.match(s+1, ep+1); r != -1 {
					return r
				}
			}
			p = ep + 1
			continue
		case '*':
			return m.maxExpand(s, p, ep)
		case '+':
			if !ok {
				return -1
			}
			return m.maxExpand(s+1, p, ep)
		case '-':
			return m.minExpand(s, p, ep)
		}
		if !ok {
			return -1
		}
		s++
		p = ep
	}
}

func (m *matchState) maxExpand(s, p, ep int) int {
	i := 0
	for singleMatch(m, s+i, p, ep) {
		i++
	}
	for ; i >= 0; i-- {
		if r := m.match(s+i, ep+1); r != -1 {
			return r
		}
	}
	return -1
}

func (m *matchState) minExpand(s, p, ep int) int {
	for {
		if r := m.match(s, ep+1); r != -1 {
			return r
		}
		if singleMatch(m, s, p, ep) {
			s++
		} else {
			return -1
		}
	}
}

func (m *matchState) startCapture(s, p, what int) int {
	if m.level >= maxCaptures {
		m.fail("too many captures")
	}
	m.capture[m.level].init = s
	m.capture[m.level].len = what
	m.level++
	r := m.match(s, p)
	if r == -1 {
		m.level--
	}
	return r
}

func (m *matchState) endCapture(s, p int) int {
	l := -1
	for i := m.level - 1; i >= 0; i-- {
		if m.capture[i].len == capUnfinished {
			l = i
			break
		}
	}
	if l < 0 {
		m.fail("invalid pattern capture")
	}
	m.capture[l].len = s - m.capture[l].init
	r := m.match(s, p)
	if r == -1 {
		m.capture[l].len = capUnfinished
	}
	return r
}

func (m *matchState) matchBalance(s, p int) int {
	if p+1 >= len(m.pat) {
		m.fail("missing arguments to '%b'")
	}
	if s >= len(m.src) || m.src[s] != m.pat[p] {
		return -1
	}
	b, e := m.pat[p], m.pat[p+1]
	cont := 1
	for i := s + 1; i < len(m.src); i++ {
		switch m.src[i] {
		case e:
			cont--
			if cont == 0 {
				return i + 1
			}
		case b:
			cont++
		}
	}
	return -1
}

func (m *matchState) matchCapture(s, l int) int {
	if l < 0 || l >= m.level || m.capture[l].len == capUnfinished {
		m.fail("invalid capture index")
	}
	c := m.src[m.capture[l].init : m.capture[l].init+m.capture[l].len]
	if strings.HasPrefix(m.src[s:], c) {
		return s + len(c)
	}
	return -1
}

// captureValue returns capture i (or the whole match when there are none).
func (m *matchState) captureValue(i, s, e int) lua.LValue {
	if i >= m.level {
		if i == 0 {
			return lua.LString(m.src[s:e])
		}
		m.fail("invalid capture index")
	}
	c := m.capture[i]
	if c.len == capPosition {
		return lua.LNumber(c.init + 1)
	}
	return lua.LString(m.src[c.init : c.init+c.len])
}

func (m *matchState) pushCaptures(L *lua.LState, s, e int, wholeIfNone bool) int {
	n := m.level
	if n == 0 && wholeIfNone {
		n = 1
	}
	for i := 0; i < n; i++ {
		L.Push(m.captureValue(i, s, e))
	}
	return n
}

// find runs the pattern from init; it returns match start and end or -1.
func (m *matchState) find(init int) (int, int) {
	p := 0
	anchor := len(m.pat) > 0 && m.pat[0] == '^'
	if anchor {
		p = 1
	}
	for s := init; s <= len(m.src); s++ {
		m.level = 0
		if e := m.match(s, p); e != -1 {
			return s, e
		}
		if anchor {
			break
		}
	}
	return -1, -1
}

func protectPattern(L *lua.LState, f func() int) (n int) {
	defer func() {
		if r := recover(); r != nil {
			if msg, ok := r.(patternError); ok {
				L.RaiseError("%s", string(msg))
			}
			panic(r)
		}
	}()
	return f()
}

func startIndex(init, l int) int {
	if init < 0 {
		init = l + init + 1
	}
	if init < 1 {
		init = 1
	}
	return init - 1
}

// installPatterns replaces string.find/match/gmatch/gsub with the
// matcher above.
func installPatterns(L *lua.LState) {
	str := L.GetGlobal("string").(*lua.LTable)
	for name, impl := range patternFuncs {
		str.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			return protectPattern(L, func() int { return impl(L) })
		}))
	}
}

// hasSpecials reports whether a pattern uses any magic character.
func hasSpecials(p string) bool {
	return strings.ContainsAny(p, "^$*+?.([%-")
}

var patternFuncs = map[string]lua.LGFunction{
	"find": func(L *lua.LState) int {
		src, pat := L.CheckString(1), L.CheckString(2)
		init := startIndex(L.OptInt(3, 1), len(src))
		if init > len(src) {
			L.Push(lua.LNil)
			return 1
		}
		if lua.LVAsBool(L.Get(4)) || !hasSpecials(pat) {
			i := strings.Index(src[init:], pat)
			if i < 0 {
				L.Push(lua.LNil)
				return 1
			}
			L.Push(lua.LNumber(init + i + 1))
			L.Push(lua.LNumber(init + i + len(pat)))
			return 2
		}
		m := &matchState{src: src, pat: pat}
		s, e := m.find(init)
		if s < 0 {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LNumber(s + 1))
		L.Push(lua.LNumber(e))
		return 2 + m.pushCaptures(L, s, e, false)
	},
	"match": func(L *lua.LState) int {
		src, pat := L.CheckString(1), L.CheckString(2)
		init := startIndex(L.OptInt(3, 1), len(src))
		if init > len(src) {
			L.Push(lua.LNil)
			return 1
		}
		m := &matchState{src: src, pat: pat}
		s, e := m.find(init)
		if s < 0 {
			L.Push(lua.LNil)
			return 1
		}
		return m.pushCaptures(L, s, e, true)
	},
	"gmatch": func(L *lua.LState) int {
		src, pat := L.CheckString(1), L.CheckString(2)
		pos := 0
		L.Push(L.NewFunction(func(L *lua.LState) int {
			return protectPattern(L, func() int {
				for pos <= len(src) {
					m := &matchState{src: src, pat: pat}
					e := m.match(pos, 0)
					if e != -1 {
						s := pos
						if e == pos {
							pos++
						} else {
							pos = e
						}
						return m.pushCaptures(L, s, e, true)
					}
					pos++
				}
				return 0
			})
		}))
		return 1
	},
	"gsub": func(L *lua.LState) int {
		src, pat := L.CheckString(1), L.CheckString(2)
		repl := L.CheckAny(3)
		maxN := L.OptInt(4, len(src)+1)
		anchor := len(pat) > 0 && pat[0] == '^'
		p := 0
		if anchor {
			p = 1
		}
		var out strings.Builder
		s, n := 0, 0
		for n < maxN {
			m := &matchState{src: src, pat: pat}
			e := m.match(s, p)
			if e != -1 {
				n++
				whole := src[s:e]
				var val lua.LValue
				switch r := repl.(type) {
				case lua.LString, lua.LNumber:
					rs := r.String()
					var b strings.Builder
					for i := 0; i < len(rs); i++ {
						if rs[i] == '%' && i+1 < len(rs) {
							i++
							d := rs[i]
							switch {
							case d == '0':
								b.WriteString(whole)
							case d >= '1' && d <= '9':
								b.WriteString(ToString(L, m.captureValue(int(d-'1'), s, e)))
							default:
								b.WriteByte(d)
							}
						} else {
							b.WriteByte(rs[i])
						}
					}
					val = lua.LString(b.String())
				case *lua.LTable:
					val = L.GetTable(r, m.captureValue(0, s, e))
				case *lua.LFunction:
					top := L.GetTop()
					L.Push(r)
					k := m.pushCaptures(L, s, e, true)
					L.Call(k, 1)
					val = L.Get(-1)
					L.SetTop(top)
				default:
					L.ArgError(3, "string/function/table expected")
				}
				if !lua.LVAsBool(val) {
					out.WriteString(whole)
				} else if vs, ok := val.(lua.LString); ok {
					out.WriteString(string(vs))
				} else if vn, ok := val.(lua.LNumber); ok {
					out.WriteString(NumberString(float64(vn)))
				} else {
					L.RaiseError("invalid replacement value (a %s)", val.Type().String())
				}
			}
			if e != -1 && e > s {
				s = e
			} else if s < len(src) {
				out.WriteByte(src[s])
				s++
			} else {
				break
			}
			if anchor {
				break
			}
		}
		if s < len(src) {
			out.WriteString(src[s:])
		}
		L.Push(lua.LString(out.String()))
		L.Push(lua.LNumber(n))
		return 2
	},
}

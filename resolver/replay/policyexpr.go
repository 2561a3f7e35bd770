package replay

import (
	"fmt"
	"strings"
	"unicode"

	"ljdns/daemon/mod/policy"
)

// Deckard's `feature-list: policy=...` lines are kresd Lua statements
// (kresd.j2 pastes them into the configuration). The runner cannot run
// Lua (resolver/replay stays Lua-free), so it reads the few forms the
// scenarios use with the small expression reader below and builds the
// same rules with daemon/mod/policy:
//
//	policy.add(RULE)          policy:add(RULE) (kresd's 1.0 form)
//	RULE    policy.all(ACTION) | policy.suffix(ACTION, NAMES) | policy.domains(ACTION, NAMES)
//	NAMES   {todname('a.'), policy.todname('b.'), ...}
//	ACTION  policy.PASS | DENY | DROP | REFUSE | NO_ANSWER | TC
//	        | policy.DENY_MSG('text') | policy.FORWARD(ADDRS) | policy.STUB(ADDRS)
//	ADDRS   'ip[@port]' | {'ip', ...}
//
// Anything else is reported as unsupported.

// pexpr is a parsed expression: a name (policy.PASS), a call (name with
// args), a string or a table constructor.
type pexpr struct {
	name   string   // identifier path ("policy.suffix"); "" for strings and tables
	call   bool     // name(args)
	args   []*pexpr // call arguments or table items
	str    string   // string literal
	isStr  bool
	isTab  bool
	column int
}

// pparser reads one expression of src.
type pparser struct {
	src string
	pos int
}

func (p *pparser) errorf(format string, args ...any) error {
	return fmt.Errorf("policy expression %q, column %d: %s", p.src, p.pos+1, fmt.Sprintf(format, args...))
}

func (p *pparser) skipSpace() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

// peek returns the next non-space byte (0 at the end).
func (p *pparser) peek() byte {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

func isIdent(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

// expr reads a name, call, string or table.
func (p *pparser) expr() (*pexpr, error) {
	c := p.peek()
	e := &pexpr{column: p.pos + 1}
	switch {
	case c == '\'' || c == '"':
		end := strings.IndexByte(p.src[p.pos+1:], c)
		if end < 0 {
			return nil, p.errorf("unterminated string")
		}
		e.str, e.isStr = p.src[p.pos+1:p.pos+1+end], true
		if strings.ContainsRune(e.str, '\\') {
			return nil, p.errorf("escapes in strings are not supported")
		}
		p.pos += end + 2
		return e, nil
	case c == '{':
		p.pos++
		e.isTab = true
		items, err := p.list('}')
		if err != nil {
			return nil, err
		}
		e.args = items
		return e, nil
	case isIdent(c, true):
		start := p.pos
		for p.pos < len(p.src) && (isIdent(p.src[p.pos], false) || p.src[p.pos] == '.' || p.src[p.pos] == ':') {
			p.pos++
		}
		e.name = p.src[start:p.pos]
		if p.peek() == '(' {
			p.pos++
			e.call = true
			args, err := p.list(')')
			if err != nil {
				return nil, err
			}
			e.args = args
		}
		return e, nil
	case c == 0:
		return nil, p.errorf("expression expected at the end")
	}
	return nil, p.errorf("unexpected %q", c)
}

// list reads comma-separated expressions up to the closing byte (a
// trailing comma allowed, as in Lua tables).
func (p *pparser) list(closing byte) ([]*pexpr, error) {
	var out []*pexpr
	for {
		if p.peek() == closing {
			p.pos++
			return out, nil
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		switch p.peek() {
		case ',':
			p.pos++
		case closing:
		default:
			return nil, p.errorf("%q or ',' expected", closing)
		}
	}
}

// policyBuilder turns parsed policy statements into rules; forward makes
// the action of FORWARD/STUB to the given addresses.
type policyBuilder struct {
	forward func(addrs []string, stub bool) (policy.Action, error)
}

// errUnsupportedPolicy marks an expression outside the subset read here.
type errUnsupportedPolicy struct{ what string }

func (e *errUnsupportedPolicy) Error() string {
	return "policy: " + e.what + " is not supported by the runner"
}

// statement parses `policy.add(RULE)` and returns the rule.
func (b *policyBuilder) statement(src string) (policy.RuleFunc, error) {
	p := &pparser{src: src}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.peek() == ';' {
		p.pos++
	}
	if p.peek() != 0 {
		return nil, p.errorf("one statement expected")
	}
	if !e.call || e.name != "policy.add" && e.name != "policy:add" {
		return nil, &errUnsupportedPolicy{fmt.Sprintf("statement %q", e.name)}
	}
	if len(e.args) != 1 {
		return nil, &errUnsupportedPolicy{fmt.Sprintf("%s with %d arguments", e.name, len(e.args))}
	}
	return b.rule(e.args[0])
}

// rule reads policy.all / policy.suffix / policy.domains.
func (b *policyBuilder) rule(e *pexpr) (policy.RuleFunc, error) {
	if !e.call {
		return nil, &errUnsupportedPolicy{fmt.Sprintf("filter %q", e.name)}
	}
	switch e.name {
	case "policy.all":
		if len(e.args) != 1 {
			return nil, fmt.Errorf("policy.all takes one action")
		}
		a, err := b.action(e.args[0])
		if err != nil {
			return nil, err
		}
		return policy.All(a), nil
	case "policy.suffix", "policy.domains":
		if len(e.args) != 2 {
			return nil, fmt.Errorf("%s takes an action and a table of names", e.name)
		}
		a, err := b.action(e.args[0])
		if err != nil {
			return nil, err
		}
		names, err := wireNames(e.args[1])
		if err != nil {
			return nil, err
		}
		if e.name == "policy.suffix" {
			return policy.Suffix(a, names), nil
		}
		return policy.Domains(a, names), nil
	}
	return nil, &errUnsupportedPolicy{fmt.Sprintf("filter %q", e.name)}
}

// wireNames reads {todname('a'), ...}.
func wireNames(e *pexpr) ([][]byte, error) {
	if !e.isTab {
		return nil, fmt.Errorf("policy: table of names expected at column %d", e.column)
	}
	var out [][]byte
	for _, it := range e.args {
		if !it.call || it.name != "todname" && it.name != "policy.todname" || len(it.args) != 1 || !it.args[0].isStr {
			return nil, &errUnsupportedPolicy{fmt.Sprintf("name at column %d (todname('name') expected)", it.column)}
		}
		w := policy.Todname(it.args[0].str)
		if w == nil {
			return nil, fmt.Errorf("policy: bad name %q", it.args[0].str)
		}
		out = append(out, w)
	}
	return out, nil
}

// action reads a policy action.
func (b *policyBuilder) action(e *pexpr) (policy.Action, error) {
	if !e.call {
		switch e.name {
		case "policy.PASS":
			return policy.PASS, nil
		case "policy.DENY":
			return policy.DENY, nil
		case "policy.DROP":
			return policy.DROP, nil
		case "policy.REFUSE":
			return policy.REFUSE, nil
		case "policy.NO_ANSWER":
			return policy.NO_ANSWER, nil
		case "policy.TC":
			return policy.TC, nil
		}
		return nil, &errUnsupportedPolicy{fmt.Sprintf("action %q", e.name)}
	}
	switch e.name {
	case "policy.DENY_MSG":
		if len(e.args) != 1 || !e.args[0].isStr {
			return nil, &errUnsupportedPolicy{"DENY_MSG other than DENY_MSG('text')"}
		}
		return policy.DenyMsg(e.args[0].str, -1), nil
	case "policy.FORWARD", "policy.STUB":
		if len(e.args) != 1 {
			return nil, fmt.Errorf("%s takes one address or a table of them", e.name)
		}
		var addrs []string
		switch a := e.args[0]; {
		case a.isStr:
			addrs = []string{a.str}
		case a.isTab:
			for _, it := range a.args {
				if !it.isStr {
					return nil, fmt.Errorf("%s: address strings expected", e.name)
				}
				addrs = append(addrs, it.str)
			}
		default:
			return nil, fmt.Errorf("%s: address string or table expected", e.name)
		}
		return b.forward(addrs, e.name == "policy.STUB")
	}
	return nil, &errUnsupportedPolicy{fmt.Sprintf("action %q", e.name)}
}

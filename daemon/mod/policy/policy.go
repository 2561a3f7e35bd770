// Package policy is kresd's policy module compiled to Go: rules made of a
// filter (All, Suffix, Domains, Pattern, or any RuleFunc) and an action
// (PASS, DENY, DENY_MSG, DROP, REFUSE, NO_ANSWER, TC, ANSWER, FORWARD,
// TLS_FORWARD, STUB, MIRROR, FLAGS, QTRACE, DEBUG_ALWAYS, REROUTE), run in
// the begin phase in rule order (postrules in finish) as kresd 5 runs
// them: the first non-chain action stops, chain actions continue; then
// kresd 5's special-names rules.
package policy

import (
	"regexp"
	"sync"
	"sync/atomic"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// Action is a policy action. It returns the new state to stop evaluating
// rules (a non-chain action; s itself for PASS) or 0 to continue with the
// next rule (a chain action).
type Action func(r *daemon.Request, s daemon.State) daemon.State

// RuleFunc is a rule's callback: the action to run for r, or nil (kresd's
// rule.cb(req, qry)).
type RuleFunc func(r *daemon.Request) Action

// Rule is one added rule.
type Rule struct {
	ID    int
	Cb    RuleFunc
	Count atomic.Uint64
}

// Policy is the rule table and the daemon layer running it.
type Policy struct {
	mu     sync.Mutex
	nextID int
	rules  atomic.Pointer[[]*Rule]
	post   atomic.Pointer[[]*Rule]
	// NoSpecialNames turns kresd's special-names rules off.
	NoSpecialNames bool
	special        []*Rule
	closers        []func() error
}

// OnClose registers fn to run when the policy is retired with its
// configuration (an RPZ's watch, a forwarder's transport).
func (p *Policy) OnClose(fn func() error) {
	p.mu.Lock()
	p.closers = append(p.closers, fn)
	p.mu.Unlock()
}

// Close implements daemon.Closer: it runs the OnClose functions.
func (p *Policy) Close() error {
	p.mu.Lock()
	fns := p.closers
	p.closers = nil
	p.mu.Unlock()
	var err error
	for _, fn := range fns {
		if e := fn(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// New returns an empty policy (special-names rules on).
func New() *Policy {
	p := &Policy{}
	p.rules.Store(&[]*Rule{})
	p.post.Store(&[]*Rule{})
	p.special = specialNames()
	return p
}

// Name is "policy".
func (p *Policy) Name() string { return "policy" }

// Add appends a rule (a postrule when post is set: run in finish, like
// REROUTE) and returns it (policy.add).
func (p *Policy) Add(cb RuleFunc, post bool) *Rule {
	return p.Insert(cb, post, -1)
}

// Insert puts a rule at index i (-1: at the end; table.insert(policy.rules, 1, r)).
func (p *Policy) Insert(cb RuleFunc, post bool, i int) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := &Rule{ID: p.nextID, Cb: cb}
	p.nextID++
	tab := &p.rules
	if post {
		tab = &p.post
	}
	old := *tab.Load()
	nw := make([]*Rule, 0, len(old)+1)
	if i < 0 || i > len(old) {
		i = len(old)
	}
	nw = append(nw, old[:i]...)
	nw = append(nw, r)
	nw = append(nw, old[i:]...)
	tab.Store(&nw)
	return r
}

// Del removes the rule id from either table (policy.del).
func (p *Policy) Del(id int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tab := range []*atomic.Pointer[[]*Rule]{&p.rules, &p.post} {
		old := *tab.Load()
		for i, r := range old {
			if r.ID == id {
				nw := append(append([]*Rule{}, old[:i]...), old[i+1:]...)
				tab.Store(&nw)
				return true
			}
		}
	}
	return false
}

// Rules returns the rules and the postrules.
func (p *Policy) Rules() (rules, post []*Rule) { return *p.rules.Load(), *p.post.Load() }

// Eval runs rules on r; it reports the state of the first non-chain action.
func Eval(rules []*Rule, r *daemon.Request, s daemon.State) (daemon.State, bool) {
	for _, rule := range rules {
		a := rule.Cb(r)
		if a == nil {
			continue
		}
		rule.Count.Add(1)
		if st := a(r, s); st != 0 {
			return st, true
		}
	}
	return s, false
}

// Begin runs the rules, then the special-names rules.
func (p *Policy) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if st, stop := Eval(*p.rules.Load(), r, s); stop {
		return st
	}
	if !p.NoSpecialNames {
		if st, stop := Eval(p.special, r, s); stop {
			return st
		}
	}
	return s
}

// Finish runs the postrules.
func (p *Policy) Finish(r *daemon.Request, s daemon.State) daemon.State {
	post := *p.post.Load()
	if len(post) == 0 {
		return s
	}
	st, _ := Eval(post, r, s)
	return st
}

// --- filters ---

// All matches every query (policy.all).
func All(a Action) RuleFunc { return func(*daemon.Request) Action { return a } }

func lowerQName(r *daemon.Request) []byte {
	q := r.QName()
	for _, c := range q {
		if c >= 'A' && c <= 'Z' {
			return dnsmsg.LowerName(q)
		}
	}
	return q
}

// Suffix matches query names equal to or under one of names (wire,
// policy.suffix).
func Suffix(a Action, names [][]byte) RuleFunc {
	set := map[string]bool{}
	for _, n := range names {
		set[string(dnsmsg.LowerName(n))] = true
	}
	return func(r *daemon.Request) Action {
		q := lowerQName(r)
		for off := 0; off < len(q); {
			if set[string(q[off:])] {
				return a
			}
			if q[off] == 0 {
				break
			}
			off += int(q[off]) + 1
		}
		return nil
	}
}

// Domains matches query names equal to one of names (policy.domains).
func Domains(a Action, names [][]byte) RuleFunc {
	set := map[string]bool{}
	for _, n := range names {
		set[string(dnsmsg.LowerName(n))] = true
	}
	return func(r *daemon.Request) Action {
		if set[string(lowerQName(r))] {
			return a
		}
		return nil
	}
}

// Pattern matches the lowercased wire query name against re (policy.pattern
// takes a Lua pattern; its binding passes a matcher with PatternFunc).
func Pattern(a Action, re *regexp.Regexp) RuleFunc {
	return PatternFunc(a, re.Match)
}

// PatternFunc matches the lowercased wire query name with match.
func PatternFunc(a Action, match func(wire []byte) bool) RuleFunc {
	return func(r *daemon.Request) Action {
		if match(lowerQName(r)) {
			return a
		}
		return nil
	}
}

// Todname converts a text name to wire (policy.todname); nil if invalid.
func Todname(s string) []byte {
	n, err := dnsmsg.NameFromText(s)
	if err != nil {
		return nil
	}
	return n.Wire
}

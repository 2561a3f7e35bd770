// Package tasentinel is the root key trust anchor sentinel of RFC 8509, as
// kresd 5's ta_sentinel module: a query whose leftmost label is
// "root-key-sentinel-is-ta-NNNNN" or "root-key-sentinel-not-ta-NNNNN"
// (a key tag in five decimal digits, any case), of type A or AAAA, is
// resolved as usual; when
// its answer validated as secure, an is-ta query for a key tag that is not
// among the root's trust anchors, or a not-ta query for one that is, is
// answered SERVFAIL instead (§3.2). Insecure, bogus and unvalidated answers
// pass unchanged. The verdict comes from the resolver's Layer
// (resolver.SecurityVar), the key tags from a function the binding passes
// (resolver/anchors' trusted root keys).
package tasentinel

import (
	"bytes"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/resolver"
	"ljdns/validator"
)

// Label prefixes of RFC 8509 §2.
const (
	IsTA  = "root-key-sentinel-is-ta-"
	NotTA = "root-key-sentinel-not-ta-"
)

// markVar is the request variable Begin sets for a sentinel query.
const markVar = "ta_sentinel"

type mark struct {
	isTA bool
	tag  uint16
}

// Sentinel is the module's layer.
type Sentinel struct {
	tags func() []uint16
}

// New returns the layer; tags gives the key tags of the root's trust anchors.
func New(tags func() []uint16) *Sentinel { return &Sentinel{tags: tags} }

// Name is "ta_sentinel".
func (s *Sentinel) Name() string { return "ta_sentinel" }

// Parse reads the sentinel label at the front of a wire-form name.
func Parse(qname []byte) (isTA bool, tag uint16, ok bool) {
	if len(qname) == 0 || int(qname[0])+1 > len(qname) {
		return false, 0, false
	}
	l := bytes.ToLower(qname[1 : 1+int(qname[0])])
	var digits []byte
	switch {
	case bytes.HasPrefix(l, []byte(IsTA)):
		isTA, digits = true, l[len(IsTA):]
	case bytes.HasPrefix(l, []byte(NotTA)):
		digits = l[len(NotTA):]
	default:
		return false, 0, false
	}
	if len(digits) != 5 {
		return false, 0, false
	}
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false, 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return false, 0, false
	}
	return isTA, uint16(n), true
}

// Begin marks a sentinel query (and makes r.Vars, where the resolver
// leaves its verdict).
func (s *Sentinel) Begin(r *daemon.Request, st daemon.State) daemon.State {
	if t := r.QType(); t != dnsmsg.TypeA && t != dnsmsg.TypeAAAA {
		return st // RFC 8509 §3.2: A and AAAA queries only (kresd too)
	}
	if isTA, tag, ok := Parse(r.QName()); ok {
		r.SetVar(markVar, mark{isTA, tag})
	}
	return st
}

// Finish turns a secure answer into SERVFAIL as §3.2 says.
func (s *Sentinel) Finish(r *daemon.Request, st daemon.State) daemon.State {
	m, ok := r.Var(markVar).(mark)
	if !ok || st&daemon.Fail != 0 {
		return st
	}
	if sec, _ := r.Var(resolver.SecurityVar).(validator.Security); sec != validator.Secure {
		return st
	}
	trusted := false
	if s.tags != nil {
		for _, t := range s.tags() {
			trusted = trusted || t == m.tag
		}
	}
	if m.isTA != trusted {
		r.Tracef("ta_sentinel: key tag %d trusted %v: SERVFAIL", m.tag, trusted)
		r.ResetAnswer()
		r.SetRcode(daemon.RcodeServFail)
	}
	return st
}

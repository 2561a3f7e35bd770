// Package renumber rewrites addresses in answers, as kresd 5's renumber
// module: each rule maps a source subnet to a target; an A or AAAA record
// of the answer section inside the subnet gets the target's leading bits
// (the subnet's length) and keeps its own host bits, or, with a target
// written "addr!", becomes the target address. The first matching rule
// wins. A rewritten answer keeps only its answer section, loses its RRSIGs
// (the data can no longer be validated) and carries extended error 4
// (Forged Answer) "DUQR", as kresd's.
package renumber

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// Rule is one {subnet, target} pair.
type Rule struct {
	Subnet netip.Prefix
	Target netip.Addr
	Exact  bool // target written with a trailing '!': the whole address is replaced
}

// ParseRule parses kresd's {'10.10.10.0/24', '192.168.1.0'} pair.
func ParseRule(subnet, target string) (Rule, error) {
	p, err := netip.ParsePrefix(subnet)
	if err != nil {
		a, err2 := netip.ParseAddr(subnet)
		if err2 != nil {
			return Rule{}, fmt.Errorf("renumber: invalid subnet %q", subnet)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	var r Rule
	if i := strings.IndexByte(target, '!'); i >= 0 {
		if i != len(target)-1 {
			return Rule{}, fmt.Errorf("renumber: \"!\" in target %q is only accepted at the end", target)
		}
		target, r.Exact = target[:i], true
	}
	a, err := netip.ParseAddr(target)
	if err != nil {
		return Rule{}, fmt.Errorf("renumber: invalid address %q", target)
	}
	if a.Is4() != p.Addr().Is4() {
		return Rule{}, fmt.Errorf("renumber: %s and %s are of different families", subnet, target)
	}
	r.Subnet, r.Target = p.Masked(), a
	return r, nil
}

// Apply returns the address a rewritten by the rule.
func (r Rule) Apply(a netip.Addr) netip.Addr {
	if r.Exact {
		return r.Target
	}
	t, h := r.Target.AsSlice(), a.AsSlice()
	bits := r.Subnet.Bits()
	for i := range h {
		switch {
		case bits >= 8:
			h[i] = t[i]
		case bits > 0:
			m := byte(0xFF << (8 - bits))
			h[i] = t[i]&m | h[i]&^m
		}
		bits -= 8
	}
	out, _ := netip.AddrFromSlice(h)
	return out
}

// Renumber is the module's layer.
type Renumber struct{ rules atomic.Pointer[[]Rule] }

// New returns the layer with no rules.
func New() *Renumber { return &Renumber{} }

// Name is "renumber".
func (n *Renumber) Name() string { return "renumber" }

// Add appends rules (renumber.config adds to the ones there).
func (n *Renumber) Add(rules ...Rule) {
	var all []Rule
	if p := n.rules.Load(); p != nil {
		all = append(all, *p...)
	}
	all = append(all, rules...)
	n.rules.Store(&all)
}

// Rules returns the rules.
func (n *Renumber) Rules() []Rule {
	if p := n.rules.Load(); p != nil {
		return *p
	}
	return nil
}

// Finish rewrites the answer section.
func (n *Renumber) Finish(r *daemon.Request, s daemon.State) daemon.State {
	rules := n.Rules()
	if s&daemon.Fail != 0 || len(rules) == 0 {
		return s
	}
	ans := dnsmsg.NewPacketFrom(r.Answer.Size, r.Answer.Bytes())
	if ans.Parse(false) != 0 {
		return s
	}
	records := ans.Records(dnsmsg.SectionAN)
	changed := false
	for _, rr := range records {
		if rr.Type != dnsmsg.TypeA && rr.Type != dnsmsg.TypeAAAA {
			continue
		}
		for i, rd := range rr.RData {
			a, ok := netip.AddrFromSlice(rd)
			if !ok {
				continue
			}
			for _, rule := range rules {
				if rule.Subnet.Contains(a) {
					rr.RData[i] = rule.Apply(a).AsSlice()
					changed = true
					break
				}
			}
		}
	}
	if !changed {
		return s
	}
	rc := r.Rcode()
	flags := r.Answer.Buf[2:4]
	aa, ad := flags[0]&0x04 != 0, flags[1]&0x20 != 0
	r.ResetAnswer()
	r.SetRcode(rc)
	r.Answer.SetFlag("aa", aa)
	r.Answer.SetFlag("ad", ad)
	r.Answer.Begin(dnsmsg.SectionAN)
	for _, rr := range records {
		if rr.Type != 46 { // RRSIG
			r.Answer.Put(rr, false)
		}
	}
	r.SetEDE(4, "DUQR")
	return s
}

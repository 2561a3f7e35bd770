// Package view is kresd's view module in Go: policy rules chosen by the
// client's source address (Addr), the address the query arrived at
// (AddrDst), or the TSIG key that signed the query (TSIG). Unlike kresd,
// a TSIG rule applies only when the query's signature verifies with the
// key's secret.
package view

import (
	"bytes"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"ljdns/daemon"
	"ljdns/daemon/mod/policy"
	"ljdns/dnsmsg"
)

// Rule is one view entry.
type Rule struct {
	Prefix netip.Prefix // Addr/AddrDst rules
	Dst    bool         // match the local (destination) address
	Key    *dnsmsg.TSIG // TSIG rules
	Cb     policy.RuleFunc
	Count  atomic.Uint64
}

// View is the view table and its daemon layer.
type View struct {
	mu    sync.RWMutex
	addrs []*Rule
	tsigs []*Rule
}

// New returns an empty view table.
func New() *View { return &View{} }

// Name is "view".
func (v *View) Name() string { return "view" }

// Addr adds a rule for clients in subnet ('10.0.0.0/8', '::1'); with dst
// the rule matches the address the query was sent to (view:addr(s, r, true)).
func (v *View) Addr(subnet string, cb policy.RuleFunc, dst bool) (*Rule, error) {
	p, err := netip.ParsePrefix(subnet)
	if err != nil {
		a, err2 := netip.ParseAddr(subnet)
		if err2 != nil {
			return nil, fmt.Errorf("view: %q is not a subnet", subnet)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	r := &Rule{Prefix: p.Masked(), Dst: dst, Cb: cb}
	v.mu.Lock()
	v.addrs = append(v.addrs, r)
	v.mu.Unlock()
	return r, nil
}

// TSIG adds a rule for queries signed with key (its name, algorithm and
// secret; the signature must verify).
func (v *View) TSIG(key *dnsmsg.TSIG, cb policy.RuleFunc) *Rule {
	r := &Rule{Key: key, Cb: cb}
	v.mu.Lock()
	v.tsigs = append(v.tsigs, r)
	v.mu.Unlock()
	return r
}

// Clear removes every rule.
func (v *View) Clear() {
	v.mu.Lock()
	v.addrs, v.tsigs = nil, nil
	v.mu.Unlock()
}

func (v *View) eval(rules []*Rule, r *daemon.Request, s daemon.State, match func(*Rule) bool) (daemon.State, bool) {
	for _, rule := range rules {
		if !match(rule) {
			continue
		}
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

// Begin runs the TSIG rules, then the address rules, in insertion order,
// until a non-chain action.
func (v *View) Begin(r *daemon.Request, s daemon.State) daemon.State {
	v.mu.RLock()
	tsigs, addrs := v.tsigs, v.addrs
	v.mu.RUnlock()
	if len(tsigs) > 0 {
		if sig := r.Query.TSIG(); sig != nil && sig.Owner != nil {
			owner := dnsmsg.LowerName(sig.Owner.Wire)
			verified := map[*dnsmsg.TSIG]bool{}
			if st, stop := v.eval(tsigs, r, s, func(rule *Rule) bool {
				if !bytes.Equal(owner, dnsmsg.LowerName(rule.Key.Name)) {
					return false
				}
				ok, seen := verified[rule.Key]
				if !seen {
					k := rule.Key.Copy()
					ok = k.Verify(r.Query.Copy()) == 0
					verified[rule.Key] = ok
					if !ok {
						r.Tracef("view: TSIG of key %s does not verify", (&dnsmsg.Name{Wire: owner}).String())
					}
				}
				return ok
			}); stop {
				return st
			}
		}
	}
	if len(addrs) > 0 {
		src, dst := r.Client.Addr().Unmap(), r.Local.Addr().Unmap()
		if st, stop := v.eval(addrs, r, s, func(rule *Rule) bool {
			if rule.Dst {
				return rule.Prefix.Contains(dst)
			}
			return rule.Prefix.Contains(src)
		}); stop {
			return st
		}
	}
	return s
}

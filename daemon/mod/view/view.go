// Package view is kresd's view module in Go: policy rules chosen by the
// client's source address (Addr), the address the query arrived at
// (AddrDst), or the TSIG key that signed the query (TSIG, TSIGName).
// Unlike kresd, a TSIG rule applies only when the query's signature
// verifies with the key's secret: a rule given the key name alone, as
// kresd's view:tsig('\5mykey', ...), verifies with the key of that name
// in the view's Keyring (keys the configuration gives elsewhere) and
// matches nothing while the keyring has none.
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
	Name   []byte       // TSIGName rules: the key's name (lowercased wire), its secret from the Keyring
	Cb     policy.RuleFunc
	Count  atomic.Uint64
}

// View is the view table and its daemon layer.
type View struct {
	mu    sync.RWMutex
	addrs []*Rule
	tsigs []*Rule
	// Keys holds the secrets of the keys TSIGName rules name (TSIG adds
	// its key there too). Replace it before adding rules to share one
	// keyring with other modules.
	Keys *Keyring
}

// New returns an empty view table with an empty keyring.
func New() *View { return &View{Keys: NewKeyring()} }

// Keyring is a set of TSIG keys by name (lowercased wire form); safe for
// concurrent use.
type Keyring struct {
	mu sync.RWMutex
	m  map[string]*dnsmsg.TSIG
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring { return &Keyring{m: map[string]*dnsmsg.TSIG{}} }

// Add puts k in the keyring unless a key of its name is there already;
// it reports false when that key differs (algorithm or secret): the first
// one given stays.
func (kr *Keyring) Add(k *dnsmsg.TSIG) bool {
	name := string(dnsmsg.LowerName(append([]byte(nil), k.Name...)))
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if old, ok := kr.m[name]; ok {
		return old == k || (old.Algorithm == k.Algorithm && bytes.Equal(old.Secret, k.Secret))
	}
	kr.m[name] = k
	return true
}

// Get returns the key named name (wire form, any case), or nil.
func (kr *Keyring) Get(name []byte) *dnsmsg.TSIG {
	var b [256]byte
	n := copy(b[:], name)
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.m[string(dnsmsg.LowerName(b[:n]))]
}

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
	v.Keys.Add(key)
	v.mu.Lock()
	v.tsigs = append(v.tsigs, r)
	v.mu.Unlock()
	return r
}

// TSIGName adds a rule for queries signed with the key named name (wire
// form), kresd's view:tsig with a key name: the signature must verify
// with the key of that name in v.Keys at the time of the query; without
// one the rule matches nothing.
func (v *View) TSIGName(name []byte, cb policy.RuleFunc) *Rule {
	r := &Rule{Name: dnsmsg.LowerName(append([]byte(nil), name...)), Cb: cb}
	v.mu.Lock()
	v.tsigs = append(v.tsigs, r)
	v.mu.Unlock()
	return r
}

// Unkeyed returns the names of TSIGName rules the keyring has no key for
// (text form), for the configuration to warn about.
func (v *View) Unkeyed() []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []string
	for _, r := range v.tsigs {
		if r.Key == nil && v.Keys.Get(r.Name) == nil {
			out = append(out, (&dnsmsg.Name{Wire: r.Name}).String())
		}
	}
	return out
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
				key := rule.Key
				if key == nil {
					if !bytes.Equal(owner, rule.Name) {
						return false
					}
					if key = v.Keys.Get(rule.Name); key == nil {
						r.Tracef("view: no secret for TSIG key %s: the rule does not match", (&dnsmsg.Name{Wire: owner}).String())
						return false
					}
				} else if !bytes.Equal(owner, dnsmsg.LowerName(key.Name)) {
					return false
				}
				ok, seen := verified[key]
				if !seen {
					k := key.Copy()
					ok = k.Verify(r.Query.Copy()) == 0
					verified[key] = ok
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

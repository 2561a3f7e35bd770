package dnsclient

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
)

// EnvOutgoingAllow names the environment variable holding the outgoing
// allow list: a comma-separated list of prefixes (or addresses) that
// transports may send to. Unset or empty allows every destination
// (SERVE.md §3 point 6).
const EnvOutgoingAllow = "LJDNS_OUTGOING_ALLOW"

// AllowList is a set of destination prefixes; the zero value (nil) allows
// everything.
type AllowList []netip.Prefix

// ParseAllowList parses a comma-separated list of prefixes or addresses
// ("127.0.0.0/8,::1/128,192.0.2.1"). The empty string gives nil (allow
// all).
func ParseAllowList(s string) (AllowList, error) {
	var l AllowList
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			l = append(l, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("dnsclient: bad prefix %q in allow list", f)
		}
		a = a.Unmap()
		l = append(l, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(l) == 0 && strings.TrimSpace(s) != "" {
		return nil, fmt.Errorf("dnsclient: allow list %q has no prefix", s)
	}
	return l, nil
}

// Contains reports whether a is inside one of the prefixes (always true
// for a nil list). IPv4-mapped IPv6 addresses count as IPv4.
func (l AllowList) Contains(a netip.Addr) bool {
	if l == nil {
		return true
	}
	a = a.Unmap()
	for _, p := range l {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String gives the list in the environment variable's syntax.
func (l AllowList) String() string {
	s := make([]string, len(l))
	for i, p := range l {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

var policy struct {
	sync.Mutex
	loaded bool
	list   AllowList
	err    error // a malformed variable: refuse everything
}

// SetAllowList replaces the process-wide outgoing policy (the daemon's
// net.outgoing_allow); nil allows everything. Without a call the policy
// comes from LJDNS_OUTGOING_ALLOW, read at the first use.
func SetAllowList(l AllowList) {
	policy.Lock()
	defer policy.Unlock()
	policy.loaded, policy.list, policy.err = true, l, nil
}

// Allowed reports whether transports may send to a under the outgoing
// policy (LJDNS_OUTGOING_ALLOW unless SetAllowList was called). A
// malformed variable allows nothing.
func Allowed(a netip.Addr) bool { return checkAllowed(a) == nil }

func checkAllowed(a netip.Addr) error {
	policy.Lock()
	if !policy.loaded {
		policy.loaded = true
		policy.list, policy.err = ParseAllowList(os.Getenv(EnvOutgoingAllow))
	}
	l, err := policy.list, policy.err
	policy.Unlock()
	if err != nil {
		return fmt.Errorf("%w: %s (refusing every destination): %v", ErrRefusedByPolicy, EnvOutgoingAllow, err)
	}
	if !l.Contains(a) {
		return fmt.Errorf("%w: %s is outside %s", ErrRefusedByPolicy, a, l)
	}
	return nil
}

package daemon

import (
	"net/netip"
	"os"

	"ljdns/dnsclient"
)

// applyOutgoing sets the process-wide outgoing allow list of dnsclient to
// LJDNS_OUTGOING_ALLOW intersected with the configuration's
// net.outgoing_allow (either may be absent: absent allows everything).
func (s *Server) applyOutgoing(cfg *Config) error {
	env, err := dnsclient.ParseAllowList(os.Getenv(dnsclient.EnvOutgoingAllow))
	if err != nil {
		return err
	}
	dnsclient.SetAllowList(IntersectPrefixes(env, cfg.OutgoingAllow))
	return nil
}

// IntersectPrefixes returns the addresses in both lists as prefixes; a nil
// list stands for everything.
func IntersectPrefixes(a, b []netip.Prefix) dnsclient.AllowList {
	if a == nil {
		return dnsclient.AllowList(b)
	}
	if b == nil {
		return dnsclient.AllowList(a)
	}
	out := dnsclient.AllowList{}
	for _, p := range a {
		for _, q := range b {
			p, q := p.Masked(), q.Masked()
			switch {
			case p.Addr().Is4() != q.Addr().Is4():
			case p.Bits() >= q.Bits() && q.Contains(p.Addr()):
				out = append(out, p)
			case q.Bits() > p.Bits() && p.Contains(q.Addr()):
				out = append(out, q)
			}
		}
	}
	return out
}

package replay

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
	"ljdns/resolver"
)

// supportedFeatures are the CONFIG features the resolver's configuration
// honours: cache.min_ttl and cache.max_ttl (seconds, as kresd.j2 passes
// them); those of kresd modules are in moduleFeatures.
var supportedFeatures = map[string]bool{"min_ttl": true, "max_ttl": true}

// featureSeconds reads the feature k in seconds: ok false when absent.
func featureSeconds(s *Settings, k string) (d time.Duration, ok bool, err error) {
	v, ok := s.Features[k]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, false, fmt.Errorf("features: %s = %q: seconds expected", k, v)
	}
	return time.Duration(n) * time.Second, true, nil
}

// NewResolver is the Factory of ljdns's resolver (package resolver): the
// settings mapped as kresd.j2 maps them (hints.root, trust anchors,
// set_insecure, NO_MINIMIZE, ALLOW_LOCAL, mode, cache.min_ttl/max_ttl), on
// the scenario's clock and exchanger, behind the daemon's request pipeline
// with the Go modules kresd.j2 loads (compose: policy and its rules,
// forward-addr, ta_sentinel, dns64, renumber), as `ljdns serve` runs it.
// Other features are *Unsupported.
func NewResolver(s *Settings) (Resolver, error) {
	var feats []string
	for k := range s.Features {
		if !supportedFeatures[k] && !moduleFeatures[k] {
			feats = append(feats, k)
		}
	}
	for k := range s.FeatureList {
		if !moduleFeatureLists[k] {
			feats = append(feats, k)
		}
	}
	if len(feats) > 0 {
		sort.Strings(feats)
		return nil, &Unsupported{"features " + strings.Join(feats, ", ")}
	}
	c := resolver.Config{
		Exchange:   timeouts(s.Exchange),
		Clock:      s.Clock,
		Anchors:    s.Anchors,
		NTA:        s.NTA,
		NoMinimize: s.NoMinimize,
		AllowLocal: s.AllowLocal,
		NoIPv4:     s.NoIPv4,
		NoIPv6:     s.NoIPv6,
		NoPriming:  true, // kresd.j2 unloads the priming module: scenarios do not answer it
		Mode:       resolver.Permissive,
	}
	if s.HardenGlue {
		c.Mode = resolver.Normal
	}
	if d, ok, err := featureSeconds(s, "min_ttl"); err != nil {
		return nil, err
	} else if ok {
		c.MinTTL = d
		if d == 0 {
			c.MinTTL = -1 // none
		}
	}
	if d, ok, err := featureSeconds(s, "max_ttl"); err != nil {
		return nil, err
	} else if ok {
		c.MaxTTL = max(d, time.Second)
	}
	for _, h := range s.Roots {
		c.Roots = append(c.Roots, resolver.Hint{Name: h.Name, Addrs: h.Addrs})
	}
	r, err := resolver.New(c)
	if err != nil {
		return nil, err
	}
	return compose(s, r, rootKeyTags(s.Anchors))
}

// rootKeyTags returns the key tags of the root's trust anchors (DS lines
// name it, DNSKEY lines are hashed).
func rootKeyTags(anchors []string) []uint16 {
	var tags []uint16
	for _, a := range anchors {
		f := strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(a))
		if len(f) < 3 || f[0] != "." {
			continue
		}
		for i, x := range f {
			switch strings.ToUpper(x) {
			case "DS":
				if i+1 < len(f) {
					if n, err := strconv.ParseUint(f[i+1], 10, 16); err == nil {
						tags = append(tags, uint16(n))
					}
				}
			case "DNSKEY":
				if _, rd, err := dnsmsg.ParseRData(strings.Join(f[i:], " ")); err == nil {
					tags = append(tags, dnssec.KeyTag(rd))
				}
			default:
				continue
			}
			break
		}
	}
	return tags
}

// timeouts makes the scenario's silence a resolver.ErrTimeout, as a real
// timeout is: the resolver then leaves the address aside (cache.ns_tout).
func timeouts(ex Exchanger) resolver.Exchanger {
	return func(ctx context.Context, server netip.AddrPort, q *dnsmsg.Packet, tcp bool) (*dnsmsg.Packet, error) {
		a, err := ex(ctx, server, q, tcp)
		var na *errNoAnswer
		if errors.As(err, &na) {
			err = fmt.Errorf("%w: %v", resolver.ErrTimeout, err)
		}
		return a, err
	}
}

package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"

	"ljdns/dnsmsg"
	"ljdns/resolver"
)

// ourResolver adapts *resolver.Resolver to the runner.
type ourResolver struct {
	r     *resolver.Resolver
	trace io.Writer
}

func (o ourResolver) Resolve(ctx context.Context, q Query) (*dnsmsg.Packet, error) {
	p, res, err := o.r.Resolve(ctx, q.Name, q.Type, q.Class, resolver.QueryFlags{DO: q.DO, CD: q.CD, AD: q.AD})
	if o.trace != nil {
		fmt.Fprintf(o.trace, "  = %v, EDE %d %q, %d queries, cached %v, err %v\n", res.Security, res.EDE, res.EDEText, res.Queries, res.Cached, err)
	}
	if p != nil {
		return p, nil // errors come as SERVFAIL answers
	}
	return nil, err
}

// supportedFeatures are the CONFIG features the mapping honours (none yet:
// kresd's modules behind them are not part of the resolver).
var supportedFeatures = map[string]bool{}

// NewResolver is the Factory of ljdns's resolver (package resolver): the
// settings mapped as kresd.j2 maps them (hints.root, trust anchors,
// set_insecure, NO_MINIMIZE, ALLOW_LOCAL, mode), on the scenario's clock and
// exchanger. Forwarding and kresd module features are *Unsupported.
func NewResolver(s *Settings) (Resolver, error) {
	if len(s.Forward) > 0 {
		return nil, &Unsupported{"forward-addr (forwarding is not part of the resolver)"}
	}
	var feats []string
	for k := range s.Features {
		if !supportedFeatures[k] {
			feats = append(feats, k)
		}
	}
	for k := range s.FeatureList {
		feats = append(feats, k)
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
	for _, h := range s.Roots {
		c.Roots = append(c.Roots, resolver.Hint{Name: h.Name, Addrs: h.Addrs})
	}
	r, err := resolver.New(c)
	if err != nil {
		return nil, err
	}
	return ourResolver{r, s.Trace}, nil
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

package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"ljdns/daemon"
	"ljdns/daemon/mod/dns64"
	"ljdns/daemon/mod/policy"
	"ljdns/daemon/mod/renumber"
	"ljdns/daemon/mod/tasentinel"
	"ljdns/dnsclient"
	"ljdns/dnsmsg"
	"ljdns/resolver"
	"ljdns/validator"
)

// moduleFeatures are the CONFIG features for which kresd.j2 loads a kresd
// module: the runner composes the daemon's Go module in their place.
var moduleFeatures = map[string]bool{"dns64_prefix": true, "renumber_src": true, "renumber_dst": true}

// moduleFeatureLists are the feature-list keys kresd.j2 pastes into the
// configuration that the runner maps (policy rules, policyexpr.go).
var moduleFeatureLists = map[string]bool{"policy": true}

// Addresses of the composed daemon's requests: a loopback client may
// recurse under the default recursion ACL, as Deckard's client may.
var (
	composedClient = netip.MustParseAddrPort("127.0.0.1:40000")
	composedLocal  = netip.MustParseAddrPort("127.0.0.1:53")
)

// composed is the resolver behind the daemon's request pipeline with the Go
// modules kresd.j2 loads (policy with its rules, ta_sentinel, dns64,
// renumber), as `ljdns serve` composes them, for every scenario: the layers in Config.Layers,
// the resolver's Layer last and as Config.Resolver. The server is never
// started: each query goes through Server.Exchange, and every upstream
// query (iteration and FORWARD alike) to the scenario's Exchanger.
type composed struct {
	srv *daemon.Server
	pol *policy.Policy
}

// Resolve runs the client's query through the pipeline (over TCP, so no
// truncation to the client's UDP size).
func (c *composed) Resolve(ctx context.Context, q Query) (*dnsmsg.Packet, error) {
	if q.QueryMessage == nil {
		return nil, errors.New("replay: no query message")
	}
	out, ok := c.srv.Exchange(q.QueryMessage.Bytes(), composedClient, composedLocal, daemon.TCP, 0)
	if !ok {
		return nil, errors.New("replay: the daemon dropped the query")
	}
	if out == nil {
		return nil, errors.New("replay: the daemon sent no answer (NO_ANSWER)")
	}
	p := dnsmsg.NewPacketFrom(len(out), out)
	if code := p.Parse(false); code != 0 {
		return nil, fmt.Errorf("replay: the daemon's answer is malformed: %s", dnsmsg.StrError(code))
	}
	return p, nil
}

// Close shuts the server down and closes the layers (policy's transports).
func (c *composed) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.srv.Shutdown(ctx)
	if e := c.pol.Close(); e != nil && err == nil {
		err = e
	}
	return err
}

// compose builds the daemon around r as kresd.j2 configures kresd:
// modules = {'policy', ...} with policy.suffix(policy.PASS, {todname('test.')}),
// policy.all(policy.FORWARD(forward-addr)) when forwarding, ta_sentinel
// (loaded by default), modules.load('dns64') with dns64.config(prefix),
// modules.load('renumber') with renumber.config({{src, dst}}), then the
// feature-list policy rules.
func compose(s *Settings, r *resolver.Resolver, rootTags []uint16) (*composed, error) {
	pol := policy.New()
	pol.Add(policy.Suffix(policy.PASS, [][]byte{policy.Todname("test.")}), false)
	var val *validator.Validator // FORWARD's, made on first use
	b := &policyBuilder{forward: func(addrs []string, stub bool) (policy.Action, error) {
		if !stub && len(s.Anchors) > 0 && val == nil {
			var err error
			val, err = validator.New(validator.Config{Anchors: s.Anchors, NTA: s.NTA, Clock: s.Clock})
			if err != nil {
				return nil, err
			}
		}
		if stub {
			return forwardAction(s, addrs, true, nil)
		}
		return forwardAction(s, addrs, false, val)
	}}
	if len(s.Forward) > 0 {
		var addrs []string
		for _, ap := range s.Forward {
			addrs = append(addrs, fmt.Sprintf("%s@%d", ap.Addr(), ap.Port()))
		}
		a, err := b.forward(addrs, false)
		if err != nil {
			return nil, err
		}
		pol.Add(policy.All(a), false)
	}
	var layers []daemon.Layer
	if s.Trace != nil {
		layers = append(layers, traceLayer{s.Trace})
	}
	layers = append(layers, pol, tasentinel.New(func() []uint16 { return rootTags }))
	var srv *daemon.Server
	if v, ok := s.Features["dns64_prefix"]; ok {
		d := dns64.New(func(req *daemon.Request, qname []byte, qtype uint16) (*dnsmsg.Packet, error) {
			return srv.Resolve(qname, qtype, dnsmsg.ClassINET, 0, req.Worker)
		})
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, err2 := netip.ParseAddr(v)
			if err2 != nil {
				return nil, fmt.Errorf("features: dns64_prefix: bad prefix %q", v)
			}
			p = netip.PrefixFrom(a, 96) // dns64.config('addr'), as the Lua binding reads it
		}
		if err := d.Configure(dns64.Config{Prefix: p, RevTTL: 60}); err != nil {
			return nil, fmt.Errorf("features: dns64_prefix: %v", err)
		}
		layers = append(layers, d)
	}
	src, okSrc := s.Features["renumber_src"]
	dst, okDst := s.Features["renumber_dst"]
	if okSrc && okDst { // kresd.j2 loads renumber only with both
		rule, err := renumber.ParseRule(src, dst)
		if err != nil {
			return nil, fmt.Errorf("features: renumber_src/renumber_dst: %v", err)
		}
		n := renumber.New()
		n.Add(rule)
		layers = append(layers, n)
	}
	for k, stmts := range s.FeatureList {
		if !moduleFeatureLists[k] {
			return nil, &Unsupported{"feature-list " + k}
		}
		for _, st := range stmts {
			rule, err := b.statement(st)
			if err != nil {
				var u *errUnsupportedPolicy
				if errors.As(err, &u) {
					return nil, &Unsupported{err.Error()}
				}
				return nil, fmt.Errorf("feature-list: %v", err)
			}
			pol.Add(rule, false)
		}
	}
	l := &resolver.Layer{R: r}
	layers = append(layers, l)
	cfg := &daemon.Config{Layers: layers, Resolver: l, NoCookies: true, Log: daemon.NewLogger(io.Discard)}
	if s.Trace != nil {
		cfg.Log, cfg.Verbose = daemon.NewLogger(s.Trace), true
		cfg.Log.SetLevel(daemon.LevelDebug) // the request traces
	}
	if s.AllowLocal {
		cfg.Options |= daemon.AllowLocal
	}
	if s.NoMinimize {
		cfg.Options |= daemon.NoMinimize
	}
	var err error
	if srv, err = daemon.New(cfg); err != nil {
		return nil, err
	}
	return &composed{srv: srv, pol: pol}, nil
}

// forwardAction is policy.FORWARD / policy.STUB to addrs over the
// scenario's network (worldTransport). With a validator (FORWARD under
// trust anchors: kresd validates what it forwards, STUB it does not) the
// transport is dnsclient.Validating: it asks with DO and CD, fetches the
// DS and DNSKEY sets through the same upstream, and the daemon keeps the
// AD bit of a secure answer (daemon.ValidatingTransport).
func forwardAction(s *Settings, addrs []string, stub bool, val *validator.Validator) (policy.Action, error) {
	if len(addrs) == 0 || len(addrs) > 4 {
		return nil, fmt.Errorf("policy: 1 to 4 addresses expected, got %d", len(addrs))
	}
	var ts []dnsclient.Transport
	for _, a := range addrs {
		ap, err := policy.ParseAddr(a, 53)
		if err != nil {
			return nil, err
		}
		ts = append(ts, &worldTransport{ex: s.Exchange, addr: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())})
	}
	t := ts[0]
	if len(ts) > 1 {
		r, err := dnsclient.NewRedundant(ts, dnsclient.RedundantOptions{})
		if err != nil {
			return nil, err
		}
		t = r
	}
	if val != nil {
		v, err := dnsclient.NewValidating(t, val)
		if err != nil {
			return nil, err
		}
		t = v
	}
	return policy.ForwardVia(t, stub), nil
}

// worldTransport is a dnsclient.Transport to one address of the scenario's
// network: UDP, then TCP when the answer is truncated; silence is
// dnsclient.ErrTimeout.
type worldTransport struct {
	ex   Exchanger
	addr netip.AddrPort
}

// Query sends q to the address.
func (t *worldTransport) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	a, err := t.ex(ctx, t.addr, q, false)
	if err == nil && a.Flag("tc") {
		a, err = t.ex(ctx, t.addr, q, true)
	}
	var na *errNoAnswer
	if errors.As(err, &na) {
		err = fmt.Errorf("%w: %v", dnsclient.ErrTimeout, err)
	}
	return a, err
}

// Stream answers with Query's single message.
func (t *worldTransport) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	a, err := t.Query(ctx, q)
	if err != nil {
		return err
	}
	return fn(a)
}

// Close does nothing: there is no socket.
func (t *worldTransport) Close() error { return nil }

// Addr is the upstream's address (the daemon's checkout and stats see it).
func (t *worldTransport) Addr() netip.AddrPort { return t.addr }

// traceLayer logs each request's outcome to the scenario's trace (`ljdns
// replay -v`): rcode, the resolver's verdict (it makes r.Vars, where the
// resolver's Layer leaves it), extended error, upstream queries. It is the
// first layer: its Finish sees the answer before the other modules' Finish.
type traceLayer struct{ w io.Writer }

// Name is "replay_trace".
func (traceLayer) Name() string { return "replay_trace" }

// Begin makes r.Vars.
func (traceLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	r.SetVar("replay.trace", true)
	return s
}

// Finish logs the outcome.
func (t traceLayer) Finish(r *daemon.Request, s daemon.State) daemon.State {
	fmt.Fprintf(t.w, "  = rcode %d, %v, EDE %d %q, %d upstream queries, cached %v\n",
		r.Rcode(), r.Var(resolver.SecurityVar), r.EDE, r.EDEText, r.Upstreams, r.Cached)
	return s
}

package resolver

import (
	"context"
	"net/netip"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// Layer plugs a Resolver into the daemon's request path (Config.Resolver):
// every upstream query goes through r.QueryUpstream (limits, stats), learnt
// name server addresses follow the request's ALLOW_LOCAL rule, and the
// verdict's extended error is set on the request.
type Layer struct{ R *Resolver }

// Name is "iterate".
func (l *Layer) Name() string { return "iterate" }

// nsTransport is a dnsclient.Transport to one name server for QueryUpstream.
type nsTransport struct {
	ex     Exchanger
	server netip.AddrPort
	tcp    bool
}

func (t *nsTransport) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	return t.ex(ctx, t.server, q, t.tcp)
}

func (t *nsTransport) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	a, err := t.Query(ctx, q)
	if err != nil {
		return err
	}
	return fn(a)
}

func (t *nsTransport) Close() error { return nil }

func (t *nsTransport) Addr() netip.AddrPort { return t.server }

// Resolve answers r by iteration (daemon.Resolver).
func (l *Layer) Resolve(r *daemon.Request) daemon.State {
	res := l.R
	base := res.ex
	ex := func(ctx context.Context, server netip.AddrPort, q *dnsmsg.Packet, tcp bool) (*dnsmsg.Packet, error) {
		return r.QueryUpstream(&nsTransport{ex: base, server: server, tcp: tcp}, q)
	}
	f := QueryFlags{DO: r.DO(), CD: r.Options.Has(daemon.DNSSECCD), AD: r.Query.Flag("ad")}
	ctx := r.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	a, info, err := res.resolve(ctx, r.QName(), r.QType(), r.QClass(), f, ex, r.MayQueryNameserver)
	if err != nil {
		r.Tracef("iterate: %v", err)
	}
	writeAnswer(r, a, false)
	if r.Proto == daemon.UDP {
		// kresd fits a negative answer into the client's UDP size by leaving
		// the SOA's RRSIG out (the NSEC/NSEC3 proofs are what validate it)
		limit := 512
		if ok, size := r.EDNS(); ok {
			limit = min(max(size, 512), daemon.DefaultBufSize)
		}
		if r.Answer.Size+64 > limit {
			writeAnswer(r, a, true)
		}
	}
	if info.EDE >= 0 {
		r.SetEDE(info.EDE, info.EDEText)
	}
	r.Cached = info.Cached
	return daemon.Done
}

// writeAnswer copies the answer a into r.Answer (without the SOA's RRSIGs
// when noSOASig).
func writeAnswer(r *daemon.Request, a *dnsmsg.Packet, noSOASig bool) {
	r.ResetAnswer()
	r.SetRcode(a.Rcode())
	if a.Flag("ad") {
		r.Answer.SetFlag("ad", true)
	}
	for _, sec := range []int{dnsmsg.SectionAN, dnsmsg.SectionNS} {
		r.Answer.Begin(sec)
		for _, rr := range a.Records(sec) {
			if noSOASig && sec == dnsmsg.SectionNS && rr.Type == typeRRSIG && len(rr.RData) > 0 && sigCovered(rr.RData[0]) == typeSOA {
				continue
			}
			if !r.Answer.Put(rr, false) {
				r.Answer.SetFlag("tc", true)
				return
			}
		}
	}
}

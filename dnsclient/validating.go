package dnsclient

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
	"ljdns/validator"
)

// ErrBogus is wrapped by the error a Validating transport returns with the
// SERVFAIL it makes of a bogus answer: "bogus: <reason>".
var ErrBogus = errors.New("bogus")

// Numbers of the validating transport.
const (
	optionEDE   = 15   // extended DNS error, RFC 8914
	ednsPayload = 1232 // the UDP payload size of the queries it adds EDNS to
)

// Validating is a transport that validates its upstream's answers with a
// DNSSEC validator. It asks the upstream with DO and CD set (adding EDNS
// to queries without it), and fetches the DS and DNSKEY sets the validator
// needs through the same upstream. The answer handed back has AD set
// exactly when it is secure. A bogus answer becomes a SERVFAIL with an
// extended DNS error (RFC 8914: the code and the reason as its text),
// returned together with an error wrapping ErrBogus, "bogus: <reason>" —
// unless the query has CD set: then the answer comes as served, without
// AD. RRSIG, NSEC and NSEC3 records are left out for queries without DO,
// and so is the OPT RR for queries without EDNS.
type Validating struct {
	up Transport
	v  *validator.Validator
}

// NewValidating returns a transport validating the answers of up with v.
func NewValidating(up Transport, v *validator.Validator) (*Validating, error) {
	if up == nil {
		return nil, ErrNoTransport
	}
	if v == nil {
		return nil, errors.New("dnsclient: validating transport without validator")
	}
	return &Validating{up: up, v: v}, nil
}

// Validator returns the validator.
func (t *Validating) Validator() *validator.Validator { return t.v }

// ValidatesAnswers reports true: the daemon's forwarding keeps the AD bit
// of this transport's answers (daemon.ValidatingTransport).
func (t *Validating) ValidatesAnswers() bool { return true }

// Close implements Transport; it closes the upstream.
func (t *Validating) Close() error { return t.up.Close() }

// Stream implements Transport: multi-message answers (zone transfers)
// pass through unvalidated, single answers as Query gives them.
func (t *Validating) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	if isMulti(q) {
		return t.up.Stream(ctx, q, fn)
	}
	a, err := t.Query(ctx, q)
	if a == nil {
		return err
	}
	if ferr := fn(a); ferr != nil {
		return ferr
	}
	return err
}

// Query implements Transport. With a bogus answer it returns both the
// SERVFAIL answer and an error wrapping ErrBogus.
func (t *Validating) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if isMulti(q) {
		return nil, ErrMultiMessage
	}
	cq, err := parsedQuery(q)
	if err != nil {
		return nil, err
	}
	qname, qtype, qclass, _ := cq.Question()
	clientOPT := cq.OPT()
	clientDO, clientCD := dnsmsg.OPTDo(clientOPT), cq.Flag("cd")
	up, err := dnssecQuery(qname, qtype, qclass, cq.ID(), cq.Flag("rd"), clientOPT)
	if err != nil {
		return nil, err
	}
	a, err := t.up.Query(ctx, up)
	if err != nil {
		return nil, err
	}
	res := t.v.Validate(ctx, up, a, t.fetch)
	if res.Security == validator.Bogus && !clientCD {
		return bogusAnswer(cq, a, res), fmt.Errorf("%w: %s", ErrBogus, res.Reason)
	}
	out, err := shape(a, cq.ID(), res.Security == validator.Secure, clientDO, clientOPT != nil, qtype)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fetch is the validator's Fetcher: name/qtype with RD, DO and CD, through
// the upstream.
func (t *Validating) fetch(ctx context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error) {
	q, err := dnssecQuery(name, qtype, dnsmsg.ClassINET, 0, true, nil)
	if err != nil {
		return nil, err
	}
	return t.up.Query(ctx, q)
}

// parsedQuery returns q parsed, with a question.
func parsedQuery(q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if q == nil {
		return nil, ErrBadQuery
	}
	c := q.Copy()
	if c == nil {
		return nil, ErrBadQuery
	}
	if _, _, _, ok := c.Question(); !ok {
		return nil, ErrBadQuery
	}
	return c, nil
}

// dnssecQuery builds the upstream query: the question, RD as given, CD,
// and EDNS with DO (the client's OPT RR kept otherwise: version, payload,
// options). A zero id takes a random one.
func dnssecQuery(qname []byte, qtype, qclass, id uint16, rd bool, opt *dnsmsg.RRSet) (*dnsmsg.Packet, error) {
	p := dnsmsg.NewPacket(dnsmsg.HeaderLen + len(qname) + 4 + 11 + optLen(opt))
	if id != 0 {
		p.SetID(id)
	}
	if ok, err := p.SetQuestion(qname, qtype, qclass); !ok || err != nil {
		return nil, fmt.Errorf("%w: cannot set the question (%v)", ErrBadQuery, err)
	}
	p.SetFlag("rd", rd)
	p.SetFlag("cd", true)
	if opt == nil {
		opt = dnsmsg.NewOPT(0, ednsPayload)
	} else {
		opt = opt.Copy()
	}
	dnsmsg.SetOPTDo(opt, true)
	if err := p.Begin(dnsmsg.SectionAR); err != nil {
		return nil, err
	}
	if !p.Put(opt, false) {
		return nil, fmt.Errorf("%w: no room for EDNS", ErrBadQuery)
	}
	return p, nil
}

// optLen is the RDATA length of an OPT RR (0 for none).
func optLen(opt *dnsmsg.RRSet) int {
	if opt == nil || len(opt.RData) == 0 {
		return 0
	}
	return len(opt.RData[0])
}

// dnssecTypes are the record types a query without DO does not get
// (RFC 3225 §3), unless it asks for them.
var dnssecTypes = map[uint16]bool{dnssec.TypeRRSIG: true, dnssec.TypeNSEC: true, dnssec.TypeNSEC3: true}

// shape returns the answer for the client: a's header and records with
// the client's ID, AD as validated, DNSSEC records only for DO, an OPT RR
// (DO as the client's) only if the client sent one.
func shape(a *dnsmsg.Packet, id uint16, ad, do, edns bool, qtype uint16) (*dnsmsg.Packet, error) {
	a, err := parsedAnswer(a)
	if err != nil {
		return nil, err
	}
	out := dnsmsg.NewPacket(max(a.MaxSize(), a.Size+64))
	copy(out.Buf[:4], a.Buf[:4]) // ID, flags, opcode and RCODE
	out.SetID(id)
	if qn, qt, qc, ok := a.Question(); ok {
		if ok, err := out.SetQuestion(qn, qt, qc); !ok || err != nil {
			return nil, fmt.Errorf("dnsclient: cannot copy the question (%v)", err)
		}
	}
	out.SetFlag("ad", ad)
	for s := dnsmsg.SectionAN; s <= dnsmsg.SectionAR; s++ {
		if err := out.Begin(s); err != nil {
			return nil, err
		}
		for _, r := range a.Records(s) {
			if r.Type == dnsmsg.TypeOPT || r.Type == dnsmsg.TypeTSIG {
				continue
			}
			if !do && dnssecTypes[r.Type] && !(s == dnsmsg.SectionAN && r.Type == qtype) {
				continue
			}
			if !out.Put(r, false) {
				return nil, fmt.Errorf("dnsclient: answer does not fit in %d bytes", out.MaxSize())
			}
		}
	}
	if edns {
		opt := dnsmsg.NewOPT(0, ednsPayload)
		if uo := a.OPT(); uo != nil {
			opt = uo.Copy()
		}
		dnsmsg.SetOPTDo(opt, do)
		if !out.Put(opt, false) {
			return nil, fmt.Errorf("dnsclient: answer does not fit in %d bytes", out.MaxSize())
		}
	}
	return out, nil
}

// parsedAnswer returns a with its records available.
func parsedAnswer(a *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if !a.Empty() || a.Count(0)+a.Count(1)+a.Count(2) == 0 {
		return a, nil
	}
	c := a.Copy()
	if c == nil {
		return nil, fmt.Errorf("dnsclient: malformed answer")
	}
	return c, nil
}

// bogusAnswer is the SERVFAIL for query q whose upstream answer a was
// bogus: q's question and ID, RD as asked, RA as served, no records, and
// for an EDNS query an OPT RR with the extended error (RFC 8914 §2: the
// code, then the reason as text).
func bogusAnswer(q, a *dnsmsg.Packet, res validator.Result) *dnsmsg.Packet {
	reason := res.Reason
	if len(reason) > 400 {
		reason = reason[:400]
	}
	qn, _, _, _ := q.Question()
	out := dnsmsg.NewPacket(dnsmsg.HeaderLen + len(qn) + 4 + 11 + 6 + len(reason))
	_ = q.ToAnswer(out)
	out.SetFlag("rd", q.Flag("rd"))
	out.SetFlag("ra", a.Flag("ra"))
	_ = out.SetRcode(rcodeServFail)
	if q.OPT() != nil {
		opt := dnsmsg.NewOPT(0, ednsPayload)
		dnsmsg.SetOPTDo(opt, dnsmsg.OPTDo(q.OPT()))
		if res.EDE >= 0 {
			data := binary.BigEndian.AppendUint16(nil, uint16(res.EDE))
			dnsmsg.SetEDNSOption(opt, optionEDE, append(data, reason...))
		}
		_ = out.Begin(dnsmsg.SectionAR)
		out.Put(opt, false)
	}
	return out
}

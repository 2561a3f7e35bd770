package dnsclient

import (
	"context"
	"fmt"

	"ljdns/dnsmsg"
)

// TSIGTransport signs queries and verifies answers with a TSIG key (RFC
// 8945), as dns.tsig does (dnsmsg.TSIG), over any upstream transport that
// changes nothing of a signed query but its ID (the transports of this
// package add no EDNS option to signed queries). Put it outermost: a
// cache or validator below it would break the signatures.
//
// A single answer must be signed and verify. In a multi-message answer
// (AXFR, IXFR) the first and last messages must be signed, and up to 99
// unsigned messages may come between signed ones (RFC 8945 §5.3.1); the
// unsigned ones are held back and handed on only once the next signed
// message has verified them. Answers keep their TSIG RR.
type TSIGTransport struct {
	up    Transport
	key   *dnsmsg.TSIG
	Fudge uint16 // seconds of clock skew allowed [dnsmsg.DefaultFudge, 300]
}

// NewTSIG returns a signing transport over up with key (its state is not
// used: each query gets a fresh copy).
func NewTSIG(up Transport, key *dnsmsg.TSIG) (*TSIGTransport, error) {
	if up == nil {
		return nil, ErrNoTransport
	}
	if key == nil {
		return nil, fmt.Errorf("%w: no key", ErrTSIG)
	}
	return &TSIGTransport{up: up, key: key.Copy(), Fudge: dnsmsg.DefaultFudge}, nil
}

// Close implements Transport: it closes the upstream.
func (t *TSIGTransport) Close() error { return t.up.Close() }

// sign returns a signed copy of q and the key state that verifies its
// answers.
func (t *TSIGTransport) sign(q *dnsmsg.Packet) (*dnsmsg.Packet, *dnsmsg.TSIG, error) {
	k := t.key.Copy()
	room := q.Size + len(k.Name) + 10 + 256 + 64 // the TSIG RR: name, fixed part, algorithm, MAC
	c := dnsmsg.NewPacketFrom(min(room, 65535), q.Bytes())
	c.Size = q.Size
	if c.Parse(false) != 0 {
		return nil, nil, ErrBadQuery
	}
	if err := k.Sign(c, t.Fudge); err != nil {
		return nil, nil, fmt.Errorf("%w: signing: %v", ErrTSIG, err)
	}
	return c, k, nil
}

// tsigError explains a failed verification of a.
func tsigError(a *dnsmsg.Packet, code int) error {
	if a.TSIG() == nil {
		if rc := a.Rcode(); rc != 0 {
			return fmt.Errorf("%w: the server answered %s without TSIG (does it know the key?)", ErrTSIG, rcodeName(rc))
		}
		return fmt.Errorf("%w: answer not signed", ErrTSIG)
	}
	names := map[int]string{dnsmsg.RcodeBadSig: "BADSIG", dnsmsg.RcodeBadKey: "BADKEY",
		dnsmsg.RcodeBadTime: "BADTIME", dnsmsg.RcodeFormErr: "FORMERR"}
	n, ok := names[code]
	if !ok {
		n = rcodeName(code)
	}
	return fmt.Errorf("%w: %s", ErrTSIG, n)
}

// Query implements Transport.
func (t *TSIGTransport) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if isMulti(q) {
		return nil, ErrMultiMessage
	}
	c, k, err := t.sign(q)
	if err != nil {
		return nil, err
	}
	a, err := t.up.Query(ctx, c)
	if err != nil {
		return nil, err
	}
	if code := k.Verify(a); code != 0 {
		return nil, tsigError(a, code)
	}
	return a, nil
}

// Stream implements Transport.
func (t *TSIGTransport) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	c, k, err := t.sign(q)
	if err != nil {
		return err
	}
	first := true
	var held []*dnsmsg.Packet
	err = t.up.Stream(ctx, c, func(p *dnsmsg.Packet) error {
		if p.TSIG() == nil {
			if first {
				return tsigError(p, dnsmsg.RcodeBadKey)
			}
			if err := k.Unsigned(p); err != nil {
				return fmt.Errorf("%w: more than %d unsigned messages in a row", ErrTSIG, dnsmsg.MaxUnsigned)
			}
			held = append(held, p)
			return nil
		}
		if code := k.Verify(p); code != 0 {
			return tsigError(p, code)
		}
		first = false
		for _, h := range held {
			if err := fn(h); err != nil {
				return err
			}
		}
		held = nil
		return fn(p)
	})
	if err == nil && len(held) > 0 {
		return fmt.Errorf("%w: the last %d messages are not signed", ErrTSIG, len(held))
	}
	return err
}

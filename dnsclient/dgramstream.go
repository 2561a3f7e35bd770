package dnsclient

import (
	"context"
	"net/netip"

	"ljdns/dnsmsg"
)

// DgramStreamOptions configures a DgramStream: its UDP half and its TCP
// half (a MultiStream; TLS is not used).
type DgramStreamOptions struct {
	Dgram  DgramOptions
	Stream StreamOptions
}

// DgramStream is UDP first and TCP when needed (domain's dgram_stream): a
// truncated (TC) answer makes it send the query again over a MultiStream
// to the same server, as does a second BADCOOKIE (RFC 7873 §5.3). A UDP
// timeout is an error, not a reason to try TCP. AXFR goes over TCP from
// the start; IXFR goes over UDP first (RFC 1995 §2).
type DgramStream struct {
	d *Dgram
	m *MultiStream
}

// NewDgramStream returns a UDP+TCP transport to addr, allowed by
// LJDNS_OUTGOING_ALLOW.
func NewDgramStream(addr string, o DgramStreamOptions) (*DgramStream, error) {
	ap, err := serverAddr(addr, 53)
	if err != nil {
		return nil, err
	}
	o.Stream.TLS = nil
	m, err := NewMultiStream(ap.String(), o.Stream)
	if err != nil {
		return nil, err
	}
	return &DgramStream{d: newDgram(ap, o.Dgram), m: m}, nil
}

// Addr returns the server address.
func (ds *DgramStream) Addr() netip.AddrPort { return ds.d.addr }

// Dgram returns the UDP half.
func (ds *DgramStream) Dgram() *Dgram { return ds.d }

// MultiStream returns the TCP half.
func (ds *DgramStream) MultiStream() *MultiStream { return ds.m }

// Close implements Transport.
func (ds *DgramStream) Close() error {
	ds.d.Close()
	return ds.m.Close()
}

// Query implements Transport.
func (ds *DgramStream) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if isMulti(q) {
		return nil, ErrMultiMessage
	}
	return ds.query(ctx, q)
}

func (ds *DgramStream) query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	a, err := ds.d.query(ctx, q)
	if err != nil {
		return nil, err
	}
	if !a.Flag("tc") && a.Rcode() != rcodeBadCookie {
		return a, nil
	}
	var out *dnsmsg.Packet
	err = ds.m.Stream(ctx, q, func(p *dnsmsg.Packet) error { out = p; return nil })
	return out, err
}

// Stream implements Transport.
func (ds *DgramStream) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	if _, t, _, _ := q.Question(); t == typeAXFR {
		return ds.m.Stream(ctx, q, fn)
	}
	a, err := ds.d.query(ctx, q)
	if err != nil {
		return err
	}
	if !a.Flag("tc") && a.Rcode() != rcodeBadCookie && !ixfrNeedsTCP(q, a) {
		return fn(a)
	}
	return ds.m.Stream(ctx, q, fn)
}

// ixfrNeedsTCP reports an IXFR answered over UDP with a lone SOA newer
// than the client's: the server's way of saying "ask over TCP" (RFC 1995
// §2), as opposed to a lone SOA with the client's own serial (up to date).
func ixfrNeedsTCP(q, a *dnsmsg.Packet) bool {
	if _, t, _, _ := q.Question(); t != typeIXFR || a.Rcode() != 0 {
		return false
	}
	an := a.Records(dnsmsg.SectionAN)
	if len(an) != 1 || an[0].Type != dnsmsg.TypeSOA || len(an[0].RData) != 1 {
		return false
	}
	for _, rr := range q.Records(dnsmsg.SectionNS) {
		if rr.Type == dnsmsg.TypeSOA && len(rr.RData) == 1 {
			return soaSerial(rr.RData[0]) != soaSerial(an[0].RData[0])
		}
	}
	return true
}

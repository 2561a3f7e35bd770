package dnsclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"ljdns/dnsmsg"
)

// MultiStream is a Stream that survives its connections (domain's
// multi_stream): when a connection cannot be opened or closes before the
// answer came, the query is sent again on a new one, the n-th retry after
// a random delay in [0, 2^n) s (at most 60 s; the first retry after a
// closed connection at once), all within ResponseTimeout per query.
// Unlike domain's, each connection attempt is bounded by ConnectTimeout.
type MultiStream struct {
	s       *Stream
	overall time.Duration
}

// NewMultiStream returns a reconnecting stream transport to addr (see
// NewStream for addresses and TLS).
func NewMultiStream(addr string, o StreamOptions) (*MultiStream, error) {
	s, err := newStream(addr, o, defaultMultiStreamTimeout)
	if err != nil {
		return nil, err
	}
	return &MultiStream{s: s, overall: s.conf.response}, nil
}

// Addr returns the server address.
func (m *MultiStream) Addr() netip.AddrPort { return m.s.addr }

// IdleTimeout is Stream.IdleTimeout of the current connection.
func (m *MultiStream) IdleTimeout() time.Duration { return m.s.IdleTimeout() }

// Close implements Transport.
func (m *MultiStream) Close() error { return m.s.Close() }

// Query implements Transport.
func (m *MultiStream) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if isMulti(q) {
		return nil, ErrMultiMessage
	}
	var a *dnsmsg.Packet
	err := m.Stream(ctx, q, func(p *dnsmsg.Packet) error { a = p; return nil })
	return a, err
}

// Stream implements Transport. A transfer is retried only until its first
// message arrived.
func (m *MultiStream) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	// The first attempt runs without a context of its own (its timer
	// costs as much as the rest of a pipelined query): end bounds it.
	end := time.Now().Add(m.overall)
	delivered, err := m.s.exchange(ctx, q, fn, end)
	if err == nil || delivered || !retryable(err) {
		return err
	}
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	for n := 0; ; n++ {
		last := err
		var wait time.Duration
		if n > 0 || !errors.Is(err, ErrConnClosed) {
			wait = time.Duration(rand.Int64N(int64(time.Second) << min(n, 6)))
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%w: %s: gave up after %d attempts in %v: %v", ErrTimeout, m.s.addr, n+1, m.overall, last)
			}
			return ctx.Err()
		}
		delivered, err = m.s.exchange(ctx, q, fn, end)
		if err == nil || delivered || !retryable(err) {
			return err
		}
	}
}

// retryable reports errors that a new connection may cure.
func retryable(err error) bool {
	switch {
	case errors.Is(err, errConnect):
		return true
	case errors.Is(err, ErrClosed), errors.Is(err, ErrRefusedByPolicy), errors.Is(err, ErrBadQuery),
		errors.Is(err, ErrTLS), errors.Is(err, context.Canceled), errors.Is(err, ErrTimeout),
		errors.Is(err, ErrTooManyOutstanding):
		return false
	}
	return true
}

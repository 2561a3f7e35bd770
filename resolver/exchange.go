package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/dnsclient"
	"ljdns/dnsmsg"
)

// Errors of the network exchanger.
var (
	ErrNotAllowed = errors.New("resolver: address not allowed by the outgoing allow list")
	ErrTimeout    = errors.New("resolver: timeout")
)

// netExchanger is the Exchanger of real sockets.
type netExchanger struct {
	timeout     time.Duration
	unsolicited *atomic.Uint64
}

// exchange sends q to server over UDP from a fresh socket (a random source
// port the kernel picks) with a random ID, or over TCP, and returns the
// matched answer. Messages from elsewhere, with another ID or question are
// dropped and counted.
func (n *netExchanger) exchange(ctx context.Context, server netip.AddrPort, q *dnsmsg.Packet, tcp bool) (*dnsmsg.Packet, error) {
	if !dnsclient.Allowed(server.Addr()) {
		return nil, fmt.Errorf("%w: %v", ErrNotAllowed, server.Addr())
	}
	wire := append([]byte(nil), q.Bytes()...)
	binary.BigEndian.PutUint16(wire, uint16(rand.Uint32()))
	deadline := time.Now().Add(n.timeout)
	if tcp {
		deadline = time.Now().Add(3 * n.timeout)
	}
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if tcp {
		a, err := n.tcp(ctx, server, wire, deadline)
		if a != nil {
			a.SetID(q.ID())
		}
		return a, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", server.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c.SetDeadline(deadline)
	if _, err := c.Write(wire); err != nil {
		return nil, err
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		k, err := c.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, ErrTimeout
			}
			return nil, err
		}
		a, err := dnsclient.MatchAnswer(wire, buf[:k])
		if err != nil {
			n.unsolicited.Add(1)
			continue
		}
		a.SetID(q.ID())
		return a, nil
	}
}

func (n *netExchanger) tcp(ctx context.Context, server netip.AddrPort, wire []byte, deadline time.Time) (*dnsmsg.Packet, error) {
	d := net.Dialer{Deadline: deadline}
	c, err := d.DialContext(ctx, "tcp", server.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c.SetDeadline(deadline)
	msg := make([]byte, 2+len(wire))
	binary.BigEndian.PutUint16(msg, uint16(len(wire)))
	copy(msg[2:], wire)
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	var l [2]byte
	for {
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return nil, timeoutErr(ctx, err)
		}
		buf := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, buf); err != nil {
			return nil, timeoutErr(ctx, err)
		}
		a, err := dnsclient.MatchAnswer(wire, buf)
		if err != nil {
			n.unsolicited.Add(1)
			continue
		}
		return a, nil
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 65535); return &b }}

func timeoutErr(ctx context.Context, err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrTimeout
	}
	return err
}

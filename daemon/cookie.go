package daemon

import (
	"crypto/subtle"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"time"
)

// Server cookies (RFC 7873, interoperable format of RFC 9018): version 1,
// three reserved bytes, a 32-bit timestamp and SipHash-2-4 over the client
// cookie, those 8 bytes and the client address, keyed by the server's
// secret. The secret is made once per Server and kept across reloads.

const (
	cookieClientLen = 8
	cookieServerLen = 16 // RFC 9018 server cookie
	cookieMaxAge    = time.Hour
	cookieMaxAhead  = 5 * time.Minute
)

// cookieCheck classifies the COOKIE option of a query.
type cookieCheck int

const (
	cookieNone      cookieCheck = iota // no option
	cookieMalformed                    // FORMERR (RFC 7873 §5.2.2)
	cookieClientOnly
	cookieBad  // server cookie present, not ours or expired
	cookieGood // server cookie valid
)

// checkCookie validates the COOKIE option data opt of a query from client
// at now, with secret.
func checkCookie(opt []byte, client netip.Addr, secret *[16]byte, now time.Time) cookieCheck {
	switch n := len(opt); {
	case n == cookieClientLen:
		return cookieClientOnly
	case n < 16 || n > 40:
		return cookieMalformed
	case n != cookieClientLen+cookieServerLen || opt[8] != 1:
		return cookieBad
	}
	ts := time.Unix(int64(binary.BigEndian.Uint32(opt[12:16])), 0)
	// serial arithmetic is overkill for a one-hour window: compare in 64 bits
	if now.Sub(ts) > cookieMaxAge || ts.Sub(now) > cookieMaxAhead {
		return cookieBad
	}
	var want [8]byte
	binary.BigEndian.PutUint64(want[:], cookieHash(opt[:8], opt[8:16], client, secret))
	if subtle.ConstantTimeCompare(want[:], opt[16:24]) != 1 {
		return cookieBad
	}
	return cookieGood
}

// makeCookie returns the COOKIE option data of an answer: the client
// cookie cc followed by a fresh server cookie for client at now.
func makeCookie(cc []byte, client netip.Addr, secret *[16]byte, now time.Time) []byte {
	out := make([]byte, 0, cookieClientLen+cookieServerLen)
	out = append(out, cc[:cookieClientLen]...)
	out = append(out, 1, 0, 0, 0)
	out = binary.BigEndian.AppendUint32(out, uint32(now.Unix()))
	return binary.BigEndian.AppendUint64(out, cookieHash(cc[:8], out[8:16], client, secret))
}

// cookieHash is RFC 9018 §4.4's hash: SipHash-2-4(Client Cookie | Version |
// Reserved | Timestamp | Client-IP, Server Secret).
func cookieHash(cc, head []byte, client netip.Addr, secret *[16]byte) uint64 {
	var buf [8 + 8 + 16]byte
	n := copy(buf[:], cc)
	n += copy(buf[n:], head)
	if client.Is4() || client.Is4In6() {
		a := client.Unmap().As4()
		n += copy(buf[n:], a[:])
	} else {
		a := client.As16()
		n += copy(buf[n:], a[:])
	}
	return sipHash24(secret, buf[:n])
}

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein, 2012) of m under key k,
// its 64-bit result read as the 8 output bytes in big-endian order would be
// (the bytes the algorithm emits little-endian, reversed).
func sipHash24(k *[16]byte, m []byte) uint64 {
	k0 := binary.LittleEndian.Uint64(k[0:])
	k1 := binary.LittleEndian.Uint64(k[8:])
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(m)
	for len(m) >= 8 {
		w := binary.LittleEndian.Uint64(m)
		v3 ^= w
		round()
		round()
		v0 ^= w
		m = m[8:]
	}
	last := uint64(n&0xff) << 56
	for i, c := range m {
		last |= uint64(c) << (8 * i)
	}
	v3 ^= last
	round()
	round()
	v0 ^= last
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	h := v0 ^ v1 ^ v2 ^ v3
	return bits.ReverseBytes64(h) // the output bytes are h little-endian
}

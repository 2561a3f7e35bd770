package dnssec

import (
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrNSEC is wrapped by the errors of ParseNSEC and ParseNSEC3.
var ErrNSEC = errors.New("dnssec: invalid NSEC/NSEC3 RDATA")

// NSECRecord is decoded NSEC RDATA (RFC 4034 §4.1). Slices alias the RDATA.
type NSECRecord struct {
	Next   []byte // next owner name, uncompressed wire form
	Bitmap []byte // type bit map (RFC 4034 §4.1.2)
}

// ParseNSEC decodes NSEC RDATA; the type bit map must be well formed.
func ParseNSEC(rd []byte) (NSECRecord, error) {
	n, err := wireNameLen(rd)
	if err != nil {
		return NSECRecord{}, fmt.Errorf("%w: next name: %v", ErrNSEC, err)
	}
	r := NSECRecord{Next: rd[:n], Bitmap: rd[n:]}
	if !validBitmap(r.Bitmap) {
		return NSECRecord{}, fmt.Errorf("%w: bad type bit map", ErrNSEC)
	}
	return r, nil
}

// NSEC3 hash algorithm and flag (RFC 5155 §11).
const (
	NSEC3HashSHA1 = 1 // the one hash algorithm defined
	NSEC3OptOut   = 1 // the Opt-Out flag bit
)

// NSEC3Record is decoded NSEC3 RDATA (RFC 5155 §3.2). Slices alias the RDATA.
type NSEC3Record struct {
	Hash       uint8  // hash algorithm (1: SHA-1)
	Flags      uint8  // bit 0 (value 1): Opt-Out
	Iterations uint16 // additional hash iterations
	Salt       []byte
	Next       []byte // next hashed owner name, raw (20 bytes for SHA-1)
	Bitmap     []byte // type bit map
}

// OptOut reports whether the Opt-Out flag is set.
func (r *NSEC3Record) OptOut() bool { return r.Flags&NSEC3OptOut != 0 }

// ParseNSEC3 decodes NSEC3 RDATA; the type bit map must be well formed.
func ParseNSEC3(rd []byte) (NSEC3Record, error) {
	var r NSEC3Record
	if len(rd) < 5 {
		return r, fmt.Errorf("%w: NSEC3 of %d bytes", ErrNSEC, len(rd))
	}
	r.Hash, r.Flags, r.Iterations = rd[0], rd[1], binary.BigEndian.Uint16(rd[2:])
	sl := int(rd[4])
	off := 5 + sl
	if off >= len(rd) {
		return r, fmt.Errorf("%w: truncated NSEC3 salt", ErrNSEC)
	}
	r.Salt = rd[5:off]
	hl := int(rd[off])
	off++
	if hl == 0 || off+hl > len(rd) {
		return r, fmt.Errorf("%w: bad NSEC3 hash length %d", ErrNSEC, hl)
	}
	r.Next, r.Bitmap = rd[off:off+hl], rd[off+hl:]
	if !validBitmap(r.Bitmap) {
		return r, fmt.Errorf("%w: bad type bit map", ErrNSEC)
	}
	return r, nil
}

// validBitmap checks the windows of a type bit map: increasing window
// numbers, lengths 1 to 32, nothing left over (RFC 4034 §4.1.2).
func validBitmap(b []byte) bool {
	last := -1
	for len(b) > 0 {
		if len(b) < 2 {
			return false
		}
		win, n := int(b[0]), int(b[1])
		if win <= last || n < 1 || n > 32 || len(b) < 2+n {
			return false
		}
		last, b = win, b[2+n:]
	}
	return true
}

// HasType reports whether type bit map b (well formed or not) has type t.
func HasType(b []byte, t uint16) bool {
	win, bit := byte(t>>8), int(t&0xff)
	for len(b) >= 2 {
		n := int(b[1])
		if len(b) < 2+n {
			return false
		}
		if b[0] == win {
			return bit/8 < n && b[2+bit/8]&(0x80>>(bit%8)) != 0
		}
		b = b[2+n:]
	}
	return false
}

// NSEC3Hash returns the RFC 5155 §5 hash of wire name: SHA-1 over the
// lowercased name and the salt, then iterations more times over the
// previous digest and the salt. Only hash algorithm 1 (SHA-1) exists; for
// another it returns nil.
func NSEC3Hash(name []byte, alg uint8, iterations uint16, salt []byte) []byte {
	if alg != NSEC3HashSHA1 {
		return nil
	}
	var buf [255 + 255 + sha1.Size]byte
	b := append(buf[:0], name...)
	lowerInPlace(b)
	b = append(b, salt...)
	d := sha1.Sum(b)
	for range iterations {
		b = append(append(buf[:0], d[:]...), salt...)
		d = sha1.Sum(b)
	}
	return d[:]
}

// b32hex is the base32 "extended hex" alphabet of NSEC3 owner labels
// (RFC 4648 §7), lowercase, without padding.
var b32hex = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// NSEC3Label returns the first label of an NSEC3 owner for hash h: its
// base32hex text, lowercase.
func NSEC3Label(h []byte) string { return b32hex.EncodeToString(h) }

// DecodeNSEC3Label decodes the first label of an NSEC3 owner (either case)
// to the raw hash; ok is false when it is not base32hex.
func DecodeNSEC3Label(label []byte) (h []byte, ok bool) {
	var low [63]byte
	if len(label) > len(low) {
		return nil, false
	}
	for i, c := range label {
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		low[i] = c
	}
	h, err := b32hex.DecodeString(string(low[:len(label)]))
	return h, err == nil
}

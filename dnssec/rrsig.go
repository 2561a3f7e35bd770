package dnssec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"ljdns/dnsmsg"
)

// Type numbers this package needs.
const (
	TypeDS     uint16 = 43 // DS, RFC 4034 §5
	TypeRRSIG  uint16 = 46 // RRSIG, RFC 4034 §3
	TypeNSEC   uint16 = 47 // NSEC, RFC 4034 §4
	TypeDNSKEY uint16 = 48 // DNSKEY, RFC 4034 §2
	TypeNSEC3  uint16 = 50 // NSEC3, RFC 5155 §3
)

// RRSIG is a decoded RRSIG RDATA (RFC 4034 §3.1).
type RRSIG struct {
	TypeCovered uint16
	Algorithm   uint8
	Labels      uint8
	OrigTTL     uint32
	Expiration  uint32 // seconds since the epoch, modulo 2^32
	Inception   uint32
	KeyTag      uint16
	SignerName  []byte // wire form
	Signature   []byte
}

// rrsigFixed is the size of the fixed RRSIG fields before the signer name.
const rrsigFixed = 18

// ParseRRSIG decodes RRSIG RDATA. Slices alias rd.
func ParseRRSIG(rd []byte) (*RRSIG, error) {
	r := new(RRSIG)
	if err := parseRRSIG(rd, r); err != nil {
		return nil, err
	}
	return r, nil
}

// parseRRSIG is ParseRRSIG into a caller's struct (no allocation).
func parseRRSIG(rd []byte, r *RRSIG) error {
	if len(rd) < rrsigFixed+1 {
		return fmt.Errorf("%w: truncated RDATA (%d bytes)", ErrRRSIG, len(rd))
	}
	n, err := wireNameLen(rd[rrsigFixed:])
	if err != nil {
		return fmt.Errorf("%w: signer name: %v", ErrRRSIG, err)
	}
	if len(rd) == rrsigFixed+n {
		return fmt.Errorf("%w: no signature", ErrRRSIG)
	}
	*r = RRSIG{
		TypeCovered: binary.BigEndian.Uint16(rd),
		Algorithm:   rd[2],
		Labels:      rd[3],
		OrigTTL:     binary.BigEndian.Uint32(rd[4:]),
		Expiration:  binary.BigEndian.Uint32(rd[8:]),
		Inception:   binary.BigEndian.Uint32(rd[12:]),
		KeyTag:      binary.BigEndian.Uint16(rd[16:]),
		SignerName:  rd[rrsigFixed : rrsigFixed+n],
		Signature:   rd[rrsigFixed+n:],
	}
	return nil
}

// RRSIGSignature returns the signature field of RRSIG RDATA rd.
func RRSIGSignature(rd []byte) ([]byte, error) {
	r, err := ParseRRSIG(rd)
	if err != nil {
		return nil, err
	}
	return r.Signature, nil
}

// appendHeader appends the RRSIG RDATA without the signature, with the
// signer name lowercased (the first part of the RFC 4034 §3.1.8.1 data).
func (r *RRSIG) appendHeader(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, r.TypeCovered)
	b = append(b, r.Algorithm, r.Labels)
	b = binary.BigEndian.AppendUint32(b, r.OrigTTL)
	b = binary.BigEndian.AppendUint32(b, r.Expiration)
	b = binary.BigEndian.AppendUint32(b, r.Inception)
	b = binary.BigEndian.AppendUint16(b, r.KeyTag)
	start := len(b)
	b = append(b, r.SignerName...)
	lowerInPlace(b[start:])
	return b
}

// AppendRRSet appends rr in RFC 4034 §3.1.8.1 signing form: for each RDATA
// in canonical order (after canonicalisation, duplicates removed) owner |
// type | class | ttl | rdlength | rdata, where owner is lowercased wire.
func AppendRRSet(b []byte, rr *dnsmsg.RRSet, owner []byte, ttl uint32) []byte {
	var small [8][]byte // most sets are small: no allocation for them
	rds := small[:0]
	for _, rd := range rr.RData {
		rds = append(rds, canonicalRData(rr.Type, rd))
	}
	if len(rds) > 1 {
		slices.SortFunc(rds, bytes.Compare)
		rds = slices.CompactFunc(rds, bytes.Equal)
	}
	ownerAt := -1 // where the lowercased owner was first appended
	for _, rd := range rds {
		if ownerAt < 0 {
			ownerAt = len(b)
			b = append(b, owner...)
			lowerInPlace(b[ownerAt:])
		} else {
			b = append(b, b[ownerAt:ownerAt+len(owner)]...)
		}
		b = binary.BigEndian.AppendUint16(b, rr.Type)
		b = binary.BigEndian.AppendUint16(b, rr.Class)
		b = binary.BigEndian.AppendUint32(b, ttl)
		b = binary.BigEndian.AppendUint16(b, uint16(len(rd)))
		b = append(b, rd...)
	}
	return b
}

// SignRRSet returns RRSIG RDATA over rr made with the private key. The
// signer name defaults to the key's owner, then to rr's owner; inception
// and expiration are absolute times (seconds since the epoch).
func (k *Key) SignRRSet(rr *dnsmsg.RRSet, inception, expiration uint32, signer []byte) ([]byte, error) {
	if k.priv == nil {
		return nil, ErrNoPrivate
	}
	if rr.Owner == nil || len(rr.Owner.Wire) == 0 {
		return nil, fmt.Errorf("dnssec: cannot sign an RRset without owner")
	}
	if len(rr.RData) == 0 {
		return nil, fmt.Errorf("dnssec: cannot sign an empty RRset")
	}
	if signer == nil {
		signer = k.Owner
	}
	if signer == nil {
		signer = rr.Owner.Wire
	}
	labels := labelCount(rr.Owner.Wire)
	if isWildcard(rr.Owner.Wire) {
		labels--
	}
	r := RRSIG{
		TypeCovered: rr.Type, Algorithm: k.Algo, Labels: uint8(labels), OrigTTL: rr.TTL,
		Expiration: expiration, Inception: inception, KeyTag: k.Tag(), SignerName: signer,
	}
	var buf [512]byte // the signing data of most sets fits
	data := r.appendHeader(buf[:0])
	hdrLen := len(data)
	data = AppendRRSet(data, rr, rr.Owner.Wire, rr.TTL)
	sig, err := k.SignData(data)
	if err != nil {
		return nil, err
	}
	out := make([]byte, hdrLen+len(sig))
	copy(out, data[:hdrLen])
	copy(out[hdrLen:], sig)
	return out, nil
}

// VerifyRRSet checks RRSIG RDATA rrsig over rr with the public key at time
// now (seconds since the epoch): algorithm, key tag and covered type must
// match, the validity window must contain now (RFC 1982 serial
// arithmetic) and the signature must verify. An owner with more labels
// than the RRSIG's Labels field is verified as a wildcard expansion.
func (k *Key) VerifyRRSet(rr *dnsmsg.RRSet, rrsig []byte, now uint32) error {
	var r RRSIG
	if err := parseRRSIG(rrsig, &r); err != nil {
		return err
	}
	if k.pub == nil {
		return ErrNoPublicKey
	}
	switch {
	case r.Algorithm != k.Algo:
		return fmt.Errorf("%w: algorithm %d, key has %d", ErrRRSIG, r.Algorithm, k.Algo)
	case r.KeyTag != k.Tag():
		return fmt.Errorf("%w: key tag %d, key has %d", ErrRRSIG, r.KeyTag, k.Tag())
	case r.TypeCovered != rr.Type:
		return fmt.Errorf("%w: covers type %d, RRset has %d", ErrRRSIG, r.TypeCovered, rr.Type)
	case rr.Owner == nil || len(rr.Owner.Wire) == 0:
		return fmt.Errorf("%w: RRset has no owner", ErrRRSIG)
	case len(rr.RData) == 0:
		return fmt.Errorf("%w: RRset is empty", ErrRRSIG)
	case int32(now-r.Inception) < 0:
		return ErrNotYetValid
	case int32(r.Expiration-now) < 0:
		return ErrExpired
	}
	owner := rr.Owner.Wire
	n := labelCount(owner)
	if int(r.Labels) > n {
		return fmt.Errorf("%w: %d labels for a %d-label owner", ErrRRSIG, r.Labels, n)
	}
	if int(r.Labels) < n {
		owner = append([]byte{1, '*'}, suffixLabels(owner, int(r.Labels))...)
	}
	var buf [512]byte // the signed data of most sets fits
	data := r.appendHeader(buf[:0])
	data = AppendRRSet(data, rr, owner, r.OrigTTL)
	return k.VerifyData(data, r.Signature)
}

// canonicalRData returns rd with the domain names that RFC 4034 §6.2 (as
// amended by RFC 6840 §5.1) requires lowercased; other RDATA are returned
// as is. Malformed RDATA are returned unchanged.
func canonicalRData(t uint16, rd []byte) []byte {
	var names, skip int // names to lowercase, and the fixed bytes before them
	switch t {
	case 2, 3, 4, 5, 7, 8, 9, 12, 39: // NS MD MF CNAME MB MG MR PTR DNAME
		names = 1
	case 6, 14, 17: // SOA MINFO RP
		names = 2
	case 15, 18, 21, 36: // MX AFSDB RT KX
		names, skip = 1, 2
	case 26: // PX
		names, skip = 2, 2
	case 33: // SRV
		names, skip = 1, 6
	case 35: // NAPTR: order, preference, flags, services, regexp
		skip = 4
		for i := 0; i < 3; i++ {
			if skip >= len(rd) {
				return rd
			}
			skip += 1 + int(rd[skip])
		}
		names = 1
	default:
		return rd
	}
	if skip > len(rd) {
		return rd
	}
	out := bytes.Clone(rd)
	off := skip
	for i := 0; i < names; i++ {
		n, err := wireNameLen(out[off:])
		if err != nil {
			return rd
		}
		lowerInPlace(out[off : off+n])
		off += n
	}
	return out
}

// wireNameLen returns the length of the uncompressed wire name at the start
// of b, root label included.
func wireNameLen(b []byte) (int, error) {
	i := 0
	for {
		if i >= len(b) {
			return 0, fmt.Errorf("%w: truncated", ErrName)
		}
		l := int(b[i])
		if l == 0 {
			i++
			break
		}
		if l > 63 {
			return 0, fmt.Errorf("%w: bad label length %d", ErrName, l)
		}
		i += l + 1
	}
	if i > 255 {
		return 0, fmt.Errorf("%w: longer than 255 bytes", ErrName)
	}
	return i, nil
}

// labelCount returns the number of labels of wire name w, root excluded.
func labelCount(w []byte) int {
	n := 0
	for i := 0; i < len(w) && w[i] != 0; i += int(w[i]) + 1 {
		n++
	}
	return n
}

// isWildcard reports whether the first label of w is "*".
func isWildcard(w []byte) bool { return len(w) >= 2 && w[0] == 1 && w[1] == '*' }

// suffixLabels returns the last n labels of wire name w (with the root).
func suffixLabels(w []byte, n int) []byte {
	skip := labelCount(w) - n
	i := 0
	for ; skip > 0 && i < len(w); skip-- {
		i += int(w[i]) + 1
	}
	return w[i:]
}

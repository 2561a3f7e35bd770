package dnssec

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
)

// Sentinel errors; every error of this package wraps one of them and
// starts with "dnssec: ".
var (
	ErrNoAlgorithm = errors.New("dnssec: algorithm not set")              // algo() must come first
	ErrAlgorithm   = errors.New("dnssec: unsupported algorithm")          // not one of 5, 7, 8, 10, 13, 14, 15
	ErrPublicKey   = errors.New("dnssec: invalid public key")             // bad DNSKEY key field
	ErrPrivateKey  = errors.New("dnssec: invalid private key")            // unparsable or wrong kind
	ErrKeyMismatch = errors.New("dnssec: key does not match")             // private/public halves differ
	ErrKeyPresent  = errors.New("dnssec: public key already set")         // pubkey set twice
	ErrNoPublicKey = errors.New("dnssec: key has no public key")          // cannot verify
	ErrNoPrivate   = errors.New("dnssec: key cannot be used for signing") // no private key
	ErrDigest      = errors.New("dnssec: unsupported digest type")        // DS digest type
	ErrNoName      = errors.New("dnssec: key has no owner name")          // DS needs the owner
	ErrSignature   = errors.New("dnssec: signature verification failed")
	ErrRRSIG       = errors.New("dnssec: invalid RRSIG") // malformed or unusable RRSIG
	ErrExpired     = errors.New("dnssec: signature expired")
	ErrNotYetValid = errors.New("dnssec: signature not yet valid")
	ErrName        = errors.New("dnssec: invalid domain name")
)

// Key is a DNSSEC key: the DNSKEY fields, an optional owner name, and the
// public and (optionally) private key material.
type Key struct {
	Algo     uint8  // DNSKEY algorithm, 0 until set
	Flags    uint16 // DNSKEY flags, 256 (zone key) by default
	Protocol uint8  // DNSKEY protocol, 3 by default
	Owner    []byte // owner name in wire form, nil when unset

	raw    []byte           // DNSKEY public key field, nil when no public key
	pub    crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	priv   crypto.Signer    // *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey
	rsaV   *rsaVerifier     // fast RSA verification context, for RSA keys
	rsaF   *rsa512          // unrolled RSA-512 verify and sign context
	rawSum uint32           // tagSum(0, raw), for Tag
}

// setPublic installs the public key (raw DNSKEY field and parsed form).
func (k *Key) setPublic(raw []byte, pub crypto.PublicKey) {
	k.raw, k.pub, k.rsaV, k.rsaF = raw, pub, nil, nil
	k.rawSum = tagSum(0, raw)
	if p, ok := pub.(*rsa.PublicKey); ok && p.N.BitLen() <= maxMontgomeryBits {
		k.rsaV = newRSAVerifier(p)
		priv, _ := k.priv.(*rsa.PrivateKey)
		k.rsaF = newRSA512(p, priv) // nil unless 512 bits
	}
}

// NewKey returns an empty zone key: flags 256, protocol 3, no algorithm.
func NewKey() *Key { return &Key{Flags: 256, Protocol: 3} }

// CanVerify reports whether the key has a public key.
func (k *Key) CanVerify() bool { return k.pub != nil }

// CanSign reports whether the key has a private key.
func (k *Key) CanSign() bool { return k.priv != nil }

// KSK reports whether the flags are exactly 257 (zone key + SEP).
func (k *Key) KSK() bool { return k.Flags == 257 }

// ZSK reports whether the flags are exactly 256 (zone key).
func (k *Key) ZSK() bool { return k.Flags == 256 }

// PublicKey returns the DNSKEY public key field (nil when unset).
func (k *Key) PublicKey() []byte { return k.raw }

// SetAlgorithm sets the algorithm. It fails for unsupported algorithms and
// when loaded key material is of another kind (RSA keys may move between
// the RSA algorithms).
func (k *Key) SetAlgorithm(a uint8) error {
	info, err := lookupAlgo(a)
	if err != nil {
		return err
	}
	if k.pub != nil && !fitsAlgo(k.pub, info) {
		return fmt.Errorf("%w: loaded key is not usable with algorithm %d (%s)", ErrKeyMismatch, a, info.name)
	}
	k.Algo = a
	return nil
}

// fitsAlgo reports whether public key pub can be used with algorithm info.
func fitsAlgo(pub crypto.PublicKey, info algoInfo) bool {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return info.kind == kindRSA
	case *ecdsa.PublicKey:
		return info.kind == kindECDSA && (p.Curve.Params().BitSize+7)/8 == info.size
	case ed25519.PublicKey:
		return info.kind == kindEd25519
	}
	return false
}

// SetPublicKey sets the public key from the raw DNSKEY key field of the
// current algorithm: RSA as RFC 3110 (exponent length, exponent, modulus),
// ECDSA as X‖Y (RFC 6605), Ed25519 as 32 bytes (RFC 8080). Setting the same
// key again is a no-op; a different key fails with ErrKeyPresent.
func (k *Key) SetPublicKey(raw []byte) error {
	info, err := lookupAlgo(k.Algo)
	if err != nil {
		return err
	}
	pub, err := parsePublicKey(info, raw)
	if err != nil {
		return err
	}
	if k.pub != nil {
		if equalPublic(k.pub, pub) {
			return nil
		}
		return ErrKeyPresent
	}
	k.setPublic(bytes.Clone(raw), pub)
	return nil
}

// RData returns the DNSKEY RDATA: flags, protocol, algorithm, public key.
func (k *Key) RData() []byte {
	rd := make([]byte, 4, 4+len(k.raw))
	binary.BigEndian.PutUint16(rd, k.Flags)
	rd[2], rd[3] = k.Protocol, k.Algo
	return append(rd, k.raw...)
}

// SetRData replaces flags, protocol, algorithm and public key with those
// of DNSKEY RDATA rd. A loaded private key must match the new public key.
// On error the key is unchanged.
func (k *Key) SetRData(rd []byte) error {
	if len(rd) < 4 {
		return fmt.Errorf("%w: DNSKEY RDATA too short (%d bytes)", ErrPublicKey, len(rd))
	}
	info, err := lookupAlgo(rd[3])
	if err != nil {
		return err
	}
	pub, err := parsePublicKey(info, rd[4:])
	if err != nil {
		return err
	}
	if k.priv != nil && !equalPublic(k.priv.Public(), pub) {
		return fmt.Errorf("%w: DNSKEY differs from the loaded private key", ErrKeyMismatch)
	}
	k.Flags, k.Protocol, k.Algo = binary.BigEndian.Uint16(rd), rd[2], rd[3]
	k.setPublic(bytes.Clone(rd[4:]), pub)
	return nil
}

// SetPrivateKey loads a private key (see ParsePrivateKey for the formats)
// and derives the public key. The key kind must match the algorithm (a
// BIND file sets the algorithm when none is set yet) and an already set
// public key must be its public half. On error the key is unchanged.
func (k *Key) SetPrivateKey(data []byte) error {
	priv, fileAlgo, err := ParsePrivateKey(data)
	if err != nil {
		return err
	}
	algo := k.Algo
	if fileAlgo != 0 {
		if algo != 0 && algo != fileAlgo {
			return fmt.Errorf("%w: private key file is for algorithm %d, key has %d", ErrKeyMismatch, fileAlgo, algo)
		}
		algo = fileAlgo
	}
	info, err := lookupAlgo(algo)
	if err != nil {
		return err
	}
	pub := priv.Public()
	if !fitsAlgo(pub, info) {
		return fmt.Errorf("%w: %s key does not fit algorithm %d (%s)", ErrKeyMismatch, kindName(pub), algo, info.name)
	}
	if k.pub != nil && !equalPublic(k.pub, pub) {
		return fmt.Errorf("%w: private key is not the pair of the public key", ErrKeyMismatch)
	}
	raw, err := encodePublicKey(pub)
	if err != nil {
		return err
	}
	k.Algo, k.priv = algo, priv
	k.setPublic(raw, pub)
	return nil
}

// PrivateKeyPEM returns the private key as PKCS#8 PEM.
func (k *Key) PrivateKeyPEM() ([]byte, error) {
	if k.priv == nil {
		return nil, ErrNoPrivate
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPrivateKey, err)
	}
	return pemEncode("PRIVATE KEY", der), nil
}

// Tag returns the RFC 4034 Appendix B key tag of the DNSKEY RDATA.
func (k *Key) Tag() uint16 {
	// The 4-byte header keeps the key field's byte parity, so the sum can
	// run over both parts without building the RDATA; the key field's
	// part is summed once, in setPublic.
	ac := uint32(k.Flags) + uint32(k.Protocol)<<8 + uint32(k.Algo)
	return foldTag(ac + k.rawSum)
}

// KeyTag computes the RFC 4034 Appendix B key tag of DNSKEY RDATA rd.
func KeyTag(rd []byte) uint16 { return foldTag(tagSum(0, rd)) }

// tagSum adds the bytes of b to ac, even offsets as high bytes.
func tagSum(ac uint32, b []byte) uint32 {
	for i, c := range b {
		if i&1 == 0 {
			ac += uint32(c) << 8
		} else {
			ac += uint32(c)
		}
	}
	return ac
}

// foldTag adds the carry into the low 16 bits (RFC 4034 Appendix B).
func foldTag(ac uint32) uint16 {
	ac += ac >> 16 & 0xffff
	return uint16(ac)
}

// Bits returns the key size in bits (RSA modulus, curve size), 0 without key.
func (k *Key) Bits() int {
	switch p := k.pub.(type) {
	case *rsa.PublicKey:
		return p.N.BitLen()
	case *ecdsa.PublicKey:
		return p.Curve.Params().BitSize
	case ed25519.PublicKey:
		return 256
	}
	return 0
}

// ID returns the key ID as Knot DNS and GnuTLS compute it: lowercase hex of
// the SHA-1 of the DER SubjectPublicKeyInfo.
func (k *Key) ID() (string, error) {
	if k.pub == nil {
		return "", ErrNoPublicKey
	}
	der, err := x509.MarshalPKIXPublicKey(k.pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrPublicKey, err)
	}
	sum := sha1.Sum(der)
	return hex.EncodeToString(sum[:]), nil
}

// DS returns the DS RDATA (RFC 4034 §5.1) for the key with digest type 1
// (SHA-1), 2 (SHA-256) or 4 (SHA-384). The key needs an owner name.
func (k *Key) DS(digestType uint8) ([]byte, error) {
	if k.Owner == nil {
		return nil, ErrNoName
	}
	if k.pub == nil {
		return nil, ErrNoPublicKey
	}
	var h interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
	switch digestType {
	case 1:
		h = sha1.New()
	case 2:
		h = sha256.New()
	case 4:
		h = sha512.New384()
	default:
		return nil, fmt.Errorf("%w: %d (use 1 SHA-1, 2 SHA-256 or 4 SHA-384)", ErrDigest, digestType)
	}
	h.Write(lowerName(k.Owner))
	h.Write(k.RData())
	ds := make([]byte, 4, 4+48)
	binary.BigEndian.PutUint16(ds, k.Tag())
	ds[2], ds[3] = k.Algo, digestType
	return h.Sum(ds), nil
}

// parsePublicKey decodes a raw DNSKEY public key field for algorithm info.
func parsePublicKey(info algoInfo, raw []byte) (crypto.PublicKey, error) {
	switch info.kind {
	case kindRSA:
		return parseRSAPublicKey(raw)
	case kindECDSA:
		if len(raw) != 2*info.size {
			return nil, fmt.Errorf("%w: %s key must be %d bytes, got %d", ErrPublicKey, info.name, 2*info.size, len(raw))
		}
		curve := elliptic.P256()
		if info.size == 48 {
			curve = elliptic.P384()
		}
		p, err := ecdsa.ParseUncompressedPublicKey(curve, append([]byte{4}, raw...))
		if err != nil {
			return nil, fmt.Errorf("%w: %s point is not on the curve", ErrPublicKey, info.name)
		}
		return p, nil
	case kindEd25519:
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: ED25519 key must be 32 bytes, got %d", ErrPublicKey, len(raw))
		}
		return ed25519.PublicKey(bytes.Clone(raw)), nil
	}
	return nil, ErrAlgorithm
}

// RSA key limits: RFC 3110 allows 512 to 4096-bit moduli; exponents must
// fit Go's int and be odd.
const (
	minRSABits = 512
	maxRSABits = 4096
)

// parseRSAPublicKey decodes the RFC 3110 form: exponent length (one byte,
// or zero and two bytes), exponent, modulus.
func parseRSAPublicKey(raw []byte) (*rsa.PublicKey, error) {
	if len(raw) < 1 {
		return nil, fmt.Errorf("%w: empty RSA key", ErrPublicKey)
	}
	elen, off := int(raw[0]), 1
	if elen == 0 {
		if len(raw) < 3 {
			return nil, fmt.Errorf("%w: truncated RSA exponent length", ErrPublicKey)
		}
		elen, off = int(binary.BigEndian.Uint16(raw[1:])), 3
	}
	if elen == 0 || off+elen >= len(raw) {
		return nil, fmt.Errorf("%w: truncated RSA key", ErrPublicKey)
	}
	exp := new(big.Int).SetBytes(raw[off : off+elen])
	mod := raw[off+elen:]
	if !exp.IsInt64() || exp.Int64() > 1<<31-1 || exp.Int64() < 3 || exp.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: bad RSA exponent %s", ErrPublicKey, shortInt(exp))
	}
	n := new(big.Int).SetBytes(mod)
	if n.BitLen() < minRSABits || n.BitLen() > maxRSABits || n.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: bad RSA modulus (%d bits, %d..%d odd allowed)", ErrPublicKey, n.BitLen(), minRSABits, maxRSABits)
	}
	return &rsa.PublicKey{N: n, E: int(exp.Int64())}, nil
}

// shortInt prints x, abbreviated when long.
func shortInt(x *big.Int) string {
	if x.BitLen() > 64 {
		return fmt.Sprintf("(%d bits)", x.BitLen())
	}
	return x.String()
}

// encodePublicKey returns the raw DNSKEY public key field of pub.
func encodePublicKey(pub crypto.PublicKey) ([]byte, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		e := big.NewInt(int64(p.E)).Bytes()
		var out []byte
		if len(e) < 256 {
			out = append(out, byte(len(e)))
		} else {
			out = append(out, 0, byte(len(e)>>8), byte(len(e)))
		}
		out = append(out, e...)
		return append(out, p.N.Bytes()...), nil
	case *ecdsa.PublicKey:
		b, err := p.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPublicKey, err)
		}
		return b[1:], nil
	case ed25519.PublicKey:
		return bytes.Clone(p), nil
	}
	return nil, fmt.Errorf("%w: unsupported key type %T", ErrPublicKey, pub)
}

// equalPublic reports whether two public keys are the same key.
func equalPublic(a, b crypto.PublicKey) bool {
	if e, ok := a.(interface{ Equal(crypto.PublicKey) bool }); ok {
		return e.Equal(b)
	}
	return false
}

// kindName names the kind of a public key for messages.
func kindName(pub crypto.PublicKey) string {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "ECDSA " + p.Curve.Params().Name
	case ed25519.PublicKey:
		return "ED25519"
	}
	return fmt.Sprintf("%T", pub)
}

// lowerName returns a copy of wire name w with ASCII letters lowercased.
func lowerName(w []byte) []byte {
	out := bytes.Clone(w)
	lowerInPlace(out)
	return out
}

// lowerInPlace lowercases the ASCII letters of wire name w (labels only).
func lowerInPlace(w []byte) {
	for i := 0; i < len(w); {
		l := int(w[i])
		if l == 0 || l&0xc0 != 0 {
			return
		}
		for j := i + 1; j <= i+l && j < len(w); j++ {
			if c := w[j]; c >= 'A' && c <= 'Z' {
				w[j] = c + 32
			}
		}
		i += l + 1
	}
}

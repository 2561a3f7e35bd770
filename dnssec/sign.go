package dnssec

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"

	"ljdns/dnsmsg"
)

// digest hashes data with the algorithm's hash (Ed25519: a copy of data
// itself); nil for hashes the supported algorithms do not use.
func digest(h crypto.Hash, data []byte) []byte {
	var buf [64]byte
	return bytes.Clone(digestTo(&buf, h, data))
}

// digestTo is digest without allocation: the digest is written to buf and
// returned aliasing it (Ed25519: data itself). Hashes other than those of
// the supported algorithms give nil.
func digestTo(buf *[64]byte, h crypto.Hash, data []byte) []byte {
	switch h {
	case 0:
		return data
	case crypto.SHA1:
		*(*[sha1.Size]byte)(buf[:]) = sha1.Sum(data)
	case crypto.SHA256:
		*(*[sha256.Size]byte)(buf[:]) = sha256.Sum256(data)
	case crypto.SHA384:
		*(*[sha512.Size384]byte)(buf[:]) = sha512.Sum384(data)
	case crypto.SHA512:
		*buf = sha512.Sum512(data)
	default:
		return nil
	}
	return buf[:h.Size()]
}

// SignData signs data with the private key and returns the signature in
// DNSSEC wire format: RSA PKCS#1 v1.5 (RFC 3110, 5702), ECDSA r‖s with
// fixed-width halves (RFC 6605, nonces per RFC 6979), Ed25519 raw (RFC 8080).
// All three are deterministic: the same key and data give the same bytes.
func (k *Key) SignData(data []byte) ([]byte, error) {
	if k.priv == nil {
		return nil, ErrNoPrivate
	}
	info, err := lookupAlgo(k.Algo)
	if err != nil {
		return nil, err
	}
	var dbuf [64]byte
	d := digestTo(&dbuf, info.hash, data)
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		if k.rsaF != nil {
			if sig, ok := k.rsaF.sign(info.hash, d); ok {
				return sig, nil
			}
		}
		if k.rsaV != nil {
			if sig, ok := k.rsaV.signShort(p, info.hash, d); ok {
				return sig, nil
			}
		}
		sig, err := rsa.SignPKCS1v15(nil, p, info.hash, d)
		if err != nil {
			return nil, fmt.Errorf("dnssec: RSA signing failed: %w", err)
		}
		return sig, nil
	case *ecdsa.PrivateKey:
		// Deterministic ECDSA (RFC 6979): no dependence on the RNG at
		// signing time, and about 30% faster than the hedged variant.
		der, err := p.Sign(nil, d, info.hash)
		if err != nil {
			return nil, fmt.Errorf("dnssec: ECDSA signing failed: %w", err)
		}
		return derToRaw(der, info.size)
	case ed25519.PrivateKey:
		return ed25519.Sign(p, d), nil
	}
	return nil, ErrNoPrivate
}

// VerifyData checks a DNSSEC wire-format signature over data with the
// public key. It returns nil on success and an error wrapping ErrSignature
// (or the reason the key cannot verify) otherwise.
func (k *Key) VerifyData(data, sig []byte) error {
	if k.pub == nil {
		return ErrNoPublicKey
	}
	info, err := lookupAlgo(k.Algo)
	if err != nil {
		return err
	}
	var dbuf [64]byte
	d := digestTo(&dbuf, info.hash, data)
	switch p := k.pub.(type) {
	case *rsa.PublicKey:
		if len(sig) != (p.N.BitLen()+7)/8 {
			return fmt.Errorf("%w: RSA signature of %d bytes for a %d-bit key", ErrSignature, len(sig), p.N.BitLen())
		}
		if k.rsaF != nil {
			if !k.rsaF.verify(info.hash, d, sig) {
				return ErrSignature
			}
		} else if k.rsaV != nil {
			if !k.rsaV.verify(info.hash, d, sig) {
				return ErrSignature
			}
		} else if rsa.VerifyPKCS1v15(p, info.hash, d, sig) != nil {
			return ErrSignature
		}
	case *ecdsa.PublicKey:
		if len(sig) != 2*info.size {
			return fmt.Errorf("%w: %s signature must be %d bytes, got %d", ErrSignature, info.name, 2*info.size, len(sig))
		}
		if !ecdsa.VerifyASN1(p, d, rawToDER(sig)) {
			return ErrSignature
		}
	case ed25519.PublicKey:
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(p, d, sig) {
			return ErrSignature
		}
	default:
		return ErrNoPublicKey
	}
	return nil
}

// derToRaw converts an ASN.1 ECDSA signature SEQUENCE{r, s} into r‖s, each
// left-padded to size bytes.
func derToRaw(der []byte, size int) ([]byte, error) {
	bad := errors.New("dnssec: malformed ECDSA signature")
	if len(der) < 2 || der[0] != 0x30 || int(der[1]) != len(der)-2 {
		return nil, bad
	}
	out := make([]byte, 2*size)
	rest := der[2:]
	for i := 0; i < 2; i++ {
		if len(rest) < 2 || rest[0] != 0x02 || int(rest[1]) > len(rest)-2 {
			return nil, bad
		}
		v := rest[2 : 2+int(rest[1])]
		rest = rest[2+int(rest[1]):]
		for len(v) > 0 && v[0] == 0 {
			v = v[1:]
		}
		if len(v) > size {
			return nil, bad
		}
		copy(out[(i+1)*size-len(v):], v)
	}
	return out, nil
}

// rawToDER converts r‖s into the ASN.1 SEQUENCE{r, s} crypto/ecdsa wants.
// Halves are at most 66 bytes, so every length fits in one byte.
func rawToDER(sig []byte) []byte {
	half := len(sig) / 2
	der := make([]byte, 2, 2+2*(half+3))
	der[0] = 0x30
	for _, v := range [][]byte{sig[:half], sig[half:]} {
		for len(v) > 1 && v[0] == 0 {
			v = v[1:]
		}
		if len(v) > 0 && v[0]&0x80 != 0 {
			der = append(der, 0x02, byte(len(v)+1), 0)
		} else {
			der = append(der, 0x02, byte(len(v)))
		}
		der = append(der, v...)
	}
	der[1] = byte(len(der) - 2)
	return der
}

// Signer accumulates a byte stream and signs or verifies it with a key.
// Sign and Verify do not clear the stream; Reset does.
type Signer struct {
	Key  *Key
	data []byte
}

// NewSigner returns a signer for k, which must hold key material.
func NewSigner(k *Key) (*Signer, error) {
	if k.pub == nil && k.priv == nil {
		return nil, ErrNoPrivate
	}
	if _, err := lookupAlgo(k.Algo); err != nil {
		return nil, err
	}
	return &Signer{Key: k}, nil
}

// Reset clears the accumulated data.
func (s *Signer) Reset() { s.data = s.data[:0] }

// Write appends b to the data; it never fails.
func (s *Signer) Write(b []byte) (int, error) {
	s.data = append(s.data, b...)
	return len(b), nil
}

// AddRRSet appends rr in RFC 4034 §3.1.8.1 signing form with its own owner
// and TTL (see AppendRRSet).
func (s *Signer) AddRRSet(rr *dnsmsg.RRSet) {
	s.data = AppendRRSet(s.data, rr, rr.Owner.Wire, rr.TTL)
}

// Data returns the accumulated data (aliased).
func (s *Signer) Data() []byte { return s.data }

// Sign signs the accumulated data.
func (s *Signer) Sign() ([]byte, error) { return s.Key.SignData(s.data) }

// Verify checks sig over the accumulated data.
func (s *Signer) Verify(sig []byte) error { return s.Key.VerifyData(s.data, sig) }

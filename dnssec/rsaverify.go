package dnssec

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"math/big"
	"math/bits"
)

// rsaVerifier checks RSA PKCS#1 v1.5 signatures with a Montgomery context
// computed once per key. crypto/rsa rebuilds its modulus (including R² mod
// N) on every call, which dominates verification with DNSSEC's short keys.
// Verification uses only public values, so variable-time arithmetic is fine.
// 512-bit keys use the faster fixed-size rsa512 instead (rsafast.go); this
// generic context serves the other short keys, and its signShort their CRT
// signatures.
//
// The portable limb loop below beats crypto/rsa only for short moduli
// (BenchmarkRSAVerifier: about 1.6x at 512 bits, but 0.6x at 1024 and 0.5x
// at 2048 bits against its assembly), so keys use it up to
// maxMontgomeryBits.
type rsaVerifier struct {
	n     []uint64 // modulus, little-endian 64-bit limbs
	rr    []uint64 // R² mod n, R = 2^(64·len(n))
	n0inv uint64   // -n⁻¹ mod 2^64
	e     uint64
	size  int // modulus length in bytes
}

// maxMontgomeryBits is the largest modulus verified with rsaVerifier.
const maxMontgomeryBits = 640

// newRSAVerifier prepares the Montgomery context of pub.
func newRSAVerifier(pub *rsa.PublicKey) *rsaVerifier {
	k := (pub.N.BitLen() + 63) / 64
	v := &rsaVerifier{n: limbs(pub.N, k), e: uint64(pub.E), size: (pub.N.BitLen() + 7) / 8}
	r2 := new(big.Int).Lsh(big.NewInt(1), uint(128*k))
	v.rr = limbs(r2.Mod(r2, pub.N), k)
	inv := uint64(1) // Newton iteration for n[0]⁻¹ mod 2^64
	for i := 0; i < 6; i++ {
		inv *= 2 - v.n[0]*inv
	}
	v.n0inv = -inv
	return v
}

// limbs returns x as k little-endian 64-bit words.
func limbs(x *big.Int, k int) []uint64 {
	out := make([]uint64, k)
	b := x.Bytes()
	for i := 0; i < len(b); i++ {
		out[i/8] |= uint64(b[len(b)-1-i]) << (8 * (i % 8))
	}
	return out
}

// montMul sets z = x·y·R⁻¹ mod n (CIOS). t is scratch of len(n)+2 words.
// z may alias x or y.
func (v *rsaVerifier) montMul(z, x, y, t []uint64) {
	n := v.n
	k := len(n)
	x, y, z = x[:k], y[:k], z[:k]
	acc := t[:k+2]
	clear(acc)
	lo, top := acc[:k], acc[k:k+2] // running sum: lo words, then two top words
	n0 := n[0]
	for _, xi := range x {
		var c, cc uint64
		for j, yj := range y {
			hi, l := bits.Mul64(xi, yj)
			l, cc = bits.Add64(l, lo[j], 0)
			hi += cc
			l, cc = bits.Add64(l, c, 0)
			hi += cc
			lo[j], c = l, hi
		}
		top[0], cc = bits.Add64(top[0], c, 0)
		top[1] += cc
		m := lo[0] * v.n0inv
		hi, l := bits.Mul64(m, n0)
		_, cc = bits.Add64(l, lo[0], 0)
		c = hi + cc
		for j := 1; j < k; j++ {
			hi, l := bits.Mul64(m, n[j])
			l, cc = bits.Add64(l, lo[j], 0)
			hi += cc
			l, cc = bits.Add64(l, c, 0)
			hi += cc
			lo[j-1], c = l, hi
		}
		lo[k-1], cc = bits.Add64(top[0], c, 0)
		top[0] = top[1] + cc
		top[1] = 0
	}
	// The sum is below 2n: subtract n once if it is at least n.
	if top[0] != 0 || !lessLimbs(lo, n) {
		var b uint64
		for j := range lo {
			lo[j], b = bits.Sub64(lo[j], n[j], b)
		}
	}
	copy(z, lo)
}

// lessLimbs reports a < b for equal-length little-endian numbers.
func lessLimbs(a, b []uint64) bool {
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// DER DigestInfo prefixes of PKCS#1 v1.5 (RFC 8017 §9.2).
var (
	prefixSHA1   = []byte{0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14}
	prefixSHA256 = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	prefixSHA512 = []byte{0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}
)

// digestInfo holds the DigestInfo prefixes by hash.
var digestInfo = map[crypto.Hash][]byte{
	crypto.SHA1:   prefixSHA1,
	crypto.SHA256: prefixSHA256,
	crypto.SHA512: prefixSHA512,
}

// verify reports whether sig is a PKCS#1 v1.5 signature of digest d.
func (v *rsaVerifier) verify(h crypto.Hash, d, sig []byte) bool {
	prefix, ok := digestInfo[h]
	if !ok || len(sig) != v.size || len(d) != h.Size() {
		return false
	}
	k := len(v.n)
	s := make([]uint64, 4*k+2)
	x, acc, t := s[:k], s[k:2*k], s[2*k:]
	for i := 0; i < len(sig); i++ {
		x[i/8] |= uint64(sig[len(sig)-1-i]) << (8 * (i % 8))
	}
	if !lessLimbs(x, v.n) {
		return false
	}
	// x into Montgomery form, then left-to-right square-and-multiply.
	v.montMul(x, x, v.rr, t)
	copy(acc, x)
	for i := bits.Len64(v.e) - 2; i >= 0; i-- {
		v.montMul(acc, acc, acc, t)
		if v.e>>uint(i)&1 == 1 {
			v.montMul(acc, acc, x, t)
		}
	}
	one := x // reuse: convert out of Montgomery form with ·1
	clear(one)
	one[0] = 1
	v.montMul(acc, acc, one, t)
	// Expected encoding: 00 01 FF..FF 00 DigestInfo digest.
	em := make([]byte, v.size)
	for i := 0; i < v.size; i++ {
		em[v.size-1-i] = byte(acc[i/8] >> (8 * (i % 8)))
	}
	tlen := len(prefix) + len(d)
	if v.size < tlen+11 {
		return false
	}
	ps := em[2 : v.size-tlen-1]
	return em[0] == 0 && em[1] == 1 && bytes.Count(ps, []byte{0xff}) == len(ps) &&
		em[v.size-tlen-1] == 0 && bytes.Equal(em[v.size-tlen:v.size-len(d)], prefix) &&
		bytes.Equal(em[v.size-len(d):], d)
}

// signShort signs digest d with a short RSA key (at most maxMontgomeryBits,
// i.e. the 512-bit test keys DNSSEC specs use) by plain CRT exponentiation
// with math/big, checking the result with the verifier. It reports false
// when the key is not eligible or the check fails; the caller then uses
// crypto/rsa. math/big is not constant-time, which is irrelevant for keys
// this short: they can be factored outright. Longer keys never come here.
func (v *rsaVerifier) signShort(priv *rsa.PrivateKey, h crypto.Hash, d []byte) ([]byte, bool) {
	prefix, ok := digestInfo[h]
	pc := priv.Precomputed
	if !ok || len(priv.Primes) != 2 || pc.Dp == nil || pc.Dq == nil || pc.Qinv == nil ||
		priv.N.BitLen() > maxMontgomeryBits || v.size < len(prefix)+len(d)+11 {
		return nil, false
	}
	em := make([]byte, v.size)
	em[1] = 1
	tail := v.size - len(prefix) - len(d)
	for i := 2; i < tail-1; i++ {
		em[i] = 0xff
	}
	copy(em[tail:], prefix)
	copy(em[tail+len(prefix):], d)
	c := new(big.Int).SetBytes(em)
	p, q := priv.Primes[0], priv.Primes[1]
	m1 := new(big.Int).Exp(c, pc.Dp, p)
	m2 := new(big.Int).Exp(c, pc.Dq, q)
	m1.Sub(m1, m2)
	m1.Mul(m1, pc.Qinv)
	m1.Mod(m1, p) // Euclidean: non-negative
	m1.Mul(m1, q)
	m1.Add(m1, m2)
	sig := m1.FillBytes(make([]byte, v.size))
	if !v.verify(h, d, sig) {
		return nil, false
	}
	return sig, true
}

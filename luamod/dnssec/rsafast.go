package dnssec

//go:generate go run montgen.go

import (
	"crypto"
	"crypto/rsa"
	"encoding/binary"
	"math/big"
	"math/bits"
)

// rsa512 holds the per-key precomputation for 512-bit RSA keys (the test
// keys of DNSSEC specs and benchmarks): verification with the unrolled
// 8-word Montgomery code of montfixed.go and, when the private key is
// known, CRT signing with its 4-word code. Everything is computed once
// when the key is loaded; signing and verifying then allocate nothing but
// the signature returned.
//
// Like the generic short-key path this is variable-time arithmetic: that is
// irrelevant for the public operation, and a 512-bit private key can be
// factored outright, so a timing leak would reveal nothing of value.
type rsa512 struct {
	n    [8]uint64 // modulus, little-endian words
	fix  [8]uint64 // R^(f+1) mod n, R = 2^512: see verify
	ninv uint64    // -n⁻¹ mod 2^64
	e    uint64    // public exponent
	size int       // modulus length in bytes (64)

	crt *crt256 // signing context; nil without a usable private key
}

// crt256 is the CRT signing context of a key whose two primes have at most
// 256 bits each.
type crt256 struct {
	p, q         modulus256
	qinv         [4]uint64 // q⁻¹ mod p
	dp, dq       [4]uint64 // d mod (p-1), d mod (q-1)
	dpLen, dqLen int       // their bit lengths
}

// modulus256 is the Montgomery context of an odd modulus below 2^256, with
// R = 2^256.
type modulus256 struct {
	m    [4]uint64
	ninv uint64    // -m⁻¹ mod 2^64
	one  [4]uint64 // R mod m, i.e. 1 in Montgomery form
	r2   [4]uint64 // R² mod m
	r3   [4]uint64 // R³ mod m
}

// negInv returns -x⁻¹ mod 2^64 for odd x (Newton iteration: each step
// doubles the number of correct low bits, 1 → 64 in six steps).
func negInv(x uint64) uint64 {
	inv := uint64(1)
	for i := 0; i < 6; i++ {
		inv *= 2 - x*inv
	}
	return -inv
}

// newModulus256 prepares the Montgomery context of m (odd, 1 < m < 2^256).
func newModulus256(m *big.Int) modulus256 {
	var c modulus256
	copy(c.m[:], limbs(m, 4))
	c.ninv = negInv(c.m[0])
	r := new(big.Int)
	for i, dst := range []*[4]uint64{&c.one, &c.r2, &c.r3} {
		r.Lsh(big.NewInt(1), uint(256*(i+1)))
		copy(dst[:], limbs(r.Mod(r, m), 4))
	}
	return c
}

// newRSA512 prepares the fast path for pub, which must have a 512-bit
// modulus (nil otherwise). priv, if not nil, must be pub's private key; it
// enables signing when it has two odd primes of at most 256 bits. The
// signing context is checked once with a test signature and dropped if
// that fails, so a strange key only loses the fast path.
func newRSA512(pub *rsa.PublicKey, priv *rsa.PrivateKey) *rsa512 {
	if pub == nil || pub.N == nil || pub.N.BitLen() != 512 || pub.E < 3 {
		return nil
	}
	v := &rsa512{e: uint64(pub.E), size: 64}
	copy(v.n[:], limbs(pub.N, 8))
	// verify works on x itself, not x·R: each Montgomery squaring then
	// adds one more factor R⁻¹ to the value (f → 2f+1), each
	// multiplication by x one (f → f+1). fix = R^(f+1) cancels them all
	// in one last Montgomery multiplication.
	f := new(big.Int)
	one := big.NewInt(1)
	for i := bits.Len64(v.e) - 2; i >= 0; i-- {
		f.Lsh(f, 1).Add(f, one)
		if v.e>>uint(i)&1 == 1 {
			f.Add(f, one)
		}
	}
	r := new(big.Int).Lsh(one, 512)
	r.Exp(r.Mod(r, pub.N), f.Add(f, one), pub.N)
	copy(v.fix[:], limbs(r, 8))
	v.ninv = negInv(v.n[0])
	if priv == nil || priv.N == nil || priv.D == nil || priv.N.Cmp(pub.N) != 0 || priv.E != pub.E || len(priv.Primes) != 2 {
		return v
	}
	p, q := priv.Primes[0], priv.Primes[1]
	for _, x := range []*big.Int{p, q} {
		if x == nil || x.Sign() <= 0 || x.BitLen() > 256 || x.Bit(0) == 0 || x.Cmp(one) == 0 {
			return v
		}
	}
	qinv := new(big.Int).ModInverse(q, p)
	if qinv == nil || new(big.Int).Mul(p, q).Cmp(pub.N) != 0 {
		return v
	}
	c := &crt256{p: newModulus256(p), q: newModulus256(q)}
	copy(c.qinv[:], limbs(qinv, 4))
	dp := new(big.Int).Mod(priv.D, new(big.Int).Sub(p, one))
	dq := new(big.Int).Mod(priv.D, new(big.Int).Sub(q, one))
	copy(c.dp[:], limbs(dp, 4))
	copy(c.dq[:], limbs(dq, 4))
	c.dpLen, c.dqLen = dp.BitLen(), dq.BitLen()
	v.crt = c
	d := digest(crypto.SHA256, []byte("rsa512 self-test"))
	if _, ok := v.sign(crypto.SHA256, d); !ok {
		v.crt = nil
	}
	return v
}

// digestPrefix returns the DER DigestInfo prefix of PKCS#1 v1.5 for h.
func digestPrefix(h crypto.Hash) ([]byte, bool) {
	switch h {
	case crypto.SHA1:
		return prefixSHA1, true
	case crypto.SHA256:
		return prefixSHA256, true
	case crypto.SHA512:
		return prefixSHA512, true
	}
	return nil, false
}

// encode writes the PKCS#1 v1.5 encoding 00 01 FF..FF 00 prefix d of
// digest d, v.size bytes, right-aligned in em. It reports false when the
// digest does not fit (at least 8 bytes of FF padding are required).
func (v *rsa512) encode(em *[64]byte, prefix, d []byte) bool {
	tlen := len(prefix) + len(d)
	if v.size < tlen+11 || v.size > len(em) {
		return false
	}
	off := len(em) - v.size
	clear(em[:off])
	em[off], em[off+1] = 0, 1
	tail := len(em) - tlen
	for i := off + 2; i < tail-1; i++ {
		em[i] = 0xff
	}
	em[tail-1] = 0
	copy(em[tail:], prefix)
	copy(em[tail+len(prefix):], d)
	return true
}

// words8 reads the big-endian 64 bytes b as little-endian words.
func words8(w *[8]uint64, b *[64]byte) {
	for i := range w {
		w[i] = binary.BigEndian.Uint64(b[56-8*i:])
	}
}

// less8 reports a < b.
func less8(a, b *[8]uint64) bool {
	var borrow uint64
	for i := range a {
		_, borrow = bits.Sub64(a[i], b[i], borrow)
	}
	return borrow == 1
}

// verify reports whether sig is a PKCS#1 v1.5 signature of digest d made
// with hash h.
func (v *rsa512) verify(h crypto.Hash, d, sig []byte) bool {
	prefix, ok := digestPrefix(h)
	if !ok || len(sig) != v.size || len(d) != h.Size() {
		return false
	}
	var buf [64]byte
	copy(buf[len(buf)-v.size:], sig)
	var x [8]uint64
	words8(&x, &buf)
	if !less8(&x, &v.n) {
		return false
	}
	// Left-to-right square-and-multiply (e = 65537: 16 squarings and
	// one multiplication) on x itself, then one multiplication by fix
	// removes the accumulated powers of R (see newRSA512).
	acc := x
	for i := bits.Len64(v.e) - 2; i >= 0; i-- {
		montSqr8(&acc, &acc, &v.n, v.ninv)
		if v.e>>uint(i)&1 == 1 {
			montMul8(&acc, &acc, &x, &v.n, v.ninv)
		}
	}
	montMul8(&acc, &acc, &v.fix, &v.n, v.ninv)
	// acc is fully reduced, and so is the expected encoding (it is below
	// n), so the two must be equal word for word.
	if !v.encode(&buf, prefix, d) {
		return false
	}
	var want [8]uint64
	words8(&want, &buf)
	return acc == want
}

// sign returns the PKCS#1 v1.5 signature of digest d made with hash h, by
// CRT: s = m2 + q·((m1 - m2)·q⁻¹ mod p) with m1 = c^dp mod p and
// m2 = c^dq mod q. The result is verified before it is returned; false
// means no private key, a digest that does not fit, or a failed check (the
// caller then uses crypto/rsa).
func (v *rsa512) sign(h crypto.Hash, d []byte) ([]byte, bool) {
	c := v.crt
	prefix, ok := digestPrefix(h)
	if c == nil || !ok || len(d) != h.Size() {
		return nil, false
	}
	var buf [64]byte
	if !v.encode(&buf, prefix, d) {
		return nil, false
	}
	var x [8]uint64
	words8(&x, &buf)
	lo, hi := (*[4]uint64)(x[:4]), (*[4]uint64)(x[4:])
	m1 := c.p.expWords(lo, hi, &c.dp, c.dpLen) // Montgomery form of p
	m2 := c.q.expWords(lo, hi, &c.dq, c.dqLen)
	var t [4]uint64
	one := [4]uint64{1}
	montMul4(&m2, &m2, &one, &c.q.m, c.q.ninv)   // out of Montgomery form: m2 < q
	montMul4(&t, &m2, &c.p.r2, &c.p.m, c.p.ninv) // m2·R mod p
	subMod4(&t, &m1, &t, &c.p.m)                 // (m1 - m2)·R mod p
	montMul4(&t, &t, &c.qinv, &c.p.m, c.p.ninv)  // h = (m1 - m2)·q⁻¹ mod p
	// s = h·q + m2 < (p-1)·q + q = n.
	var s [8]uint64
	mul4x4(&s, &t, &c.q.m)
	var carry uint64
	for i := 0; i < 4; i++ {
		s[i], carry = bits.Add64(s[i], m2[i], carry)
	}
	for i := 4; i < 8; i++ {
		s[i], carry = bits.Add64(s[i], 0, carry)
	}
	for i, w := range s {
		binary.BigEndian.PutUint64(buf[56-8*i:], w)
	}
	sig := make([]byte, v.size)
	copy(sig, buf[len(buf)-v.size:])
	if !v.verify(h, d, sig) {
		return nil, false
	}
	return sig, true
}

// expWords returns x^e in Montgomery form, where x = hi·2^256 + lo is any
// 512-bit number and e has elen bits: x·R mod m = hi·R² + lo·R, then
// fixed 4-bit windows (16 precomputed powers).
func (c *modulus256) expWords(lo, hi *[4]uint64, e *[4]uint64, elen int) [4]uint64 {
	var a, b [4]uint64
	montMul4(&a, hi, &c.r3, &c.m, c.ninv) // hi·R²
	montMul4(&b, lo, &c.r2, &c.m, c.ninv) // lo·R
	addMod4(&a, &a, &b, &c.m)
	var tab [16][4]uint64
	tab[0], tab[1] = c.one, a
	for i := 2; i < 16; i++ {
		if i&1 == 0 {
			montSqr4(&tab[i], &tab[i/2], &c.m, c.ninv)
		} else {
			montMul4(&tab[i], &tab[i-1], &a, &c.m, c.ninv)
		}
	}
	acc := c.one
	first := true
	for w := (elen+3)/4 - 1; w >= 0; w-- {
		if !first {
			montSqr4(&acc, &acc, &c.m, c.ninv)
			montSqr4(&acc, &acc, &c.m, c.ninv)
			montSqr4(&acc, &acc, &c.m, c.ninv)
			montSqr4(&acc, &acc, &c.m, c.ninv)
		}
		nib := e[w/16] >> (4 * uint(w%16)) & 15
		switch {
		case first:
			acc, first = tab[nib], false
		case nib != 0:
			montMul4(&acc, &acc, &tab[nib], &c.m, c.ninv)
		}
	}
	return acc
}

// addMod4 sets z = x + y mod m for x, y < m.
func addMod4(z, x, y, m *[4]uint64) {
	var s, t [4]uint64
	var c, b uint64
	for i := range s {
		s[i], c = bits.Add64(x[i], y[i], c)
	}
	for i := range t {
		t[i], b = bits.Sub64(s[i], m[i], b)
	}
	_, b = bits.Sub64(c, 0, b) // borrow: the sum was below m, keep it
	keep := -b
	for i := range z {
		z[i] = t[i] ^ ((t[i] ^ s[i]) & keep)
	}
}

// subMod4 sets z = x - y mod m for x, y < m.
func subMod4(z, x, y, m *[4]uint64) {
	var s [4]uint64
	var b, c uint64
	for i := range s {
		s[i], b = bits.Sub64(x[i], y[i], b)
	}
	mask := -b // add m back after a borrow
	for i := range z {
		z[i], c = bits.Add64(s[i], m[i]&mask, c)
	}
}

// mul4x4 sets z = x·y.
func mul4x4(z *[8]uint64, x, y *[4]uint64) {
	*z = [8]uint64{}
	for i := 0; i < 4; i++ {
		var carry uint64
		for j := 0; j < 4; j++ {
			hi, lo := bits.Mul64(x[i], y[j])
			var c uint64
			lo, c = bits.Add64(lo, z[i+j], 0)
			hi += c
			z[i+j], c = bits.Add64(lo, carry, 0)
			carry = hi + c
		}
		z[i+4] = carry
	}
}

package dnssec

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"testing"
)

// toBig converts little-endian words to a big.Int.
func toBig(w []uint64) *big.Int {
	x := new(big.Int)
	for i := len(w) - 1; i >= 0; i-- {
		x.Lsh(x, 64)
		x.Or(x, new(big.Int).SetUint64(w[i]))
	}
	return x
}

// randBelow returns a random number in [0, m), biased towards the edges
// (0, 1, m-1, m-2 and values with long runs of ones) that carry bugs hide in.
func randBelow(r *mrand.Rand, m *big.Int) *big.Int {
	switch r.IntN(8) {
	case 0:
		return big.NewInt(int64(r.IntN(2)))
	case 1:
		return new(big.Int).Sub(m, big.NewInt(int64(1+r.IntN(2))))
	case 2: // all ones below m's top bit
		x := new(big.Int).Lsh(big.NewInt(1), uint(m.BitLen()-1))
		return x.Sub(x, big.NewInt(1))
	}
	b := make([]byte, (m.BitLen()+7)/8)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return new(big.Int).Mod(new(big.Int).SetBytes(b), m)
}

// randModulus returns a random odd modulus of k words, sometimes with every
// bit set, sometimes just above a power of two, sometimes shorter.
func randModulus(r *mrand.Rand, k int) *big.Int {
	top := new(big.Int).Lsh(big.NewInt(1), uint(64*k))
	switch r.IntN(6) {
	case 0:
		return top.Sub(top, big.NewInt(1))
	case 1:
		return top.Rsh(top, 1).Add(top, big.NewInt(1))
	}
	b := make([]byte, 8*k)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	m := new(big.Int).SetBytes(b)
	if r.IntN(4) == 0 {
		m.Rsh(m, uint(r.IntN(64*k-2)))
	}
	return m.SetBit(m, 0, 1).SetBit(m, 1, 1)
}

// montImpl is one implementation of the k-word Montgomery functions.
type montImpl[T any] struct {
	name string
	mul  func(z, x, y, n *T, ninv uint64)
	sqr  func(z, x, n *T, ninv uint64)
}

// impls4 and impls8 list every implementation this build can run: the
// ones the code uses, the Go versions, and the assembly variants.
func impls4() []montImpl[[4]uint64] {
	return append([]montImpl[[4]uint64]{{"", montMul4, montSqr4}, {"Generic", montMul4Generic, montSqr4Generic}}, archImpls4()...)
}

func impls8() []montImpl[[8]uint64] {
	return append([]montImpl[[8]uint64]{{"", montMul8, montSqr8}, {"Generic", montMul8Generic, montSqr8Generic}}, archImpls8()...)
}

// TestMontFixed checks the generated Montgomery multiplication and
// squaring against math/big: z = x·y·R⁻¹ mod n, fully reduced.
func TestMontFixed(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for iter := 0; iter < 4000; iter++ {
		for _, k := range []int{4, 8} {
			n := randModulus(r, k)
			rinv := new(big.Int).ModInverse(new(big.Int).Lsh(big.NewInt(1), uint(64*k)), n)
			x, y := randBelow(r, n), randBelow(r, n)
			// montMul also allows one factor up to R: use one at times.
			if r.IntN(4) == 0 {
				y = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(64*k)), big.NewInt(int64(1+r.IntN(3))))
			}
			wantMul := new(big.Int).Mul(x, y)
			wantMul.Mul(wantMul, rinv).Mod(wantMul, n)
			wantSqr := new(big.Int).Mul(x, x)
			wantSqr.Mul(wantSqr, rinv).Mod(wantSqr, n)
			ninv := negInv(limbs(n, k)[0])
			// Every implementation, aliased (z = y) and not.
			words := func(v *big.Int) []uint64 { return limbs(v, k) }
			check := func(name string, gotMul, gotSqr, gotAlias []uint64) {
				if toBig(gotMul).Cmp(wantMul) != 0 || toBig(gotAlias).Cmp(wantMul) != 0 {
					t.Fatalf("montMul%d%s(%x, %x) mod %x = %x (aliased %x), want %x", k, name, x, y, n, toBig(gotMul), toBig(gotAlias), wantMul)
				}
				if toBig(gotSqr).Cmp(wantSqr) != 0 {
					t.Fatalf("montSqr%d%s(%x) mod %x = %x, want %x", k, name, x, n, toBig(gotSqr), wantSqr)
				}
			}
			switch k {
			case 4:
				for _, im := range impls4() {
					var nn, xx, yy, z, s [4]uint64
					copy(nn[:], words(n))
					copy(xx[:], words(x))
					copy(yy[:], words(y))
					im.mul(&z, &xx, &yy, &nn, ninv)
					im.sqr(&s, &xx, &nn, ninv)
					im.mul(&yy, &xx, &yy, &nn, ninv)
					check(im.name, z[:], s[:], yy[:])
				}
			case 8:
				for _, im := range impls8() {
					var nn, xx, yy, z, s [8]uint64
					copy(nn[:], words(n))
					copy(xx[:], words(x))
					copy(yy[:], words(y))
					im.mul(&z, &xx, &yy, &nn, ninv)
					im.sqr(&s, &xx, &nn, ninv)
					im.mul(&yy, &xx, &yy, &nn, ninv)
					check(im.name, z[:], s[:], yy[:])
				}
			}
		}
	}
}

// TestModArith checks addMod4, subMod4 and mul4x4 against math/big.
func TestModArith(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 4))
	for iter := 0; iter < 4000; iter++ {
		m := randModulus(r, 4)
		x, y := randBelow(r, m), randBelow(r, m)
		var mm, xx, yy, z [4]uint64
		copy(mm[:], limbs(m, 4))
		copy(xx[:], limbs(x, 4))
		copy(yy[:], limbs(y, 4))
		addMod4(&z, &xx, &yy, &mm)
		if want := new(big.Int).Add(x, y); toBig(z[:]).Cmp(want.Mod(want, m)) != 0 {
			t.Fatalf("addMod4(%x, %x) mod %x = %x, want %x", x, y, m, toBig(z[:]), want)
		}
		subMod4(&z, &xx, &yy, &mm)
		if want := new(big.Int).Sub(x, y); toBig(z[:]).Cmp(want.Mod(want, m)) != 0 {
			t.Fatalf("subMod4(%x, %x) mod %x = %x, want %x", x, y, m, toBig(z[:]), want)
		}
		var p [8]uint64
		mul4x4(&p, &xx, &yy)
		if want := new(big.Int).Mul(x, y); toBig(p[:]).Cmp(want) != 0 {
			t.Fatalf("mul4x4(%x, %x) = %x, want %x", x, y, toBig(p[:]), want)
		}
	}
}

// checkRSA512 compares the fast path of key with crypto/rsa: signatures
// byte for byte (PKCS#1 v1.5 is deterministic) and verification of good,
// corrupted and foreign signatures. It reports the number of signatures
// made by the fast path.
func checkRSA512(t *testing.T, key *rsa.PrivateKey, v *rsa512, rounds int) int {
	t.Helper()
	fast := 0
	for i := 0; i < rounds; i++ {
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA512} {
			msg := make([]byte, 1+i)
			rand.Read(msg)
			d := digest(h, msg)
			want, werr := rsa.SignPKCS1v15(nil, key, h, d)
			got, ok := v.sign(h, d)
			switch {
			case werr != nil && ok:
				t.Fatalf("%v: signed a digest crypto/rsa refuses (%v)", h, werr)
			case werr != nil:
				continue
			case v.crt != nil && !ok:
				t.Fatalf("%v: fast path refused to sign", h)
			case ok && !bytes.Equal(got, want):
				t.Fatalf("%v: signature %x, crypto/rsa %x", h, got, want)
			}
			if ok {
				fast++
			}
			if !v.verify(h, d, want) {
				t.Fatalf("%v: valid signature rejected", h)
			}
			bad := bytes.Clone(want)
			bad[mrand.IntN(len(bad))] ^= byte(1 << mrand.IntN(8))
			if got, want := v.verify(h, d, bad), rsa.VerifyPKCS1v15(&key.PublicKey, h, d, bad) == nil; got || want {
				t.Fatalf("%v: corrupted signature: verify=%v crypto/rsa=%v", h, got, want)
			}
			d2 := bytes.Clone(d)
			d2[mrand.IntN(len(d2))] ^= 0x80
			if v.verify(h, d2, want) {
				t.Fatalf("%v: signature accepted for another digest", h)
			}
			if v.verify(h, d[1:], want) || v.verify(h, d, want[1:]) || v.verify(h, d, append(bytes.Clone(want), 0)) {
				t.Fatalf("%v: wrong lengths accepted", h)
			}
			for _, other := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA512, crypto.SHA384} {
				if other != h && v.verify(other, digest(other, msg), want) {
					t.Fatalf("%v signature accepted as %v", h, other)
				}
			}
			// A random value and a signature of the right value with the
			// wrong padding are rejected, as crypto/rsa rejects them.
			rnd := make([]byte, v.size)
			rand.Read(rnd)
			if got, want := v.verify(h, d, rnd), rsa.VerifyPKCS1v15(&key.PublicKey, h, d, rnd) == nil; got != want {
				t.Fatalf("%v: random signature: verify=%v crypto/rsa=%v", h, got, want)
			}
		}
	}
	// Raw RSA signatures of near-miss encodings: each differs from the
	// PKCS#1 v1.5 block in one place (leading bytes, padding, separator,
	// DigestInfo, digest), so only the comparison can reject it.
	d := digest(crypto.SHA256, []byte("near miss"))
	var em [64]byte
	if !v.encode(&em, prefixSHA256, d) {
		t.Fatal("encode failed")
	}
	block := em[len(em)-v.size:]
	for i := 0; i <= len(block); i++ {
		b := bytes.Clone(block)
		if i < len(b) {
			b[i] ^= 0x01
		}
		s := new(big.Int).Exp(new(big.Int).SetBytes(b), key.D, key.N).FillBytes(make([]byte, v.size))
		got, want := v.verify(crypto.SHA256, d, s), rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d, s) == nil
		if got != want || got != (i == len(block)) {
			t.Fatalf("encoding with byte %d changed: verify=%v crypto/rsa=%v", i, got, want)
		}
	}
	// Signatures at and above the modulus.
	n := key.N.FillBytes(make([]byte, v.size))
	d = digest(crypto.SHA256, nil)
	for _, s := range [][]byte{n, bytes.Repeat([]byte{0xff}, v.size), make([]byte, v.size)} {
		if v.verify(crypto.SHA256, d, s) {
			t.Fatalf("signature %x accepted", s)
		}
	}
	return fast
}

// TestRSA512 checks the fast 512-bit path against crypto/rsa for many
// random keys, hashes and digests.
func TestRSA512(t *testing.T) {
	keys := 150
	if testing.Short() {
		keys = 20
	}
	fast := 0
	for i := 0; i < keys; i++ {
		key, err := rsa.GenerateKey(rand.Reader, 512)
		if err != nil {
			t.Fatal(err)
		}
		v := newRSA512(&key.PublicKey, key)
		if v == nil || v.crt == nil {
			t.Fatalf("key %d: no fast signing context", i)
		}
		fast += checkRSA512(t, key, v, 3)
	}
	// Other exponents, primes in either order.
	for _, e := range []int64{3, 17, 1<<31 - 1} {
		key := keyFromPrimes(t, e, 256, 256)
		if key.Primes[0].Cmp(key.Primes[1]) > 0 {
			key.Primes[0], key.Primes[1] = key.Primes[1], key.Primes[0]
			key.Precomputed = rsa.PrecomputedValues{}
			key.Precompute()
		}
		v := newRSA512(&key.PublicKey, key)
		if v.crt == nil {
			t.Fatalf("e=%d: no fast signing context", e)
		}
		fast += checkRSA512(t, key, v, 5)
	}
	if fast < 2*keys*3 {
		t.Fatalf("only %d signatures took the fast path", fast)
	}
}

// TestRSA512Fallback checks the keys the fast signer must refuse (a prime
// above 256 bits, a public key only, a corrupted context) and that Key
// still signs them correctly through crypto/rsa.
func TestRSA512Fallback(t *testing.T) {
	lop := keyFromPrimes(t, 65537, 240, 272)
	v := newRSA512(&lop.PublicKey, lop)
	if v == nil || v.crt != nil {
		t.Fatal("lopsided 512-bit key: want verify-only fast path")
	}
	checkRSA512(t, lop, v, 3)
	good, _ := rsa.GenerateKey(rand.Reader, 512)
	if v := newRSA512(&good.PublicKey, nil); v == nil || v.crt != nil {
		t.Fatal("public key only: want verify-only fast path")
	}
	even := &rsa.PublicKey{N: new(big.Int).SetBit(new(big.Int).Lsh(big.NewInt(1), 511), 1, 1), E: 65537}
	if newRSA512(even, nil) != nil {
		t.Fatal("even modulus accepted")
	}
	other, _ := rsa.GenerateKey(rand.Reader, 512)
	if v := newRSA512(&good.PublicKey, other); v.crt != nil {
		t.Fatal("mismatched private key accepted")
	}
	// A corrupted exponent: the check after signing must catch it.
	v = newRSA512(&good.PublicKey, good)
	if v.crt == nil {
		t.Fatal("no fast signing context")
	}
	v.crt.dp[0] ^= 2
	d := digest(crypto.SHA256, []byte("x"))
	if sig, ok := v.sign(crypto.SHA256, d); ok {
		t.Fatalf("corrupted context returned signature %x", sig)
	}
	// Through Key: the context is rebuilt from the key, and other sizes
	// use the other paths; all must match crypto/rsa.
	for _, key := range []*rsa.PrivateKey{lop, good, keyFromPrimes(t, 65537, 288, 288), keyFromPrimes(t, 65537, 320, 320),
		keyFromPrimes(t, 65537, 384, 384), keyFromPrimes(t, 3, 512, 512)} {
		k := NewKey()
		k.SetAlgorithm(AlgRSASHA256)
		der := pemEncode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
		if err := k.SetPrivateKey(der); err != nil {
			t.Fatal(err)
		}
		if (k.rsaF != nil) != (key.N.BitLen() == 512) {
			t.Fatalf("%d bits: fast path %v", key.N.BitLen(), k.rsaF != nil)
		}
		for i := 0; i < 5; i++ {
			data := []byte(fmt.Sprint("data ", i))
			sig, err := k.SignData(data)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest(crypto.SHA256, data))
			if !bytes.Equal(sig, want) {
				t.Fatalf("%d bits: Key.SignData differs from crypto/rsa", key.N.BitLen())
			}
			if err := k.VerifyData(data, sig); err != nil {
				t.Fatal(err)
			}
			sig[len(sig)/2] ^= 4
			if k.VerifyData(data, sig) == nil {
				t.Fatalf("%d bits: corrupted signature accepted", key.N.BitLen())
			}
		}
	}
}

// FuzzRSA512 compares the fast verifier with crypto/rsa on arbitrary
// signatures and digests.
func FuzzRSA512(f *testing.F) {
	key, _ := rsa.GenerateKey(rand.Reader, 512)
	v := newRSA512(&key.PublicKey, key)
	d := digest(crypto.SHA256, []byte("x"))
	sig, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d)
	f.Add(sig, d)
	f.Fuzz(func(t *testing.T, sig, d []byte) {
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
			got := v.verify(h, d, sig)
			if want := rsa.VerifyPKCS1v15(&key.PublicKey, h, d, sig) == nil; got != want {
				t.Fatalf("%v: verify=%v crypto/rsa=%v for %x over %x", h, got, want, sig, d)
			}
		}
		if len(d) == 32 {
			s, ok := v.sign(crypto.SHA256, d)
			want, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d)
			if !ok || !bytes.Equal(s, want) {
				t.Fatalf("sign(%x) = %x, %v; want %x", d, s, ok, want)
			}
		}
	})
}

// BenchmarkMont measures every implementation of the Montgomery functions.
func BenchmarkMont(b *testing.B) {
	r := mrand.New(mrand.NewPCG(7, 8))
	n8 := randModulus(r, 8)
	n8.SetBit(n8, 511, 1)
	var n, x, y [8]uint64
	copy(n[:], limbs(n8, 8))
	copy(x[:], limbs(randBelow(r, n8), 8))
	copy(y[:], limbs(randBelow(r, n8), 8))
	ninv := negInv(n[0])
	for _, im := range impls8() {
		b.Run("mul8"+im.name, func(b *testing.B) {
			for b.Loop() {
				im.mul(&x, &x, &y, &n, ninv)
			}
		})
		b.Run("sqr8"+im.name, func(b *testing.B) {
			for b.Loop() {
				im.sqr(&x, &x, &n, ninv)
			}
		})
	}
	var n4, x4, y4 [4]uint64
	copy(n4[:], n[4:])
	copy(x4[:], x[4:])
	copy(y4[:], y[4:])
	n4[0] |= 1
	ninv = negInv(n4[0])
	for _, im := range impls4() {
		b.Run("mul4"+im.name, func(b *testing.B) {
			for b.Loop() {
				im.mul(&x4, &x4, &y4, &n4, ninv)
			}
		})
		b.Run("sqr4"+im.name, func(b *testing.B) {
			for b.Loop() {
				im.sqr(&x4, &x4, &n4, ninv)
			}
		})
	}
}

package dnssec

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"math/big"
	"testing"
)

// TestRSAVerifier checks the Montgomery verifier against crypto/rsa for
// several key sizes, exponents and hashes, with good and bad signatures.
func TestRSAVerifier(t *testing.T) {
	for _, bits := range []int{512, 576, 1024, 1536, 2048} {
		key, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		v := newRSAVerifier(&key.PublicKey)
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA512} {
			for i := 0; i < 5; i++ {
				msg := make([]byte, 20+i)
				rand.Read(msg)
				d := digest(h, msg)
				sig, err := rsa.SignPKCS1v15(nil, key, h, d)
				if err != nil {
					if bits < 1024 && h == crypto.SHA512 {
						continue // DigestInfo does not fit a 512-bit modulus
					}
					t.Fatal(err)
				}
				if !v.verify(h, d, sig) {
					t.Fatalf("%d bits %v: valid signature rejected", bits, h)
				}
				bad := append([]byte(nil), sig...)
				bad[i%len(bad)] ^= 0x10
				if got, want := v.verify(h, d, bad), rsa.VerifyPKCS1v15(&key.PublicKey, h, d, bad) == nil; got != want || got {
					t.Fatalf("%d bits %v: corrupted signature verify=%v crypto/rsa=%v", bits, h, got, want)
				}
				d2 := append([]byte(nil), d...)
				d2[0] ^= 1
				if v.verify(h, d2, sig) {
					t.Fatalf("%d bits %v: other digest accepted", bits, h)
				}
				other := crypto.SHA256
				if h == crypto.SHA256 {
					other = crypto.SHA512
				}
				if v.verify(other, digest(other, msg), sig) {
					t.Fatalf("%d bits: wrong hash accepted", bits)
				}
			}
		}
		// Signature >= modulus and wrong lengths are rejected.
		huge := make([]byte, (bits+7)/8)
		for i := range huge {
			huge[i] = 0xff
		}
		if v.verify(crypto.SHA256, digest(crypto.SHA256, nil), huge) || v.verify(crypto.SHA256, digest(crypto.SHA256, nil), huge[1:]) {
			t.Fatal("out of range signature accepted")
		}
	}
	// Exponent 3 and a large odd exponent.
	for _, e := range []int64{3, 1<<31 - 1} {
		key := keyWithExponent(t, e)
		v := newRSAVerifier(&key.PublicKey)
		d := digest(crypto.SHA256, []byte("x"))
		sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d)
		if err != nil {
			t.Fatal(err)
		}
		if !v.verify(crypto.SHA256, d, sig) {
			t.Fatalf("e=%d: valid signature rejected", e)
		}
		sig[5] ^= 1
		if v.verify(crypto.SHA256, d, sig) {
			t.Fatalf("e=%d: corrupted signature accepted", e)
		}
	}
}

// keyWithExponent makes a 1024-bit RSA key with public exponent e.
func keyWithExponent(t testing.TB, e int64) *rsa.PrivateKey {
	return keyFromPrimes(t, e, 512, 512)
}

// keyFromPrimes makes an RSA key with public exponent e from random primes
// of pbits and qbits bits (Primes[0] has pbits), retrying until the
// modulus has exactly pbits+qbits bits.
func keyFromPrimes(t testing.TB, e int64, pbits, qbits int) *rsa.PrivateKey {
	E := big.NewInt(e)
	one := big.NewInt(1)
	prime := func(bits int) *big.Int {
		for {
			p, err := rand.Prime(rand.Reader, bits)
			if err != nil {
				t.Fatal(err)
			}
			if new(big.Int).GCD(nil, nil, E, new(big.Int).Sub(p, one)).Cmp(one) == 0 {
				return p
			}
		}
	}
	for {
		p, q := prime(pbits), prime(qbits)
		n := new(big.Int).Mul(p, q)
		if p.Cmp(q) == 0 || n.BitLen() != pbits+qbits {
			continue
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		key := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: int(e)},
			D: new(big.Int).ModInverse(E, phi), Primes: []*big.Int{p, q}}
		if err := key.Validate(); err != nil {
			t.Fatal(err)
		}
		key.Precompute()
		return key
	}
}

// TestSignShort checks the short-key signer against crypto/rsa (PKCS#1 v1.5
// is deterministic, so the bytes must be identical).
func TestSignShort(t *testing.T) {
	for _, bits := range []int{512, 576, 640} {
		key, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		v := newRSAVerifier(&key.PublicKey)
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA512} {
			d := digest(h, []byte{byte(bits), byte(h)})
			want, err := rsa.SignPKCS1v15(nil, key, h, d)
			got, ok := v.signShort(key, h, d)
			if err != nil {
				if ok {
					t.Fatalf("%d bits %v: signed a digest crypto/rsa refuses", bits, h)
				}
				continue
			}
			if !ok || !bytes.Equal(got, want) {
				t.Fatalf("%d bits %v: %x (%v), want %x", bits, h, got, ok, want)
			}
		}
	}
	key, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, ok := newRSAVerifier(&key.PublicKey).signShort(key, crypto.SHA256, digest(crypto.SHA256, nil)); ok {
		t.Error("1024-bit key took the short-key path")
	}
}

// FuzzRSAVerifier compares the verifier with crypto/rsa on arbitrary signatures.
func FuzzRSAVerifier(f *testing.F) {
	key, _ := rsa.GenerateKey(rand.Reader, 512)
	v := newRSAVerifier(&key.PublicKey)
	d := digest(crypto.SHA256, []byte("x"))
	sig, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d)
	f.Add(sig)
	f.Fuzz(func(t *testing.T, sig []byte) {
		if got, want := v.verify(crypto.SHA256, d, sig), rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d, sig) == nil; got != want {
			t.Fatalf("verify=%v crypto/rsa=%v for %x", got, want, sig)
		}
	})
}

// BenchmarkRSAVerifier compares the cached Montgomery verifier with
// crypto/rsa.VerifyPKCS1v15 (raw PKCS#1 v1.5 verification, SHA-256).
func BenchmarkRSAVerifier(b *testing.B) {
	for _, bits := range []int{512, 1024, 2048} {
		key, _ := rsa.GenerateKey(rand.Reader, bits)
		d := digest(crypto.SHA256, []byte("x"))
		sig, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d)
		v := newRSAVerifier(&key.PublicKey)
		if f := newRSA512(&key.PublicKey, nil); f != nil {
			b.Run(fmt.Sprintf("fixed-%d", bits), func(b *testing.B) {
				cpu := cpuTime()
				for b.Loop() {
					if !f.verify(crypto.SHA256, d, sig) {
						b.Fatal("rejected")
					}
				}
				reportRates(b, cpu)
			})
		}
		b.Run(fmt.Sprintf("montgomery-%d", bits), func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				if !v.verify(crypto.SHA256, d, sig) {
					b.Fatal("rejected")
				}
			}
			reportRates(b, cpu)
		})
		b.Run(fmt.Sprintf("crypto-rsa-%d", bits), func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				if rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d, sig) != nil {
					b.Fatal("rejected")
				}
			}
			reportRates(b, cpu)
		})
	}
}

// BenchmarkRSASignShort compares the fixed-size 512-bit signer and the
// generic short-key signer with crypto/rsa.
func BenchmarkRSASignShort(b *testing.B) {
	key, _ := rsa.GenerateKey(rand.Reader, 512)
	v := newRSAVerifier(&key.PublicKey)
	f := newRSA512(&key.PublicKey, key)
	d := digest(crypto.SHA256, []byte("x"))
	for i := 0; i < 3; i++ {
		b.Run("fixed", func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				if _, ok := f.sign(crypto.SHA256, d); !ok {
					b.Fatal("refused")
				}
			}
			reportRates(b, cpu)
		})
		b.Run("short", func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				v.signShort(key, crypto.SHA256, d)
			}
			reportRates(b, cpu)
		})
		b.Run("crypto-rsa", func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				rsa.SignPKCS1v15(nil, key, crypto.SHA256, d)
			}
			reportRates(b, cpu)
		})
	}
}

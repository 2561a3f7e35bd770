//go:build !amd64 || purego

package dnssec

// montMul4 sets z = x·y·2^-256 mod n for x·y < n·2^256 (for instance one
// factor below n and the other any 4-word value); ninv = -n⁻¹ mod 2^64 and
// n must be odd. The result is fully reduced. z may alias x or y.
func montMul4(z, x, y, n *[4]uint64, ninv uint64) { montMul4Generic(z, x, y, n, ninv) }

// montSqr4 sets z = x²·2^-256 mod n for x < n; ninv = -n⁻¹ mod 2^64 and n
// must be odd. The result is fully reduced. z may alias x.
func montSqr4(z, x, n *[4]uint64, ninv uint64) { montSqr4Generic(z, x, n, ninv) }

// montMul8 is montMul4 for 8 words (R = 2^512).
func montMul8(z, x, y, n *[8]uint64, ninv uint64) { montMul8Generic(z, x, y, n, ninv) }

// montSqr8 is montSqr4 for 8 words (R = 2^512).
func montSqr8(z, x, n *[8]uint64, ninv uint64) { montSqr8Generic(z, x, n, ninv) }

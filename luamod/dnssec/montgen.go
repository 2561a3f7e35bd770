//go:build ignore

// montgen writes montfixed.go: Montgomery multiplication and squaring for
// fixed limb counts, fully unrolled so that every limb is a local variable
// and no bounds check or loop remains. Run with `go generate` in this
// directory (see the go:generate line in rsafast.go).
//
// Multiplication is CIOS (coarsely integrated operand scanning): for each
// word of x, add x[i]·y to the running sum, then add m·n with
// m = t0·(-n⁻¹) mod 2^64 and drop the (now zero) low word. Squaring first
// forms the full 2k-word square (each cross product once, doubled, plus the
// diagonal), then reduces it word by word. Both end with one conditional
// subtraction of n, done with a mask rather than a branch.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"os"
)

// sizes are the limb counts generated: 4 for the 256-bit CRT primes of a
// 512-bit key, 8 for its modulus.
var sizes = []int{4, 8}

type gen struct{ b bytes.Buffer }

func (g *gen) p(format string, args ...any) { fmt.Fprintf(&g.b, format+"\n", args...) }

// mulAcc emits dst, C = a·b + add + C (add may be "" for zero; carryIn ""
// means C is zero).
func (g *gen) mulAcc(dst, a, b, add string, withC bool) {
	g.p("hi, lo = bits.Mul64(%s, %s)", a, b)
	if add != "" {
		g.p("lo, c = bits.Add64(lo, %s, 0)", add)
		g.p("hi += c")
	}
	if withC {
		g.p("%s, c = bits.Add64(lo, C, 0)", dst)
		g.p("C = hi + c")
	} else {
		g.p("%s = lo", dst)
		g.p("C = hi")
	}
}

// finish emits the masked conditional subtraction of n from t0..t(k-1)
// with extra top word top, storing into z.
func (g *gen) finish(k int, t func(int) string, top string) {
	g.p("// Subtract n unless that borrows (the sum is below 2n).")
	g.p("var b uint64")
	for j := 0; j < k; j++ {
		g.p("s%d, b := bits.Sub64(%s, n[%d], b)", j, t(j), j)
	}
	g.p("_, b = bits.Sub64(%s, 0, b)", top)
	g.p("keep := -b // all ones: keep t")
	for j := 0; j < k; j++ {
		g.p("z[%d] = s%d ^ ((s%d ^ %s) & keep)", j, j, j, t(j))
	}
}

func (g *gen) mul(k int) {
	t := func(j int) string { return fmt.Sprintf("t%d", j) }
	g.p("// montMul%d sets z = x·y·2^-%d mod n for x·y < n·2^%d (for instance one", k, 64*k, 64*k)
	g.p("// factor below n and the other any %d-word value); ninv = -n⁻¹ mod 2^64.", k)
	g.p("// The result is fully reduced. z may alias x or y.")
	g.p("func montMul%d(z, x, y, n *[%d]uint64, ninv uint64) {", k, k)
	g.p("var hi, lo, c, C, m, xi uint64")
	decl := "var "
	for j := 0; j <= k+1; j++ {
		if j > 0 {
			decl += ", "
		}
		decl += t(j)
	}
	g.p("%s uint64", decl)
	for i := 0; i < k; i++ {
		g.p("// word %d of x", i)
		g.p("xi = x[%d]", i)
		for j := 0; j < k; j++ {
			add := t(j)
			if i == 0 {
				add = ""
			}
			g.mulAcc(t(j), "xi", fmt.Sprintf("y[%d]", j), add, j > 0)
		}
		if i == 0 {
			g.p("%s = C", t(k))
		} else {
			g.p("%s, %s = bits.Add64(%s, C, 0)", t(k), t(k+1), t(k))
		}
		g.p("m = t0 * ninv")
		g.p("hi, lo = bits.Mul64(m, n[0])")
		g.p("_, c = bits.Add64(lo, t0, 0)")
		g.p("C = hi + c")
		for j := 1; j < k; j++ {
			g.p("hi, lo = bits.Mul64(m, n[%d])", j)
			g.p("lo, c = bits.Add64(lo, %s, 0)", t(j))
			g.p("hi += c")
			g.p("%s, c = bits.Add64(lo, C, 0)", t(j-1))
			g.p("C = hi + c")
		}
		g.p("%s, c = bits.Add64(%s, C, 0)", t(k-1), t(k))
		if i == 0 {
			g.p("%s = c", t(k))
		} else {
			g.p("%s = %s + c", t(k), t(k+1))
		}
	}
	g.p("_ = %s", t(k+1))
	g.finish(k, t, t(k))
	g.p("}")
	g.p("")
}

func (g *gen) sqr(k int) {
	r := func(j int) string { return fmt.Sprintf("r%d", j) }
	g.p("// montSqr%d sets z = x²·2^-%d mod n for x < n; ninv = -n⁻¹ mod 2^64.", k, 64*k)
	g.p("// The result is fully reduced. z may alias x.")
	g.p("func montSqr%d(z, x, n *[%d]uint64, ninv uint64) {", k, k)
	g.p("var hi, lo, c, C, m, top uint64")
	decl := "var "
	for j := 0; j < 2*k; j++ {
		if j > 0 {
			decl += ", "
		}
		decl += r(j)
	}
	g.p("%s uint64", decl)
	for j := 0; j < k; j++ {
		g.p("x%d := x[%d]", j, j)
	}
	g.p("// Cross products x[i]·x[j], i < j.")
	for i := 0; i < k-1; i++ {
		for j := i + 1; j < k; j++ {
			add := r(i + j)
			if i == 0 {
				add = ""
			}
			g.mulAcc(r(i+j), fmt.Sprintf("x%d", i), fmt.Sprintf("x%d", j), add, j > i+1)
		}
		g.p("%s = C", r(i+k))
	}
	g.p("// Double them, then add the squares x[i]².")
	g.p("%s = %s >> 63", r(2*k-1), r(2*k-2))
	for j := 2*k - 2; j >= 2; j-- {
		g.p("%s = %s<<1 | %s>>63", r(j), r(j), r(j-1))
	}
	g.p("%s <<= 1", r(1))
	g.p("c = 0")
	for i := 0; i < k; i++ {
		g.p("hi, lo = bits.Mul64(x%d, x%d)", i, i)
		if i == 0 {
			g.p("r0 = lo")
			g.p("r1, c = bits.Add64(r1, hi, 0)")
		} else {
			g.p("%s, c = bits.Add64(%s, lo, c)", r(2*i), r(2*i))
			g.p("%s, c = bits.Add64(%s, hi, c)", r(2*i+1), r(2*i+1))
		}
	}
	g.p("// Reduce word by word; top carries into the next word up.")
	for i := 0; i < k; i++ {
		g.p("m = %s * ninv", r(i))
		g.p("hi, lo = bits.Mul64(m, n[0])")
		g.p("_, c = bits.Add64(lo, %s, 0)", r(i))
		g.p("C = hi + c")
		for j := 1; j < k; j++ {
			g.p("hi, lo = bits.Mul64(m, n[%d])", j)
			g.p("lo, c = bits.Add64(lo, %s, 0)", r(i+j))
			g.p("hi += c")
			g.p("%s, c = bits.Add64(lo, C, 0)", r(i+j))
			g.p("C = hi + c")
		}
		if i == 0 {
			g.p("%s, top = bits.Add64(%s, C, 0)", r(i+k), r(i+k))
		} else {
			g.p("%s, top = bits.Add64(%s, C, top)", r(i+k), r(i+k))
		}
	}
	g.finish(k, func(j int) string { return r(k + j) }, "top")
	g.p("}")
	g.p("")
}

func main() {
	g := &gen{}
	g.p("// Code generated by montgen.go; DO NOT EDIT.")
	g.p("")
	g.p("package dnssec")
	g.p("")
	g.p(`import "math/bits"`)
	g.p("")
	for _, k := range sizes {
		g.mul(k)
		g.sqr(k)
	}
	src, err := format.Source(g.b.Bytes())
	if err != nil {
		os.WriteFile("montfixed.go", g.b.Bytes(), 0o644)
		log.Fatal(err)
	}
	if err := os.WriteFile("montfixed.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}

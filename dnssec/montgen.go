//go:build ignore

// montgen writes montfixed.go and montfixed_amd64.s: Montgomery
// multiplication and squaring for fixed word counts, fully unrolled so that
// every index is a constant (no bounds checks, no loop). Run `go generate`
// in this directory after changing it (the go:generate line is in
// rsafast.go).
//
// montfixed.go holds the Go versions (montMul4Generic...), used on other
// targets and with -tags purego; montfixed_amd64.s the same computation
// with MULQ (montMul4Mulq...), plus operand-scanning versions with MULX,
// ADCX and ADOX (montMul4Adx...) for CPUs with BMI2 and ADX; mont_amd64.go
// picks one at start-up.
//
// The Go and MULQ versions scan products column by column (product scanning,
// "FIPS" Montgomery): column i of the result gathers every x[j]·y[i-j]
// and m[j]·n[i-j] into a three-word accumulator; for the low k columns the
// word m[i] = a0·(-n⁻¹) mod 2^64 is chosen so that adding m[i]·n[0] clears
// the column, and the high k columns are the result. Squaring adds each
// cross product x[j]·x[i-j] (j < i-j) twice and each x[i/2]² once. The
// result is below 2n; one conditional subtraction, done with a mask rather
// than a branch, reduces it fully.
//
// In Go the form was chosen by measurement (BenchmarkMont): on amd64 it
// beat operand scanning (CIOS) by 10–30% for 4 and 8 words, mostly because
// the compiler keeps the three-word accumulator's carries in flags
// (ADD/ADC/ADC per product) instead of materialising them. It still spills
// most products to the stack, hence the assembly.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"os"
)

// sizes are the word counts generated: 4 for the 256-bit CRT primes of a
// 512-bit key, 8 for its modulus.
var sizes = []int{4, 8}

type gen struct{ b bytes.Buffer }

func (g *gen) p(format string, args ...any) { fmt.Fprintf(&g.b, format+"\n", args...) }

// acc emits a0:a1:a2 += a·b, times twice.
func (g *gen) acc(a, b string, times int) {
	g.p("hi, lo = bits.Mul64(%s, %s)", a, b)
	for i := 0; i < times; i++ {
		g.p("a0, c = bits.Add64(a0, lo, 0)")
		g.p("a1, c = bits.Add64(a1, hi, c)")
		g.p("a2, _ = bits.Add64(a2, 0, c)")
	}
}

// scan emits the body of a k-word Montgomery product; cross(i) emits the
// x·y terms of column i.
func (g *gen) scan(k int, cross func(i int)) {
	g.p("var hi, lo, c, a0, a1, a2 uint64")
	for j := 0; j < k; j++ {
		g.p("var m%d, t%d uint64", j, j)
	}
	for i := 0; i < 2*k-1; i++ {
		g.p("// column %d", i)
		cross(i)
		for j := max(0, i-k+1); j < min(i, k); j++ {
			g.acc(fmt.Sprintf("m%d", j), fmt.Sprintf("n[%d]", i-j), 1)
		}
		if i < k {
			g.p("m%d = a0 * ninv", i)
			g.acc(fmt.Sprintf("m%d", i), "n[0]", 1)
		} else {
			g.p("t%d = a0", i-k)
		}
		g.p("a0, a1, a2 = a1, a2, 0")
	}
	g.p("t%d = a0", k-1)
	g.p("// The sum t + a1·2^%d is below 2n: subtract n unless that borrows.", 64*k)
	g.p("var b uint64")
	for j := 0; j < k; j++ {
		g.p("s%d, b := bits.Sub64(t%d, n[%d], b)", j, j, j)
	}
	g.p("_, b = bits.Sub64(a1, 0, b)")
	g.p("keep := -b // all ones: keep t")
	for j := 0; j < k; j++ {
		g.p("z[%d] = s%d ^ ((s%d ^ t%d) & keep)", j, j, j, j)
	}
	g.p("}")
	g.p("")
}

func (g *gen) mul(k int) {
	g.p("// montMul%dGeneric is montMul%d in Go.", k, k)
	g.p("func montMul%dGeneric(z, x, y, n *[%d]uint64, ninv uint64) {", k, k)
	g.scan(k, func(i int) {
		for j := max(0, i-k+1); j <= min(i, k-1); j++ {
			g.acc(fmt.Sprintf("x[%d]", j), fmt.Sprintf("y[%d]", i-j), 1)
		}
	})
}

func (g *gen) sqr(k int) {
	g.p("// montSqr%dGeneric is montSqr%d in Go.", k, k)
	g.p("func montSqr%dGeneric(z, x, n *[%d]uint64, ninv uint64) {", k, k)
	g.scan(k, func(i int) {
		for j := max(0, i-k+1); j < i-j; j++ {
			g.acc(fmt.Sprintf("x[%d]", j), fmt.Sprintf("x[%d]", i-j), 2)
		}
		if i%2 == 0 {
			g.acc(fmt.Sprintf("x[%d]", i/2), fmt.Sprintf("x[%d]", i/2), 1)
		}
	})
}

// asm emits the amd64 assembly version of the k-word product (sqr: x²).
// The same column scan as scan, with the accumulator in R8:R9:R10, x, y
// and n addressed through SI, DI and CX, ninv in R11, and the words m[j]
// and the result words t[j] in the local frame (m at 0, t at 8k).
// Without spills every product costs one load, MULQ and ADDQ/ADCQ/ADCQ.
func (g *gen) asm(k int, sqr bool) {
	name, args := "montMul", 40
	if sqr {
		name, args = "montSqr", 32
	}
	g.p("// func %s%dMulq(z, x%s, n *[%d]uint64, ninv uint64)", name, k, map[bool]string{false: ", y", true: ""}[sqr], k)
	g.p("TEXT ·%s%dMulq(SB), NOSPLIT, $%d-%d", name, k, 16*k, args)
	g.p("\tMOVQ x+8(FP), SI")
	if sqr {
		g.p("\tMOVQ n+16(FP), CX")
		g.p("\tMOVQ ninv+24(FP), R11")
	} else {
		g.p("\tMOVQ y+16(FP), DI")
		g.p("\tMOVQ n+24(FP), CX")
		g.p("\tMOVQ ninv+32(FP), R11")
	}
	g.p("\tXORQ R8, R8")
	g.p("\tXORQ R9, R9")
	g.p("\tXORQ R10, R10")
	add := func() {
		g.p("\tADDQ AX, R8")
		g.p("\tADCQ DX, R9")
		g.p("\tADCQ $0, R10")
	}
	for i := 0; i < 2*k-1; i++ {
		g.p("\t// column %d", i)
		if sqr {
			for j := max(0, i-k+1); j < i-j; j++ {
				g.p("\tMOVQ %d(SI), AX", 8*j)
				g.p("\tMULQ %d(SI)", 8*(i-j))
				add()
				add()
			}
			if i%2 == 0 {
				g.p("\tMOVQ %d(SI), AX", 8*(i/2))
				g.p("\tMULQ AX")
				add()
			}
		} else {
			for j := max(0, i-k+1); j <= min(i, k-1); j++ {
				g.p("\tMOVQ %d(SI), AX", 8*j)
				g.p("\tMULQ %d(DI)", 8*(i-j))
				add()
			}
		}
		for j := max(0, i-k+1); j < min(i, k); j++ {
			g.p("\tMOVQ %d(SP), AX", 8*j)
			g.p("\tMULQ %d(CX)", 8*(i-j))
			add()
		}
		if i < k {
			g.p("\tMOVQ R8, AX")
			g.p("\tIMULQ R11, AX")
			g.p("\tMOVQ AX, %d(SP)", 8*i)
			g.p("\tMULQ 0(CX)")
			add()
		} else {
			g.p("\tMOVQ R8, %d(SP)", 8*k+8*(i-k))
		}
		g.p("\tMOVQ R9, R8")
		g.p("\tMOVQ R10, R9")
		g.p("\tXORQ R10, R10")
	}
	g.p("\tMOVQ R8, %d(SP)", 8*k+8*(k-1))
	g.p("\t// The sum t + R9·2^%d is below 2n: subtract n unless that borrows.", 64*k)
	regs := []string{"AX", "DX", "BX", "SI", "R8", "R10", "R11", "R12", "R13", "DI"}[:k]
	for j, r := range regs {
		g.p("\tMOVQ %d(SP), %s", 8*k+8*j, r)
		if j == 0 {
			g.p("\tSUBQ 0(CX), %s", r)
		} else {
			g.p("\tSBBQ %d(CX), %s", 8*j, r)
		}
	}
	g.p("\tSBBQ $0, R9")
	for j, r := range regs {
		g.p("\tCMOVQCS %d(SP), %s", 8*k+8*j, r)
	}
	g.p("\tMOVQ z+0(FP), CX")
	for j, r := range regs {
		g.p("\tMOVQ %s, %d(CX)", r, 8*j)
	}
	g.p("\tRET")
	g.p("")
}

// adx emits the BMI2/ADX version (MULX, ADCX, ADOX): operand scanning
// (CIOS) with the running sum t[0..k+1] in registers and two carry chains
// per row, one through the low halves of the products (OF) and one
// through the high halves (CF). y (x for squaring) and n are first copied
// to the frame (y at 0, n at 8k) so that no register holds their
// addresses. After each row's reduction t[0] is zero; the generator
// renames registers instead of shifting, the zero word becoming the new
// t[k+1].
func (g *gen) adx(k int, sqr bool) {
	name, args := "montMul", 40
	if sqr {
		name, args = "montSqr", 32
	}
	g.p("// func %s%dAdx(z, x%s, n *[%d]uint64, ninv uint64)", name, k, map[bool]string{false: ", y", true: ""}[sqr], k)
	g.p("TEXT ·%s%dAdx(SB), NOSPLIT, $%d-%d", name, k, 16*k, args)
	yArg, nArg, ninvArg := "y+16(FP)", "n+24(FP)", "ninv+32(FP)"
	if sqr {
		yArg, nArg, ninvArg = "x+8(FP)", "n+16(FP)", "ninv+24(FP)"
	}
	for _, c := range []struct {
		arg string
		off int
	}{{yArg, 0}, {nArg, 8 * k}} {
		g.p("\tMOVQ %s, SI", c.arg)
		for j := 0; j < k; j++ {
			g.p("\tMOVQ %d(SI), AX", 8*j)
			g.p("\tMOVQ AX, %d(SP)", c.off+8*j)
		}
	}
	all := []string{"CX", "SI", "DI", "R8", "R9", "R10", "R11", "R12", "R13", "R14"}
	t := append([]string(nil), all[:k+2]...)
	for _, r := range t {
		g.p("\tXORQ %s, %s", r, r)
	}
	g.p("\tXORQ R15, R15 // zero")
	row := func(off int) {
		g.p("\tXORQ AX, AX // clear CF and OF")
		for j := 0; j < k; j++ {
			g.p("\tMULXQ %d(SP), AX, BX", off+8*j)
			g.p("\tADOXQ AX, %s", t[j])
			g.p("\tADCXQ BX, %s", t[j+1])
		}
		g.p("\tADOXQ R15, %s", t[k])
		g.p("\tADCXQ R15, %s", t[k+1])
		g.p("\tADOXQ R15, %s", t[k+1])
	}
	for i := 0; i < k; i++ {
		g.p("\t// row %d: t += x[%d]·y", i, i)
		g.p("\tMOVQ x+8(FP), DX")
		g.p("\tMOVQ %d(DX), DX", 8*i)
		row(0)
		g.p("\t// t += m·n with m = t[0]·ninv, which clears t[0]")
		g.p("\tMOVQ %s, DX", t[0])
		g.p("\tIMULQ %s, DX", ninvArg)
		row(8 * k)
		t = append(t[1:], t[0])
	}
	g.p("\t// The sum t + %s·2^%d is below 2n: subtract n unless that borrows.", t[k], 64*k)
	for j := 0; j < k; j++ {
		g.p("\tMOVQ %s, %d(SP)", t[j], 8*j)
	}
	for j := 0; j < k; j++ {
		if j == 0 {
			g.p("\tSUBQ %d(SP), %s", 8*k, t[j])
		} else {
			g.p("\tSBBQ %d(SP), %s", 8*k+8*j, t[j])
		}
	}
	g.p("\tSBBQ $0, %s", t[k])
	for j := 0; j < k; j++ {
		g.p("\tCMOVQCS %d(SP), %s", 8*j, t[j])
	}
	g.p("\tMOVQ z+0(FP), DX")
	for j := 0; j < k; j++ {
		g.p("\tMOVQ %s, %d(DX)", t[j], 8*j)
	}
	g.p("\tRET")
	g.p("")
}

func main() {
	a := &gen{}
	a.p("// Code generated by montgen.go; DO NOT EDIT.")
	a.p("")
	a.p("//go:build amd64 && !purego")
	a.p("")
	a.p(`#include "textflag.h"`)
	a.p("")
	for _, k := range sizes {
		a.asm(k, false)
		a.asm(k, true)
		a.adx(k, false)
		a.adx(k, true)
	}
	if err := os.WriteFile("montfixed_amd64.s", a.b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}

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
		log.Fatal(err)
	}
	if err := os.WriteFile("montfixed.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}

//go:build amd64 && !purego

package dnssec

// archImpls4 and archImpls8 are the assembly versions this CPU can run.
func archImpls4() []montImpl[[4]uint64] {
	l := []montImpl[[4]uint64]{{"Mulq", montMul4Mulq, montSqr4Mulq}}
	if useADX {
		l = append(l, montImpl[[4]uint64]{"Adx", montMul4Adx, montSqr4Adx})
	}
	return l
}

func archImpls8() []montImpl[[8]uint64] {
	l := []montImpl[[8]uint64]{{"Mulq", montMul8Mulq, montSqr8Mulq}}
	if useADX {
		l = append(l, montImpl[[8]uint64]{"Adx", montMul8Adx, montSqr8Adx})
	}
	return l
}

//go:build !amd64 || purego

package dnssec

// archImpls4 and archImpls8 are the assembly versions this CPU can run:
// none here.
func archImpls4() []montImpl[[4]uint64] { return nil }

func archImpls8() []montImpl[[8]uint64] { return nil }

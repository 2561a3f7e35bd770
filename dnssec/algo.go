package dnssec

import (
	"crypto"
	"fmt"
	"slices"
)

// DNSSEC algorithm numbers (RFC 8624 registry) this package knows.
const (
	AlgInvalid         = 0
	AlgDH              = 1
	AlgDSA             = 2
	AlgDSASHA1         = 3
	AlgRSASHA1         = 5
	AlgDSASHA1NSEC3    = 6
	AlgRSASHA1NSEC3    = 7
	AlgRSASHA256       = 8
	AlgRSASHA512       = 10
	AlgECCGOST         = 12
	AlgECDSAP256SHA256 = 13
	AlgECDSAP384SHA384 = 14
	AlgED25519         = 15
	AlgED448           = 16
)

// keyKind is the kind of public-key cryptography an algorithm uses.
type keyKind int

const (
	kindNone keyKind = iota
	kindRSA
	kindECDSA
	kindEd25519
)

// algoInfo describes one supported signing algorithm.
type algoInfo struct {
	kind   keyKind
	hash   crypto.Hash // digest signed (0 for Ed25519, which signs the message)
	size   int         // ECDSA coordinate size / Ed25519 key size in bytes
	name   string      // mnemonic as BIND and RFC 8624 spell it
	native bool        // supported for signing and verification
}

// algos lists every algorithm this package knows by number: the supported
// ones and those it names in its refusals.
var algos = map[uint8]algoInfo{
	AlgInvalid:         {name: "INVALID"},
	AlgDH:              {name: "DH"},
	AlgDSA:             {name: "DSA"},
	AlgDSASHA1:         {name: "DSASHA1"},
	AlgRSASHA1:         {kindRSA, crypto.SHA1, 0, "RSASHA1", true},
	AlgDSASHA1NSEC3:    {name: "DSA-NSEC3-SHA1"},
	AlgRSASHA1NSEC3:    {kindRSA, crypto.SHA1, 0, "RSASHA1-NSEC3-SHA1", true},
	AlgRSASHA256:       {kindRSA, crypto.SHA256, 0, "RSASHA256", true},
	AlgRSASHA512:       {kindRSA, crypto.SHA512, 0, "RSASHA512", true},
	AlgECCGOST:         {name: "ECC-GOST"},
	AlgECDSAP256SHA256: {kindECDSA, crypto.SHA256, 32, "ECDSAP256SHA256", true},
	AlgECDSAP384SHA384: {kindECDSA, crypto.SHA384, 48, "ECDSAP384SHA384", true},
	AlgED25519:         {kindEd25519, 0, 32, "ED25519", true},
	AlgED448:           {name: "ED448"},
}

// Algorithms returns the numbers of every algorithm this package knows
// (AlgInvalid to AlgED448), sorted; Supported says which can sign and verify.
func Algorithms() []uint8 {
	out := make([]uint8, 0, len(algos))
	for a := range algos {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// AlgorithmName returns the mnemonic of algorithm a ("ALG<n>" if unknown).
func AlgorithmName(a uint8) string {
	if i, ok := algos[a]; ok {
		return i.name
	}
	return fmt.Sprintf("ALG%d", a)
}

// nativeAlgos indexes the supported entries of algos by number, so that
// the per-signature lookup is an array load rather than a map access.
var nativeAlgos = func() (t [256]*algoInfo) {
	for a, i := range algos {
		if i.native {
			t[a] = &i
		}
	}
	return t
}()

// lookupAlgo returns the description of a supported algorithm, or an error
// naming why a is not usable.
func lookupAlgo(a uint8) (algoInfo, error) {
	if p := nativeAlgos[a]; p != nil {
		return *p, nil
	}
	i, ok := algos[a]
	switch {
	case a == AlgInvalid:
		return i, ErrNoAlgorithm
	case ok && i.native:
		return i, nil
	case a == AlgED448:
		return i, fmt.Errorf("%w 16 (ED448): Ed448 is not implemented by Go's crypto library", ErrAlgorithm)
	}
	return i, fmt.Errorf("%w %d (%s)", ErrAlgorithm, a, AlgorithmName(a))
}

// Supported reports whether algorithm a can sign and verify.
func Supported(a uint8) bool {
	_, err := lookupAlgo(a)
	return err == nil
}

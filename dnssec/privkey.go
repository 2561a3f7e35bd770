package dnssec

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// ParsePrivateKey decodes a private key in one of these formats:
//
//   - PEM "PRIVATE KEY" (PKCS#8: RSA, ECDSA P-256/P-384, Ed25519)
//   - PEM "RSA PRIVATE KEY" (PKCS#1) and "EC PRIVATE KEY" (SEC 1)
//   - the BIND/ldns "Private-key-format: v1.x" text (K*.private files)
//
// It also returns the algorithm named by a BIND file (0 for PEM).
// Encrypted PEM is not supported.
func ParsePrivateKey(data []byte) (crypto.Signer, uint8, error) {
	text := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case bytes.HasPrefix(text, []byte("-----BEGIN")):
		k, err := parsePEM(text)
		return k, 0, err
	case bytes.HasPrefix(text, []byte("Private-key-format:")):
		return parseBIND(string(text))
	}
	return nil, 0, fmt.Errorf("%w: expected PEM or a BIND Private-key-format file", ErrPrivateKey)
}

// parsePEM decodes the first PEM block of data.
func parsePEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: malformed PEM", ErrPrivateKey)
	}
	if _, ok := block.Headers["DEK-Info"]; ok || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, fmt.Errorf("%w: encrypted PEM keys are not supported", ErrPrivateKey)
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w: unsupported PEM block %q", ErrPrivateKey, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrPrivateKey, strings.TrimPrefix(err.Error(), "x509: "))
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		if n := k.Curve.Params().Name; n != "P-256" && n != "P-384" {
			return nil, fmt.Errorf("%w: unsupported curve %s", ErrPrivateKey, n)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%w: unsupported key type %T", ErrPrivateKey, key)
}

// pemEncode wraps der in a PEM block of type typ.
func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// parseBIND decodes the "Private-key-format: v1.2/v1.3" text that
// dnssec-keygen, ldns-keygen and keymgr write.
func parseBIND(text string) (crypto.Signer, uint8, error) {
	fields := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, 0, fmt.Errorf("%w: bad line %q in BIND key file", ErrPrivateKey, clip(line))
		}
		fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if v := fields["private-key-format"]; !strings.HasPrefix(v, "v1.") {
		return nil, 0, fmt.Errorf("%w: unsupported Private-key-format %q", ErrPrivateKey, clip(v))
	}
	alg, _, _ := strings.Cut(fields["algorithm"], " ")
	n, err := strconv.ParseUint(alg, 10, 8)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: bad Algorithm field in BIND key file", ErrPrivateKey)
	}
	algo := uint8(n)
	info, err := lookupAlgo(algo)
	if err != nil {
		return nil, 0, err
	}
	b64 := func(name string) ([]byte, error) {
		v, ok := fields[strings.ToLower(name)]
		if !ok {
			return nil, fmt.Errorf("%w: BIND key file lacks %s", ErrPrivateKey, name)
		}
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("%w: bad base64 in %s", ErrPrivateKey, name)
		}
		return b, nil
	}
	switch info.kind {
	case kindRSA:
		var v [5]*big.Int
		for i, name := range []string{"Modulus", "PublicExponent", "PrivateExponent", "Prime1", "Prime2"} {
			b, err := b64(name)
			if err != nil {
				return nil, 0, err
			}
			v[i] = new(big.Int).SetBytes(b)
		}
		if !v[1].IsInt64() || v[1].Int64() > 1<<31-1 || v[1].Int64() < 3 {
			return nil, 0, fmt.Errorf("%w: bad RSA public exponent", ErrPrivateKey)
		}
		if v[0].BitLen() < minRSABits || v[0].BitLen() > maxRSABits {
			return nil, 0, fmt.Errorf("%w: RSA modulus of %d bits", ErrPrivateKey, v[0].BitLen())
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: v[0], E: int(v[1].Int64())}, D: v[2], Primes: []*big.Int{v[3], v[4]}}
		if err := k.Validate(); err != nil {
			return nil, 0, fmt.Errorf("%w: %s", ErrPrivateKey, strings.TrimPrefix(err.Error(), "crypto/rsa: "))
		}
		k.Precompute()
		return k, algo, nil
	case kindECDSA:
		d, err := b64("PrivateKey")
		if err != nil {
			return nil, 0, err
		}
		curve := elliptic.P256()
		if info.size == 48 {
			curve = elliptic.P384()
		}
		if len(d) > info.size {
			return nil, 0, fmt.Errorf("%w: %s private key of %d bytes", ErrPrivateKey, info.name, len(d))
		}
		k, err := ecdsa.ParseRawPrivateKey(curve, append(make([]byte, info.size-len(d)), d...))
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %s", ErrPrivateKey, strings.TrimPrefix(err.Error(), "ecdsa: "))
		}
		return k, algo, nil
	case kindEd25519:
		seed, err := b64("PrivateKey")
		if err != nil {
			return nil, 0, err
		}
		if len(seed) != ed25519.SeedSize {
			return nil, 0, fmt.Errorf("%w: ED25519 private key must be 32 bytes, got %d", ErrPrivateKey, len(seed))
		}
		return ed25519.NewKeyFromSeed(seed), algo, nil
	}
	return nil, 0, ErrAlgorithm
}

// clip shortens s for error messages.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

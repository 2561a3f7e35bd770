// Package validator is ljdns's DNSSEC validator (RFC 4033–4035, 5155, 6840),
// in plain Go on ljdns/dnsmsg and ljdns/dnssec; it knows nothing of
// transports (the caller says how to ask) and imports no Lua package.
//
//	v, err := validator.New(validator.Config{AnchorFiles: []string{"root.keys"}})
//	res := v.Validate(ctx, query, answer, fetch) // answer was fetched with DO and CD
//	switch res.Security {
//	case validator.Secure:   // set AD
//	case validator.Bogus:    // SERVFAIL with EDE res.EDE; res.Reason says why
//	}
//
// The chain of trust starts at the configured trust anchors (DS or DNSKEY
// records in zone-file form, strings or files) and goes down one label at a
// time: for each name between the anchor and the zone that signed the data
// it asks (through the Fetcher) for the DS, which is either a signed DS set
// (the zone's DNSKEY set is then fetched and checked against it), or a
// signed NSEC/NSEC3 proof that the name is an unsigned delegation
// (insecure from there down), inside its parent's zone, or absent. What it
// learns is cached by TTL (DNSKEY, DS and NSEC TTLs, RRSIG expirations),
// so validating more answers of a known zone asks only for the answer.
//
// Verdicts: Secure, Insecure (an insecure delegation, a negative trust
// anchor, a parent's DS set of algorithms or digests this package lacks,
// EDE 1 and 2, or NSEC3 with more iterations than IterationsCap, EDE 27
// as RFC 9276 §3.2 allows; a trust anchor of no supported algorithm is
// Bogus, EDE 1, as in kresd), Bogus with a reason and an RFC 8914 code (7 expired, 8 not
// yet valid, 9 no DNSKEY for the DS or the RRSIG, 10 RRSIG missing, 12
// NSEC/NSEC3 proof missing, 6 anything else), and Indeterminate (no anchor
// above the name, or nothing to validate such as a SERVFAIL).
//
// Answers: each RR set on the CNAME/DNAME chain from the question name is
// verified with the keys of its signer; a wildcard expansion needs the
// NSEC/NSEC3 proof that no closer name exists; NXDOMAIN and NODATA need
// their NSEC (RFC 4035 §5.4) or NSEC3 (RFC 5155 §8, opt-out included)
// proofs; unsigned data is insecure only where the chain proves its zone
// unsigned. The worst verdict of the parts is the answer's.
//
// KeyTrap (CVE-2023-50387): one Validate call verifies at most
// MaxSigChecks signatures (chain included), tries at most MaxSigsPerSet
// RRSIGs per RR set and at most MaxKeyTagCollisions DNSKEYs per RRSIG;
// SigChecks counts them. All algorithms of ljdns/dnssec are validated
// (RSA/SHA-1, RSA/SHA-256, RSA/SHA-512, ECDSA P-256 and P-384, Ed25519).
package validator

package dnssec

import (
	"syscall"
	"time"

	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"testing"

	"ljdns/dnsmsg"
)

// benchKeys returns the keys measured: the two sample keys (as
// examples/bench.lua uses them) plus RSA-2048, P-384 and Ed25519.
func benchKeys(b *testing.B) []struct {
	name string
	key  *Key
} {
	s := loadSamples(b)
	load := func(algo uint8, pem []byte) *Key {
		k := NewKey()
		k.SetAlgorithm(algo)
		if err := k.SetPrivateKey(pem); err != nil {
			b.Fatal(err)
		}
		return k
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(rk)
	return []struct {
		name string
		key  *Key
	}{
		{"ECDSAP256SHA256", load(13, s["ecdsa"].pem)},
		{"RSASHA256-512", load(8, s["rsa"].pem)},
		{"RSASHA256-2048", load(8, pemEncode("PRIVATE KEY", der))},
		{"ECDSAP384SHA384", genKey(b, 14)},
		{"ED25519", genKey(b, 15)},
	}
}

// benchRRSet is a two-record A RRset, like the spec's.
func benchRRSet() *dnsmsg.RRSet {
	return &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: []byte("\x03www\x07example\x03com\x00")}, Type: 1, Class: 1, TTL: 3600,
		RData: [][]byte{{192, 0, 2, 1}, {192, 0, 2, 2}}}
}

func BenchmarkSignRRSet(b *testing.B) {
	for _, c := range benchKeys(b) {
		b.Run(c.name, func(b *testing.B) {
			rr := benchRRSet()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := c.key.SignRRSet(rr, 1000, 2000, nil); err != nil {
					b.Fatal(err)
				}
			}
			reportRates(b, cpu)
		})
	}
}

func BenchmarkVerifyRRSet(b *testing.B) {
	for _, c := range benchKeys(b) {
		b.Run(c.name, func(b *testing.B) {
			rr := benchRRSet()
			sig, err := c.key.SignRRSet(rr, 1000, 2000, nil)
			if err != nil {
				b.Fatal(err)
			}
			cpu := cpuTime()
			for b.Loop() {
				if err := c.key.VerifyRRSet(rr, sig, 1500); err != nil {
					b.Fatal(err)
				}
			}
			reportRates(b, cpu)
		})
	}
}

// cpuTime returns the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRates reports operations per wall-clock second and per CPU second
// used since start (the latter is what a shared, loaded machine can
// compare; it includes the garbage collector's work).
func reportRates(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	if cpu := cpuTime() - start; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "ops/cpu-s")
	}
}

// ExampleKey_SignRRSet signs and verifies an RRset with the sample key.
func ExampleKey_SignRRSet() {
	k := NewKey()
	k.SetAlgorithm(AlgECDSAP256SHA256)
	k.SetPrivateKey([]byte(`-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDZcwbznuDxZ4vjNL
pPGUBV8JQBi08m/cuELRm1Qv4EOhRANCAASuwlZH+fC6fCJZInbyQ9NNM4fig+ZG
6H8mEg/hWPTuIg0A8qWhrLEkM/QGExjPjRsISdrGGMloatz/ZRiL/CmP
-----END PRIVATE KEY-----
`))
	rr := benchRRSet()
	rd, _ := k.SignRRSet(rr, 1700000000, 1700086400, nil)
	r, _ := ParseRRSIG(rd)
	fmt.Println(r.Algorithm, r.Labels, r.KeyTag, len(r.Signature), k.VerifyRRSet(rr, rd, 1700000100))
	// Output: 13 3 47122 64 <nil>
}

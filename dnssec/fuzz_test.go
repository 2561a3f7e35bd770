package dnssec

import (
	"testing"

	"ljdns/dnsmsg"
)

// FuzzParse feeds arbitrary bytes to every parser of externally supplied
// key and signature material: DNSKEY RDATA, raw public keys of each
// algorithm, private keys (PEM, BIND text), RRSIG RDATA and RRSIG
// verification. None may panic; errors are expected.
func FuzzParse(f *testing.F) {
	s := loadSamples(f)
	ec, rs := s["ecdsa"], s["rsa"]
	ecKey := NewKey()
	ecKey.SetAlgorithm(AlgECDSAP256SHA256)
	ecKey.SetPrivateKey(ec.pem)
	rr := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: []byte("\x07example\x00")}, Type: 1, Class: 1, TTL: 60,
		RData: [][]byte{{1, 2, 3, 4}}}
	sig, _ := ecKey.SignRRSet(rr, 0, 1<<31, nil)
	for _, seed := range [][]byte{ec.rdata, rs.rdata, ec.pem, rs.pem, sig, ec.output, rs.pub,
		[]byte("Private-key-format: v1.3\nAlgorithm: 15 (ED25519)\nPrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=\n"),
		[]byte("Private-key-format: v1.3\nAlgorithm: 8 (RSASHA256)\nModulus: AQAB\nPublicExponent: AQAB\n"),
		[]byte("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		NewKey().SetRData(data)
		for _, a := range allAlgos {
			k := NewKey()
			k.SetAlgorithm(a)
			if k.SetPublicKey(data) == nil {
				k.VerifyData([]byte("x"), data)
				k.Tag()
			}
			k.SetPrivateKey(data)
		}
		if k := NewKey(); k.SetPrivateKey(data) == nil {
			if _, err := k.SignData([]byte("x")); err != nil {
				t.Fatalf("loaded key cannot sign: %v", err)
			}
		}
		if r, err := ParseRRSIG(data); err == nil && len(r.Signature) == 0 {
			t.Fatal("RRSIG without signature accepted")
		}
		ecKey.VerifyRRSet(rr, data, 1000)
		ecKey.VerifyData(ec.input, data)
		canonicalRData(uint16(len(data)%64), data)
		if p := Predecessor(data); p != nil {
			if n, err := wireNameLen(p); err != nil || n != len(p) {
				t.Fatalf("predecessor %q is not a name", p)
			}
		}
		Successor(data)
		Cover(data, 0)
	})
}

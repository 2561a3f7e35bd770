package authority

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// benchSigned returns the benchmark zone (1000 names with an A record)
// signed on line by one key (a CSK) of testdata/keys, and its Signer.
func benchSigned(b *testing.B, keyFile string, d Denial) (*Engine, *Signer) {
	var s strings.Builder
	s.WriteString("@ 3600 SOA ns hm 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.53\n*.wild A 192.0.2.99\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&s, "h%d A 192.0.2.%d\n", i, i%250)
	}
	z, err := ParseZone("bench.test.", strings.NewReader(s.String()), "bench")
	if err != nil {
		b.Fatal(err)
	}
	keys, err := LoadKeys("bench.test.", []string{"testdata/keys/" + keyFile}, "", nil)
	if err != nil {
		b.Fatal(err)
	}
	sg, err := NewSigner("bench.test.", keys, SignOptions{Denial: d})
	if err != nil {
		b.Fatal(err)
	}
	if err := z.Sign(sg); err != nil {
		b.Fatal(err)
	}
	e := New(Options{})
	e.Add(z)
	return e, sg
}

// BenchmarkSignedAnswer measures answers/s with DO from a zone signed on
// line, over 1000 distinct names: "cold" empties the signature cache
// before each round of the 1000 names, so every answer is signed; "warm"
// answers from the cache. positive: h<i>.bench.test A; nxdomain:
// nx<i>.bench.test A (white lies: the next closer name's NSEC is signed
// per name, the SOA and wildcard proofs are shared). Algorithms: ECDSA
// P-256, Ed25519, RSA-2048 (one key each, as a CSK).
//
//	go test ./authority/ -run '^$' -bench SignedAnswer -benchtime 2s
func BenchmarkSignedAnswer(b *testing.B) {
	var pos, nx []string
	for i := 0; i < 1000; i++ {
		pos = append(pos, fmt.Sprintf("h%d.bench.test.", i))
		nx = append(nx, fmt.Sprintf("nx%d.bench.test.", i))
	}
	qpos := packQueries(b, pos, dns.TypeA, true)
	qnx := packQueries(b, nx, dns.TypeA, true)
	for _, alg := range []struct{ name, key string }{
		{"ECDSAP256", "ecdsa/Konline.test.+013+63410"},
		{"Ed25519", "ed25519/Konline.test.+015+50717"},
		{"RSA2048", "rsa/Konline.test.+008+52200"},
	} {
		e, s := benchSigned(b, alg.key, WhiteLies)
		for _, kind := range []struct {
			name string
			qs   [][]byte
		}{{"positive", qpos}, {"nxdomain", qnx}} {
			for _, warm := range []bool{false, true} {
				name := alg.name + "/" + kind.name + "/cold"
				if warm {
					name = alg.name + "/" + kind.name + "/warm"
				}
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					s.FlushCache()
					if warm {
						for _, q := range kind.qs {
							e.Answer(q, false)
						}
					}
					before := s.Stats().Signed
					i := 0
					for b.Loop() {
						if !warm && i%len(kind.qs) == 0 {
							s.FlushCache()
						}
						if out := e.Answer(kind.qs[i%len(kind.qs)], false); len(out) < 100 {
							b.Fatal("no answer")
						}
						i++
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
					b.ReportMetric(float64(s.Stats().Signed-before)/float64(b.N), "signs/answer")
				})
			}
		}
	}
}

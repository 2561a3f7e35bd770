package authority

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// benchZone is a zone of n names with an A record each (the issue's
// dnsperf workload: 1000 names, type A).
func benchZone(b *testing.B, n int) *Engine {
	var s strings.Builder
	s.WriteString("@ 3600 SOA ns hm 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.53\n*.wild A 192.0.2.99\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&s, "h%d A 192.0.2.%d\n", i, i%250)
	}
	z, err := ParseZone("bench.test.", strings.NewReader(s.String()), "bench")
	if err != nil {
		b.Fatal(err)
	}
	e := New(Options{})
	e.Add(z)
	return e
}

func packQueries(b *testing.B, names []string, qt uint16, do bool) [][]byte {
	var out [][]byte
	for _, n := range names {
		m := new(dns.Msg)
		m.SetQuestion(n, qt)
		if do {
			m.SetEdns0(1232, true)
		}
		w, err := m.Pack()
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, w)
	}
	return out
}

// BenchmarkAnswer measures answers/s of Answer over UDP for the kinds of
// answer: positive (1000 names), NXDOMAIN, wildcard, referral, CNAME chain.
func BenchmarkAnswer(b *testing.B) {
	var names []string
	for i := 0; i < 1000; i++ {
		names = append(names, fmt.Sprintf("h%d.bench.test.", i))
	}
	e := benchZone(b, 1000)
	t := testEngine(b, Options{})
	for _, c := range []struct {
		name string
		e    *Engine
		qs   [][]byte
	}{
		{"positive", e, packQueries(b, names, dns.TypeA, false)},
		{"positive_edns", e, packQueries(b, names, dns.TypeA, true)},
		{"nxdomain", e, packQueries(b, []string{"nx.bench.test.", "a.b.bench.test."}, dns.TypeA, false)},
		{"wildcard", e, packQueries(b, []string{"x.wild.bench.test."}, dns.TypeA, false)},
		{"referral", t, packQueries(b, []string{"www.sub.example.test."}, dns.TypeA, false)},
		{"cname_chain", t, packQueries(b, []string{"chain1.example.test."}, dns.TypeA, false)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if c.e.Answer(c.qs[i%len(c.qs)], false) == nil {
					b.Fatal("no answer")
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
		})
	}
}

package validator

import (
	"context"
	"syscall"
	"testing"
	"time"

	"ljdns/dnssec"
)

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkValidateCached measures validations of a positive answer whose
// chain (root, example.) is in the key cache: the answer's RRSIG is the
// one signature verified per validation.
func BenchmarkValidateCached(b *testing.B) {
	for _, c := range []struct {
		name string
		alg  uint8
	}{
		{"ECDSAP256SHA256", dnssec.AlgECDSAP256SHA256},
		{"RSASHA256-2048", dnssec.AlgRSASHA256},
	} {
		b.Run(c.name, func(b *testing.B) {
			w := newWorld(b, t0)
			w.zone(".", zoneOpts{alg: c.alg, keyRole: "bench"})
			w.zone("example.", zoneOpts{alg: c.alg}, "www 300 IN A 192.0.2.1")
			w.build()
			w.quiet = true
			v, _ := newValidator(b, w, Config{})
			q := query(b, "www.example.", 1)
			a, _ := w.fetch(context.Background(), wire(b, "www.example."), 1)
			if r := v.Validate(context.Background(), q, a, w.fetch); r.Security != Secure {
				b.Fatal(r)
			}
			ctx := context.Background()
			cpu := cpuTime()
			for b.Loop() {
				if r := v.Validate(ctx, q, a, w.fetch); r.Security != Secure {
					b.Fatal(r)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validations/s")
			if d := cpuTime() - cpu; d > 0 {
				b.ReportMetric(float64(b.N)/d.Seconds(), "validations/cpu-s")
			}
		})
	}
}

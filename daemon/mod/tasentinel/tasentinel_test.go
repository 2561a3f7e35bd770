package tasentinel

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/resolver"
	"ljdns/validator"
)

// fakeResolver answers every A query with one record and leaves the
// verdict sec where the resolver's Layer leaves it.
type fakeResolver struct{ sec validator.Security }

func (f fakeResolver) Resolve(r *daemon.Request) daemon.State {
	r.Answer.Begin(dnsmsg.SectionAN)
	r.Answer.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.QName()}, Type: dnsmsg.TypeA, Class: dnsmsg.ClassINET, TTL: 60, RData: [][]byte{{192, 0, 2, 1}}}, false)
	if r.Vars != nil {
		r.Vars[resolver.SecurityVar] = f.sec
	}
	return daemon.Done
}

// TestSentinel: RFC 8509 §3.2's table with the trust anchor 20326: is-ta of
// a trusted tag and not-ta of another answer, the opposite ones SERVFAIL,
// only for secure answers; labels must have five digits.
func TestSentinel(t *testing.T) {
	for _, c := range []struct {
		name  string
		sec   validator.Security
		want  int
		qtype uint16 // 0: A
	}{
		{"root-key-sentinel-is-ta-20326.example.", validator.Secure, dns.RcodeSuccess, 0},
		{"root-key-sentinel-is-ta-38696.example.", validator.Secure, dns.RcodeServerFailure, dnsmsg.TypeAAAA},
		{"root-key-sentinel-is-ta-38696.example.", validator.Secure, dns.RcodeSuccess, dnsmsg.TypeTXT}, // A and AAAA only
		{"ROOT-KEY-SENTINEL-IS-TA-38696.example.", validator.Secure, dns.RcodeServerFailure, 0},
		{"root-key-sentinel-not-ta-20326.example.", validator.Secure, dns.RcodeServerFailure, 0},
		{"root-key-sentinel-not-ta-38696.example.", validator.Secure, dns.RcodeSuccess, 0},
		{"root-key-sentinel-is-ta-38696.example.", validator.Insecure, dns.RcodeSuccess, 0},
		{"root-key-sentinel-is-ta-3869.example.", validator.Secure, dns.RcodeSuccess, 0},
		{"www.example.", validator.Secure, dns.RcodeSuccess, 0},
	} {
		l := New(func() []uint16 { return []uint16{20326} })
		s, err := daemon.New(&daemon.Config{Layers: []daemon.Layer{l}, Resolver: fakeResolver{c.sec}, Log: daemon.NewLogger(io.Discard)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		w, _ := dnsmsg.NameFromText(c.name)
		qt := c.qtype
		if qt == 0 {
			qt = dnsmsg.TypeA
		}
		p, err := s.Resolve(w.Wire, qt, dnsmsg.ClassINET, 0, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.Shutdown(ctx)
		cancel()
		if err != nil || p == nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if p.Rcode() != c.want {
			t.Errorf("%s (%v): rcode %d, want %d", c.name, c.sec, p.Rcode(), c.want)
		}
	}
}

package authority

import (
	"fmt"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// TestOnlineConcurrent answers signed queries from 8 goroutines sharing
// one Signer and its cache (small, so entries are evicted meanwhile) while
// the cache is flushed (run with -race).
func TestOnlineConcurrent(t *testing.T) {
	e, s := onlineEngine(t, SignOptions{CacheEntries: 16})
	var qs [][]byte
	for i := range 50 {
		for _, n := range []string{"www", fmt.Sprintf("nx%d", i), fmt.Sprintf("h%d.wild", i), "b.ent"} {
			q := new(dns.Msg)
			q.SetQuestion(n+".online.test.", dns.TypeA)
			q.SetEdns0(1232, true)
			w, _ := q.Pack()
			qs = append(qs, w)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range qs {
				if out := e.Answer(qs[(i+g*7)%len(qs)], false); len(out) < 100 {
					t.Error("short answer")
					return
				}
				if g == 0 && i%50 == 0 {
					s.FlushCache()
				}
			}
		}()
	}
	wg.Wait()
	if st := s.Stats(); st.Errors != 0 || st.Cached > 16 {
		t.Errorf("%+v", st)
	}
}

// FuzzOnlineAnswer is FuzzAnswer on a zone signed on line, white lies and
// compact: no panic, answers parse, UDP answers within 1232 bytes.
func FuzzOnlineAnswer(f *testing.F) {
	for _, q := range []struct {
		name string
		t    uint16
	}{{"www.online.test.", dns.TypeA}, {"a.b.nx.online.test.", dns.TypeA}, {"x.wild.online.test.", dns.TypeAAAA},
		{"www.sub.online.test.", dns.TypeA}, {"online.test.", dns.TypeANY}, {"online.test.", dns.TypeAXFR},
		{"\\000.www.online.test.", dns.TypeNSEC}, {"x.dn.online.test.", dns.TypeRRSIG}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.t)
		m.SetEdns0(4096, true)
		w, _ := m.Pack()
		f.Add(w, false, false)
		f.Add(w, true, true)
	}
	white, _ := onlineEngine(f, SignOptions{})
	compact, _ := onlineEngine(f, SignOptions{Denial: Compact})
	f.Fuzz(func(t *testing.T, msg []byte, tcp, comp bool) {
		e := white
		if comp {
			e = compact
		}
		if out := e.Answer(msg, tcp); out != nil {
			var m dns.Msg
			if err := m.Unpack(out); err != nil {
				t.Fatalf("answer does not parse: %v\n% x", err, out)
			}
			if !tcp && len(out) > 1232 {
				t.Fatalf("UDP answer of %d bytes", len(out))
			}
		}
		if msgs, err := e.Transfer(msg); err == nil {
			for _, b := range msgs {
				var m dns.Msg
				if err := m.Unpack(b); err != nil {
					t.Fatalf("transfer message does not parse: %v", err)
				}
			}
		}
	})
}

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

package nbio_test

import (
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/host"
	"ljdns/luamod/nbio"
)

// TestSchedGoPost runs coroutines through Sched.Go from functions posted
// by other goroutines: their ends reach the hooks (results and errors), a
// coroutine that sleeps lets the others run, and finished coroutines are
// reused.
func TestSchedGoPost(t *testing.T) {
	L := host.New(host.Options{})
	defer L.Close()
	if err := L.DoString(`nb = require('dns.nbio')
		function work(n) if n == 0 then error('boom') end nb.sleep(0.01 * n) return n * 2 end`); err != nil {
		t.Fatal(err)
	}
	s := nbio.SchedOf(L)
	work := L.GetGlobal("work").(*lua.LFunction)
	type result struct {
		ok  bool
		v   string
		err string
	}
	results := make(chan result, 10)
	resumes := 0
	threads := map[*lua.LState]bool{}
	for i := 3; i >= 0; i-- {
		go s.Post(func(L *lua.LState) {
			s.Go(L, work, []lua.LValue{lua.LNumber(i)}, &nbio.TaskHooks{
				Resume: func(*lua.LState) { resumes++ },
				Done: func(L *lua.LState, ok bool, rets []lua.LValue, err lua.LValue) {
					r := result{ok: ok}
					if ok {
						r.v = rets[0].String()
					} else {
						r.err = err.String()
					}
					results <- r
				},
			})
		})
	}
	got := []result{}
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 4 && time.Now().Before(deadline) {
		if _, err := s.Step(L, 100*time.Millisecond); err != nil {
			t.Fatalf("step: %v", err)
		}
		for len(results) > 0 {
			got = append(got, <-results)
		}
	}
	if len(got) != 4 {
		t.Fatalf("got %d results, want 4", len(got))
	}
	if got[0].ok || got[0].err == "" {
		t.Errorf("first result %+v, want the error of work(0)", got[0])
	}
	for i, want := range []string{"2", "4", "6"} {
		if !got[i+1].ok || got[i+1].v != want {
			t.Errorf("result %d = %+v, want %s", i+1, got[i+1], want)
		}
	}
	if resumes < 7 { // 4 starts + 3 wake-ups after sleeping
		t.Errorf("%d resumes, want >= 7", resumes)
	}
	// reuse: sequential tasks run on the same pooled coroutine
	for i := 0; i < 3; i++ {
		s.Go(L, L.NewFunction(func(L *lua.LState) int {
			threads[L] = true
			return 0
		}), nil, &nbio.TaskHooks{})
	}
	if len(threads) != 1 {
		t.Errorf("3 tasks ran on %d coroutines, want 1 (pooled)", len(threads))
	}
	if s.Pending() {
		t.Error("scheduler still has pending work")
	}
}

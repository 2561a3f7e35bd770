package sparse

import (
	"math/rand"
	"testing"
)

// TestArray checks Get, Set and Permute against a plain slice.
func TestArray(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	const n = 5000
	vals := make([]int, n)
	want := make([]*int, n)
	var a Array[int]
	if !a.Empty() || a.Get(0) != nil || a.Get(-1) != nil || a.Get(1<<40) != nil {
		t.Fatal("zero array not empty")
	}
	for k := 0; k < 300; k++ {
		i := r.Intn(n)
		vals[i] = i
		want[i] = &vals[i]
		a.Set(i, want[i])
	}
	a.Set(n-1, nil) // clearing an unset element allocates nothing
	want[n-1] = nil
	check := func(what string) {
		t.Helper()
		for i := range n + pageSize {
			var w *int
			if i < n {
				w = want[i]
			}
			if got := a.Get(i); got != w {
				t.Fatalf("%s: element %d is %p, want %p", what, i, got, w)
			}
		}
	}
	check("set")
	order := make([]int32, n-10)
	for i := range order {
		order[i] = int32(r.Intn(n))
	}
	permuted := make([]*int, n)
	for i, j := range order {
		permuted[i] = want[j]
	}
	want = permuted
	a.Permute(order)
	check("permuted")
	if got := len(a.pages); got > n/pageSize+1 {
		t.Fatalf("%d pages", got)
	}
}

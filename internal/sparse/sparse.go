// Package sparse holds Array, an array of pointers most of which are nil,
// such as the few elements of a million-record set that a script has
// taken out as objects: it costs a page table entry per 256 elements
// until a page is used, instead of a pointer per element (which the GC
// would also scan).
package sparse

const (
	pageBits = 8
	pageSize = 1 << pageBits
)

// Array is a sparse array of *T indexed from 0; every element is nil
// until set. The zero value is an empty array ready to use.
type Array[T any] struct {
	pages []*[pageSize]*T
}

// Get returns element i, nil when it was never set (or i is negative).
func (a *Array[T]) Get(i int) *T {
	p := uint(i) >> pageBits
	if p >= uint(len(a.pages)) || a.pages[p] == nil {
		return nil
	}
	return a.pages[p][i&(pageSize-1)]
}

// Set sets element i (i >= 0), allocating its page on first use.
func (a *Array[T]) Set(i int, v *T) {
	p := i >> pageBits
	if p >= len(a.pages) {
		if v == nil {
			return
		}
		a.pages = append(a.pages, make([]*[pageSize]*T, p+1-len(a.pages))...)
	}
	if a.pages[p] == nil {
		if v == nil {
			return
		}
		a.pages[p] = new([pageSize]*T)
	}
	a.pages[p][i&(pageSize-1)] = v
}

// Empty reports whether no element was ever set.
func (a *Array[T]) Empty() bool { return len(a.pages) == 0 }

// Permute reorders the array: element i becomes the old element order[i]
// (elements at or past len(order) are dropped).
func (a *Array[T]) Permute(order []int32) {
	if a.Empty() {
		return
	}
	var b Array[T]
	for i, j := range order {
		if v := a.Get(int(j)); v != nil {
			b.Set(i, v)
		}
	}
	*a = b
}

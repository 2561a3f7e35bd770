package dns

import (
	"runtime"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
)

// TestSetElementsSparse: taking a few elements of a large set out as
// userdata (as bench.lua's sample does) costs memory for those elements,
// not a slot for every element; sorting keeps each userdata with its
// element.
func TestSetElementsSparse(t *testing.T) {
	const n = 200000
	s := dnsmsg.NewSortedSet()
	for i := range n {
		j := n - 1 - i // reversed, so that sort moves every element
		s.AppendRecord([]byte{2, 'h', byte('a' + j%26), 3, byte(j >> 16), byte(j >> 8), byte(j), 0}, dnsmsg.TypeA, dnsmsg.ClassINET, uint32(j), nil)
	}
	L := lua.NewState()
	defer L.Close()
	small := dnsmsg.NewSortedSet()
	small.AppendRecord([]byte{0}, dnsmsg.TypeA, dnsmsg.ClassINET, 1, nil)
	for name, set := range map[string]*dnsmsg.SortedSet{"SMALL": small, "S": s} {
		PushSortedSet(L, set)
		L.SetGlobal(name, L.Get(-1))
		L.Pop(1)
	}
	get := func(i int) *lua.LUserData {
		t.Helper()
		if err := L.DoString("E = S:get(" + itoa(i) + ")"); err != nil {
			t.Fatal(err)
		}
		return L.GetGlobal("E").(*lua.LUserData)
	}
	if err := L.DoString("E = SMALL:get(0)"); err != nil { // makes the metatables
		t.Fatal(err)
	}
	uds := map[uint32]*lua.LUserData{} // by TTL, which identifies the element
	before := heapAfterGC()
	for i := 0; i < n; i += n / 32 {
		uds[s.At(i).TTL] = get(i)
	}
	grew := int64(heapAfterGC()) - int64(before)
	t.Logf("32 elements taken out: heap +%d bytes", grew)
	if grew > 256<<10 {
		t.Fatalf("32 elements of %d taken out grew the heap by %d bytes, want at most 256 kB", n, grew)
	}
	if err := L.DoString("S:sort()"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if ud, ok := uds[s.At(i).TTL]; ok && get(i) != ud {
			t.Fatalf("element %d (TTL %d) has a new userdata after sort", i, s.At(i).TTL)
		}
	}
}

// heapAfterGC returns the bytes of live heap after a full collection.
func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

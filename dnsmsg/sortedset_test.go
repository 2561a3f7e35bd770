package dnsmsg

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"testing"
	"time"

	"ljdns/dnsmsg/zone"
)

// randName returns a random wire name over a small alphabet that
// includes upper case and the bytes 0x00, 0x01, 0xFF, so keys are
// exercised on the escape and folding paths.
func randName(r *rand.Rand) []byte {
	alpha := []byte{'a', 'b', 'B', 'z', 'Z', 0, 1, 2, '[', 0xff, '-'}
	var w []byte
	for n := r.Intn(4); n > 0; n-- {
		l := 1 + r.Intn(3)
		w = append(w, byte(l))
		for i := 0; i < l; i++ {
			w = append(w, alpha[r.Intn(len(alpha))])
		}
	}
	return append(w, 0)
}

// TestSortKeyOrder checks that comparing sort keys (then raw bytes) is
// exactly CompareNames.
func TestSortKeyOrder(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		a, b := randName(r), randName(r)
		want := CompareNames(a, b)
		got := bytes.Compare(appendSortKey(nil, a), appendSortKey(nil, b))
		if got == 0 {
			got = bytes.Compare(a, b)
		}
		if (want < 0) != (got < 0) || (want == 0) != (got == 0) {
			t.Fatalf("%q vs %q: CompareNames %d, keys %d", a, b, want, got)
		}
	}
}

func mustName(t testing.TB, s string) []byte {
	n, err := NameFromText(s)
	if err != nil {
		t.Fatal(err)
	}
	return n.Wire
}

// specOrder is the canonical order example of API.md §1.6.
var specOrder = []string{"example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.",
	"zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.", "*.z.example.", "\\200.z.example."}

func TestSortedSet(t *testing.T) {
	s := NewSortedSet()
	if s.Search(mustName(t, "a.")) != -1 {
		t.Fatal("search in empty set")
	}
	// insert in reverse, two types per owner (NS before A to test type order)
	for i := len(specOrder) - 1; i >= 0; i-- {
		w := mustName(t, specOrder[i])
		s.AppendRecord(w, 2, 1, 60, []byte{byte(i)})
		s.Append(&RRSet{Owner: &Name{Wire: w}, Type: 1, Class: 1})
	}
	s.Sort()
	if s.Len() != 2*len(specOrder) {
		t.Fatalf("len %d", s.Len())
	}
	for i := 0; i < len(specOrder); i++ {
		a, b := s.At(2*i), s.At(2*i+1)
		want := mustName(t, specOrder[i])
		if !bytes.Equal(a.OwnerWire(), want) || !bytes.Equal(b.OwnerWire(), want) || a.Type != 1 || b.Type != 2 {
			t.Fatalf("element %d: %s/%d %s/%d, want %s", i, a.Owner, a.Type, b.Owner, b.Type, specOrder[i])
		}
		if j := s.Search(want); j != 2*i { // first element of the owner
			t.Fatalf("search %s: %d, want %d", specOrder[i], j, 2*i)
		}
		j := s.Search(bytes.ToUpper(want))
		if j < 0 || !bytes.Equal(s.At(j).OwnerWire(), want) {
			t.Fatalf("search %s: %d", specOrder[i], j)
		}
	}
	cases := []struct {
		name, want string // want "" = none
	}{
		{"com.", ""}, // "com" < "example": below everything
		{"net.", "\\200.z.example."},
		{"b.example.", "zABC.a.EXAMPLE."},
		{"zz.example.", "\\200.z.example."},
		{"A.EXAMPLE.", "a.example."}, // case folded
	}
	for _, c := range cases {
		j := s.Search(mustName(t, c.name))
		if c.want == "" {
			if j != -1 {
				t.Errorf("search %s: %d, want -1", c.name, j)
			}
			continue
		}
		if j < 0 || CompareNames(s.At(j).OwnerWire(), mustName(t, c.want)) != 0 {
			t.Errorf("search %s: got %d", c.name, j)
		}
	}
	// stability: equal (owner, type) keep insertion order
	s2 := NewSortedSet()
	for i := 0; i < 10; i++ {
		s2.AppendRecord(mustName(t, "x."), 1, 1, uint32(i), nil)
	}
	s2.Sort()
	for i := 0; i < 10; i++ {
		if s2.At(i).TTL != uint32(i) {
			t.Fatalf("unstable sort at %d", i)
		}
	}
	// AppendRecord storage is independent of the arguments and of neighbours
	buf := []byte("\x01a\x00")
	s2.AppendRecord(buf, 1, 1, 0, []byte{1, 2})
	rr := s2.Last()
	buf[1] = 'b'
	rr.Add([]byte{3})
	if string(rr.OwnerWire()) != "\x01a\x00" || len(rr.RData) != 2 || string(s2.At(0).OwnerWire()) != "\x01x\x00" {
		t.Fatal("slab storage aliasing")
	}
}

func TestNameSet(t *testing.T) {
	ns := NewNameSet()
	if _, err := ns.Search(mustName(t, "a.")); err != ErrNameSetUnsorted {
		t.Fatalf("err %v", err)
	}
	r := rand.New(rand.NewSource(2))
	perm := r.Perm(len(specOrder))
	for _, i := range perm {
		ns.Put(mustName(t, specOrder[i]))
	}
	ns.Sort()
	ns.Put(mustName(t, "a.")) // not indexed
	for i, s := range specOrder {
		if !bytes.Equal(ns.Get(i), mustName(t, s)) {
			t.Fatalf("get %d: %q", i, ns.Get(i))
		}
		if j, _ := ns.Search(mustName(t, s)); j != i {
			t.Fatalf("search %s: %d", s, j)
		}
	}
	if j, _ := ns.Search(mustName(t, "a.")); j != -1 {
		t.Fatalf("name put after sort found: %d", j)
	}
	if ns.Len() != len(specOrder)+1 || ns.Get(ns.Len()) != nil {
		t.Fatal("len/get past end")
	}
}

// genzoneSet loads the genzone zone of n records into a SortedSet the way
// dns.sift's set sink does (one element per record).
func genzoneSet(b *testing.B, n int) *SortedSet { return genzoneSetMode(b, n, false) }

func genzoneSetMode(b *testing.B, n int, async bool) *SortedSet {
	path := fmt.Sprintf("%s/ljdns-genzone-%d.zone", os.TempDir(), n)
	if _, err := os.Stat(path); err != nil {
		b.Skip("run the zone package benchmarks first to generate " + path)
	}
	sc, err := zone.NewFileScanner(path, ".", 1, 3600)
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	sc.SetAsync(async)
	s := NewSortedSet()
	for sc.Next() {
		r := sc.Record()
		s.AppendRecord(r.Owner, r.Type, r.Class, r.TTL, r.RData)
	}
	if sc.Err() != nil {
		b.Fatal(sc.Err())
	}
	return s
}

func BenchmarkSortedSetLoad1M(b *testing.B) {
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		genzoneSet(b, 1000000)
	}
	reportCPU(b, c0)
}

func BenchmarkSortedSetLoadAsync1M(b *testing.B) {
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		genzoneSetMode(b, 1000000, true)
	}
	reportCPU(b, c0)
}

func BenchmarkSortedSetSort1M(b *testing.B) {
	s := genzoneSet(b, 1000000)
	orig := slices.Clone(s.recs)
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s.recs = slices.Clone(orig)
		s.sorted = false
		c0 := cpuTime()
		b.StartTimer()
		s.Sort()
		b.StopTimer()
		cpu += cpuTime() - c0
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func BenchmarkSortedSetSearch1M(b *testing.B) {
	s := genzoneSet(b, 1000000)
	s.Sort()
	var names [][]byte
	for i := 0; i < s.Len(); i += s.Len() / 32 {
		names = append(names, s.At(i).OwnerWire())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := names[i%len(names)]
		if j := s.Search(w); j < 0 || !bytes.Equal(s.At(j).OwnerWire(), w) {
			b.Fatal("not found")
		}
	}
}

func BenchmarkNameSetSortSearch1M(b *testing.B) {
	s := genzoneSet(b, 1000000)
	ns := NewNameSet()
	for i := 0; i < s.Len(); i++ {
		ns.Put(s.ownerAt(i))
	}
	ns.Sort()
	var names [][]byte
	for i := 0; i < ns.Len(); i += ns.Len() / 32 {
		names = append(names, ns.Get(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if j, _ := ns.Search(names[i%len(names)]); j < 0 {
			b.Fatal("not found")
		}
	}
}

// TestSearchRandom compares Search with a linear scan over random sets
// (names under a shared suffix, so the common-prefix index is exercised).
func TestSearchRandom(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for round := 0; round < 200; round++ {
		suffix := randName(r)
		mk := func() []byte {
			if r.Intn(4) == 0 {
				return randName(r)
			}
			n := randName(r)
			return append(n[:len(n)-1:len(n)-1], suffix...)
		}
		s := NewSortedSet()
		ns := NewNameSet()
		for n := r.Intn(40); n > 0; n-- {
			w := mk()
			if len(w) > 255 {
				continue
			}
			s.AppendRecord(w, uint16(r.Intn(3)), 1, 0, nil)
			ns.Put(w)
		}
		s.Sort()
		ns.Sort()
		for q := 0; q < 50; q++ {
			w := mk()
			k := appendSortKey(nil, w)
			want := -1
			for i := 0; i < s.Len(); i++ {
				c := bytes.Compare(appendSortKey(nil, s.At(i).OwnerWire()), k)
				if c == 0 {
					want = i
					break
				}
				if c < 0 {
					want = i
				}
			}
			if got := s.Search(w); got != want {
				t.Fatalf("round %d: search %q = %d, want %d", round, w, got, want)
			}
			got, _ := ns.Search(w)
			if (got < 0) != (want < 0) || got >= 0 && !bytes.Equal(appendSortKey(nil, ns.Get(got)), appendSortKey(nil, s.At(want).OwnerWire())) {
				t.Fatalf("round %d: nameset search %q = %d, want like %d", round, w, got, want)
			}
		}
	}
}

// TestParallelSort checks the two-goroutine sort against a plain sort.
func TestParallelSort(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	s := NewSortedSet()
	for i := 0; i < 1<<16+123; i++ {
		s.AppendRecord(randName(r), uint16(r.Intn(4)), 1, uint32(i), nil)
	}
	s.Sort()
	seen := make([]bool, s.Len()) // the merge keeps every element once
	for i := 0; i < s.Len(); i++ {
		if ttl := s.At(i).TTL; seen[ttl] {
			t.Fatalf("element %d (TTL %d) twice", i, ttl)
		} else {
			seen[ttl] = true
		}
	}
	for i := 1; i < s.Len(); i++ {
		a, b := s.At(i-1), s.At(i)
		c := CompareNames(a.OwnerWire(), b.OwnerWire())
		if c > 0 || c == 0 && (a.Type > b.Type || a.Type == b.Type && a.TTL > b.TTL) {
			t.Fatalf("order broken at %d: %q/%d/%d > %q/%d/%d", i, a.OwnerWire(), a.Type, a.TTL, b.OwnerWire(), b.Type, b.TTL)
		}
	}
}

// TestMaterialised checks that changes made through At survive Sort and
// are what Search sees.
func TestMaterialised(t *testing.T) {
	s := NewSortedSet()
	s.AppendRecord(mustName(t, "b."), 1, 1, 10, []byte{1, 2, 3, 4})
	s.AppendRecord(mustName(t, "c."), 1, 1, 20, []byte{5, 6, 7, 8})
	rr := s.At(1)
	if rr.TTL != 20 || string(rr.RData[0]) != "\x05\x06\x07\x08" || rr.Class != 1 || s.At(1) != rr {
		t.Fatalf("materialised %+v", rr)
	}
	rr.Owner = &Name{Wire: mustName(t, "a.")}
	rr.Add([]byte{9})
	s.AppendRecord(mustName(t, "d."), 2, 1, 30, nil)
	s.Sort()
	if s.At(0) != rr || string(s.At(1).OwnerWire()) != "\x01b\x00" || s.At(2).Type != 2 {
		t.Fatalf("order after sort: %q %q %q", s.At(0).OwnerWire(), s.At(1).OwnerWire(), s.At(2).OwnerWire())
	}
	if j := s.Search(mustName(t, "a.")); j != 0 {
		t.Fatalf("search a.: %d", j)
	}
	if j := s.Search(mustName(t, "c.")); j != 1 {
		t.Fatalf("search c.: %d (want b. at 1)", j)
	}
	if len(s.At(0).RData) != 2 {
		t.Fatal("added rdata lost")
	}
}

func BenchmarkNameSetLoadSort1M(b *testing.B) {
	path := fmt.Sprintf("%s/ljdns-genzone-%d.zone", os.TempDir(), 1000000)
	if _, err := os.Stat(path); err != nil {
		b.Skip("run the zone package benchmarks first to generate " + path)
	}
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		sc, err := zone.NewFileScanner(path, ".", 1, 3600)
		if err != nil {
			b.Fatal(err)
		}
		ns := NewNameSet()
		for sc.Next() {
			ns.Put(sc.Record().Owner)
		}
		sc.Close()
		ns.Sort()
	}
	reportCPU(b, c0)
}

package dnsmsg

import (
	"bytes"
	"testing"
)

func TestNameFromText(t *testing.T) {
	tests := []struct {
		in   string
		wire string
		ok   bool
	}{
		{"example.", "\x07example\x00", true},
		{"example.COM", "\x07example\x03COM\x00", true},
		{".", "\x00", true},
		{"", "", false},
		{"a..b", "", false},
		{".a", "", false},
		{`a\.b.c`, "\x03a.b\x01c\x00", true},
		{`\001.z.example`, "\x01\x01\x01z\x07example\x00", true},
		{`\256.x`, "", false},
		{string(bytes.Repeat([]byte("a"), 64)), "", false},
		{string(bytes.Repeat([]byte("abcdefg."), 32)), "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			n, err := NameFromText(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && string(n.Wire) != tc.wire {
				t.Fatalf("got %q, want %q", n.Wire, tc.wire)
			}
		})
	}
}

func TestNameFromWire(t *testing.T) {
	tests := []struct {
		in, out string
		ok      bool
	}{
		{"\x07example", "\x07example\x00", true},
		{"\x07example\x03com\x00trailing", "\x07example\x03com\x00", true},
		{"", "\x00", true},
		{"\x07exa", "", false},
		{"\xc0\x0c", "", false},
		{"\x40abc", "", false},
	}
	for _, tc := range tests {
		w, err := NameFromWire([]byte(tc.in))
		if (err == nil) != tc.ok || (tc.ok && string(w) != tc.out) {
			t.Errorf("NameFromWire(%q) = %q, %v", tc.in, w, err)
		}
	}
	long := bytes.Repeat([]byte("\x03abc"), 64)
	if _, err := NameFromWire(long); err == nil {
		t.Errorf("name of 256+ bytes accepted")
	}
}

func TestNameString(t *testing.T) {
	tests := map[string]string{
		"\x07example\x03com\x00": "example.com.",
		"\x00":                   ".",
		"\x03a.b\x00":            `a\.b.`,
		"\x04a b\xc8\x00":        `a\032b\200.`,
		"\x05*-_/\\\x00":         `*-_/\\.`,
		"\x03a\"@\x00":           `a\"\@.`,
	}
	for in, want := range tests {
		if got := (&Name{Wire: []byte(in)}).String(); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCompareNamesCanonical(t *testing.T) {
	order := []string{"example", "a.example", "yljkjljk.a.example", "Z.a.example",
		"zABC.a.EXAMPLE", "z.example", `\001.z.example`, "*.z.example", `\200.z.example`}
	var prev []byte
	for _, s := range order {
		n, err := NameFromText(s)
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && CompareNames(prev, n.Wire) >= 0 {
			t.Errorf("%q !> previous", s)
		}
		if prev != nil && CompareNames(n.Wire, prev) <= 0 {
			t.Errorf("%q: not antisymmetric", s)
		}
		prev = n.Wire
	}
	a, _ := NameFromText("example.COM")
	b, _ := NameFromText("example.com")
	if c := CompareNames(a.Wire, b.Wire); c >= 0 {
		t.Errorf("case tie-break: %d", c)
	}
	if CompareNames(a.Wire, a.Wire) != 0 {
		t.Errorf("not reflexive")
	}
	if n := testing.AllocsPerRun(100, func() { CompareNames(a.Wire, b.Wire) }); n != 0 {
		t.Errorf("CompareNames allocates %v", n)
	}
}

func TestWithin(t *testing.T) {
	n, _ := NameFromText("example.COM")
	if !NameWithin(n.Wire, []byte("\x03com\x00")) || NameWithin(n.Wire, []byte("\x02cz\x00")) ||
		!NameWithin(n.Wire, []byte{0}) || NameWithin([]byte("\x03com\x00"), n.Wire) {
		t.Fatal("within")
	}
}

func TestRRSetAddCanonical(t *testing.T) {
	rr := &RRSet{Owner: &Name{Wire: []byte("\x03com\x00")}, Type: TypeNS, Class: ClassINET, TTL: 3600}
	for _, s := range []string{"\x02bb\x00", "\x01a\x00", "\x02bb\x00", "\x01a", "\x01b\x00"} {
		rr.Add([]byte(s))
	}
	want := []string{"\x01a", "\x01a\x00", "\x01b\x00", "\x02bb\x00"}
	if len(rr.RData) != len(want) {
		t.Fatalf("got %q", rr.RData)
	}
	for i := range want {
		if string(rr.RData[i]) != want[i] {
			t.Fatalf("rdata %d = %q, want %q", i, rr.RData[i], want[i])
		}
	}
	src := []byte("\x01z\x00")
	rr.Add(src)
	src[1] = 'y'
	if string(rr.RData[3]) != "\x01z\x00" {
		t.Fatal("Add does not copy")
	}
}

func TestRRSetString(t *testing.T) {
	rr := &RRSet{Owner: &Name{Wire: []byte("\x03com\x00")}, Type: TypeNS, Class: ClassINET, TTL: 3600}
	if got, want := rr.String(), "com.\tIN\tNS"; got != want {
		t.Fatalf("empty: %q", got)
	}
	rr.Add([]byte("\x03ns1\x03com\x00"))
	if got, want := rr.String(), "com.                \t3600\tNS\tns1.com.\n"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	long, _ := NameFromText("abcdefghijklmnopqrstuvwxyz.example.com")
	rr.Owner = long
	if got, want := rr.String(), "abcdefghijklmnopqrstuvwxyz.example.com. 3600\tNS\tns1.com.\n"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	rr.Type = 65534
	rr.RData = nil
	rr.Add([]byte{0xab, 0xcd})
	if got := RDataText(65534, []byte{0xab, 0xcd}); got != `\# 2 ABCD` {
		t.Fatalf("generic: %q", got)
	}
}

func TestCompareFoldedPrefix(t *testing.T) {
	if compareFolded([]byte("z"), []byte("ZABC")) >= 0 || compareFolded([]byte("zab"), []byte("Z")) <= 0 ||
		compareFolded([]byte("aB"), []byte("Ab")) != 0 || compareFolded([]byte("a"), []byte("b")) >= 0 {
		t.Fatal("compareFolded")
	}
	a, _ := NameFromText("z.example")
	b, _ := NameFromText("ZABC.example")
	if CompareNames(a.Wire, b.Wire) >= 0 {
		t.Fatal("z < zabc")
	}
}

func TestSearchKey(t *testing.T) {
	got := AppendSearchKey(nil, []byte("\x05query\x03com\x00"), 28)
	if want := "com\x00query\x00\x00\x1c"; string(got) != want {
		t.Fatalf("got %q want %q", got, want)
	}
	if got := AppendSearchKey(nil, []byte{0}, 6); string(got) != "\x00\x06" {
		t.Fatalf("root: got %q", got)
	}
}

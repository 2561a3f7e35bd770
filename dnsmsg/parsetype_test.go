package dnsmsg

import "testing"

func TestParseType(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint16
		ok   bool
	}{
		{"A", 1, true}, {"aaaa", 28, true}, {"Caa", 257, true}, {"HTTPS", 65, true},
		{"TYPE65280", 65280, true}, {"type1", 1, true}, {"TYPE70000", 0, false}, {"NOSUCH", 0, false}, {"", 0, false},
	} {
		got, ok := ParseType(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseType(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	for n, s := range TypeNames() { // every mnemonic reads back to its number
		if got, ok := ParseType(s); !ok || (got != n && TypeString(got) != s) {
			t.Errorf("ParseType(%q) = %d, %v; want %d", s, got, ok, n)
		}
	}
}

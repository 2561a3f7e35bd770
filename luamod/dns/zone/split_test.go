package zone

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// scanRecords returns the records (as text) and the error of parsing text.
func scanRecords(s *Scanner) ([]string, error) {
	var out []string
	for s.Next() {
		r := s.Record()
		out = append(out, fmt.Sprintf("%d %x %d %d %d %x", r.Line, r.Owner, r.Type, r.Class, r.TTL, r.RData))
	}
	return out, s.Err()
}

// splitParse parses text in two parts cut at the split found from at;
// ok false when FindSplit finds none.
func splitParse(t *testing.T, text string, at int64) ([]string, bool) {
	first := NewScanner(strings.NewReader(text), "example.", 1, 3600)
	sp, ok := FindSplit(strings.NewReader(text), at, first)
	if !ok {
		return nil, false
	}
	if sp.Offset < at || (sp.Offset > 0 && text[sp.Offset-1] != '\n') {
		t.Fatalf("split at %d (asked %d) is not a line start", sp.Offset, at)
	}
	first.Reset(strings.NewReader(text[:sp.Offset]))
	a, err := scanRecords(first)
	if err != nil {
		t.Fatalf("first part: %v", err)
	}
	second := NewScanner(strings.NewReader(text[sp.Offset:]), "unused.", 1, 1)
	second.StartAt(sp)
	b, err := scanRecords(second)
	if err != nil {
		t.Fatalf("second part from %d: %v", sp.Offset, err)
	}
	return append(a, b...), true
}

const splitZone = `$ORIGIN example.
$TTL 300
@ IN SOA ns1 hostmaster (
	1 ; serial ( not a paren
	7200 3600
	1209600 300 )
	IN NS ns1
txt IN TXT "semi ; colon" "paren ( inside" "quote \" here"
weird\( IN A 192.0.2.1
$ORIGIN sub
a 60 IN A 192.0.2.2
	IN AAAA 2001:db8::2
b IN MX 10 (
   mx.example. )
$TTL 1h
c IN TXT ( "multi"
  "line" ) ; comment (
d IN A 192.0.2.4
$ORIGIN other.example.
e IN A 192.0.2.5
 IN A 192.0.2.6
f IN CNAME e
g IN TXT (
"col0" )
h IN MX (
20 mx.example. )
i IN A 192.0.2.9
`

// TestFindSplit: parsing in two parts cut at every possible offset gives
// exactly the records (lines included) of parsing in one go.
func TestFindSplit(t *testing.T) {
	want, err := scanRecords(NewScanner(strings.NewReader(splitZone), "example.", 1, 3600))
	if err != nil {
		t.Fatal(err)
	}
	cuts := map[int64]bool{}
	for at := int64(0); at <= int64(len(splitZone)); at++ {
		got, ok := splitParse(t, splitZone, at)
		if !ok {
			continue
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("cut from %d:\n%s\nwant\n%s", at, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		first := NewScanner(strings.NewReader(splitZone), "example.", 1, 3600)
		sp, _ := FindSplit(strings.NewReader(splitZone), at, first)
		cuts[sp.Offset] = true
	}
	// Cuts only at lines with an owner outside parentheses.
	for off := range cuts {
		line := splitZone[off:]
		line = line[:strings.IndexByte(line, '\n')]
		for _, bad := range []string{"1 ; serial", "\t", " ", "$", "mx.example.", "\"line\"", "\"col0\"", "20 mx"} {
			if strings.HasPrefix(line, bad) {
				t.Errorf("cut at %q", line)
			}
		}
	}
	if len(cuts) < 8 {
		t.Errorf("only %d distinct cuts", len(cuts))
	}
	// An $INCLUDE before the cut forbids it.
	inc := "a IN A 192.0.2.1\n$INCLUDE other.zone\nb IN A 192.0.2.2\nc IN A 192.0.2.3\n"
	if _, ok := FindSplit(strings.NewReader(inc), 20, NewScanner(strings.NewReader(inc), ".", 1, 1)); ok {
		t.Error("split after $INCLUDE")
	}
}

// FuzzFindSplit: whenever the whole text parses, the two-part parse from
// any split gives the same records.
func FuzzFindSplit(f *testing.F) {
	f.Add(splitZone, uint16(100))
	f.Add("a IN A 1.2.3.4\nb IN A 1.2.3.5\n", uint16(3))
	f.Fuzz(func(t *testing.T, text string, at uint16) {
		want, err := scanRecords(NewScanner(strings.NewReader(text), "example.", 1, 3600))
		if err != nil || bytes.Contains([]byte(text), []byte("$INCLUDE")) {
			return
		}
		got, ok := splitParse(t, text, int64(at))
		if ok && strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("cut from %d:\n%s\nwant\n%s", at, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

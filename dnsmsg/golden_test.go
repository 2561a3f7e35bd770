package dnsmsg

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestRDataGoldenLDNS compares ParseRData+RDataText with ldns-read-zone output.
func TestRDataGoldenLDNS(t *testing.T) {
	f, err := os.Open("testdata/rdata.ldns")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	norm := func(s string) string {
		if i := strings.Index(s, " ;{"); i >= 0 {
			s = s[:i]
		}
		return strings.ToLower(strings.Join(strings.Fields(s), " "))
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), "\t", 5)
		if len(fields) != 5 {
			continue
		}
		typ, want := fields[3], fields[4]
		typNum, rd, err := ParseRData(typ + " " + want)
		if err != nil {
			t.Errorf("%s %s: %v", typ, want, err)
			continue
		}
		if TypeString(typNum) != typ {
			t.Errorf("type %s parsed as %s", typ, TypeString(typNum))
		}
		if got := RDataText(typNum, rd); norm(got) != norm(want) {
			t.Errorf("%s: got %q, ldns %q", typ, got, want)
		}
		n++
	}
	if n < 20 {
		t.Fatalf("only %d golden records", n)
	}
}

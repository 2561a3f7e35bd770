package zone

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestErrors(t *testing.T) {
	cases := []struct {
		name, text string
		line       int
		msg        string
	}{
		{"bad-ttl", "a A 1.2.3.4\nb 12x A 1.2.3.4\n", 2, "bad TTL"},
		{"bad-a", "\n\na A 1.2.3\n", 3, "bad A"},
		{"unknown-type", "a FOO 1\n", 1, "unknown type"},
		{"missing-type", "a 300 IN\n", 1, "missing type"},
		{"unbalanced-open", "a SOA ( ns h 1 2 3 4 5\n", 1, "unbalanced"},
		{"unbalanced-close", "a A 1.2.3.4 )\n", 1, "unbalanced"},
		{"quote", "a TXT \"abc\nb A 1.2.3.4\n", 1, "unterminated"},
		{"no-owner", "  A 1.2.3.4\n", 1, "no previous owner"},
		{"bad-owner", "a..b A 1.2.3.4\n", 1, "bad owner"},
		{"long-label", strings.Repeat("x", 64) + " A 1.2.3.4\n", 1, "bad owner"},
		{"bad-origin", "$ORIGIN a..b.\n", 1, "bad $ORIGIN"},
		{"bad-directive", "$GENERATE 1-2 a A 1.2.3.4\n", 1, "unsupported directive"},
		{"include-disabled", "$INCLUDE x\n", 1, "not allowed"},
		{"multiline-error-line", "a SOA ( ns h\n 1 2 3 4 )\nb MX x y\n", 3, "bad MX"},
		{"bad-escape", "a\\999 A 1.2.3.4\n", 1, "bad owner"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := scanAll(c.text, "example.", false)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want ParseError", err)
			}
			if pe.Line != c.line || !strings.Contains(pe.Msg, c.msg) {
				t.Fatalf("err = %v, want line %d and %q", err, c.line, c.msg)
			}
		})
	}
}

func TestFeatures(t *testing.T) {
	text := "$ORIGIN example.com.\n$TTL 1h\n" +
		"@ IN SOA ns1 host ( 1 2 3 4 5 )\n" +
		"  IN NS ns1 ; comment\n" +
		"www 60 CH A 192.0.2.1\n" +
		"mail IN 7d MX 10 @\n" +
		"txt TXT \"a;b\" c\n"
	s := NewScanner(strings.NewReader(text), ".", ClassINET, 100)
	var got []Record
	var lines []int
	for s.Next() {
		r := *s.Record()
		r.Owner = append([]byte(nil), r.Owner...)
		r.RData = append([]byte(nil), r.RData...)
		got = append(got, r)
		lines = append(lines, r.Line)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	apex := "\x07example\x03com\x00"
	want := []Record{
		{Owner: []byte(apex), Type: 6, Class: 1, TTL: 3600},
		{Owner: []byte(apex), Type: 2, Class: 1, TTL: 3600, RData: []byte("\x03ns1" + apex)},
		{Owner: []byte("\x03www" + apex), Type: 1, Class: 3, TTL: 60, RData: []byte{192, 0, 2, 1}},
		{Owner: []byte("\x04mail" + apex), Type: 15, Class: 1, TTL: 7 * 86400, RData: []byte("\x00\x0a" + apex)},
		{Owner: []byte("\x03txt" + apex), Type: 16, Class: 1, TTL: 3600, RData: []byte("\x03a;b\x01c")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records", len(got))
	}
	for i := range want {
		g, w := got[i], want[i]
		if string(g.Owner) != string(w.Owner) || g.Type != w.Type || g.Class != w.Class || g.TTL != w.TTL {
			t.Errorf("record %d: got %q %d %d %d", i, g.Owner, g.Type, g.Class, g.TTL)
		}
		if w.RData != nil && string(g.RData) != string(w.RData) {
			t.Errorf("record %d: rdata %q, want %q", i, g.RData, w.RData)
		}
	}
	if want := []int{3, 4, 5, 6, 7}; len(lines) != 5 || lines[0] != want[0] || lines[4] != want[4] {
		t.Errorf("lines %v, want %v", lines, want)
	}
}

func TestDefaultTTLAndClass(t *testing.T) {
	s := NewScanner(strings.NewReader("a A 1.2.3.4\nb 5 A 1.2.3.4\nc A 1.2.3.4\n"), "x.", 3, 42)
	var ttls []uint32
	for s.Next() {
		if s.Record().Class != 3 {
			t.Fatalf("class %d", s.Record().Class)
		}
		ttls = append(ttls, s.Record().TTL)
	}
	if len(ttls) != 3 || ttls[0] != 42 || ttls[1] != 5 || ttls[2] != 42 {
		t.Fatalf("ttls %v", ttls)
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "main.zone"), "$ORIGIN example.\na A 1.1.1.1\n$INCLUDE sub/inc.zone other.\nb A 1.1.1.2\n$INCLUDE sub/inc.zone\n")
	write(filepath.Join(sub, "inc.zone"), "x A 2.2.2.2\n$INCLUDE deeper.zone\n")
	write(filepath.Join(sub, "deeper.zone"), "y A 3.3.3.3\n")
	s, err := NewFileScanner(filepath.Join(dir, "main.zone"), ".", ClassINET, 3600)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var owners []string
	for s.Next() {
		owners = append(owners, wireToText(s.Record().Owner))
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	want := "a.example. x.other. y.other. b.example. x.example. y.example."
	if got := strings.Join(owners, " "); got != want {
		t.Fatalf("owners %q, want %q", got, want)
	}

	// a missing include reports the including file and line
	write(filepath.Join(dir, "bad.zone"), "a.example. A 1.1.1.1\n$INCLUDE nothere.zone\n")
	s2, _ := NewFileScanner(filepath.Join(dir, "bad.zone"), ".", ClassINET, 3600)
	defer s2.Close()
	for s2.Next() {
	}
	if err := s2.Err(); err == nil || !strings.Contains(err.Error(), "bad.zone:2:") {
		t.Fatalf("err = %v", err)
	}

	// self-inclusion stops at the depth limit
	write(filepath.Join(dir, "loop.zone"), "$INCLUDE loop.zone\n")
	s3, _ := NewFileScanner(filepath.Join(dir, "loop.zone"), ".", ClassINET, 3600)
	defer s3.Close()
	for s3.Next() {
	}
	if err := s3.Err(); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("err = %v", err)
	}
}

// TestSmallReads feeds the input one byte at a time so every token crosses
// a buffer refill.
func TestSmallReads(t *testing.T) {
	text := "$TTL 300\n@ SOA ( ns h\n 1 2 3 4 5 )\nt TXT \"a b\\\" c\" \"d\"\n  AAAA 2001:db8::1\n" + strings.Repeat("x.", 50) + "y A 1.2.3.4\n"
	want, err := scanAll(text, "example.", false)
	if err != nil {
		t.Fatal(err)
	}
	s := NewScanner(iotest.OneByteReader(strings.NewReader(text)), "example.", ClassINET, 3600)
	s.in.buf = make([]byte, 4) // force growth and compaction
	i := 0
	for s.Next() {
		r := s.Record()
		if i >= len(want) || (rec{string(r.Owner), r.Type, r.Class, r.TTL, string(r.RData)}) != want[i] {
			t.Fatalf("record %d differs", i)
		}
		i++
	}
	if s.Err() != nil || i != len(want) {
		t.Fatalf("%d records, err %v", i, s.Err())
	}
}

func TestReadError(t *testing.T) {
	s := NewScanner(iotest.ErrReader(io.ErrUnexpectedEOF), ".", ClassINET, 3600)
	if s.Next() {
		t.Fatal("record from a failing reader")
	}
	if !errors.Is(s.Err(), io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", s.Err())
	}
}

func TestReset(t *testing.T) {
	s := NewScanner(strings.NewReader("a A 1.2.3\n"), "example.", ClassINET, 3600)
	if s.Next() || s.Err() == nil {
		t.Fatal("want error")
	}
	s.Reset(strings.NewReader("b A 1.2.3.4\n"))
	if !s.Next() || string(s.Record().Owner) != "\x01b\x07example\x00" {
		t.Fatalf("after reset: %v", s.Err())
	}
	if s.Next() || s.Err() != nil {
		t.Fatal("want clean EOF")
	}
	// Reset keeps $ORIGIN and the previous owner, Restart drops them
	s.Reset(strings.NewReader("$ORIGIN other.\n$TTL 5\nc A 1.2.3.4\n"))
	for s.Next() {
	}
	s.Reset(strings.NewReader("  A 1.2.3.4\n"))
	if !s.Next() || string(s.Record().Owner) != "\x01c\x05other\x00" || s.Record().TTL != 5 {
		t.Fatalf("reset lost state: %q %v", s.Record().Owner, s.Err())
	}
	s.Reset(strings.NewReader("d A 1.2.3.4\n  A 1.2.3.4\n"))
	s.Restart()
	if !s.Next() || string(s.Record().Owner) != "\x01d\x07example\x00" || s.Record().TTL != 3600 {
		t.Fatalf("restart kept state: %q", s.Record().Owner)
	}
	s.Reset(strings.NewReader("  A 1.2.3.4\n"))
	s.Restart()
	if s.Next() || s.Err() == nil {
		t.Fatal("blank owner after Restart accepted")
	}
}

// TestFastPaths checks that the common types in their usual spelling do
// not fall back to miekg/dns.
func TestFastPaths(t *testing.T) {
	text := `$ORIGIN example.
@ SOA ns h 1 2h 3 4 5
@ NS ns
a A 192.0.2.1
a AAAA 2001:db8::1
c CNAME a
p PTR a.example.net.
d DNAME x
@ MX 10 mx
t TXT "v=spf1 -all" x
s SPF "v=spf1"
_s._tcp SRV 1 2 3 t
ds DS 1 8 2 ABCDEF12
k DNSKEY 257 3 13 Zm9vYmFy
r RRSIG A 13 2 300 20240101000000 20230101000000 1234 example. Zm9v
n NSEC z A RRSIG NSEC
c CAA 0 issue "x"
`
	s := NewScanner(strings.NewReader(text), ".", ClassINET, 3600)
	n := 0
	for s.Next() {
		n++
	}
	if s.Err() != nil || n != 16 {
		t.Fatalf("%d records, err %v", n, s.Err())
	}
	if s.slowCount != 0 {
		t.Fatalf("%d records took the miekg/dns path", s.slowCount)
	}
	diff(t, text)
}

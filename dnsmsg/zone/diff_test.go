package zone

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// rec is a comparable copy of a Record.
type rec struct {
	Owner string
	Type  uint16
	Class uint16
	TTL   uint32
	RData string
}

func (r rec) String() string {
	return fmt.Sprintf("%q %d %d %d %x", r.Owner, r.TTL, r.Class, r.Type, r.RData)
}

// scanAll runs our scanner over text.
func scanAll(text, origin string, include bool) ([]rec, error) {
	s := NewScanner(strings.NewReader(text), origin, ClassINET, 3600)
	s.AllowInclude = include
	var out []rec
	for s.Next() {
		r := s.Record()
		out = append(out, rec{string(r.Owner), r.Type, r.Class, r.TTL, string(r.RData)})
	}
	return out, s.Err()
}

// miekgAll runs miekg/dns's ZoneParser over text and packs each record the
// way our scanner reports it.
func miekgAll(r io.Reader, origin string) ([]rec, error) {
	zp := dns.NewZoneParser(r, origin, "")
	var out []rec
	buf := make([]byte, 70000)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		off, err := dns.PackDomainName(h.Name, buf, 0, nil, false)
		if err != nil {
			return out, err
		}
		owner := string(buf[:off])
		off2, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			return out, err
		}
		out = append(out, rec{owner, h.Rrtype, h.Class, h.Ttl, string(buf[off+10 : off2])})
	}
	return out, zp.Err()
}

// diff compares the records of both parsers on text (prefixed with a $TTL
// line so both use the same default TTL rules).
func diff(t *testing.T, text string) {
	t.Helper()
	text = "$TTL 3600\n" + text + "\n"
	ours, err1 := scanAll(text, "example.", false)
	theirs, err2 := miekgAll(strings.NewReader(text), "example.")
	if err1 != nil || err2 != nil {
		// compare only the prefix both accepted
		n := min(len(ours), len(theirs))
		ours, theirs = ours[:n], theirs[:n]
	}
	if len(ours) != len(theirs) {
		t.Fatalf("%q: %d records, miekg %d", text, len(ours), len(theirs))
	}
	for i := range ours {
		if ours[i] != theirs[i] {
			t.Fatalf("%q: record %d\n ours  %v\n miekg %v", text, i, ours[i], theirs[i])
		}
	}
}

var diffCases = []struct{ name, text string }{
	{"a", "a 300 IN A 192.0.2.1\n"},
	{"a-class-first", "a IN 300 A 10.0.0.1\n"},
	{"aaaa", "a AAAA 2001:db8::1\n b AAAA ::\nc AAAA ::1\nd AAAA 1::\ne AAAA 1:2:3:4:5:6:7:8\nf AAAA 1::2:3:4:5:6:7\n"},
	{"aaaa-v4", "a AAAA ::ffff:192.0.2.1\n"},
	{"ns", "@ NS ns1\n@ NS ns2.example.net.\n"},
	{"cname-ptr-dname", "w CNAME x\n1 PTR host.example.\nd DNAME other.\n"},
	{"mx", "@ MX 10 mx1\n@ MX 20 mx.example.net.\n"},
	{"txt", "t TXT \"v=spf1 -all\" foo \"\" \"a b\"\n"},
	{"txt-long", "t TXT \"" + strings.Repeat("x", 600) + "\"\n"},
	{"txt-escape", "t TXT \"a\\\"b\" \"\\065\\066\"\n"},
	{"spf", "t SPF \"v=spf1 ~all\"\n"},
	{"soa", "@ SOA ns1 hostmaster ( 2024010101 ; serial\n 7200 3600 1209600 300 )\n"},
	{"soa-units", "@ SOA ns1. h. 1 2h 1h 1w 5m\n"},
	{"srv", "_sip._tcp SRV 10 60 5060 sip\n"},
	{"ds", "d DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118\nd DS 60485 RSASHA1 1 2BB183AF5F22588179A53B0A98631FAD1A292118\n"},
	{"ds-split", "d DS 60485 5 2 ( 2BB183AF5F22588179A53B0A98631FAD1A2921\n 2BB183AF5F22588179A53B0A98631FAD1A29211 )\n"},
	{"dnskey", "k DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3 +/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kv ArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF 0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+e oZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfd RUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwN R1AkUTV74bU=\n"},
	{"caa", "c CAA 0 issue \"ca.example.net\"\nc CAA 128 tbs Unknown\n"},
	{"generic", "g TYPE65000 \\# 3 abcdef\ng A \\# 4 c0000201\n"},
	{"fallback-types", "n NAPTR 100 50 \"s\" \"SIP+D2U\" \"\" _sip._udp\nh HINFO \"cpu\" \"os\"\nl LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m\n"},
	{"nsec-rrsig", "x NSEC y A MX RRSIG NSEC\nx RRSIG A 8 2 3600 20240101000000 20230101000000 12345 example. AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3\n"},
	{"nsec", "x NSEC y.example. A NS SOA MX TXT AAAA RRSIG NSEC DNSKEY TYPE1234 CAA\nx NSEC y A\nz NSEC a TYPE65535\n"},
	{"nsec-unsorted", "x NSEC y MX A\nx NSEC y A A\n"},
	{"rrsig", "x RRSIG NS 13 2 300 20240101000000 20230101000000 65535 . Zm9v YmFy\nx RRSIG TYPE99 8 2 3600 1700000000 4294967295 1 a YQ==\n"},
	{"rrsig-bad", "x RRSIG A 8 2 3600 20241301000000 20230101000000 1 a YQ==\n"},
	{"blank-owner", "a A 1.2.3.4\n  A 1.2.3.5\n\t300 IN A 1.2.3.6\n"},
	{"origin", "$ORIGIN sub.example.\nx A 1.2.3.4\n$ORIGIN deeper\ny A 1.2.3.5\n@ NS y\n"},
	{"ttl-directive", "$TTL 1h\na A 1.1.1.1\nb 1w2d A 1.1.1.2\n"},
	{"escapes", "a\\.b A 1.1.1.1\n\\065\\066 A 1.1.1.2\nx NS a\\.b\n"},
	{"absolute", "host.example.com. A 1.1.1.1\n. NS a.root.\n"},
	{"comments", "; hello\n\na A 1.1.1.1 ; trailing\n( b ) A 1.1.1.2\n"},
	{"case", "A in a 1.1.1.1\nB Ns X.Example.\n"},
	{"class-ch", "c CH TXT \"x\"\n"},
	{"leading-zero-a", "a A 01.2.3.4\n"},
	{"bad-a", "a A 1.2.3\n"},
	// lexLine, the one-line fast path, and the lines it leaves to lexEntry
	{"line-crlf", "a A 1.1.1.1\r\nb A 1.1.1.2\r\n\tA 1.1.1.3\r\n"},
	{"line-blanks", "a\t \tA   1.1.1.1  \t\n   \n\t\n \t A 1.1.1.2\t\nb A 1.1.1.3"},
	{"line-specials", "a A 1.1.1.1;c\nb TXT x\"y\"\nc TXT \"a\"b\nd A (1.1.1.4)\ne\\. A 1.1.1.5\n"},
	{"owner-shared", "a A 1.1.1.1\n A 1.1.1.2\n$ORIGIN sub.example.\n A 1.1.1.3\na A 1.1.1.4\n A 1.1.1.5\n@ A 1.1.1.6\n"},
}

func TestDiffMiekg(t *testing.T) {
	for _, c := range diffCases {
		t.Run(c.name, func(t *testing.T) { diff(t, c.text) })
	}
}

// TestDiffGenzone compares every record of a 250k-record genzone zone
// (which switches $TTL and $ORIGIN) with miekg/dns, streaming.
func TestDiffGenzone(t *testing.T) {
	n := 250000
	if testing.Short() {
		n = 20000
	}
	data := genzone(t, n)
	s := NewScanner(bytes.NewReader(data), ".", ClassINET, 3600)
	zp := dns.NewZoneParser(bytes.NewReader(data), ".", "")
	buf := make([]byte, 70000)
	i := 0
	for s.Next() {
		rr, ok := zp.Next()
		if !ok {
			t.Fatalf("miekg ended at record %d: %v", i, zp.Err())
		}
		h := rr.Header()
		off, err := dns.PackDomainName(h.Name, buf, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		owner := string(buf[:off])
		off2, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		r := s.Record()
		got := rec{string(r.Owner), r.Type, r.Class, r.TTL, string(r.RData)}
		want := rec{owner, h.Rrtype, h.Class, h.Ttl, string(buf[off+10 : off2])}
		if got != want {
			t.Fatalf("record %d\n ours  %v\n miekg %v", i, got, want)
		}
		i++
	}
	if s.Err() != nil || i != n {
		t.Fatalf("%d records, err %v", i, s.Err())
	}
	if _, ok := zp.Next(); ok {
		t.Fatal("miekg has more records")
	}
}

func newMiekgParser(r io.Reader) *dns.ZoneParser { return dns.NewZoneParser(r, ".", "") }

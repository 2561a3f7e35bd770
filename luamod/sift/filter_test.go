package sift

import (
	"errors"
	"strings"
	"testing"

	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
)

const filterZone = `$ORIGIN example.com.
$TTL 3600
@       IN SOA  ns1 hostmaster 1 7200 3600 1209600 300
@       IN NS   ns1
@       IN NS   ns.query.is.
www  60 IN A    1.2.3.4
www  60 IN AAAA 2001:db8::1
mail 300 IN MX  10 mx.query.is.bad.
a.sub   IN TXT  "hello"
MX      IN A    192.0.2.99
`

// records parses filterZone.
func records(t testing.TB) []zone.Record {
	t.Helper()
	s := zone.NewScanner(strings.NewReader(filterZone), ".", 1, 3600)
	var out []zone.Record
	for s.Next() {
		r := *s.Record()
		r.Owner = append([]byte(nil), r.Owner...)
		r.RData = append([]byte(nil), r.RData...)
		out = append(out, r)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// matching returns "owner TYPE" of the records f keeps.
func matching(t testing.TB, f *Filter) []string {
	var out []string
	for _, r := range records(t) {
		if f.Match(&r) {
			out = append(out, (&dnsmsg.Name{Wire: r.Owner}).String()+" "+dnsmsg.TypeString(r.Type))
		}
	}
	return out
}

func TestFilterMatch(t *testing.T) {
	cases := []struct {
		name  string
		terms []string
		want  string // space-joined "owner TYPE" list
	}{
		{"empty", nil, "example.com. SOA example.com. NS example.com. NS www.example.com. A www.example.com. AAAA mail.example.com. MX a.sub.example.com. TXT MX.example.com. A"},
		{"bare type", []string{"SOA"}, "example.com. SOA"},
		{"type eq", []string{"type=NS"}, "example.com. NS example.com. NS"},
		{"type ne", []string{"type~=NS", "type!=SOA", "ttl=3600"}, "a.sub.example.com. TXT MX.example.com. A"},
		{"type order", []string{"type>MX", "type<=AAAA"}, "www.example.com. AAAA a.sub.example.com. TXT"},
		{"bare owner", []string{"www.example.com"}, "www.example.com. A www.example.com. AAAA"},
		{"owner eq", []string{"owner==www.example.com."}, "www.example.com. A www.example.com. AAAA"},
		{"owner suffix ignored", []string{"owner=mail.example.com~12"}, "mail.example.com. MX"},
		{"owner case-insensitive", []string{"owner=WWW.Example.COM"}, "www.example.com. A www.example.com. AAAA"},
		{"bare owner case-insensitive", []string{"mx.EXAMPLE.com"}, "MX.example.com. A"},
		{"owner ne case-insensitive", []string{"owner~=WWW.example.com", "ttl=60"}, ""},
		{"owner ne", []string{"owner~=example.com", "owner!=www.example.com"}, "mail.example.com. MX a.sub.example.com. TXT MX.example.com. A"},
		{"wildcard", []string{"*.sub.example.com"}, "a.sub.example.com. TXT"},
		{"wildcard case", []string{"*.SUB.example.com"}, "a.sub.example.com. TXT"},
		{"wildcard at apex", []string{"owner=*.example.com", "SOA"}, "example.com. SOA"},
		{"wildcard ne", []string{"owner~=*.example.com"}, ""},
		{"wildcard other", []string{"*.query.is"}, ""},
		{"ttl", []string{"ttl<=60"}, "www.example.com. A www.example.com. AAAA"},
		{"ttl gt", []string{"ttl>300"}, "example.com. SOA example.com. NS example.com. NS a.sub.example.com. TXT MX.example.com. A"},
		{"ttl ge", []string{"ttl>=300", "ttl<3600"}, "mail.example.com. MX"},
		{"rdata typed", []string{"A(1.2.3.4)"}, "www.example.com. A"},
		{"rdata typed name", []string{"NS(query.is)"}, "example.com. NS"},
		{"rdata typed lower", []string{"rdata=ns(ns1.example.com)"}, "example.com. NS"},
		{"rdata typed ne", []string{"rdata~=NS(query.is)"}, "example.com. NS"},
		{"rdata typed mx", []string{"MX(10 mx.query.is.bad)"}, "mail.example.com. MX"},
		{"rdata raw", []string{`rdata=\x02is`}, "example.com. NS mail.example.com. MX"},
		{"rdata raw upper", []string{`rdata=\X05hello`}, "a.sub.example.com. TXT"},
		{"rdata raw ne", []string{`rdata~=\x02is`, "type=NS"}, "example.com. NS"},
		{"rdata raw text", []string{"rdata=hello"}, "a.sub.example.com. TXT"},
		{"quirk owner with type name", []string{"MX.example.com"}, ""},
		{"owner with type name", []string{"owner=MX.example.com"}, "MX.example.com. A"},
		{"and", []string{"*.example.com", "type=A", "ttl=60"}, "www.example.com. A"},
		{"root wildcard", []string{"*", "SOA"}, "example.com. SOA"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := CompileFilter(c.terms)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(matching(t, f), " "); got != c.want {
				t.Fatalf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestFilterAllTypes: every type miekg/dns names, and TYPEnnn, is a type
// in a filter (bare, type=, TYPE(rdata)), not an owner name.
func TestFilterAllTypes(t *testing.T) {
	const z = `$ORIGIN example.com.
$TTL 3600
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN CAA 0 issue "ca.example.net"
_443._tcp IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
@ IN HTTPS 1 . alpn=h2
@ IN SVCB 1 svc.example.net.
@ IN TYPE65534 \# 2 0102
`
	s := zone.NewScanner(strings.NewReader(z), ".", 1, 3600)
	var recs []zone.Record
	for s.Next() {
		r := *s.Record()
		r.Owner = append([]byte(nil), r.Owner...)
		r.RData = append([]byte(nil), r.RData...)
		recs = append(recs, r)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		terms []string
		want  string
	}{
		{[]string{"CAA"}, "CAA"},
		{[]string{"TYPE257"}, "CAA"},
		{[]string{"type=HTTPS"}, "HTTPS"},
		{[]string{"type=TYPE65"}, "HTTPS"},
		{[]string{"SVCB"}, "SVCB"},
		{[]string{"TLSA"}, "TLSA"},
		{[]string{"TYPE65534"}, "TYPE65534"},
		{[]string{`CAA(0 issue "ca.example.net")`}, "CAA"},
		{[]string{`CAA(0 issue "other.example")`}, ""},
	}
	for _, c := range cases {
		f, err := CompileFilter(c.terms)
		if err != nil {
			t.Fatalf("%v: %v", c.terms, err)
		}
		var got []string
		for i := range recs {
			if f.Match(&recs[i]) {
				got = append(got, dnsmsg.TypeString(recs[i].Type))
			}
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%v: got %v, want %q", c.terms, got, c.want)
		}
	}
	for _, bad := range []string{"type=TYPE65536", "type=caa", "type=None"} {
		if _, err := CompileFilter([]string{bad}); !errors.Is(err, ErrUnknownFilter) {
			t.Errorf("%q: got %v, want unknown filter", bad, err)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	unknown := []string{"foo=bar", "ttl<=abc", "ttl=-1", "type=BOGUS", "type=", "owner<example.com",
		"rdata>x", "ttl=<>5", "owner=", "owner=a..b", "x=1", "ttl=99999999999"}
	for _, term := range unknown {
		_, err := CompileFilter([]string{"SOA", term})
		if !errors.Is(err, ErrUnknownFilter) {
			t.Errorf("%q: got %v, want unknown filter", term, err)
			continue
		}
		if want := `unknown filter "` + term + `"`; err.Error() != want {
			t.Errorf("%q: message %q, want %q", term, err.Error(), want)
		}
	}
	invalid := []string{"A(1.2.3)", "rdata=A(x)", "AAAA(1.2.3.4)", "rdata=BOGUS(1)", "MX(mx)"}
	for _, term := range invalid {
		_, err := CompileFilter([]string{term})
		var ire *InvalidRDataError
		if !errors.As(err, &ire) {
			t.Errorf("%q: got %v, want invalid rdata", term, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), `invalid rdata: "`) {
			t.Errorf("%q: message %q", term, err.Error())
		}
	}
}

func TestSplitExpr(t *testing.T) {
	cases := []struct{ in, field, op, value string }{
		{"ttl<=60", "ttl", "<=", "60"},
		{"owner~=*.a.b", "owner", "~=", "*.a.b"},
		{"*.x.ttl>5", "ttl", ">", "5"},
		{"=a==b", "a", "==", "b"},
	}
	for _, c := range cases {
		f, o, v, ok := splitExpr(c.in)
		if !ok || f != c.field || o != c.op || v != c.value {
			t.Errorf("%q: got %q %q %q %v", c.in, f, o, v, ok)
		}
	}
	if _, _, _, ok := splitExpr("A(1.2.3.4)"); ok {
		t.Error("A(1.2.3.4) has no operator")
	}
}

// FuzzCompileFilter feeds arbitrary terms to the filter compiler: it must
// return a filter or an error (never panic), and a compiled filter must be
// usable on a record.
func FuzzCompileFilter(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzCompileFilter (the zq examples and more).
	f.Add("ttl<=3600")
	rec := zone.Record{Owner: []byte("\x03www\x07example\x03com\x00"), Type: 1, Class: 1, TTL: 60, RData: []byte{1, 2, 3, 4}}
	f.Fuzz(func(t *testing.T, term string) {
		flt, err := CompileFilter([]string{term})
		if err != nil {
			var ire *InvalidRDataError
			if !errors.Is(err, ErrUnknownFilter) && !errors.As(err, &ire) {
				t.Fatalf("%q: unexpected error type %T: %v", term, err, err)
			}
			return
		}
		flt.Match(&rec)
	})
}

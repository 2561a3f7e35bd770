package sift

// filter.go compiles the filter language of dns.sift (API.md §2.4) into a
// Go predicate over zone records. Plain Go: no Lua here.

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"

	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
)

// Filter is a compiled filter: the AND of its terms. The zero Filter
// accepts every record.
type Filter struct {
	terms []term
}

// term kinds.
const (
	kOwnerEq    = iota // byte-exact owner equality
	kOwnerBelow        // owner at or below a name (*.name)
	kTTL               // numeric TTL comparison
	kType              // numeric type comparison
	kRDataTyped        // type equality plus wire substring
	kRDataRaw          // raw wire substring
)

// comparison operators.
const (
	opEq = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

// term is one compiled filter term.
type term struct {
	kind int
	op   int    // comparison (opEq/opNe for owner and rdata)
	num  uint32 // TTL or type value
	typ  uint16 // required type of kRDataTyped
	pat  []byte // owner wire or rdata pattern
}

// ErrUnknownFilter is wrapped by the error for a term that is not part of
// the filter language.
var ErrUnknownFilter = errors.New("unknown filter")

// InvalidRDataError reports a typed rdata value that does not parse
// (dns.sift raises it: `invalid rdata: "<v>"`).
type InvalidRDataError struct {
	Value string // the value as written, e.g. "A(1.2.3)"
}

// Error returns `invalid rdata: "<v>"`.
func (e *InvalidRDataError) Error() string { return fmt.Sprintf("invalid rdata: %q", e.Value) }

func unknownFilter(t string) error {
	return fmt.Errorf("%w %q", ErrUnknownFilter, t)
}

// knownTypes are the type mnemonics of the dns.type table (API.md §2.1.1).
var knownTypes = map[string]uint16{
	"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "HINFO": 13, "MINFO": 14, "MX": 15, "TXT": 16,
	"RP": 17, "AFSDB": 18, "RT": 21, "SIG": 24, "KEY": 25, "AAAA": 28, "LOC": 29, "SRV": 33,
	"NAPTR": 35, "KX": 36, "CERT": 37, "DNAME": 39, "OPT": 41, "APL": 42, "DS": 43, "SSHFP": 44,
	"IPSECKEY": 45, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "DHCID": 49, "NSEC3": 50,
	"NSEC3PARAM": 51, "TLSA": 52, "CDS": 59, "CDNSKEY": 60, "SPF": 99, "NID": 104, "L32": 105,
	"L64": 106, "LP": 107, "EUI48": 108, "EUI64": 109, "TKEY": 249, "TSIG": 250, "IXFR": 251,
	"AXFR": 252, "ANY": 255,
}

// typeByName returns the number of a type mnemonic: a name of the dns.type
// table, any other uppercase mnemonic miekg/dns knows (CAA, SVCB, HTTPS,
// ...), or TYPEnnn (RFC 3597).
func typeByName(s string) (uint16, bool) {
	if t, ok := knownTypes[s]; ok {
		return t, true
	}
	if t, ok := mdns.StringToType[s]; ok && s == strings.ToUpper(s) {
		return t, true
	}
	if n, ok := strings.CutPrefix(s, "TYPE"); ok && allDigits(n) {
		if v, err := strconv.ParseUint(n, 10, 16); err == nil {
			return uint16(v), true
		}
	}
	return 0, false
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isOpChar(c byte) bool { return c == '~' || c == '!' || c == '=' || c == '>' || c == '<' }

// CompileFilter compiles the AND of terms. An empty list accepts every
// record. A term outside the language gives an error wrapping
// ErrUnknownFilter and naming the term; an unparseable typed rdata value
// gives *InvalidRDataError.
func CompileFilter(terms []string) (*Filter, error) {
	f := &Filter{terms: make([]term, 0, len(terms))}
	for _, t := range terms {
		ct, err := compileTerm(t)
		if err != nil {
			return nil, err
		}
		f.terms = append(f.terms, ct)
	}
	return f, nil
}

// splitExpr finds the first "<field><op><value>" in t: field is the run of
// alphanumerics right before the first operator character that follows
// one, op the run of operator characters, value the rest.
func splitExpr(t string) (field, op, value string, ok bool) {
	for i := 1; i < len(t); i++ {
		if !isOpChar(t[i]) || !isAlnum(t[i-1]) {
			continue
		}
		s := i - 1
		for s > 0 && isAlnum(t[s-1]) {
			s--
		}
		e := i
		for e < len(t) && isOpChar(t[e]) {
			e++
		}
		return t[s:i], t[i:e], t[e:], true
	}
	return "", "", "", false
}

// firstWord returns the first run of alphanumerics of t.
func firstWord(t string) string {
	s := 0
	for s < len(t) && !isAlnum(t[s]) {
		s++
	}
	e := s
	for e < len(t) && isAlnum(t[e]) {
		e++
	}
	return t[s:e]
}

func parseOp(op string) (int, bool) {
	switch op {
	case "=", "==":
		return opEq, true
	case "~=", "!=":
		return opNe, true
	case "<":
		return opLt, true
	case "<=":
		return opLe, true
	case ">":
		return opGt, true
	case ">=":
		return opGe, true
	}
	return 0, false
}

func compileTerm(t string) (term, error) {
	field, opText, value, ok := splitExpr(t)
	if !ok {
		w := firstWord(t)
		if typ, known := typeByName(w); known {
			if w == t {
				return term{kind: kType, op: opEq, num: uint32(typ)}, nil
			}
			field, opText, value = "rdata", "=", t
		} else {
			field, opText, value = "owner", "=", t
		}
	}
	op, ok := parseOp(opText)
	if !ok {
		return term{}, unknownFilter(t)
	}
	switch field {
	case "owner":
		if op != opEq && op != opNe {
			return term{}, unknownFilter(t)
		}
		return compileOwner(t, value, op)
	case "ttl":
		n, err := strconv.ParseUint(strings.TrimSpace(value), 10, 32)
		if err != nil {
			return term{}, unknownFilter(t)
		}
		return term{kind: kTTL, op: op, num: uint32(n)}, nil
	case "type":
		typ, known := typeByName(strings.TrimSpace(value))
		if !known {
			return term{}, unknownFilter(t)
		}
		return term{kind: kType, op: op, num: uint32(typ)}, nil
	case "rdata":
		if op != opEq && op != opNe {
			return term{}, unknownFilter(t)
		}
		return compileRData(value, op)
	}
	return term{}, unknownFilter(t)
}

// compileOwner handles owner=[*.]name[~digits].
func compileOwner(t, value string, op int) (term, error) {
	if i := strings.LastIndexByte(value, '~'); i >= 0 && i+1 < len(value) && allDigits(value[i+1:]) {
		value = value[:i]
	}
	kind := kOwnerEq
	if value == "*" {
		return term{kind: kOwnerBelow, op: op, pat: []byte{0}}, nil
	}
	if strings.HasPrefix(value, "*.") {
		kind, value = kOwnerBelow, value[2:]
	}
	if value == "" {
		return term{}, unknownFilter(t)
	}
	n, err := dnsmsg.NameFromText(value)
	if err != nil || n == nil {
		return term{}, unknownFilter(t)
	}
	return term{kind: kind, op: op, pat: n.Wire}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// compileRData handles TYPE(text) patterns and raw \xHH byte patterns.
func compileRData(value string, op int) (term, error) {
	if p := strings.IndexByte(value, '('); p > 0 && strings.HasSuffix(value, ")") && allAlnum(value[:p]) {
		name := strings.ToUpper(value[:p])
		typ, known := typeByName(name)
		if !known {
			return term{}, &InvalidRDataError{Value: value}
		}
		text := value[p+1 : len(value)-1]
		got, wire, err := dnsmsg.ParseRData(name + " " + text)
		if err != nil || got != typ {
			return term{}, &InvalidRDataError{Value: value}
		}
		return term{kind: kRDataTyped, op: op, typ: typ, pat: wire}, nil
	}
	return term{kind: kRDataRaw, op: op, pat: decodeHexEscapes(value)}, nil
}

func allAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// decodeHexEscapes turns \xHH into the byte HH; everything else is kept.
func decodeHexEscapes(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && (s[i+1] == 'x' || s[i+1] == 'X') {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				out = append(out, byte(v))
				i += 3
				continue
			}
		}
		out = append(out, s[i])
	}
	return out
}

// Match reports whether r passes every term.
func (f *Filter) Match(r *zone.Record) bool {
	for i := range f.terms {
		if !f.terms[i].match(r) {
			return false
		}
	}
	return true
}

// Len returns the number of terms.
func (f *Filter) Len() int { return len(f.terms) }

func (t *term) match(r *zone.Record) bool {
	switch t.kind {
	case kOwnerEq:
		return equalFold(r.Owner, t.pat) == (t.op == opEq)
	case kOwnerBelow:
		return nameBelow(r.Owner, t.pat) == (t.op == opEq)
	case kTTL:
		return compare(r.TTL, t.num, t.op)
	case kType:
		return compare(uint32(r.Type), t.num, t.op)
	case kRDataTyped:
		return r.Type == t.typ && bytes.Contains(r.RData, t.pat) == (t.op == opEq)
	case kRDataRaw:
		return bytes.Contains(r.RData, t.pat) == (t.op == opEq)
	}
	return false
}

func compare(a, b uint32, op int) bool {
	switch op {
	case opEq:
		return a == b
	case opNe:
		return a != b
	case opLt:
		return a < b
	case opLe:
		return a <= b
	case opGt:
		return a > b
	default:
		return a >= b
	}
}

// nameBelow reports whether wire name w equals parent or lies below it
// (label-wise suffix, ASCII case-insensitive as RFC 4343 requires).
func nameBelow(w, parent []byte) bool {
	if len(parent) <= 1 {
		return len(w) > 0 // everything is below the root
	}
	for i := 0; i < len(w); {
		if len(w)-i == len(parent) && equalFold(w[i:], parent) {
			return true
		}
		if len(w)-i < len(parent) || w[i] == 0 {
			return false
		}
		i += int(w[i]) + 1
	}
	return false
}

func equalFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

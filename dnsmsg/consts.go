package dnsmsg

import (
	"iter"
	"maps"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"
)

// DNS numbers used by this package (RFC 1035, 6891, 8945).
const (
	TypeA        uint16 = 1
	TypeNS       uint16 = 2
	TypeCNAME    uint16 = 5
	TypeSOA      uint16 = 6
	TypePTR      uint16 = 12
	TypeMX       uint16 = 15
	TypeTXT      uint16 = 16
	TypeAAAA     uint16 = 28
	TypeOPT      uint16 = 41
	TypeTSIG     uint16 = 250
	ClassINET    uint16 = 1
	ClassANY     uint16 = 255
	SectionAN           = 0
	SectionNS           = 1
	SectionAR           = 2
	OptionCookie        = 10
)

// Const is one named constant of a table of API.md §2.1.1.
type Const struct {
	Name  string
	Value int
}

// ConstTable is one constant table of the Lua API: dns.<Name>, with the
// inverse dns.tostring.<Name>.
type ConstTable struct {
	Name    string
	Entries []Const
}

// ConstTables lists the constant tables of API.md §2.1.1 in a fixed order.
var ConstTables = []ConstTable{{"class", classConsts}, {"type", typeConsts}, {"section", sectionConsts},
	{"opcode", opcodeConsts}, {"rcode", rcodeConsts}, {"rcode_tsig", rcodeTSIGConsts},
	{"option", optionConsts}}

var (
	classConsts = []Const{{"IN", 1}, {"CH", 3}, {"NONE", 254}, {"ANY", 255}}
	typeConsts  = []Const{{"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"PTR", 12},
		{"HINFO", 13}, {"MINFO", 14}, {"MX", 15}, {"TXT", 16}, {"RP", 17}, {"AFSDB", 18},
		{"RT", 21}, {"SIG", 24}, {"KEY", 25}, {"AAAA", 28}, {"LOC", 29}, {"SRV", 33},
		{"NAPTR", 35}, {"KX", 36}, {"CERT", 37}, {"DNAME", 39}, {"OPT", 41}, {"APL", 42},
		{"DS", 43}, {"SSHFP", 44}, {"IPSECKEY", 45}, {"RRSIG", 46}, {"NSEC", 47},
		{"DNSKEY", 48}, {"DHCID", 49}, {"NSEC3", 50}, {"NSEC3PARAM", 51}, {"TLSA", 52},
		{"CDS", 59}, {"CDNSKEY", 60}, {"SPF", 99}, {"NID", 104}, {"L32", 105}, {"L64", 106},
		{"LP", 107}, {"EUI48", 108}, {"EUI64", 109}, {"TKEY", 249}, {"TSIG", 250},
		{"IXFR", 251}, {"AXFR", 252}, {"ANY", 255}}
	sectionConsts = []Const{{"ANSWER", 0}, {"AUTHORITY", 1}, {"ADDITIONAL", 2}}
	opcodeConsts  = []Const{{"QUERY", 0}, {"IQUERY", 1}, {"STATUS", 2}, {"NOTIFY", 4}, {"UPDATE", 5}}
	rcodeConsts   = []Const{{"NOERROR", 0}, {"FORMERR", 1}, {"SERVFAIL", 2}, {"NXDOMAIN", 3},
		{"NOTIMPL", 4}, {"REFUSED", 5}, {"YXDOMAIN", 6}, {"YXRRSET", 7}, {"NXRRSET", 8},
		{"NOTAUTH", 9}, {"NOTZONE", 10}, {"BADVERS", 16}, {"BADCOOKIE", 23}}
	rcodeTSIGConsts = []Const{{"BADSIG", 16}, {"BADKEY", 17}, {"BADTIME", 18}, {"BADTRUNC", 22}}
	optionConsts    = []Const{{"NSID", 3}, {"SUBNET", 8}, {"EXPIRE", 9}, {"COOKIE", 10}}
)

// typeNames maps every type number known to this package or miekg/dns to its mnemonic.
var typeNames = func() map[uint16]string {
	m := make(map[uint16]string, len(mdns.TypeToString)+len(typeConsts))
	for t, s := range mdns.TypeToString {
		m[t] = s
	}
	for _, e := range typeConsts {
		m[uint16(e.Value)] = e.Name
	}
	return m
}()

// TypeNames yields every type number known to this package or miekg/dns
// with its mnemonic, in no particular order.
func TypeNames() iter.Seq2[uint16, string] { return maps.All(typeNames) }

// typeNumbers maps the upper-case mnemonics of typeNames back to numbers.
var typeNumbers = func() map[string]uint16 {
	m := make(map[string]uint16, len(typeNames))
	for t, s := range typeNames {
		m[strings.ToUpper(s)] = t
	}
	return m
}()

// ParseType reads a type mnemonic (any case) or "TYPEnnn" (RFC 3597).
func ParseType(s string) (uint16, bool) {
	s = strings.ToUpper(s)
	if t, ok := typeNumbers[s]; ok {
		return t, true
	}
	if n, ok := strings.CutPrefix(s, "TYPE"); ok {
		if v, err := strconv.ParseUint(n, 10, 16); err == nil {
			return uint16(v), true
		}
	}
	return 0, false
}

// TypeString returns the mnemonic of t, or "TYPEnnn" (RFC 3597).
func TypeString(t uint16) string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// ClassString returns the mnemonic of class c, or "CLASSnnn".
func ClassString(c uint16) string {
	for _, e := range classConsts {
		if e.Value == int(c) {
			return e.Name
		}
	}
	return "CLASS" + strconv.Itoa(int(c))
}

// constName returns the name of v in tbl, or the number as text.
func constName(tbl []Const, v int) string {
	for _, e := range tbl {
		if e.Value == v {
			return e.Name
		}
	}
	return strconv.Itoa(v)
}

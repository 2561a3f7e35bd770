package testnet

import (
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"ljdns/clock"
)

// Query is one question of a comparison corpus.
type Query struct {
	Name string
	Type uint16
	DO   bool // EDNS0 with the DNSSEC OK bit
	CD   bool // checking disabled
	NoRD bool // clear RD (it is set by default, as dig does)
	TCP  bool // over TCP instead of UDP
}

// String writes q the way ParseCorpus reads it.
func (q Query) String() string {
	s := dns.Fqdn(q.Name) + " " + typeString(q.Type)
	if q.DO {
		s += " +do"
	}
	if q.CD {
		s += " +cd"
	}
	if q.NoRD {
		s += " +nord"
	}
	if q.TCP {
		s += " +tcp"
	}
	return s
}

func typeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}

// ParseCorpus reads one query a line: "name TYPE [+do] [+cd] [+nord]
// [+tcp]". Blank lines and lines starting with # or ; are skipped.
func ParseCorpus(text string) ([]Query, error) {
	var out []Query
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("corpus line %d: want name and type: %q", i+1, line)
		}
		q := Query{Name: dns.Fqdn(f[0])}
		if _, ok := dns.IsDomainName(q.Name); !ok {
			return nil, fmt.Errorf("corpus line %d: bad name %q", i+1, f[0])
		}
		t, ok := dns.StringToType[strings.ToUpper(f[1])]
		if !ok {
			var n uint16
			if _, err := fmt.Sscanf(strings.ToUpper(f[1]), "TYPE%d", &n); err != nil {
				return nil, fmt.Errorf("corpus line %d: unknown type %q", i+1, f[1])
			}
			t = n
		}
		q.Type = t
		for _, opt := range f[2:] {
			switch strings.ToLower(opt) {
			case "+do", "+dnssec":
				q.DO = true
			case "+cd":
				q.CD = true
			case "+nord", "+norec":
				q.NoRD = true
			case "+tcp":
				q.TCP = true
			default:
				return nil, fmt.Errorf("corpus line %d: unknown option %q", i+1, opt)
			}
		}
		out = append(out, q)
	}
	return out, nil
}

// Msg builds the query message of q (EDNS0 with 1232 bytes when DO is set).
func (q Query) Msg() *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(q.Name), q.Type)
	m.RecursionDesired = !q.NoRD
	m.CheckingDisabled = q.CD
	if q.DO {
		m.SetEdns0(1232, true)
	}
	return m
}

// CompareOptions tune what counts as a difference.
type CompareOptions struct {
	// TTLTolerance lets TTLs differ by up to this many seconds (for caches,
	// whose TTLs count down). Zero: TTLs must be equal.
	TTLTolerance uint32
	// IgnoreFlags names header flags not compared: "aa", "tc", "rd", "ra",
	// "ad", "cd".
	IgnoreFlags []string
	// IgnoreAdditional skips the additional section (servers differ in the
	// glue and address records they add).
	IgnoreAdditional bool
	// RRSIGBytes compares RRSIGs byte for byte instead of by validity.
	RRSIGBytes bool
	// Clock gives the time against which RRSIG validity is judged
	// (default clock.Real).
	Clock clock.Clock
	// Timeout of each query (default 2 s); a UDP query is sent twice
	// before it counts as unanswered.
	Timeout time.Duration
}

// Diff is one difference between the two servers' answers to a query.
type Diff struct {
	Query Query
	What  string // "error", "rcode", "flags", "edns", "question", "answer", "authority" or "additional"
	A, B  string // what each side had ("(none)" when absent)
}

// String formats d on one or more lines.
func (d Diff) String() string {
	if !strings.Contains(d.A, "\n") && !strings.Contains(d.B, "\n") {
		return fmt.Sprintf("%s: %s: A %s | B %s", d.Query, d.What, d.A, d.B)
	}
	return fmt.Sprintf("%s: %s:\n  A: %s\n  B: %s", d.Query, d.What,
		strings.ReplaceAll(d.A, "\n", "\n     "), strings.ReplaceAll(d.B, "\n", "\n     "))
}

// Report formats diffs for a test log: one block per difference.
func Report(diffs []Diff) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d difference(s)\n", len(diffs))
	for _, d := range diffs {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Exchange sends q to server and returns the reply.
func Exchange(server netip.AddrPort, q Query, timeout time.Duration) (*dns.Msg, error) {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	c := &dns.Client{Net: "udp", Timeout: timeout, UDPSize: 65535}
	tries := 2
	if q.TCP {
		c.Net, tries = "tcp", 1
	}
	var err error
	for range tries {
		var r *dns.Msg
		r, _, err = c.Exchange(q.Msg(), server.String())
		if err == nil {
			return r, nil
		}
	}
	return nil, err
}

// Compare sends every query of corpus to a and to b and returns where
// their answers differ. A query neither server answers is no difference.
func Compare(a, b netip.AddrPort, corpus []Query, opt CompareOptions) []Diff {
	var diffs []Diff
	for _, q := range corpus {
		ra, ea := Exchange(a, q, opt.Timeout)
		rb, eb := Exchange(b, q, opt.Timeout)
		switch {
		case ea != nil && eb != nil:
			continue
		case ea != nil || eb != nil:
			diffs = append(diffs, Diff{Query: q, What: "error", A: errText(ea, ra), B: errText(eb, rb)})
			continue
		}
		diffs = append(diffs, CompareMsgs(q, ra, rb, opt)...)
	}
	return diffs
}

func errText(err error, r *dns.Msg) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return "answered " + dns.RcodeToString[r.Rcode]
}

// CompareMsgs compares two replies to q: rcode, header flags, EDNS
// presence and DO bit, the question, and each section as a set of RRsets
// (order-free, names case-insensitive, TTLs within the tolerance, RRSIGs by
// validity unless opt.RRSIGBytes).
func CompareMsgs(q Query, a, b *dns.Msg, opt CompareOptions) []Diff {
	var diffs []Diff
	add := func(what, x, y string) { diffs = append(diffs, Diff{Query: q, What: what, A: x, B: y}) }
	if a.Rcode != b.Rcode {
		add("rcode", rcodeString(a.Rcode), rcodeString(b.Rcode))
	}
	if fa, fb := flagString(a, opt.IgnoreFlags), flagString(b, opt.IgnoreFlags); fa != fb {
		add("flags", fa, fb)
	}
	if ea, eb := ednsString(a), ednsString(b); ea != eb {
		add("edns", ea, eb)
	}
	if qa, qb := questionString(a), questionString(b); qa != qb {
		add("question", qa, qb)
	}
	now := time.Now()
	if opt.Clock != nil {
		now = opt.Clock.Now()
	}
	sections := []struct {
		name string
		a, b []dns.RR
	}{{"answer", a.Answer, b.Answer}, {"authority", a.Ns, b.Ns}, {"additional", a.Extra, b.Extra}}
	for _, s := range sections {
		if s.name == "additional" && opt.IgnoreAdditional {
			continue
		}
		diffs = append(diffs, compareSection(q, s.name, s.a, s.b, opt, now)...)
	}
	return diffs
}

func rcodeString(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}

// flagString lists the header flags set in m, less the ignored ones.
func flagString(m *dns.Msg, ignore []string) string {
	var fs []string
	for _, f := range []struct {
		name string
		on   bool
	}{{"qr", m.Response}, {"aa", m.Authoritative}, {"tc", m.Truncated}, {"rd", m.RecursionDesired},
		{"ra", m.RecursionAvailable}, {"z", m.Zero}, {"ad", m.AuthenticatedData}, {"cd", m.CheckingDisabled}} {
		if f.on && !slices.Contains(ignore, f.name) {
			fs = append(fs, f.name)
		}
	}
	if m.Opcode != dns.OpcodeQuery {
		fs = append(fs, "opcode="+dns.OpcodeToString[m.Opcode])
	}
	return "[" + strings.Join(fs, " ") + "]"
}

// ednsString describes the OPT record: presence, version and DO (not the
// payload size, which is each server's own choice).
func ednsString(m *dns.Msg) string {
	o := m.IsEdns0()
	if o == nil {
		return "no EDNS"
	}
	s := fmt.Sprintf("EDNS%d", o.Version())
	if o.Do() {
		s += " do"
	}
	return s
}

func questionString(m *dns.Msg) string {
	var qs []string
	for _, q := range m.Question {
		qs = append(qs, strings.ToLower(q.Name)+" "+dns.ClassToString[q.Qclass]+" "+typeString(q.Qtype))
	}
	return strings.Join(qs, ", ")
}

// rrset is one RRset of a section, as compared.
type rrset struct {
	key          string   // owner class type (and covered type for RRSIGs)
	rdata        []string // normalised, sorted
	text         []string // the records as received, for the report
	minTTL, maxT uint32
}

// compareSection compares two sections RRset by RRset.
func compareSection(q Query, name string, a, b []dns.RR, opt CompareOptions, now time.Time) []Diff {
	sa, sb := rrsets(a, opt, now), rrsets(b, opt, now)
	keys := map[string]bool{}
	for k := range sa {
		keys[k] = true
	}
	for k := range sb {
		keys[k] = true
	}
	var diffs []Diff
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		x, y := sa[k], sb[k]
		switch {
		case x == nil:
			diffs = append(diffs, Diff{Query: q, What: name, A: "(none)", B: strings.Join(y.text, "\n")})
		case y == nil:
			diffs = append(diffs, Diff{Query: q, What: name, A: strings.Join(x.text, "\n"), B: "(none)"})
		case !slices.Equal(x.rdata, y.rdata):
			diffs = append(diffs, Diff{Query: q, What: name, A: strings.Join(x.text, "\n"), B: strings.Join(y.text, "\n")})
		case absDiff(x.minTTL, y.minTTL) > opt.TTLTolerance || absDiff(x.maxT, y.maxT) > opt.TTLTolerance:
			diffs = append(diffs, Diff{Query: q, What: name + " TTL",
				A: fmt.Sprintf("%s TTL %s", k, ttlRange(x)), B: fmt.Sprintf("%s TTL %s", k, ttlRange(y))})
		}
	}
	return diffs
}

func ttlRange(s *rrset) string {
	if s.minTTL == s.maxT {
		return fmt.Sprint(s.minTTL)
	}
	return fmt.Sprintf("%d..%d", s.minTTL, s.maxT)
}

func absDiff(x, y uint32) uint32 {
	if x > y {
		return x - y
	}
	return y - x
}

// rrsets groups a section into RRsets by owner (lowercased), class and
// type; RRSIGs also by the type they cover. OPT and TSIG are left out.
func rrsets(rrs []dns.RR, opt CompareOptions, now time.Time) map[string]*rrset {
	out := map[string]*rrset{}
	for _, rr := range rrs {
		h := rr.Header()
		if h.Rrtype == dns.TypeOPT || h.Rrtype == dns.TypeTSIG {
			continue
		}
		key := strings.ToLower(h.Name) + " " + classString(h.Class) + " " + typeString(h.Rrtype)
		if sig, ok := rr.(*dns.RRSIG); ok {
			key += " " + typeString(sig.TypeCovered)
		}
		s := out[key]
		if s == nil {
			s = &rrset{key: key, minTTL: h.Ttl, maxT: h.Ttl}
			out[key] = s
		}
		s.minTTL, s.maxT = min(s.minTTL, h.Ttl), max(s.maxT, h.Ttl)
		s.rdata = append(s.rdata, rdataKey(rr, opt, now))
		s.text = append(s.text, rr.String())
	}
	for _, s := range out {
		slices.Sort(s.rdata)
		slices.Sort(s.text)
	}
	return out
}

func classString(c uint16) string {
	if s, ok := dns.ClassToString[c]; ok {
		return s
	}
	return fmt.Sprintf("CLASS%d", c)
}

// rdataKey normalises the RDATA of rr: domain names in it lowercased, and
// an RRSIG reduced to what a validator cares about (covered type,
// algorithm, labels, key tag, signer and whether now lies in its validity
// period) unless opt.RRSIGBytes.
func rdataKey(rr dns.RR, opt CompareOptions, now time.Time) string {
	if sig, ok := rr.(*dns.RRSIG); ok && !opt.RRSIGBytes {
		state := "valid"
		if !sig.ValidityPeriod(now) {
			state = validityState(sig, now)
		}
		return fmt.Sprintf("covers %s alg %d labels %d tag %d signer %s %s",
			typeString(sig.TypeCovered), sig.Algorithm, sig.Labels, sig.KeyTag, strings.ToLower(sig.SignerName), state)
	}
	c := dns.Copy(rr)
	lowerNames(reflect.ValueOf(c).Elem())
	h := c.Header()
	h.Name, h.Ttl = strings.ToLower(h.Name), 0
	return strings.TrimPrefix(c.String(), h.String())
}

// validityState says why a signature is not valid at now.
func validityState(sig *dns.RRSIG, now time.Time) string {
	// ValidityPeriod uses serial arithmetic; compare the same way.
	if int32(uint32(now.Unix())-sig.Inception) < 0 {
		return "not yet valid"
	}
	return "expired"
}

// lowerNames lowercases the domain-name fields of an RR struct (those
// miekg/dns tags domain-name or cdomain-name).
func lowerNames(v reflect.Value) {
	t := v.Type()
	for i := range v.NumField() {
		f, sf := v.Field(i), t.Field(i)
		tag := sf.Tag.Get("dns")
		if sf.Name == "Hdr" {
			continue
		}
		switch {
		case f.Kind() == reflect.String && (tag == "domain-name" || tag == "cdomain-name"):
			f.SetString(strings.ToLower(f.String()))
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String && (tag == "domain-name" || tag == "cdomain-name"):
			for j := range f.Len() {
				f.Index(j).SetString(strings.ToLower(f.Index(j).String()))
			}
		}
	}
}

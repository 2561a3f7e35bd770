package replay

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"

	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
)

// Scenario is one parsed Deckard .rpl file.
type Scenario struct {
	File   string        // the name given to Parse (used in messages)
	Title  string        // the text after SCENARIO_BEGIN
	Config []ConfigEntry // the CONFIG section, in file order
	Ranges []*Range      // mock answers, in file order
	Steps  []*Step       // the test steps, in file order
}

// ConfigEntry is one "key: value" line of the CONFIG section.
type ConfigEntry struct {
	Key, Value string
	Line       int
}

// Range is a RANGE_BEGIN block: entries answering the queries sent to
// Addrs (any address when empty) while the current step is in [From, To].
type Range struct {
	From, To int
	Addrs    []netip.Addr
	Entries  []*Entry
	Line     int
}

// StepKind is the action of a STEP.
type StepKind int

// Step kinds.
const (
	StepQuery       StepKind = iota // send the entry to the resolver
	StepCheckAnswer                 // compare the last answer with the entry
	StepTimePasses                  // move the fake clock forward by Elapse seconds
	StepReply                       // a one-shot mock answer
)

var stepKinds = map[string]StepKind{
	"QUERY": StepQuery, "CHECK_ANSWER": StepCheckAnswer, "TIME_PASSES": StepTimePasses, "REPLY": StepReply,
}

func (k StepKind) String() string {
	for s, v := range stepKinds {
		if v == k {
			return s
		}
	}
	return "STEP" + strconv.Itoa(int(k))
}

// Step is one STEP of the scenario.
type Step struct {
	ID     int
	Kind   StepKind
	Elapse int64  // seconds, for TIME_PASSES
	Entry  *Entry // nil for TIME_PASSES
	Line   int
}

// Question is one line of a QUESTION section.
type Question struct {
	Name        []byte // wire form, case as written
	Type, Class uint16
}

// Record is one resource record of an entry section.
type Record struct {
	Owner       []byte // wire form, case as written
	Type, Class uint16
	TTL         uint32
	RData       []byte
}

// Entry is an ENTRY_BEGIN block: a query to send, an expected answer, or
// an answer template.
type Entry struct {
	Line      int
	Match     []string // match elements, "all" expanded; nil: the default (opcode qtype qname)
	CopyID    bool     // ADJUST copy_id: the query's ID and QNAME
	CopyQuery bool     // ADJUST copy_query: the query's whole question section
	RawID     bool     // ADJUST raw_id: the query's ID into the first two RAW bytes
	NoAnswer  bool     // ADJUST do_not_answer
	Mandatory bool     // MANDATORY: must answer at least one query
	Opcode    int
	Rcode     int
	Flags     uint16 // header flag bits (flagQR ...)
	DO        bool
	Question  []Question
	Sections  [3][]Record // ANSWER, AUTHORITY, ADDITIONAL
	Raw       []byte      // RAW data, nil without
}

// Header flag bits as in the second 16-bit word of the header.
const (
	flagQR = 0x8000
	flagAA = 0x0400
	flagTC = 0x0200
	flagRD = 0x0100
	flagRA = 0x0080
	flagAD = 0x0020
	flagCD = 0x0010
	// flagMask selects the flags Deckard compares (QR AA TC RD RA AD CD).
	flagMask = flagQR | flagAA | flagTC | flagRD | flagRA | flagAD | flagCD
)

var flagNames = []struct {
	name string
	bit  uint16
}{{"QR", flagQR}, {"AA", flagAA}, {"TC", flagTC}, {"RD", flagRD}, {"RA", flagRA}, {"AD", flagAD}, {"CD", flagCD}}

var rcodeNames = []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"}

var opcodeNames = map[string]int{"QUERY": 0, "IQUERY": 1, "STATUS": 2, "NOTIFY": 4, "UPDATE": 5}

// matchAll is what MATCH all stands for.
var matchAll = []string{"opcode", "qtype", "qname", "flags", "rcode", "answer", "authority", "additional"}

// matchDefault is the match list of an entry without MATCH.
var matchDefault = []string{"opcode", "qtype", "qname"}

var matchKnown = map[string]bool{"opcode": true, "qtype": true, "qname": true, "qcase": true,
	"subdomain": true, "flags": true, "rcode": true, "question": true, "answer": true,
	"authority": true, "additional": true, "edns": true, "nsid": true, "all": true, "ttl": true}

// ParseError is a malformed scenario: the file and line, and what is wrong.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// ParseFile reads and parses the scenario in path.
func ParseFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, bytes.NewReader(data))
}

// maxLine bounds one line of a scenario (a RAW packet is one line of hex).
const maxLine = 1 << 20

// parser holds the state of one Parse.
type parser struct {
	file string
	sc   *bufio.Scanner
	line int
	text string // current line, comments removed, trimmed
}

func (p *parser) errf(format string, args ...any) error {
	return &ParseError{File: p.file, Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// next moves to the next non-empty line (comments removed); false at EOF.
func (p *parser) next(config bool) (bool, error) {
	for p.sc.Scan() {
		p.line++
		t := strings.TrimSpace(stripComment(p.sc.Text(), config))
		if t != "" {
			p.text = t
			return true, nil
		}
	}
	if err := p.sc.Err(); err != nil {
		p.line++
		return false, p.errf("%v", err)
	}
	return false, nil
}

// stripComment removes a ';' comment outside double quotes. In the CONFIG
// section '#' starts a comment too, and ';' only at the start or after a
// blank: "features: a = 1; b = 2" separates features with it.
func stripComment(s string, config bool) string {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '#' && config:
			return s[:i]
		case c == ';' && (!config || i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

// Parse parses a Deckard scenario; name is used in error messages. Any
// malformed part is a *ParseError naming the file and line.
func Parse(name string, r io.Reader) (*Scenario, error) {
	p := &parser{file: name, sc: bufio.NewScanner(r)}
	p.sc.Buffer(make([]byte, 0, 4096), maxLine)
	s := &Scenario{File: name}
	// CONFIG section
	for {
		ok, err := p.next(true)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.errf("no CONFIG_END")
		}
		if p.text == "CONFIG_END" {
			break
		}
		k, v, found := strings.Cut(p.text, ":")
		k = strings.TrimSpace(k)
		if !found || k == "" || strings.ContainsAny(k, " \t") {
			return nil, p.errf("config line is not 'key: value': %q", p.text)
		}
		s.Config = append(s.Config, ConfigEntry{Key: k, Value: unquote(strings.TrimSpace(v)), Line: p.line})
	}
	ok, err := p.next(false)
	if err != nil {
		return nil, err
	}
	if !ok || !keyword(p.text, "SCENARIO_BEGIN") {
		return nil, p.errf("SCENARIO_BEGIN expected after CONFIG_END")
	}
	s.Title = strings.TrimSpace(strings.TrimPrefix(p.text, "SCENARIO_BEGIN"))
	ids := map[int]int{}
	for {
		ok, err := p.next(false)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.errf("no SCENARIO_END")
		}
		f := strings.Fields(p.text)
		switch f[0] {
		case "SCENARIO_END":
			if len(f) > 1 {
				return nil, p.errf("text after SCENARIO_END")
			}
			ok, err := p.next(false)
			if err != nil {
				return nil, err
			}
			if ok {
				return nil, p.errf("text after SCENARIO_END: %q", p.text)
			}
			return s, nil
		case "RANGE_BEGIN":
			rg, err := p.parseRange(f)
			if err != nil {
				return nil, err
			}
			s.Ranges = append(s.Ranges, rg)
		case "STEP":
			st, err := p.parseStep(f)
			if err != nil {
				return nil, err
			}
			if prev, dup := ids[st.ID]; dup {
				p.line = st.Line
				return nil, p.errf("STEP %d already defined at line %d", st.ID, prev)
			}
			ids[st.ID] = st.Line
			s.Steps = append(s.Steps, st)
		default:
			return nil, p.errf("unexpected %q (RANGE_BEGIN, STEP or SCENARIO_END expected)", f[0])
		}
	}
}

// keyword reports whether line is kw alone or kw followed by blanks.
func keyword(line, kw string) bool {
	return line == kw || strings.HasPrefix(line, kw) && (line[len(kw)] == ' ' || line[len(kw)] == '\t')
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

func (p *parser) parseRange(f []string) (*Range, error) {
	rg := &Range{Line: p.line}
	if len(f) < 3 {
		return nil, p.errf("RANGE_BEGIN needs two step numbers")
	}
	var err error
	if rg.From, err = strconv.Atoi(f[1]); err != nil {
		return nil, p.errf("bad RANGE_BEGIN start %q", f[1])
	}
	if rg.To, err = strconv.Atoi(f[2]); err != nil {
		return nil, p.errf("bad RANGE_BEGIN end %q", f[2])
	}
	for _, a := range f[3:] { // RANGE_BEGIN a b ADDRESS
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return nil, p.errf("bad RANGE_BEGIN address %q", a)
		}
		rg.Addrs = append(rg.Addrs, ip.Unmap())
	}
	for {
		ok, err := p.next(false)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.errf("no RANGE_END for the RANGE_BEGIN at line %d", rg.Line)
		}
		f := strings.Fields(p.text)
		switch f[0] {
		case "RANGE_END":
			return rg, nil
		case "ADDRESS":
			if len(f) != 2 {
				return nil, p.errf("ADDRESS needs one address")
			}
			ip, err := netip.ParseAddr(f[1])
			if err != nil {
				return nil, p.errf("bad ADDRESS %q", f[1])
			}
			rg.Addrs = append(rg.Addrs, ip.Unmap())
		case "ENTRY_BEGIN":
			e, err := p.parseEntry()
			if err != nil {
				return nil, err
			}
			rg.Entries = append(rg.Entries, e)
		default:
			return nil, p.errf("unexpected %q in RANGE (ADDRESS, ENTRY_BEGIN or RANGE_END expected)", f[0])
		}
	}
}

func (p *parser) parseStep(f []string) (*Step, error) {
	st := &Step{Line: p.line}
	if len(f) < 3 {
		return nil, p.errf("STEP needs a number and a type")
	}
	id, err := strconv.Atoi(f[1])
	if err != nil || id < 0 {
		return nil, p.errf("bad STEP number %q", f[1])
	}
	st.ID = id
	kind, ok := stepKinds[f[2]]
	if !ok {
		return nil, p.errf("unknown STEP type %q", f[2])
	}
	st.Kind = kind
	if kind == StepTimePasses {
		if len(f) != 5 || f[3] != "ELAPSE" {
			return nil, p.errf("TIME_PASSES needs ELAPSE seconds")
		}
		if st.Elapse, err = strconv.ParseInt(f[4], 10, 32); err != nil || st.Elapse < 0 {
			return nil, p.errf("bad ELAPSE %q", f[4])
		}
		return st, nil
	}
	if len(f) > 3 {
		return nil, p.errf("unexpected %q after STEP %s", f[3], f[2])
	}
	ok, err = p.next(false)
	if err != nil {
		return nil, err
	}
	if !ok || p.text != "ENTRY_BEGIN" {
		return nil, p.errf("STEP %d %s needs an ENTRY", id, f[2])
	}
	if st.Entry, err = p.parseEntry(); err != nil {
		return nil, err
	}
	return st, nil
}

// section numbers of an entry: -1 is QUESTION.
var sectionNames = map[string]int{"QUESTION": -1, "ANSWER": 0, "AUTHORITY": 1, "ADDITIONAL": 2}

// parseEntry parses from the line after ENTRY_BEGIN to ENTRY_END.
func (p *parser) parseEntry() (*Entry, error) {
	e := &Entry{Line: p.line}
	section := -2 // none yet
	hasReply := false
	for {
		ok, err := p.next(false)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.errf("no ENTRY_END for the ENTRY_BEGIN at line %d", e.Line)
		}
		f := strings.Fields(p.text)
		switch f[0] {
		case "ENTRY_END":
			if e.Match == nil {
				e.Match = matchDefault
			}
			return e, nil
		case "MATCH":
			for _, m := range f[1:] {
				if !matchKnown[m] {
					return nil, p.errf("unknown MATCH element %q", m)
				}
				if m == "all" {
					e.Match = append(e.Match, matchAll...)
				} else {
					e.Match = append(e.Match, m)
				}
			}
		case "ADJUST":
			for _, a := range f[1:] {
				switch a {
				case "copy_id":
					e.CopyID = true
				case "copy_query":
					e.CopyQuery = true
				case "raw_id":
					e.RawID = true
				case "do_not_answer":
					e.NoAnswer = true
				default:
					return nil, p.errf("unknown ADJUST element %q", a)
				}
			}
		case "REPLY":
			if hasReply {
				return nil, p.errf("second REPLY line in the entry")
			}
			hasReply = true
			if err := p.parseReply(e, f[1:]); err != nil {
				return nil, err
			}
		case "MANDATORY":
			e.Mandatory = true
		case "SECTION":
			if len(f) != 2 {
				return nil, p.errf("SECTION needs one section name")
			}
			s, ok := sectionNames[f[1]]
			if !ok {
				return nil, p.errf("unknown SECTION %q", f[1])
			}
			section = s
		case "RAW":
			if e.Raw != nil {
				return nil, p.errf("second RAW in the entry")
			}
			ok, err := p.next(false)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, p.errf("RAW without data")
			}
			raw, err := hex.DecodeString(strings.Join(strings.Fields(p.text), ""))
			if err != nil || len(raw) == 0 {
				return nil, p.errf("RAW data is not hexadecimal")
			}
			e.Raw = raw
		default:
			switch {
			case section == -2:
				return nil, p.errf("unexpected %q in ENTRY (no SECTION yet)", f[0])
			case section == -1:
				q, err := p.parseQuestion(f)
				if err != nil {
					return nil, err
				}
				e.Question = append(e.Question, q)
			default:
				rr, err := p.parseRecord()
				if err != nil {
					return nil, err
				}
				e.Sections[section] = append(e.Sections[section], rr)
			}
		}
	}
}

func (p *parser) parseReply(e *Entry, f []string) error {
	for _, w := range f {
		if w == "DO" {
			e.DO = true
			continue
		}
		if op, ok := opcodeNames[w]; ok {
			e.Opcode = op
			continue
		}
		found := false
		for _, fl := range flagNames {
			if fl.name == w {
				e.Flags |= fl.bit
				found = true
			}
		}
		for rc, n := range rcodeNames {
			if n == w {
				e.Rcode = rc
				found = true
			}
		}
		if w == "BADVERS" {
			e.Rcode, found = 16, true
		}
		if !found {
			return p.errf("unknown REPLY element %q", w)
		}
	}
	return nil
}

// typeByName maps mnemonics to RR types.
var typeByName = func() map[string]uint16 {
	m := map[string]uint16{}
	for t, n := range dnsmsg.TypeNames() {
		m[strings.ToUpper(n)] = t
	}
	return m
}()

// parseType reads an RR type mnemonic or TYPEnnn.
func parseType(s string) (uint16, bool) {
	s = strings.ToUpper(s)
	if t, ok := typeByName[s]; ok {
		return t, true
	}
	if n, ok := strings.CutPrefix(s, "TYPE"); ok {
		v, err := strconv.ParseUint(n, 10, 16)
		return uint16(v), err == nil
	}
	return 0, false
}

// parseClass reads a class mnemonic or CLASSnnn.
func parseClass(s string) (uint16, bool) {
	switch s = strings.ToUpper(s); s {
	case "IN":
		return 1, true
	case "CS":
		return 2, true
	case "CH":
		return 3, true
	case "HS":
		return 4, true
	case "NONE":
		return 254, true
	case "ANY":
		return 255, true
	}
	if n, ok := strings.CutPrefix(s, "CLASS"); ok {
		v, err := strconv.ParseUint(n, 10, 16)
		return uint16(v), err == nil
	}
	return 0, false
}

// parseQuestion reads "<name> [class] <type>".
func (p *parser) parseQuestion(f []string) (Question, error) {
	q := Question{Class: 1}
	if len(f) < 2 || len(f) > 3 {
		return q, p.errf("question is not '<name> [class] <type>': %q", p.text)
	}
	n, err := dnsmsg.NameFromText(f[0])
	if err != nil {
		return q, p.errf("bad question name %q: %v", f[0], err)
	}
	q.Name = n.Wire
	if len(f) == 3 {
		c, ok := parseClass(f[1])
		if !ok {
			return q, p.errf("bad question class %q", f[1])
		}
		q.Class = c
	}
	t, ok := parseType(f[len(f)-1])
	if !ok {
		return q, p.errf("bad question type %q", f[len(f)-1])
	}
	q.Type = t
	return q, nil
}

// defaultTTL is the TTL of a record line without one (Deckard's).
const defaultTTL = 3600

// parseRecord reads the current line as one zone-file record relative to
// the root.
func (p *parser) parseRecord() (Record, error) {
	zs := zone.NewScanner(strings.NewReader(sortBitmap(p.text)+"\n"), ".", zone.ClassINET, defaultTTL)
	zs.AllowInclude = false
	if !zs.Next() {
		if err := zs.Err(); err != nil {
			msg := err.Error()
			if pe, ok := err.(*zone.ParseError); ok {
				msg = pe.Error()
			}
			return Record{}, p.errf("bad record %q: %s", p.text, strings.TrimPrefix(msg, "1: "))
		}
		return Record{}, p.errf("bad record %q", p.text)
	}
	z := zs.Record()
	rr := Record{Owner: bytes.Clone(z.Owner), Type: z.Type, Class: z.Class, TTL: z.TTL, RData: bytes.Clone(z.RData)}
	if zs.Next() || zs.Err() != nil {
		return Record{}, p.errf("bad record %q: more than one record on the line", p.text)
	}
	return rr, nil
}

// sortBitmap puts the type list of an NSEC or NSEC3 record line in
// ascending order: scenarios list types in any order, which the zone
// scanner refuses. Other lines are returned unchanged.
func sortBitmap(line string) string {
	f := strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(line))
	ti := -1 // index of the type
	for i := 1; i < len(f) && i <= 3; i++ {
		if _, ok := parseType(f[i]); ok {
			if _, isClass := parseClass(f[i]); !isClass {
				ti = i
				break
			}
		}
	}
	if ti < 0 {
		return line
	}
	var start int
	switch strings.ToUpper(f[ti]) {
	case "NSEC":
		start = ti + 2
	case "NSEC3":
		start = ti + 6
	default:
		return line
	}
	if start > len(f) {
		return line
	}
	types := f[start:]
	nums := make([]uint16, len(types))
	for i, t := range types {
		n, ok := parseType(t)
		if !ok {
			return line
		}
		nums[i] = n
	}
	idx := make([]int, len(types))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return nums[idx[a]] < nums[idx[b]] })
	out := append([]string(nil), f[:start]...)
	for _, i := range idx {
		out = append(out, types[i])
	}
	return strings.Join(out, " ")
}

package replay

import (
	"bytes"
	"fmt"

	"ljdns/dnsmsg"
)

// Mismatch is a failed MATCH element: which one, and what was expected and
// received.
type Mismatch struct {
	Element       string
	Expected, Got string
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("%s: expected %s, got %s", m.Element, m.Expected, m.Got)
}

// Compare compares a received packet with the entry's message on the entry's
// MATCH elements (Deckard's semantics) and returns the first mismatch.
func (e *Entry) Compare(p *dnsmsg.Packet) error {
	return matchMessage(e.Match, entryMessage(e), packetMessage(p))
}

// matchMessage checks every element of fields; nil when all match.
func matchMessage(fields []string, exp, got *message) error {
	for _, f := range fields {
		if err := matchElement(f, exp, got); err != nil {
			return err
		}
	}
	return nil
}

func matchElement(f string, exp, got *message) error {
	mis := func(e, g string) error { return &Mismatch{Element: f, Expected: e, Got: g} }
	qmissing := func() error { return mis(questionText(exp.question), "no question") }
	switch f {
	case "opcode":
		if exp.opcode != got.opcode {
			return mis(fmt.Sprint(exp.opcode), fmt.Sprint(got.opcode))
		}
	case "qtype":
		if len(exp.question) == 0 {
			return nil
		}
		if len(got.question) == 0 {
			return qmissing()
		}
		if exp.question[0].Type != got.question[0].Type {
			return mis(dnsmsg.TypeString(exp.question[0].Type), dnsmsg.TypeString(got.question[0].Type))
		}
	case "qname", "qcase":
		if len(exp.question) == 0 {
			return nil
		}
		if len(got.question) == 0 {
			return qmissing()
		}
		e, g := exp.question[0].Name, got.question[0].Name
		same := bytes.Equal(e, g)
		if f == "qname" {
			same = bytes.Equal(dnsmsg.LowerName(bytes.Clone(e)), dnsmsg.LowerName(bytes.Clone(g)))
		}
		if !same {
			return mis(nameText(e), nameText(g))
		}
	case "subdomain":
		if len(exp.question) == 0 {
			return nil
		}
		if len(got.question) == 0 {
			return qmissing()
		}
		if !dnsmsg.NameWithin(got.question[0].Name, exp.question[0].Name) {
			return mis("a name within "+nameText(exp.question[0].Name), nameText(got.question[0].Name))
		}
	case "flags":
		if exp.flags != got.flags {
			return mis(flagsText(exp.flags), flagsText(got.flags))
		}
	case "rcode":
		if exp.rcode != got.rcode {
			return mis(rcodeText(exp.rcode), rcodeText(got.rcode))
		}
	case "question":
		if !sameQuestion(exp.question, got.question) {
			return mis(questionText(exp.question), questionText(got.question))
		}
	case "answer", "authority", "additional":
		s := map[string]int{"answer": 0, "authority": 1, "additional": 2}[f]
		if !sameSection(exp.sections[s], got.sections[s]) {
			return mis(sectionText(exp.sections[s]), sectionText(got.sections[s]))
		}
	case "ttl":
		for s := range exp.sections {
			for _, es := range exp.sections[s] {
				for _, gs := range got.sections[s] {
					if es.equal(gs) && es.ttl != gs.ttl {
						return mis(fmt.Sprintf("TTL %d for %s", es.ttl, es.text[0]), fmt.Sprint(gs.ttl))
					}
				}
			}
		}
	case "edns":
		if exp.edns != got.edns || exp.edns && (exp.version != got.version || exp.payload != got.payload) {
			return mis(ednsText(exp), ednsText(got))
		}
	case "nsid":
		return mis("NSID", "unsupported match element")
	default:
		return mis("a known match element", "unknown")
	}
	return nil
}

func nameText(w []byte) string { return (&dnsmsg.Name{Wire: w}).String() }

func ednsText(m *message) string {
	if !m.edns {
		return "no EDNS"
	}
	return fmt.Sprintf("EDNS %d payload %d", m.version, m.payload)
}

// sameQuestion compares question sections as RR sets without data.
func sameQuestion(a, b []Question) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || a[i].Class != b[i].Class ||
			!bytes.Equal(dnsmsg.LowerName(bytes.Clone(a[i].Name)), dnsmsg.LowerName(bytes.Clone(b[i].Name))) {
			return false
		}
	}
	return true
}

// sameSection reports whether every RR set of a is in b and back, with the
// same number of sets (Deckard's compare_rrs).
func sameSection(a, b []*rrset) bool {
	if len(a) != len(b) {
		return false
	}
	in := func(s *rrset, list []*rrset) bool {
		for _, x := range list {
			if s.equal(x) {
				return true
			}
		}
		return false
	}
	for _, s := range a {
		if !in(s, b) {
			return false
		}
	}
	for _, s := range b {
		if !in(s, a) {
			return false
		}
	}
	return true
}

package anchors

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
	"ljdns/dnssec"
)

// DNSSEC record types of anchors.
const (
	typeDS     = 43
	typeDNSKEY = 48
)

// parseKeys reads DS/DNSKEY records of one zone from zone-file text. With
// states (a key file), each record's comment may give its RFC 5011 state
// and timer (default Valid), and the commented-out records of kresd's key
// files ("; " then a record whose comment names a state) are read too.
func parseKeys(text string, states bool) (*Keyset, error) {
	ks := &Keyset{}
	lines := strings.Split(text, "\n")
	add := func(r *zone.Record, st State, timer int64) error {
		if r.Type != typeDS && r.Type != typeDNSKEY {
			return fmt.Errorf("line %d: %s record: only DS and DNSKEY records are trust anchors", r.Line, dnsmsg.TypeString(r.Type))
		}
		owner := dnsmsg.LowerName(r.Owner)
		if ks.Owner == nil {
			ks.Owner = owner
		} else if string(owner) != string(ks.Owner) {
			return fmt.Errorf("line %d: anchors of %s and %s mixed (one zone a file or call)", r.Line, nameText(ks.Owner), nameText(owner))
		}
		if ks.find(r.Type, r.RData) != nil {
			return nil
		}
		k := &Key{Type: r.Type, TTL: r.TTL, RData: append([]byte(nil), r.RData...), State: st, Timer: timer}
		if err := k.setTag(); err != nil {
			return fmt.Errorf("line %d: %v", r.Line, err)
		}
		ks.Keys = append(ks.Keys, k)
		return nil
	}
	sc := zone.NewScanner(strings.NewReader(text), ".", zone.ClassINET, 0)
	sc.AllowInclude = false
	for sc.Next() {
		r := sc.Record()
		st, timer := Valid, int64(0)
		if states && r.Line >= 1 && r.Line <= len(lines) {
			if s, t, ok := stateComment(lines[r.Line-1]); ok {
				st, timer = s, t
			}
		}
		if err := add(r, st, timer); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if states {
		for i, line := range lines {
			if !strings.HasPrefix(line, "; ") {
				continue
			}
			st, timer, ok := stateComment(line[2:])
			if !ok {
				continue // an ordinary comment
			}
			sc := zone.NewScanner(strings.NewReader(line[2:]), ".", zone.ClassINET, 0)
			sc.AllowInclude = false
			if !sc.Next() {
				continue
			}
			r := *sc.Record()
			r.Line = i + 1
			if err := add(&r, st, timer); err != nil {
				return nil, err
			}
		}
	}
	if len(ks.Keys) == 0 {
		return nil, fmt.Errorf("no DS or DNSKEY records")
	}
	return ks, nil
}

// stateComment finds "State:timer" at the start of the comment of a
// record line (kresd's key files).
func stateComment(line string) (State, int64, bool) {
	i := strings.IndexByte(line, ';')
	if i < 0 {
		return "", 0, false
	}
	c := strings.TrimLeft(line[i+1:], " \t")
	j := strings.IndexByte(c, ':')
	if j <= 0 {
		return "", 0, false
	}
	st, ok := parseState(c[:j])
	if !ok {
		return "", 0, false
	}
	digits := c[j+1:]
	n := 0
	for n < len(digits) && digits[n] >= '0' && digits[n] <= '9' {
		n++
	}
	timer, _ := strconv.ParseInt(digits[:n], 10, 64)
	return st, timer, true
}

// setTag computes k.Tag from its RDATA.
func (k *Key) setTag() error {
	switch k.Type {
	case typeDS:
		if len(k.RData) < 5 {
			return fmt.Errorf("DS record too short")
		}
		k.Tag = uint16(k.RData[0])<<8 | uint16(k.RData[1])
	case typeDNSKEY:
		if len(k.RData) < 5 {
			return fmt.Errorf("DNSKEY record too short")
		}
		k.Tag = dnssec.KeyTag(k.RData)
	}
	return nil
}

// nameText is the presentation form of a wire name.
func nameText(w []byte) string {
	n := dnsmsg.Name{Wire: w}
	return n.String()
}

// rrText is k as a zone-file line without comment.
func rrText(owner []byte, k *Key) string {
	return fmt.Sprintf("%s %d IN %s %s", nameText(owner), k.TTL, dnsmsg.TypeString(k.Type), dnsmsg.RDataText(k.Type, k.RData))
}

// keyLine is k as a key-file line: the record, its state and timer and
// key tag in a comment, commented out when the key is not trusted.
func keyLine(owner []byte, k *Key) string {
	timer := ""
	if k.Timer != 0 {
		timer = strconv.FormatInt(k.Timer, 10)
	}
	line := fmt.Sprintf("%s ; %s:%s ; KeyTag:%d\n", rrText(owner, k), k.State, timer, k.Tag)
	if !k.State.Trusted() {
		line = "; " + line
	}
	return line
}

// write saves a managed keyset to its file (through a temporary file
// renamed over it); s.mu held.
func (s *Store) write(ks *Keyset) error {
	if ks.File == "" || ks.ReadOnly {
		return nil
	}
	var b strings.Builder
	for _, k := range ks.Keys {
		b.WriteString(keyLine(ks.Owner, k))
	}
	tmp := fmt.Sprintf("%s.lock.%d", ks.File, os.Getpid())
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("trust anchors: key file %q: %w", ks.File, err)
	}
	if err := os.Rename(tmp, ks.File); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("trust anchors: key file %q: %w", ks.File, err)
	}
	return nil
}

package dnsmsg

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"
)

// ErrEmptyRData reports RDATA text without fields.
var ErrEmptyRData = errors.New("dns: missing rdata")

// ParseRData parses "<TYPE> <fields>" as dns.rdata.parse does: the text is
// read as the record ". 0 IN <text>" (origin the root). It returns the
// type and the uncompressed wire RDATA, or an error.
func ParseRData(text string) (uint16, []byte, error) {
	text = strings.TrimSpace(text)
	sp := strings.IndexAny(text, " \t")
	if sp < 0 || strings.TrimSpace(text[sp:]) == "" {
		return 0, nil, ErrEmptyRData
	}
	if strings.ContainsAny(text, "\n\r") {
		return 0, nil, errors.New("dns: rdata must be one line")
	}
	if t, rd, ok := fastParseRData(text[:sp], strings.TrimSpace(text[sp:])); ok {
		return t, rd, nil
	}
	rr, err := mdns.NewRR(". 0 IN " + text)
	if err != nil {
		return 0, nil, err
	}
	if rr == nil {
		return 0, nil, ErrEmptyRData
	}
	return packRData(rr)
}

// packRData returns the type and the uncompressed RDATA of a miekg RR.
func packRData(rr mdns.RR) (uint16, []byte, error) {
	buf := make([]byte, mdns.Len(rr)+64)
	off, err := mdns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return 0, nil, err
	}
	// owner, type(2) class(2) ttl(4) rdlength(2)
	n, err := wireNameLen(buf[:off])
	if err != nil || n+10 > off {
		return 0, nil, errors.New("dns: cannot pack rdata")
	}
	rd := make([]byte, off-n-10)
	copy(rd, buf[n+10:off])
	t := rr.Header().Rrtype
	if !validRData(t, rd) {
		return 0, nil, errors.New("dns: rdata does not encode")
	}
	return t, rd, nil
}

// validRData reports whether rd decodes as type t, both for our printer
// and for miekg/dns (which can pack RDATA it cannot read back).
func validRData(t uint16, rd []byte) bool {
	if nativeTypes[t] {
		var sb strings.Builder
		return appendKnownRData(&sb, t, rd)
	}
	if t == TypeOPT || t == TypeTSIG || len(rd) == 0 {
		return true
	}
	_, ok := miekgRDataText(t, rd)
	return ok || !knownToMiekg(t)
}

func knownToMiekg(t uint16) bool {
	_, ok := mdns.TypeToRR[t]
	return ok
}

// simpleToken reports a token made only of letters, digits and - _ * . /
// (no escapes, quotes, comments or @), which reads the same in any parser.
func simpleToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '*' || c == '.' || c == '/') {
			return false
		}
	}
	return true
}

// fastParseRData handles the commonest one- and two-field types without
// miekg/dns; ok false means "use the general parser".
func fastParseRData(typ, rest string) (uint16, []byte, bool) {
	f := strings.Fields(rest)
	switch strings.ToUpper(typ) {
	case "A":
		if len(f) == 1 && simpleToken(f[0]) {
			if a, err := netip.ParseAddr(f[0]); err == nil && a.Is4() {
				b := a.As4()
				return TypeA, b[:], true
			}
		}
	case "NS", "CNAME", "PTR", "DNAME":
		if len(f) == 1 && simpleToken(f[0]) {
			if n, err := NameFromText(f[0]); err == nil {
				return mdns.StringToType[strings.ToUpper(typ)], n.Wire, true
			}
		}
	case "MX":
		if len(f) == 2 && simpleToken(f[1]) {
			p, err := strconv.ParseUint(f[0], 10, 16)
			n, err2 := NameFromText(f[1])
			if err == nil && err2 == nil {
				return TypeMX, append(binary.BigEndian.AppendUint16(nil, uint16(p)), n.Wire...), true
			}
		}
	}
	return 0, nil, false
}

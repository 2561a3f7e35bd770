package dns

import (
	"errors"
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
		if !appendKnownRData(&sb, t, rd) {
			return false
		}
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

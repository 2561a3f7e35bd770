package authority

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
	"ljdns/validator"
)

// signedBackend is a mapBackend whose zone online.test. is signed on line
// with testdata/keys/ecdsa; its NSEC chain is every name with
// authoritative data, in canonical order.
type signedBackend struct {
	*mapBackend
	keys  *BackendKeys
	chain [][]byte
}

func newSignedBackend(t *testing.T) *signedBackend {
	t.Helper()
	b := newMapBackend(t,
		"online.test. 3600 SOA ns.online.test. h.online.test. 1 3600 600 86400 300",
		"online.test. 3600 NS ns.online.test.",
		"online.test. 3600 MX 10 mail.online.test.",
		"ns.online.test. 3600 A 192.0.2.1",
		"mail.online.test. 3600 A 192.0.2.2",
		"www.online.test. 60 A 192.0.2.3",
		"alias.online.test. 60 CNAME www.online.test.",
		"*.wild.online.test. 60 TXT \"w\"",
		"a.b.ent.online.test. 60 TXT \"deep\"",
		"insecure.online.test. 3600 NS ns.insecure.online.test.",
		"ns.insecure.online.test. 3600 A 192.0.2.4",
		"secure.online.test. 3600 NS ns.secure.online.test.",
		"secure.online.test. 3600 DS 12345 13 2 0B0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8",
		"ns.secure.online.test. 3600 A 192.0.2.5",
	)
	// delegation NS and glue are not authoritative
	for _, n := range []string{"insecure.online.test.", "ns.insecure.online.test.", "secure.online.test.", "ns.secure.online.test."} {
		for i := range b.recs[n] {
			if r := &b.recs[n][i]; r.Type != typeDS {
				r.Auth = false
			}
		}
	}
	keys, err := LoadKeys("online.test.", nil, filepath.Join("testdata/keys", "ecdsa"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner("online.test.", keys, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sb := &signedBackend{mapBackend: b, keys: &BackendKeys{Signer: s}}
	for _, k := range keys {
		sb.keys.DNSKEY = append(sb.keys.DNSKEY, k.RData())
	}
	for name, rs := range b.recs {
		if slices.ContainsFunc(rs, func(r BackendRecord) bool { return r.Auth || r.Type == typeNS }) {
			w, _ := dnsmsg.NameFromText(name)
			sb.chain = append(sb.chain, w.Wire)
		}
	}
	slices.SortFunc(sb.chain, dnsmsg.CompareNames)
	return sb
}

func (b *signedBackend) Keys(apex []byte, id int64) (*BackendKeys, error) {
	if nameText(apex) != "online.test." {
		return nil, nil
	}
	return b.keys, nil
}

func (b *signedBackend) BeforeAndAfter(apex []byte, id int64, qname []byte) (before, after []byte, err error) {
	before, after = b.chain[len(b.chain)-1], b.chain[0]
	for _, n := range b.chain {
		if dnsmsg.CompareNames(n, qname) > 0 {
			after = n
			break
		}
		before = n
	}
	return before, after, nil
}

// backendDO asks b name/qtype with DO over TCP.
func backendDO(t *testing.T, b Backend, name string, qtype uint16, do bool) *dns.Msg {
	t.Helper()
	w, _ := dnsmsg.NameFromText(name)
	a := dnsmsg.NewPacket(65535)
	a.SetQuestion(w.Wire, qtype, classIN)
	q := &BackendQuery{QName: w.Wire, QType: qtype, QClass: classIN, TCP: true, DO: do, EDNS: true, EDNSSize: 1232}
	res, err := AnswerBackend(b, q, a)
	if err != nil {
		t.Fatalf("%s %d: %v", name, qtype, err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(a.Bytes()); err != nil {
		t.Fatal(err)
	}
	m.Rcode, m.Authoritative = res.Rcode, res.AA
	return m
}

// TestBackendSignedValidated: the lua2 profile's live signing, each kind
// of answer validated by the validator package from the zone's KSK
// (positive, DNSKEY, CNAME, DS, NODATA, NXDOMAIN incl. an empty
// non-terminal as pdns answers it, wildcard answer and NODATA, qtype
// NSEC); without DO nothing is signed.
func TestBackendSignedValidated(t *testing.T) {
	b := newSignedBackend(t)
	v := newValidator(t, nil)
	fetch := func(_ context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error) {
		return toPacket(t, backendDO(t, b, nameText(name), qtype, true)), nil
	}
	for _, c := range []struct {
		name  string
		qt    uint16
		rcode int
		nsec  int // NSEC records in authority
	}{
		{"www.online.test.", dns.TypeA, 0, 0},
		{"online.test.", dns.TypeMX, 0, 0},
		{"online.test.", dns.TypeDNSKEY, 0, 0},
		{"online.test.", dns.TypeNS, 0, 0},
		{"alias.online.test.", dns.TypeA, 0, 0},
		{"secure.online.test.", dns.TypeDS, 0, 0},
		{"insecure.online.test.", dns.TypeDS, 0, 1},
		{"www.online.test.", dns.TypeMX, 0, 1},
		{"nx.online.test.", dns.TypeA, 3, 2},
		{"a.b.nx.online.test.", dns.TypeA, 3, 2},
		{"zzz.online.test.", dns.TypeA, 3, 2},
		{"b.ent.online.test.", dns.TypeA, 3, 2},
		{"x.wild.online.test.", dns.TypeTXT, 0, 1},
		{"x.wild.online.test.", dns.TypeMX, 0, 1},
		{"www.online.test.", dns.TypeNSEC, 0, 0},
	} {
		m := backendDO(t, b, c.name, c.qt, true)
		res := v.Validate(context.Background(), nil, toPacket(t, m), fetch)
		nsec := 0
		for _, rr := range m.Ns {
			if rr.Header().Rrtype == dns.TypeNSEC {
				nsec++
			}
		}
		if res.Security != validator.Secure || m.Rcode != c.rcode || nsec != c.nsec {
			t.Errorf("%s %s: %s, rcode %d, %d NSEC (want secure, %d, %d)\n%v", c.name, dns.TypeToString[c.qt], res, m.Rcode, nsec, c.rcode, c.nsec, m)
		}
		plain := backendDO(t, b, c.name, c.qt, false)
		if s := plain.String(); strings.Contains(s, "RRSIG\t") || (c.qt != dns.TypeNSEC && strings.Contains(s, "\tNSEC\t")) {
			t.Errorf("%s %s without DO carries DNSSEC records:\n%v", c.name, dns.TypeToString[c.qt], plain)
		}
	}
	// a referral carries the DS (also without DO) or, with DO, the NSEC at the cut
	for _, c := range []struct {
		name   string
		do     bool
		ds, ns bool
	}{{"x.secure.online.test.", false, true, false}, {"x.secure.online.test.", true, true, false},
		{"x.insecure.online.test.", false, false, false}, {"x.insecure.online.test.", true, false, true}} {
		m := backendDO(t, b, c.name, dns.TypeA, c.do)
		var ds, nsec bool
		for _, rr := range m.Ns {
			ds = ds || rr.Header().Rrtype == dns.TypeDS
			nsec = nsec || rr.Header().Rrtype == dns.TypeNSEC
		}
		if ds != c.ds || nsec != c.ns || m.Authoritative {
			t.Errorf("referral %s (DO %v): DS %v NSEC %v AA %v\n%v", c.name, c.do, ds, nsec, m.Authoritative, m)
		}
	}
	if st := b.keys.Signer.Stats(); st.Signed == 0 || st.Hits == 0 {
		t.Errorf("signer stats %+v: want signatures made and reused", st)
	}
}

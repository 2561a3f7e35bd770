package authority

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
)

// mapBackend answers from text records ("name TYPE ttl data"), keeping a
// log of the lookups ("TYPE name").
type mapBackend struct {
	recs map[string][]BackendRecord // by lowercased text name
	log  []string
}

func newMapBackend(t *testing.T, lines ...string) *mapBackend {
	b := &mapBackend{recs: map[string][]BackendRecord{}}
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		n, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		h := rr.Header()
		rd := buf[n-int(h.Rdlength) : n]
		w, _ := dnsmsg.NameFromText(h.Name)
		k := strings.ToLower(h.Name)
		b.recs[k] = append(b.recs[k], BackendRecord{Name: w.Wire, Type: h.Rrtype, TTL: h.Ttl, RData: append([]byte{}, rd...), Auth: true, DomainID: 1})
	}
	return b
}

func (b *mapBackend) Lookup(qtype uint16, qname []byte, id int64, ctx *LookupContext) ([]BackendRecord, error) {
	name := nameText(qname)
	b.log = append(b.log, dns.TypeToString[qtype]+" "+name)
	var out []BackendRecord
	for _, r := range b.recs[strings.ToLower(name)] {
		if qtype == typeANY || r.Type == qtype {
			out = append(out, r)
		}
	}
	return out, nil
}

var backendZone = []string{
	"ex.test. 3600 SOA ns.ex.test. h.ex.test. 1 2 3 4 300",
	"ex.test. 3600 NS ns.ex.test.",
	"ex.test. 3600 MX 10 mail.ex.test.",
	"ns.ex.test. 3600 A 192.0.2.1",
	"mail.ex.test. 3600 A 192.0.2.2",
	"www.ex.test. 60 A 192.0.2.3",
	"alias.ex.test. 60 CNAME www.ex.test.",
	"*.wild.ex.test. 60 TXT \"w\"",
	"sub.ex.test. 3600 NS ns.sub.ex.test.",
	"ns.sub.ex.test. 3600 A 192.0.2.4",
	"a.b.ex.test. 60 TXT \"deep\"",
}

func backendAsk(t *testing.T, b Backend, zones *BackendZones, name string, qtype uint16, tcp bool) (*dns.Msg, BackendResult, error) {
	t.Helper()
	w, _ := dnsmsg.NameFromText(name)
	a := dnsmsg.NewPacket(65535)
	a.SetQuestion(w.Wire, qtype, classIN)
	q := &BackendQuery{QName: w.Wire, QType: qtype, QClass: classIN, TCP: tcp, Zones: zones}
	res, err := AnswerBackend(b, q, a)
	if err != nil {
		return nil, res, err
	}
	m := new(dns.Msg)
	if err := m.Unpack(a.Bytes()); err != nil {
		t.Fatal(err)
	}
	return m, res, nil
}

// TestBackendAnswers: the pdns 4.7.3 answer kinds, and the lookups each
// costs (each name asked once per query; DNAME is looked for up to the
// apex before wildcards, as getBestDNAMESynth does).
func TestBackendAnswers(t *testing.T) {
	zones := NewBackendZones([]BackendDomain{{Name: mustWire(t, "ex.test."), ID: 1}})
	for _, c := range []struct {
		name    string
		qtype   uint16
		zones   bool
		tcp     bool
		rcode   int
		aa, tc  bool
		an, ns  int
		ar      int
		lookups string
	}{
		{"www.ex.test.", dns.TypeA, true, false, 0, true, false, 1, 0, 0, "ANY www.ex.test."},
		{"WWW.Ex.Test.", dns.TypeA, false, false, 0, true, false, 1, 0, 0, "SOA WWW.Ex.Test.|SOA Ex.Test.|ANY WWW.Ex.Test."},
		{"alias.ex.test.", dns.TypeA, true, false, 0, true, false, 2, 0, 0, "ANY alias.ex.test.|ANY www.ex.test."},
		{"nx.ex.test.", dns.TypeA, true, false, 3, true, false, 0, 1, 0, "ANY nx.ex.test.|ANY ex.test.|ANY *.ex.test.|SOA ex.test."},
		{"b.ex.test.", dns.TypeA, true, false, 3, true, false, 0, 1, 0, "ANY b.ex.test.|ANY ex.test.|ANY *.ex.test.|SOA ex.test."},
		{"www.ex.test.", dns.TypeTXT, true, false, 0, true, false, 0, 1, 0, "ANY www.ex.test.|SOA ex.test."},
		{"x.wild.ex.test.", dns.TypeTXT, true, false, 0, true, false, 1, 0, 0, "ANY x.wild.ex.test.|ANY wild.ex.test.|ANY ex.test.|ANY *.wild.ex.test."},
		{"www.sub.ex.test.", dns.TypeA, true, false, 0, false, false, 0, 1, 1, "ANY www.sub.ex.test.|ANY sub.ex.test.|ANY ns.sub.ex.test."},
		{"ex.test.", dns.TypeMX, true, false, 0, true, false, 1, 0, 1, "ANY ex.test.|SOA ex.test.|ANY mail.ex.test."},
		{"ex.test.", dns.TypeANY, true, false, 0, true, true, 0, 0, 0, ""},
		{"ex.test.", dns.TypeANY, true, true, 0, true, false, 3, 0, 2, "ANY ex.test.|SOA ex.test.|ANY ns.ex.test.|ANY mail.ex.test."},
		{"elsewhere.", dns.TypeA, true, false, 5, false, false, 0, 0, 0, ""},
	} {
		b := newMapBackend(t, backendZone...)
		var z *BackendZones
		if c.zones {
			z = zones
		}
		m, res, err := backendAsk(t, b, z, c.name, c.qtype, c.tcp)
		if err != nil {
			t.Errorf("%s %d: %v", c.name, c.qtype, err)
			continue
		}
		what := dns.TypeToString[c.qtype] + " " + c.name
		if res.Rcode != c.rcode || res.AA != c.aa || res.TC != c.tc || len(m.Answer) != c.an || len(m.Ns) != c.ns || len(m.Extra) != c.ar {
			t.Errorf("%s (zones %v, tcp %v): rcode %d aa %v tc %v an %d ns %d ar %d\n%v", what, c.zones, c.tcp, res.Rcode, res.AA, res.TC, len(m.Answer), len(m.Ns), len(m.Extra), m)
		}
		if got := strings.Join(b.log, "|"); got != c.lookups {
			t.Errorf("%s: lookups %q, want %q", what, got, c.lookups)
		}
		if c.rcode == 3 && len(m.Ns) == 1 && m.Ns[0].Header().Ttl != 300 {
			t.Errorf("%s: negative SOA TTL %d, want min(3600, 300)", what, m.Ns[0].Header().Ttl)
		}
	}
}

// TestBackendBadSOA: a SOA lookup answered with other records fails the
// query, as pdns throws "Got non-SOA record when asking for SOA".
func TestBackendBadSOA(t *testing.T) {
	b2 := &filterless{newMapBackend(t, "x.test. 60 A 192.0.2.1")}
	if _, _, err := backendAsk(t, b2, nil, "x.test.", dns.TypeA, false); err == nil || !errors.Is(err, ErrBackendData) {
		t.Errorf("non-SOA answer to a SOA lookup: %v", err)
	}
}

// filterless returns every record whatever the type asked (a script that
// ignores qtype).
type filterless struct{ *mapBackend }

func (f *filterless) Lookup(qtype uint16, qname []byte, id int64, ctx *LookupContext) ([]BackendRecord, error) {
	return f.mapBackend.Lookup(typeANY, qname, id, ctx)
}

// TestBackendChaos: CHAOS class queries as pdns 4.7.3 answers them
// (checked against pdns_server + lua2): version.bind/version.pdns and
// id.server TXT answered (TTL 5, class CH, the question's case), other
// names REFUSED, other types NOTIMP, all AA and without a backend call;
// class HS REFUSED with AA.
func TestBackendChaos(t *testing.T) {
	for _, c := range []struct {
		name         string
		class, qtype uint16
		version, id  string
		rcode        int
		text         string
	}{
		{"version.bind.", 3, dns.TypeTXT, "v1", "ns1", 0, "v1"},
		{"VERSION.Bind.", 3, dns.TypeTXT, "v1", "ns1", 0, "v1"},
		{"version.pdns.", 3, dns.TypeTXT, "v1", "ns1", 0, "v1"},
		{"id.server.", 3, dns.TypeTXT, "v1", "ns1", 0, "ns1"},
		{"id.server.", 3, dns.TypeTXT, "v1", "", 5, ""},
		{"version.bind.", 3, dns.TypeTXT, "", "ns1", 2, ""},
		{"hostname.bind.", 3, dns.TypeTXT, "v1", "ns1", 5, ""},
		{"version.server.", 3, dns.TypeTXT, "v1", "ns1", 5, ""},
		{"version.bind.", 3, dns.TypeA, "v1", "ns1", 4, ""},
		{"www.ex.test.", 3, dns.TypeA, "v1", "ns1", 4, ""},
		{"version.bind.", 4, dns.TypeTXT, "v1", "ns1", 5, ""},
		{"www.ex.test.", 4, dns.TypeA, "v1", "ns1", 5, ""},
	} {
		b := newMapBackend(t, backendZone...)
		w, _ := dnsmsg.NameFromText(c.name)
		a := dnsmsg.NewPacket(65535)
		a.SetQuestion(w.Wire, c.qtype, c.class)
		q := &BackendQuery{QName: w.Wire, QType: c.qtype, QClass: c.class, Version: c.version, ServerID: c.id}
		res, err := AnswerBackend(b, q, a)
		if err != nil {
			t.Fatal(err)
		}
		m := new(dns.Msg)
		if err := m.Unpack(a.Bytes()); err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("%s class %d %s", c.name, c.class, dns.TypeToString[c.qtype])
		if res.Rcode != c.rcode || !res.AA || res.NoZone || len(b.log) != 0 {
			t.Errorf("%s: rcode %d aa %v nozone %v lookups %v", what, res.Rcode, res.AA, res.NoZone, b.log)
		}
		if c.text == "" {
			if len(m.Answer) != 0 {
				t.Errorf("%s: %v", what, m)
			}
			continue
		}
		if len(m.Answer) != 1 {
			t.Errorf("%s: %v", what, m)
			continue
		}
		txt, ok := m.Answer[0].(*dns.TXT)
		if !ok || txt.Hdr.Class != 3 || txt.Hdr.Ttl != 5 || txt.Hdr.Name != c.name || strings.Join(txt.Txt, "") != c.text {
			t.Errorf("%s: %v", what, m.Answer[0])
		}
	}
}

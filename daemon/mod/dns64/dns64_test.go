package dns64

import (
	"context"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// zoneResolver answers from a map of miekg records (the daemon's Resolver).
type zoneResolver map[string][]dns.RR

func (z zoneResolver) Resolve(r *daemon.Request) daemon.State {
	q := new(dns.Msg)
	if err := q.Unpack(r.Query.Bytes()); err != nil {
		return daemon.Fail
	}
	name := q.Question[0].Name
	rrs, ok := z[name]
	if !ok {
		r.SetRcode(dns.RcodeNameError)
		return daemon.Done
	}
	r.Answer.Begin(dnsmsg.SectionAN)
	any := false
	for _, rr := range rrs {
		if t := rr.Header().Rrtype; t == q.Question[0].Qtype || t == dns.TypeCNAME {
			any = true
			put(r.Answer, rr)
		}
	}
	if !any {
		r.Answer.Begin(dnsmsg.SectionNS)
		soa, _ := dns.NewRR("example. 3600 IN SOA ns.example. h.example. 1 2 3 4 30")
		put(r.Answer, soa)
	}
	return daemon.Done
}

func put(p *dnsmsg.Packet, rr dns.RR) {
	buf := make([]byte, 512)
	n, _ := dns.PackRR(rr, buf, 0, nil, false)
	h := rr.Header()
	rd := buf[n-int(h.Rdlength) : n]
	w, _ := dnsmsg.NameFromText(h.Name)
	p.Put(&dnsmsg.RRSet{Owner: w, Type: h.Rrtype, Class: h.Class, TTL: h.Ttl, RData: [][]byte{rd}}, false)
}

func mustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return rr
}

// TestDNS64: AAAA synthesized from A for a name without AAAA (TTL capped by
// the SOA minimum), real AAAA passed through, AAAA in the excluded
// ::ffff:0:0/96 replaced, NXDOMAIN untouched, DNS64_DISABLE honoured, no
// synthesis for DO+CD queries (RFC 6147 §5.5) but for DO or CD alone,
// a configured /64 prefix embedding around the u octet.
func TestDNS64(t *testing.T) {
	z := zoneResolver{
		"v4only.example.": {mustRR("v4only.example. 300 IN A 192.0.2.33")},
		"both.example.":   {mustRR("both.example. 300 IN A 192.0.2.1"), mustRR("both.example. 300 IN AAAA 2001:db8::1")},
		"mapped.example.": {mustRR("mapped.example. 300 IN A 192.0.2.2"), mustRR("mapped.example. 300 IN AAAA ::ffff:192.0.2.2")},
		"alias.example.":  {mustRR("alias.example. 300 IN CNAME v4only.example."), mustRR("v4only.example. 300 IN A 192.0.2.33")},
		"none.example.":   {mustRR("none.example. 300 IN TXT x")},
	}
	var s *daemon.Server
	d := New(func(r *daemon.Request, qname []byte, qtype uint16) (*dnsmsg.Packet, error) {
		return s.Resolve(qname, qtype, dnsmsg.ClassINET, 0, r.Worker)
	})
	s, err := daemon.New(&daemon.Config{Layers: []daemon.Layer{d}, Resolver: z, Log: daemon.NewLogger(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	}()
	ask := func(name string, flags daemon.Flags) *dns.Msg {
		t.Helper()
		w, _ := dnsmsg.NameFromText(name)
		p, err := s.Resolve(w.Wire, dnsmsg.TypeAAAA, dnsmsg.ClassINET, flags, 0)
		if err != nil || p == nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := new(dns.Msg)
		if err := m.Unpack(p.Bytes()); err != nil {
			t.Fatal(err)
		}
		return m
	}
	aaaa := func(m *dns.Msg) (out []string) {
		for _, rr := range m.Answer {
			if a, ok := rr.(*dns.AAAA); ok {
				out = append(out, a.AAAA.String()+"/"+string(rune('0'+a.Hdr.Ttl/10)))
			}
		}
		return
	}
	if got := aaaa(ask("v4only.example.", 0)); len(got) != 1 || got[0] != "64:ff9b::c000:221/3" {
		t.Errorf("v4only: %v", got)
	}
	if got := aaaa(ask("both.example.", 0)); len(got) != 1 || got[0] != "2001:db8::1/0" && got[0][:11] != "2001:db8::1" {
		t.Errorf("both: %v", got)
	}
	if got := aaaa(ask("mapped.example.", 0)); len(got) != 1 || got[0][:len("64:ff9b::c000:202")] != "64:ff9b::c000:202" {
		t.Errorf("mapped: %v", got)
	}
	if m := ask("alias.example.", 0); len(m.Answer) != 2 || m.Answer[0].Header().Rrtype != dns.TypeCNAME {
		t.Errorf("alias: %v", m.Answer)
	}
	if m := ask("nx.example.", 0); m.Rcode != dns.RcodeNameError || len(m.Answer) != 0 {
		t.Errorf("nx: %v", m)
	}
	if m := ask("none.example.", 0); len(m.Answer) != 0 {
		t.Errorf("none: %v", m.Answer)
	}
	if got := aaaa(ask("v4only.example.", daemon.DNS64Disable)); len(got) != 0 {
		t.Errorf("DNS64_DISABLE: %v", got)
	}
	if got := aaaa(ask("v4only.example.", daemon.DNSSECWant|daemon.DNSSECCD)); len(got) != 0 {
		t.Errorf("DO and CD (RFC 6147 §5.5): %v", got)
	}
	if got := aaaa(ask("v4only.example.", daemon.DNSSECCD)); len(got) != 1 {
		t.Errorf("CD without DO: %v", got)
	}
	if got := aaaa(ask("v4only.example.", daemon.DNSSECWant)); len(got) != 1 {
		t.Errorf("DO without CD: %v", got)
	}
	if err := d.Configure(Config{Prefix: netip.MustParsePrefix("2001:db8:1:2::/64")}); err != nil {
		t.Fatal(err)
	}
	if got := aaaa(ask("v4only.example.", 0)); len(got) != 1 || got[0][:len("2001:db8:1:2:c0:2:2100:0")] != "2001:db8:1:2:c0:2:2100:0" {
		t.Errorf("/64 prefix: %v", got)
	}
	if err := d.Configure(Config{Prefix: netip.MustParsePrefix("2001:db8::/33")}); err == nil {
		t.Error("/33 accepted")
	}
}

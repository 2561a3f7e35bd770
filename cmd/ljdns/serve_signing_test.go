package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
	"ljdns/validator"
)

// TestServeZonefileSigned: `ljdns serve` with modules = { zonefile = ... }
// signing two zones on line, online.test (key_dir, white lies) and
// compact.test (keys = {...}, denial = 'compact'): answers with DO are
// validated by validator/ from each zone's KSK (positive, NODATA,
// NXDOMAIN, wildcard), and the AXFR of online.test is the zone signed
// whole with an NSEC chain (checked by ldns-verify-zone when installed).
func TestServeZonefileSigned(t *testing.T) {
	testnet.Isolate(t)
	src, err := filepath.Abs("../../authority/testdata")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text, err := os.ReadFile(filepath.Join(src, "online.test.zone"))
	if err != nil {
		t.Fatal(err)
	}
	compact := filepath.Join(dir, "compact.test.zone")
	if err := os.WriteFile(compact, []byte(strings.ReplaceAll(string(text), "online.test", "compact.test")), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := testnet.FreeAddr(t)
	keys := filepath.Join(src, "keys/ecdsa")
	config := fmt.Sprintf(`net.listen('%s', %d, { kind = 'dns' })
modules = { zonefile = {
  {name = 'online.test', file = '%s', key_dir = '%s'},
  {name = 'compact.test', file = '%s', denial = 'compact',
   keys = {'%s/Konline.test.+013+46593', '%s/Konline.test.+013+63410.private'}},
} }
`, addr.Addr(), addr.Port(), filepath.Join(src, "online.test.zone"), keys, compact, keys, keys)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, dir, nil, "-c", "config")
	waitDNS(t, addr.String())

	ask := func(name string, qt uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, qt)
		m.SetEdns0(1232, true)
		m.CheckingDisabled = true
		r, _, err := (&dns.Client{Net: "tcp", Timeout: 10 * time.Second}).Exchange(m, addr.String())
		if err != nil {
			t.Fatalf("%s %s: %v", name, dns.TypeToString[qt], err)
		}
		return r
	}
	packet := func(m *dns.Msg) *dnsmsg.Packet {
		w, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		p := dnsmsg.NewPacketFrom(len(w), w)
		if code := p.Parse(false); code != 0 {
			t.Fatalf("answer does not parse: %s", dnsmsg.StrError(code))
		}
		return p
	}
	fetch := func(_ context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error) {
		return packet(ask((&dnsmsg.Name{Wire: name}).String(), qtype)), nil
	}
	const ksk = "3600 IN DNSKEY 257 3 13 8GCji7h4b/PWI7VB1Jg1sb7sSYqyDEvdW41nLIvlZEtyNEmGRL7KD0KwdlQojrCxpTKqxQ9HqXs8+UrSm44dvQ=="
	for _, zone := range []string{"online.test.", "compact.test."} {
		v, err := validator.New(validator.Config{Anchors: []string{zone + " " + ksk}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name  string
			qt    uint16
			rcode int // white lies; compact denial answers NOERROR
		}{
			{"www.", dns.TypeA, 0},
			{"www.", dns.TypeMX, 0},
			{"b.ent.", dns.TypeA, 0},
			{"nx.", dns.TypeA, dns.RcodeNameError},
			{"a.b.nx.", dns.TypeA, dns.RcodeNameError},
			{"x.wild.", dns.TypeA, 0},
			{"x.wild.", dns.TypeAAAA, 0},
		} {
			m := ask(c.name+zone, c.qt)
			want := c.rcode
			if zone == "compact.test." {
				want = 0
			}
			res := v.Validate(context.Background(), nil, packet(m), fetch)
			if res.Security != validator.Secure || m.Rcode != want || !m.Authoritative {
				t.Errorf("%s%s %s: %s, rcode %s (want secure, %s)\n%v", c.name, zone, dns.TypeToString[c.qt], res,
					dns.RcodeToString[m.Rcode], dns.RcodeToString[want], m)
			}
		}
	}

	// AXFR: the zone signed whole
	tr := new(dns.Msg)
	tr.SetAxfr("online.test.")
	ch, err := (&dns.Transfer{}).In(tr, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	count := map[uint16]int{}
	n := 0
	for env := range ch {
		if env.Error != nil {
			t.Fatal(env.Error)
		}
		for _, rr := range env.RR {
			n++
			if n > 1 && rr.Header().Rrtype == dns.TypeSOA {
				continue // the closing SOA
			}
			count[rr.Header().Rrtype]++
			b.WriteString(rr.String() + "\n")
		}
	}
	// the 10 authoritative names with data (apex, ns, mail, www, alias,
	// *.wild, a.b.ent, the cuts sub and secure, dn) carry an NSEC each
	if count[dns.TypeNSEC] != 10 || count[dns.TypeRRSIG] < 20 || count[dns.TypeDNSKEY] != 2 {
		t.Errorf("AXFR: %v\n%s", count, b.String())
	}
	if _, err := exec.LookPath("ldns-verify-zone"); err != nil {
		t.Log("ldns-verify-zone not installed: the AXFR is not verified by it")
		return
	}
	zf := filepath.Join(dir, "axfr.zone")
	os.WriteFile(zf, []byte(b.String()), 0o644)
	if out, err := exec.Command("ldns-verify-zone", "-k", filepath.Join(keys, "Konline.test.+013+46593.key"), zf).CombinedOutput(); err != nil {
		t.Errorf("ldns-verify-zone: %v\n%s\n%s", err, out, b.String())
	}
}

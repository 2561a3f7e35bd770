package daemon

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"ljdns/dnsclient"
	"ljdns/internal/testnet"
)

const fwdZone = `$ORIGIN example.test.
$TTL 3600
@	SOA	ns1 hostmaster 1 7200 3600 1209600 300
@	NS	ns1
ns1	A	127.0.0.2
www	A	192.0.2.1
www	AAAA	2001:db8::1
alias	CNAME	www
txt	TXT	"hello" "world"
`

// TestForwardToKnot forwards through dnsclient to a loopback knotd and
// compares the answers with knotd's own (the rig's comparator; AA is
// cleared by forwarding as kresd does); a large answer is truncated to the
// client over UDP and whole over TCP.
func TestForwardToKnot(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd")
	dir := t.TempDir()
	var zone strings.Builder
	zone.WriteString(fwdZone)
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&zone, "big\tA\t198.51.100.%d\n", i)
	}
	zf := filepath.Join(dir, "example.test.zone")
	os.WriteFile(zf, []byte(zone.String()), 0o644)
	knot := testnet.StartKnot(t, testnet.KnotConfig{Zones: []testnet.Zone{{Name: "example.test.", File: zf}}})
	up, err := dnsclient.NewDgramStream(knot.Addr().String(), dnsclient.DgramStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	fwd := layerFunc{name: "policy", begin: func(r *Request, s State) State {
		r.Upstream = up
		return s
	}}
	s := startServer(t, &Config{Layers: []Layer{fwd}})
	addr := s.Addrs(KindDNS)[0]
	corpus, err := testnet.ParseCorpus(`
www.example.test A
www.example.test AAAA
alias.example.test A
txt.example.test TXT
nonexistent.example.test A
www.example.test MX
example.test SOA
example.test NS
www.example.test A +do
www.example.test A +tcp
big.example.test A +tcp
`)
	if err != nil {
		t.Fatal(err)
	}
	if diffs := testnet.Compare(knot.Addr(), addr, corpus, testnet.CompareOptions{IgnoreFlags: []string{"aa", "ra"}}); len(diffs) > 0 {
		t.Fatalf("forwarded answers differ from knotd's:\n%s", testnet.Report(diffs))
	}
	m := exchange(t, "udp", addr, query("big.example.test", dns.TypeA))
	if !m.Truncated || len(m.Answer) != 0 {
		t.Fatalf("big answer over UDP without EDNS: TC=%v, %d records", m.Truncated, len(m.Answer))
	}
	m = exchange(t, "tcp", addr, query("big.example.test", dns.TypeA))
	if m.Truncated || len(m.Answer) != 60 {
		t.Fatalf("big answer over TCP: TC=%v, %d records", m.Truncated, len(m.Answer))
	}
	if m.Authoritative {
		t.Error("AA passed through forwarding")
	}
	// an upstream outside the outgoing allow list: refused by dnsclient at construction
	if _, err := dnsclient.NewDgram("192.0.2.53", dnsclient.DgramOptions{}); err == nil {
		t.Error("an upstream outside LJDNS_OUTGOING_ALLOW accepted")
	}
	_ = netip.AddrPort{}
}

// TestOutgoingAllowConfig: net.outgoing_allow narrows LJDNS_OUTGOING_ALLOW
// for every dnsclient transport of the process; it never widens it.
func TestOutgoingAllowConfig(t *testing.T) {
	testnet.Isolate(t) // LJDNS_OUTGOING_ALLOW=127.0.0.0/8,::1/128 here
	startServer(t, &Config{OutgoingAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("192.0.2.0/24")}})
	for a, want := range map[string]bool{"127.0.0.1": true, "127.0.0.2": false, "192.0.2.1": false, "::1": false} {
		if got := dnsclient.Allowed(netip.MustParseAddr(a)); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", a, got, want)
		}
	}
	if _, err := dnsclient.NewDgram("127.0.0.2", dnsclient.DgramOptions{}); err == nil {
		t.Error("a transport to 127.0.0.2 was made outside net.outgoing_allow")
	}
}

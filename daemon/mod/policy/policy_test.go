package policy

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/internal/testnet"
)

func start(t *testing.T, layers ...daemon.Layer) netip.AddrPort {
	t.Helper()
	cfg := &daemon.Config{Layers: layers, Log: daemon.NewLogger(os.Stderr),
		Listen: []daemon.Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:0")}}}
	s, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s.Addrs(daemon.KindDNS)[0]
}

func ask(t *testing.T, addr netip.AddrPort, netw, name string, qt uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qt)
	m.SetEdns0(1232, false)
	c := &dns.Client{Net: netw, Timeout: 3 * time.Second}
	r, _, err := c.Exchange(m, addr.String())
	if err != nil {
		t.Fatalf("%s %v: %v", name, dns.TypeToString[qt], err)
	}
	return r
}

func ede(m *dns.Msg) int {
	if o := m.IsEdns0(); o != nil {
		for _, op := range o.Option {
			if e, ok := op.(*dns.EDNS0_EDE); ok {
				return int(e.InfoCode)
			}
		}
	}
	return -1
}

const kresdRules = `
policy.add(policy.suffix(policy.DENY, {todname('deny.example.')}))
policy.add(policy.suffix(policy.DENY_MSG('go away'), {todname('denymsg.example.')}))
policy.add(policy.suffix(policy.DROP, {todname('drop.example.')}))
policy.add(policy.suffix(policy.REFUSE, {todname('refuse.example.')}))
policy.add(policy.suffix(policy.TC, {todname('tc.example.')}))
policy.add(policy.suffix(policy.ANSWER({[kres.type.A]={rdata=kres.str2ip('192.0.2.7'), ttl=300}}), {todname('ans.example.')}))
policy.add(policy.suffix(policy.ANSWER({[kres.type.A]={rdata=kres.str2ip('192.0.2.8'), ttl=300}}, true), {todname('ansnd.example.')}))
policy.add(policy.domains(policy.DENY, {todname('exact.example.')}))
policy.add(policy.all(policy.FLAGS('NO_CACHE')))
policy.add(policy.suffix(policy.REFUSE, {todname('chained.example.')}))
`

func ourRules() *Policy {
	p := New()
	p.Add(Suffix(DENY, [][]byte{Todname("deny.example.")}), false)
	p.Add(Suffix(DenyMsg("go away", -1), [][]byte{Todname("denymsg.example.")}), false)
	p.Add(Suffix(DROP, [][]byte{Todname("drop.example.")}), false)
	p.Add(Suffix(REFUSE, [][]byte{Todname("refuse.example.")}), false)
	p.Add(Suffix(TC, [][]byte{Todname("tc.example.")}), false)
	p.Add(Suffix(ANSWER(map[uint16]Data{dns.TypeA: {RData: [][]byte{{192, 0, 2, 7}}, TTL: 300}}, false), [][]byte{Todname("ans.example.")}), false)
	p.Add(Suffix(ANSWER(map[uint16]Data{dns.TypeA: {RData: [][]byte{{192, 0, 2, 8}}, TTL: 300}}, true), [][]byte{Todname("ansnd.example.")}), false)
	p.Add(Domains(DENY, [][]byte{Todname("exact.example.")}), false)
	nc, _ := daemon.FlagByName("NO_CACHE")
	p.Add(All(FLAGS(nc, 0)), false)
	p.Add(Suffix(REFUSE, [][]byte{Todname("chained.example.")}), false)
	return p
}

// TestAgainstKresd compares the answers of the actions and of the special
// names with kresd 5.6 running the same rules (EDE codes included).
func TestAgainstKresd(t *testing.T) {
	testnet.Isolate(t)
	k := testnet.StartKresd(t, testnet.KresdConfig{Config: kresdRules})
	ours := start(t, ourRules())
	corpus, err := testnet.ParseCorpus(`
a.deny.example A
deny.example MX
denymsg.example A
drop.example A
refuse.example A
tc.example A
ans.example A
ansnd.example AAAA
ansnd.example A
exact.example A
chained.example A
LocalHost A
localhost AAAA
localhost SOA
localhost NS
localhost MX
x.localhost A
x.localhost MX
1.0.0.127.in-addr.arpa PTR
1.0.0.127.in-addr.arpa A
0.0.127.in-addr.arpa PTR
127.in-addr.arpa PTR
2.0.0.127.in-addr.arpa PTR
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa PTR
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa A
1.168.192.in-addr.arpa PTR
10.in-addr.arpa SOA
64.100.in-addr.arpa PTR
127.100.in-addr.arpa PTR
31.172.in-addr.arpa PTR
home.arpa A
x.d.f.ip6.arpa PTR
0.in-addr.arpa PTR
8.b.d.0.1.0.0.2.ip6.arpa PTR
255.255.255.255.in-addr.arpa PTR
foo.test A
foo.invalid A
onion A
foo.onion A
x.local A
`)
	if err != nil {
		t.Fatal(err)
	}
	if diffs := testnet.Compare(k.Addrs[0], ours, corpus, testnet.CompareOptions{}); len(diffs) > 0 {
		t.Errorf("answers differ from kresd's:\n%s", testnet.Report(diffs))
	}
	for _, q := range corpus {
		if q.TCP {
			continue
		}
		a, b := ask(t, k.Addrs[0], "udp", q.Name, q.Type), ask(t, ours, "udp", q.Name, q.Type)
		if ede(a) != ede(b) {
			t.Errorf("%v: EDE %d, kresd %d", q, ede(b), ede(a))
		}
	}
}

// TestRuleOrder: the first non-chain action wins, chain actions (FLAGS)
// continue, Del removes a rule, counts count matches.
func TestRuleOrder(t *testing.T) {
	testnet.Isolate(t) // a loopback of its own: port-0 listeners cannot collide
	p := New()
	nc, _ := daemon.FlagByName("NO_CACHE")
	var seen daemon.Flags
	flags := p.Add(All(FLAGS(nc, 0)), false)
	p.Add(All(func(r *daemon.Request, s daemon.State) daemon.State { seen = r.Options; return 0 }), false)
	first := p.Add(Suffix(REFUSE, [][]byte{Todname("example.")}), false)
	p.Add(Suffix(DENY, [][]byte{Todname("example.")}), false)
	addr := start(t, p)
	if m := ask(t, addr, "udp", "www.EXAMPLE", dns.TypeA); m.Rcode != dns.RcodeRefused {
		t.Fatalf("first non-chain rule did not win: %v", m)
	}
	if !seen.Has(nc) || flags.Count.Load() != 1 || first.Count.Load() != 1 {
		t.Errorf("chain: flags %v, counts %d %d", seen, flags.Count.Load(), first.Count.Load())
	}
	if !p.Del(first.ID) || p.Del(first.ID) {
		t.Fatal("Del")
	}
	if m := ask(t, addr, "udp", "www.example", dns.TypeA); m.Rcode != dns.RcodeNameError {
		t.Errorf("after Del: %v", m)
	}
	if m := ask(t, addr, "udp", "www.other", dns.TypeA); m.Rcode != dns.RcodeRefused {
		t.Errorf("unmatched name not refused by the daemon: %v", m)
	}
	p.Insert(Suffix(TC, [][]byte{Todname("tc.example.")}), false, 0)
	if m := ask(t, addr, "udp", "tc.example", dns.TypeA); !m.Truncated {
		t.Errorf("TC over UDP: %v", m)
	}
	if m := ask(t, addr, "tcp", "tc.example", dns.TypeA); m.Truncated || m.Rcode != dns.RcodeRefused {
		t.Errorf("TC over TCP should only stop the rules: %v", m)
	}
	p.Add(All(NO_ANSWER), false)
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion("www.other.", dns.TypeA)
	if r, _, err := c.Exchange(m, addr.String()); err == nil {
		t.Errorf("NO_ANSWER answered: %v", r)
	}
}

const zone = `$ORIGIN example.test.
$TTL 3600
@	SOA	ns1 hostmaster 1 7200 3600 1209600 300
@	NS	ns1
ns1	A	127.0.0.2
www	A	192.0.2.1
www	AAAA	2001:db8::1
alias	CNAME	www
`

// TestForwardStubReroute: FORWARD and STUB to a loopback knotd give knotd's
// answers (AA cleared); REROUTE rewrites the address in a postrule.
func TestForwardStubReroute(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd")
	zf := filepath.Join(t.TempDir(), "example.test.zone")
	os.WriteFile(zf, []byte(zone), 0o644)
	knot := testnet.StartKnot(t, testnet.KnotConfig{Zones: []testnet.Zone{{Name: "example.test.", File: zf}}})
	corpus, _ := testnet.ParseCorpus("www.example.test A\nwww.example.test AAAA\nalias.example.test A\nnx.example.test A\nwww.example.test MX\n")
	for _, stub := range []bool{false, true} {
		fwd, tr, err := Forward([]string{knot.Addr().Addr().String() + "@" + itoa(int(knot.Addr().Port()))}, stub)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		p := New()
		p.Add(All(fwd), false)
		addr := start(t, p)
		if diffs := testnet.Compare(knot.Addr(), addr, corpus, testnet.CompareOptions{IgnoreFlags: []string{"aa", "ra"}}); len(diffs) > 0 {
			t.Errorf("stub=%v: answers differ from knotd's:\n%s", stub, testnet.Report(diffs))
		}
	}
	fwd, tr, err := Forward([]string{knot.Addr().Addr().String() + "#" + itoa(int(knot.Addr().Port()))}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	p := New()
	p.Add(All(fwd), false)
	p.Add(All(REROUTE(map[netip.Prefix]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"): netip.MustParsePrefix("10.1.0.0/16")})), true)
	addr := start(t, p)
	m := ask(t, addr, "udp", "alias.example.test", dns.TypeA)
	if len(m.Answer) != 2 || m.Answer[1].(*dns.A).A.String() != "10.1.2.1" {
		t.Errorf("REROUTE: %v", m)
	}
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}

func TestParseAddrAndTLSForwardChecks(t *testing.T) {
	for s, want := range map[string]string{"192.0.2.1": "192.0.2.1:53", "192.0.2.1@5353": "192.0.2.1:5353", "::1#54": "[::1]:54"} {
		if ap, err := ParseAddr(s, 53); err != nil || ap.String() != want {
			t.Errorf("%s: %v %v", s, ap, err)
		}
	}
	if _, err := ParseAddr("example.com", 53); err == nil {
		t.Error("a hostname accepted")
	}
	if _, _, err := TLSForward([]TLSTarget{{Addr: "127.0.0.1"}}); err == nil {
		t.Error("TLS_FORWARD without hostname/pin/insecure accepted")
	}
	if _, _, err := TLSForward([]TLSTarget{{Addr: "127.0.0.1", Insecure: true}, {Addr: "127.0.0.1@853", Insecure: true}}); err == nil {
		t.Error("duplicate TLS_FORWARD target accepted")
	}
}

package serve

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
)

// exchangeFrom sends m through the request path as if from client.
func (r *rig) exchangeFrom(t *testing.T, m *dns.Msg, client string) *dns.Msg {
	t.Helper()
	wire, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out, ok := r.srv.Exchange(wire, netip.MustParseAddrPort(client), netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
	if !ok || out == nil {
		t.Fatalf("no answer to %s from %s", m.Question[0].Name, client)
	}
	a := new(dns.Msg)
	if err := a.Unpack(out); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestViewModule: view:addr picks rules by the client's address (a
// built-in filter and a Lua filter), view:tsig by a TSIG that verifies (a
// query signed with another secret under the same key name does not
// match), and a key given by name only is refused with a message.
func TestViewModule(t *testing.T) {
	const secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
	r := newRig(t, 1, `
modules = {'view', 'hints'}
hints.set('h.example 192.0.2.1')
view:tsig('vip.:hmac-sha256:`+secret+`', policy.all(policy.ANSWER({[kres.type.A] = {rdata = kres.str2ip('192.0.2.99'), ttl = 5}})))
view:addr('127.0.0.2', policy.suffix(policy.REFUSE, policy.todnames({'h.example'})))
view:addr('127.0.0.3/32', function(req, qry)
	if qry.stype == kres.type.A then return policy.DENY end
end)
deny_all = view:addr('10.0.0.0/8', policy.all(policy.DROP))
`, nil)
	q := func() *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("h.example.", dns.TypeA)
		return m
	}
	if a := r.exchangeFrom(t, q(), "127.0.0.1:5300"); a.Rcode != dns.RcodeSuccess || len(a.Answer) != 1 {
		t.Errorf("no view: %v", a)
	}
	if a := r.exchangeFrom(t, q(), "127.0.0.2:5300"); a.Rcode != dns.RcodeRefused {
		t.Errorf("view:addr 127.0.0.2 REFUSE: %v", a)
	}
	if a := r.exchangeFrom(t, q(), "127.0.0.3:5300"); a.Rcode != dns.RcodeNameError {
		t.Errorf("view:addr 127.0.0.3 Lua filter DENY: %v", a)
	}
	if a := r.exchangeFrom(t, q(), "10.1.2.3:5300"); a.Rcode != dns.RcodeServerFailure {
		t.Errorf("view:addr 10/8 DROP: %v", a)
	}
	if got := r.eval(0, "return deny_all.count"); got != "1" {
		t.Errorf("rule count %s, want 1", got)
	}
	signed := func(sec string) *dns.Msg {
		m := q()
		m.SetTsig("vip.", dns.HmacSHA256, 300, time.Now().Unix())
		wire, _, err := dns.TsigGenerate(m, sec, "", false)
		if err != nil {
			t.Fatal(err)
		}
		out := new(dns.Msg)
		if err := out.Unpack(wire); err != nil {
			t.Fatal(err)
		}
		return out
	}
	a := r.exchangeFrom(t, signed(secret), "127.0.0.1:5300")
	if len(a.Answer) != 1 || !strings.Contains(a.Answer[0].String(), "192.0.2.99") {
		t.Errorf("view:tsig with the right secret: %v", a)
	}
	a = r.exchangeFrom(t, signed("b3RoZXJvdGhlcm90aGVyb3RoZXI="), "127.0.0.1:5300")
	if len(a.Answer) == 1 && strings.Contains(a.Answer[0].String(), "192.0.2.99") {
		t.Errorf("view:tsig matched a signature made with another secret: %v", a)
	}
	err := loadErr(t, "modules.load('view')\nview:tsig('nonsense:x', policy.all(policy.DROP))", Options{})
	if err == nil || !strings.Contains(err.Error(), "config:2:") {
		t.Errorf("view:tsig with a bad key: %v", err)
	}
}

// TestViewTSIGKeyName: kresd's view:tsig('\5mykey', rule) (the key name in
// wire form, with or without the root label, or as text) is accepted and
// applies to queries whose TSIG verifies with the secret of that name
// given by view.key (or a full view:tsig key, or a zone's tsig entry); a
// wrong secret does not match; a name whose secret nobody gives matches
// nothing (kresd would match the name unverified).
func TestViewTSIGKeyName(t *testing.T) {
	const secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
	r := newRig(t, 1, `
modules = {'view', 'hints'}
hints.set('h.example 192.0.2.1')
local function ans(ip) return policy.all(policy.ANSWER({[kres.type.A] = {rdata = kres.str2ip(ip), ttl = 5}})) end
view:tsig('\5mykey', ans('192.0.2.77'))
view:tsig('\5other\0', ans('192.0.2.78'))
view:tsig('third.', ans('192.0.2.79'))
view:tsig('\5nokey', policy.all(policy.DENY))
view.key('mykey:hmac-sha256:`+secret+`')
view.key('other.:hmac-sha256:`+secret+`')
view:tsig('third:hmac-sha256:`+secret+`', policy.all(policy.FLAGS('NO_CACHE')))
`, nil)
	signed := func(key, sec string) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("h.example.", dns.TypeA)
		if key == "" {
			return m
		}
		m.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
		wire, _, err := dns.TsigGenerate(m, sec, "", false)
		if err != nil {
			t.Fatal(err)
		}
		out := new(dns.Msg)
		if err := out.Unpack(wire); err != nil {
			t.Fatal(err)
		}
		return out
	}
	const wrong = "b3RoZXJvdGhlcm90aGVyb3RoZXI="
	for _, c := range []struct{ key, sec, want string }{
		{"mykey.", secret, "192.0.2.77"},
		{"mykey.", wrong, "192.0.2.1"},
		{"other.", secret, "192.0.2.78"},
		{"third.", secret, "192.0.2.79"}, // the secret from the full key given after
		{"nokey.", secret, "192.0.2.1"},  // no secret known: not matched
		{"", "", "192.0.2.1"},
	} {
		a := r.exchangeFrom(t, signed(c.key, c.sec), "127.0.0.1:5300")
		if a.Rcode != dns.RcodeSuccess || len(a.Answer) != 1 || !strings.Contains(a.Answer[0].String(), c.want) {
			t.Errorf("key %q secret %.6s: %v, want %s", c.key, c.sec, a, c.want)
		}
	}
	for _, bad := range []string{`view:tsig('\0', policy.all(policy.DROP))`, `view:tsig('\6nokey', policy.all(policy.DROP))`, `view:tsig('', policy.all(policy.DROP))`,
		`view.key('\5mykey')`, `view.key('a:hmac-sha256:` + secret + `') view.key('a:hmac-sha256:` + wrong + `')`} {
		if err := loadErr(t, "modules.load('view')\n"+bad, Options{}); err == nil || !strings.Contains(err.Error(), "config:2:") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

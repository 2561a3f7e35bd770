package serve

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestNetCookiesStrict: net.cookies('strict') in the configuration makes
// a UDP query with a server cookie that is not ours BADCOOKIE (with a
// fresh cookie); net.cname_chain sets the chain limit.
func TestNetCookiesStrict(t *testing.T) {
	r := newRig(t, 1, "modules.load('hints')\nhints.set('h.example 192.0.2.1')\nnet.cookies('strict')\nnet.cname_chain(5)", nil)
	m := new(dns.Msg)
	m.SetQuestion("h.example.", dns.TypeA)
	m.SetEdns0(1232, false)
	forged := "0102030405060708" + "01000000" + fmt.Sprintf("%08x", time.Now().Unix()) + "0011223344556677"
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: forged})
	a := r.exchangeFrom(t, m, "127.0.0.1:5300")
	if a.Rcode != dns.RcodeBadCookie || len(a.Answer) != 0 {
		t.Errorf("strict cookies, forged server cookie: %v", a)
	}
	for expr, want := range map[string]string{"return net.cookies()": "strict", "return net.cname_chain()": "5"} {
		if got := r.eval(0, expr); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	if r.ld.current().cfg.Limits.CNAMEChain != 5 {
		t.Errorf("Limits.CNAMEChain = %d", r.ld.current().cfg.Limits.CNAMEChain)
	}
}

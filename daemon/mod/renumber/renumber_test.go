package renumber

import (
	"context"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/daemon/mod/policy"
)

// TestRenumber: an A record in 10.10.10.0/24 takes 192.168.1.0's prefix
// and keeps its host part, a /12 rule merges inside an octet, an exact
// ("!") target replaces the whole address, others stay; a rewritten answer
// has EDE 4 "DUQR"; bad rules are errors.
func TestRenumber(t *testing.T) {
	n := New()
	for _, r := range [][2]string{{"10.10.10.0/24", "192.168.1.0"}, {"172.16.0.0/12", "100.64.0.0"}, {"198.51.100.7", "127.0.0.1!"}} {
		rule, err := ParseRule(r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		n.Add(rule)
	}
	for _, c := range []struct{ in, want string }{
		{"10.10.10.5", "192.168.1.5"}, {"172.31.2.3", "100.79.2.3"}, {"198.51.100.7", "127.0.0.1"}, {"192.0.2.1", "192.0.2.1"},
	} {
		p := policy.New()
		a := netip.MustParseAddr(c.in).As4()
		p.Add(policy.All(policy.ANSWER(map[uint16]policy.Data{dns.TypeA: {RData: [][]byte{a[:]}, TTL: 60}}, true)), false)
		s, err := daemon.New(&daemon.Config{Layers: []daemon.Layer{p, n}, Log: daemon.NewLogger(io.Discard)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		m := new(dns.Msg)
		m.SetQuestion("www.example.", dns.TypeA)
		m.SetEdns0(1232, false)
		w, _ := m.Pack()
		out, _ := s.Exchange(w, netip.MustParseAddrPort("127.0.0.1:5300"), netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.Shutdown(ctx)
		cancel()
		ans := new(dns.Msg)
		if err := ans.Unpack(out); err != nil {
			t.Fatal(err)
		}
		if len(ans.Answer) != 1 || ans.Answer[0].(*dns.A).A.String() != c.want {
			t.Errorf("%s: %v, want %s", c.in, ans.Answer, c.want)
		}
		var ede *dns.EDNS0_EDE
		for _, o := range ans.IsEdns0().Option {
			if e, ok := o.(*dns.EDNS0_EDE); ok {
				ede = e
			}
		}
		if changed := c.in != c.want; changed != (ede != nil && ede.InfoCode == 4 && ede.ExtraText == "DUQR") {
			t.Errorf("%s: extended error %v", c.in, ede)
		}
	}
	for _, bad := range [][2]string{{"10.0.0.0/33", "1.2.3.4"}, {"10.0.0.0/8", "1.2!.3.4"}, {"10.0.0.0/8", "::1"}, {"10.0.0.0/8", "x"}} {
		if _, err := ParseRule(bad[0], bad[1]); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

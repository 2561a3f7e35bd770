package serve

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"ljdns/daemon"
)

// TestNSIDModule: modules = {'nsid'} with nsid.name('x') answers the NSID
// option to a query carrying it; nsid.name() returns the identifier.
func TestNSIDModule(t *testing.T) {
	r := newRig(t, 1, `
modules = {'hints', 'nsid'}
hints.set('h.example 192.0.2.1')
nsid.name('resolver-7')
`, nil)
	m := new(dns.Msg)
	m.SetQuestion("h.example.", dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
	wire, _ := m.Pack()
	out, ok := r.srv.Exchange(wire, netip.MustParseAddrPort("127.0.0.1:5300"), netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
	if !ok {
		t.Fatal("no answer")
	}
	a := new(dns.Msg)
	if err := a.Unpack(out); err != nil {
		t.Fatal(err)
	}
	var got string
	for _, o := range a.IsEdns0().Option {
		if n, ok := o.(*dns.EDNS0_NSID); ok {
			got = n.Nsid
		}
	}
	if got != "7265736f6c7665722d37" { // hex of resolver-7
		t.Errorf("NSID %q, answer %v", got, a)
	}
	if v := r.eval(0, "return nsid.name()"); v != "resolver-7" {
		t.Errorf("nsid.name() = %q", v)
	}
}

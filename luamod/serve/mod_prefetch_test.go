package serve

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/miekg/dns"

	"ljdns/daemon"
)

// TestPrefillPredictModules: prefill.config() puts the zone file into the
// resolver's cache when the configuration is in (the root's NS set is
// answered with no upstream allowed; without the module the same query
// fails), and predict runs with kresd's configuration form.
func TestPrefillPredictModules(t *testing.T) {
	zone := filepath.Join(t.TempDir(), "root.zone")
	os.WriteFile(zone, []byte(". 86400 IN SOA ns.root. h.root. 1 2 3 4 5\n. 86400 IN NS ns.root.\nns.root. 86400 IN A 127.0.0.9\nexample. 172800 IN NS ns.example.\nns.example. 172800 IN A 127.0.0.10\n"), 0o644)
	base := `
modules.load('hints > iterate')
hints.root({['ns.root.'] = {'127.0.0.9'}})
trust_anchors.remove('.')
net.outgoing_allow({'192.0.2.1/32'}) -- nothing the resolver could ask
modules = { predict = { window = 15, period = 6*(60/15) } }
`
	ask := func(r *rig) int {
		m := new(dns.Msg)
		m.SetQuestion(".", dns.TypeNS)
		wire, _ := m.Pack()
		out, ok := r.srv.Exchange(wire, netip.MustParseAddrPort("127.0.0.1:5300"), netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
		a := new(dns.Msg)
		if !ok || a.Unpack(out) != nil {
			t.Fatal("no answer")
		}
		if a.Rcode == 0 && (len(a.Answer) != 1 || a.Answer[0].(*dns.NS).Ns != "ns.root.") {
			t.Errorf("answer %v", a)
		}
		return a.Rcode
	}
	r := newRig(t, 1, base+"modules.load('prefill')\nprefill.config({['.'] = {url = 'file://"+zone+"', interval = 3600}})\n", nil)
	if rc := ask(r); rc != 0 {
		t.Errorf("with prefill: rcode %d\n%s", rc, r.log.String())
	}
	if v := r.eval(0, "return predict.stats().window .. ' ' .. predict.stats().period"); v != "15 24" {
		t.Errorf("predict window and period %q, want 15 24", v)
	}
	r = newRig(t, 1, base, nil)
	if rc := ask(r); rc != 2 {
		t.Errorf("without prefill: rcode %d, want SERVFAIL", rc)
	}
}

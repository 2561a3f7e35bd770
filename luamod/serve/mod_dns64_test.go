package serve

import (
	"testing"

	"github.com/miekg/dns"
)

// TestDNS64Module: modules = {'dns64'} synthesizes AAAA from an A-only
// name with the well-known prefix; dns64.config's string and table forms
// change the prefix; a bad prefix is a configuration error.
func TestDNS64Module(t *testing.T) {
	for _, c := range []struct{ conf, want string }{
		{"", "64:ff9b::c000:221"},
		{"dns64.config('fe80::21b:77ff:0:0')", "fe80::21b:77ff:c000:221"},
		{"dns64.config({prefix = '2001:db8:aa::/96', exclude_subnets = {'::ffff:0:0/96'}})", "2001:db8:aa::c000:221"},
	} {
		r := newRig(t, 1, "modules = {'hints', 'dns64'}\nhints.use_nodata(true)\nhints.set('v4.example 192.0.2.33')\n"+c.conf, nil)
		a := r.query(t, "v4.example", dns.TypeAAAA, 0)
		if len(a.Answer) != 1 || a.Answer[0].(*dns.AAAA).AAAA.String() != c.want {
			t.Errorf("%s: %v", c.conf, a.Answer)
		}
	}
	if err := loadErr(t, "modules.load('dns64')\ndns64.config('not-a-prefix')", Options{}); err == nil {
		t.Error("bad prefix accepted")
	}
}

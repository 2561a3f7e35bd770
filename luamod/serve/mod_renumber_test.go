package serve

import (
	"testing"

	"github.com/miekg/dns"
)

// TestRenumberModule: modules = {renumber = {{subnet, target}}} rewrites a
// hinted address; a malformed rule is a configuration error.
func TestRenumberModule(t *testing.T) {
	r := newRig(t, 1, `
modules = {'hints', renumber = {{'10.10.10.0/24', '192.168.1.0'}}}
hints.set('r.example 10.10.10.42')
`, nil)
	a := r.query(t, "r.example", dns.TypeA, 0)
	if len(a.Answer) != 1 || a.Answer[0].(*dns.A).A.String() != "192.168.1.42" {
		t.Errorf("answer %v", a.Answer)
	}
	if err := loadErr(t, "modules.load('renumber')\nrenumber.config({{'10.0.0.0/8', 'nope'}})", Options{}); err == nil {
		t.Error("bad target accepted")
	}
}

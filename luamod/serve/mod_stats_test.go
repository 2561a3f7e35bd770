package serve

import (
	"testing"

	"github.com/miekg/dns"
)

// TestStatsBinding: kresd's stats API over daemon/mod/stats, counting
// queries answered through the request path (policy and hints bindings),
// and the counters kept across a reload.
func TestStatsBinding(t *testing.T) {
	r := newRig(t, 2, `
modules.load('stats')
modules.load('hints')
hints.set('h.example 192.0.2.1')
policy.add(policy.suffix(policy.DENY, policy.todnames({'deny.example'})))
stats.set('custom.x 5')
stats['custom.y'] = 7
`, nil)
	r.query(t, "h.example", dns.TypeA, 0)
	r.query(t, "h.example", dns.TypeA, 1)
	if m := r.query(t, "x.deny.example", dns.TypeA, 0); m.Rcode != dns.RcodeNameError {
		t.Fatalf("policy DENY: %v", m)
	}
	for expr, want := range map[string]string{
		"stats.get('answer.total')": "3", "stats.get('answer.nxdomain')": "1", "stats.get('answer.noerror')": "2",
		"stats.get('custom.x')": "5", "stats['custom.y']": "7", "stats.list('custom.')['custom.y']": "7",
		"type(stats.frequent())": "table", "type(stats.upstreams())": "table",
	} {
		if got := r.eval(0, "return "+expr); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	cfg, err := r.ld.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	r.query(t, "h.example", dns.TypeA, 0)
	if got := r.eval(0, "return stats.get('answer.total')"); got != "4" {
		t.Errorf("after reload answer.total = %q, want 4", got)
	}
}

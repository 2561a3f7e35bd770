package serve

import (
	"testing"

	"github.com/miekg/dns"
)

// TestPolicyLuaRules: policy filters and actions written in Lua run on the
// request path in the state of the request's worker: a filter returning a
// built-in action, a Lua action behind a built-in filter, a filter
// returning a Lua action, a filter that raises.
func TestPolicyLuaRules(t *testing.T) {
	if _, ok := binding("policy"); !ok {
		t.Skip("no policy module")
	}
	r := newRig(t, 2, `
seen = 0
policy.add(function(req, qry)
	seen = seen + 1
	if qry.sname:find('blocked', 1, true) then return policy.DENY end
end)
policy.add(policy.suffix(function(state, req)
	local answer = req:ensure_answer()
	answer:rcode(kres.rcode.NOERROR)
	answer:begin(kres.section.ANSWER)
	answer:put(req:current().sname, 60, 1, kres.type.A, kres.str2ip('192.0.2.' .. (90 + worker.id)))
	return kres.DONE
end, policy.todnames({'custom.example.'})))
policy.add(function(req, qry)
	if qry.sname:find('dyn', 1, true) then
		return function(state, req) req:ensure_answer():rcode(kres.rcode.NXDOMAIN) return kres.DONE end
	end
end)
policy.add(function(req, qry) if qry.sname:find('oops', 1, true) then error('filter broke') end end)
`, nil)
	for w := 0; w < 2; w++ {
		if a := r.query(t, "blocked.example.", dns.TypeA, w); a.Rcode != dns.RcodeNameError {
			t.Errorf("worker %d blocked: rcode %d, want NXDOMAIN", w, a.Rcode)
		}
		a := r.query(t, "www.custom.example.", dns.TypeA, w)
		if len(a.Answer) != 1 || a.Answer[0].(*dns.A).A.String() != "192.0.2.9"+string(rune('0'+w)) {
			t.Errorf("worker %d custom: %v", w, a)
		}
		if a := r.query(t, "dyn.example.", dns.TypeA, w); a.Rcode != dns.RcodeNameError {
			t.Errorf("worker %d dyn: rcode %d, want NXDOMAIN", w, a.Rcode)
		}
		if a := r.query(t, "oops.example.", dns.TypeA, w); a.Rcode != dns.RcodeServerFailure {
			t.Errorf("worker %d oops: rcode %d, want SERVFAIL", w, a.Rcode)
		}
	}
	if got := r.eval(0, "= seen"); got != "4" {
		t.Errorf("worker 0's first filter ran %s times, want 4", got)
	}
}

package replay

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ljdns/daemon/mod/policy"
)

// TestComposedModules plays testdata/modules.rpl with the real factory:
// renumber, dns64 and the feature-list policy rules (DENY, FORWARD over
// the scenario's network) around the resolver. Each module taken out of
// the CONFIG section makes the step that depends on it fail.
func TestComposedModules(t *testing.T) {
	base, err := os.ReadFile("testdata/modules.rpl")
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{New: NewResolver}
	if res := r.RunFile("testdata/modules.rpl"); res.Status != Pass {
		t.Fatalf("%v", res)
	}
	for _, c := range []struct{ old, new, want string }{
		{"renumber_src = 10.0.0.0/24; ", "", "step 2 "},
		{"; dns64_prefix = 64:ff9b::", "", "step 4 "},
		{"feature-list: policy=policy:add", "; ", "step 6 "},
		{"feature-list: policy=policy.add(policy.suffix(policy.DENY", "; ", "step 8 "},
	} {
		text := strings.Replace(string(base), c.old, c.new, 1)
		if text == string(base) {
			t.Fatalf("%q not in the scenario", c.old)
		}
		sc, err := Parse("modules.rpl", strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		res := r.Run(sc)
		if res.Status != Fail || !strings.Contains(res.Reason, c.want) {
			t.Errorf("without %q: %v, want a failure at %q", c.old, res, c.want)
		}
	}
}

// TestComposedUnsupported: a policy expression outside the subset the
// runner reads skips the scenario, naming the expression; a malformed one
// fails it.
func TestComposedUnsupported(t *testing.T) {
	base, err := os.ReadFile("testdata/modules.rpl")
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{New: NewResolver}
	for _, c := range []struct {
		expr   string
		status Status
		want   string
	}{
		{"policy.add(policy.pattern(policy.DENY, 'x'))", Skip, `filter "policy.pattern"`},
		{"policy.add(policy.all(policy.MIRROR('1.2.3.4')))", Skip, `action "policy.MIRROR"`},
		{"modules.load('view')", Skip, `statement "modules.load"`},
		{"policy.add(policy.all(policy.DENY)", Fail, "expected"},
	} {
		text := strings.Replace(string(base), "policy.add(policy.suffix(policy.DENY, {todname('blocked.example.')}))", c.expr, 1)
		sc, err := Parse("modules.rpl", strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		if res := r.Run(sc); res.Status != c.status || !strings.Contains(res.Reason, c.want) {
			t.Errorf("%s: %v, want %v with %q", c.expr, res, c.status, c.want)
		}
	}
}

// TestPolicyExpr reads the policy statements of Deckard's scenarios and
// kresd.j2's forms.
func TestPolicyExpr(t *testing.T) {
	var got [][]string
	b := &policyBuilder{forward: func(addrs []string, stub bool) (policy.Action, error) {
		got = append(got, append([]string{map[bool]string{false: "FORWARD", true: "STUB"}[stub]}, addrs...))
		return policy.PASS, nil
	}}
	for _, c := range []struct {
		src     string
		forward []string
		err     string
	}{
		{src: "policy:add(policy.suffix(policy.FORWARD('1.2.3.4'), {todname('example.cz')}))", forward: []string{"FORWARD", "1.2.3.4"}},
		{src: `policy.add(policy.all(policy.STUB({"192.0.2.1@5353", '192.0.2.2',})));`, forward: []string{"STUB", "192.0.2.1@5353", "192.0.2.2"}},
		{src: "policy.add(policy.domains(policy.DENY_MSG('no'), {policy.todname('a.'), todname('b.')}))"},
		{src: "  policy.add( policy.all( policy.REFUSE ) ) "},
		{src: "policy.add(policy.all(policy.DENY), true)", err: "2 arguments"},
		{src: "policy.add(policy.suffix(policy.DENY, {'\\3foo'}))", err: "escapes"},
		{src: "policy.add(policy.suffix(policy.DENY, {todname('a..b')}))", err: "bad name"},
		{src: "policy.add(policy.all(policy.DENY)) x", err: "one statement"},
		{src: "policy.add(policy.all('x'))", err: "action"},
		{src: "", err: "expression expected"},
	} {
		got = nil
		rule, err := b.statement(c.src)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.src, err, c.err)
			}
			continue
		}
		if err != nil || rule == nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		if c.forward != nil && (len(got) != 1 || !slices.Equal(got[0], c.forward)) {
			t.Errorf("%q: forward %v, want %v", c.src, got, c.forward)
		}
	}
	var u *errUnsupportedPolicy
	if _, err := b.statement("policy.add(policy.all(policy.QTRACE))"); !errors.As(err, &u) {
		t.Errorf("QTRACE: %v, want unsupported", err)
	}
}

// TestForwardValidation plays Deckard's fwd_val_cname_sibling.rpl (when
// the shared set is there): forward-addr under a trust anchor validates
// what it forwards (AD on the secure answer). Without the anchor the
// answer has no AD; with a wrong root DS it is bogus (SERVFAIL).
func TestForwardValidation(t *testing.T) {
	var path string
	for _, f := range deckardSets(t) {
		if filepath.Base(f) == "fwd_val_cname_sibling.rpl" {
			path = f
		}
	}
	if path == "" {
		t.Skip("fwd_val_cname_sibling.rpl not in the Deckard set")
	}
	base, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{New: NewResolver}
	if res := r.RunFile(path); res.Status != Pass {
		t.Fatalf("%v", res)
	}
	anchor := "trust-anchor: \". IN DS 20326 8 2 E06D44B80B8F"
	for _, c := range []struct{ old, new, want string }{
		{anchor, "; ", "flags: expected QR RD RA AD, got QR RD RA"},
		{anchor, "trust-anchor: \". IN DS 20326 8 2 F06D44B80B8F", "rcode: expected NOERROR, got SERVFAIL"},
	} {
		text := strings.Replace(string(base), c.old, c.new, 1)
		if text == string(base) {
			t.Fatalf("%q not in the scenario", c.old)
		}
		sc, err := Parse(path, strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		if res := r.Run(sc); res.Status != Fail || !strings.Contains(res.Reason, c.want) {
			t.Errorf("%q -> %q: %v, want a failure with %q", c.old, c.new, res, c.want)
		}
	}
}

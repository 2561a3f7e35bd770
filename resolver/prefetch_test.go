package resolver

import (
	"context"
	"testing"

	"ljdns/daemon/mod/prefill"
	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

// TestPrefillRoot: with the hierarchy's root zone file prefilled (kresd's
// prefill module), names resolve and validate with the root server stopped:
// delegations, DS and the root's DNSKEY come from the copy; a resolver
// without the copy fails.
func TestPrefillRoot(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	sets, err := prefill.Load(".", h.Zones["."].File)
	if err != nil {
		t.Fatal(err)
	}
	r := hierResolver(t, h, true, nil)
	if n := r.Prefill([]byte{0}, sets); n < 5 {
		t.Fatalf("Prefill stored %d sets", n)
	}
	cold := hierResolver(t, h, true, nil)
	if err := h.Servers[testnet.RoleRoot].Stop(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{h.Names[testnet.Secure], h.Names[testnet.SecureNSEC3], "example."} {
		qn, _ := dnsmsg.NameFromText(name)
		qt := uint16(dnsmsg.TypeA)
		if name == "example." {
			qt = typeDS // the root's own answer, from the copy
		}
		p, res, err := r.Resolve(context.Background(), qn.Wire, qt, dnsmsg.ClassINET, QueryFlags{DO: true})
		if err != nil || p.Rcode() != 0 || !p.Flag("ad") || p.Count(dnsmsg.SectionAN) == 0 {
			t.Errorf("%s with the root prefilled and down: %v %+v\n%s", name, err, res, p)
		}
	}
	qn, _ := dnsmsg.NameFromText(h.Names[testnet.Secure])
	if p, _, _ := cold.Resolve(context.Background(), qn.Wire, dnsmsg.TypeA, dnsmsg.ClassINET, QueryFlags{DO: true}); p.Rcode() != 2 {
		t.Errorf("without the copy, the root down: rcode %d, want SERVFAIL", p.Rcode())
	}
}

package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// TestServeTASentinel: ljdns serve validating the rig's hierarchy answers
// RFC 8509 sentinel names under a secure wildcard by the root anchor's key
// tag: is-ta of the anchor's tag and not-ta of another answer, the opposite
// ones SERVFAIL; under an insecure zone nothing changes.
func TestServeTASentinel(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	ds, err := dns.NewRR(h.RootDS)
	if err != nil {
		t.Fatal(err)
	}
	tag := ds.(*dns.DS).KeyTag
	other := tag + 1
	if other > 65535 || other == 0 {
		other = 1
	}
	addr, _ := startResolver(t, h, true, "")
	insecure := h.Names[testnet.Insecure]
	insecure = insecure[strings.IndexByte(insecure, '.')+1:]
	for _, c := range []struct {
		name  string
		rcode int
	}{
		{fmt.Sprintf("root-key-sentinel-is-ta-%05d.wild.secure.example.", tag), dns.RcodeSuccess},
		{fmt.Sprintf("root-key-sentinel-not-ta-%05d.wild.secure.example.", other), dns.RcodeSuccess},
		{fmt.Sprintf("root-key-sentinel-is-ta-%05d.wild.secure.example.", other), dns.RcodeServerFailure},
		{fmt.Sprintf("root-key-sentinel-not-ta-%05d.wild.secure.example.", tag), dns.RcodeServerFailure},
		{fmt.Sprintf("root-key-sentinel-not-ta-%05d.%s", tag, insecure), -1},
	} {
		a := askDO(t, addr, c.name, dns.TypeA)
		if c.rcode < 0 {
			if a.Rcode == dns.RcodeServerFailure {
				t.Errorf("%s: SERVFAIL for an insecure name", c.name)
			}
			continue
		}
		if a.Rcode != c.rcode {
			t.Errorf("%s: rcode %d, want %d\n%s", c.name, a.Rcode, c.rcode, a)
		}
	}
}

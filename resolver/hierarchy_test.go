package resolver

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
	"ljdns/validator"
)

// hierCase is one query of the hierarchy corpus and what a validating
// resolver answers.
type hierCase struct {
	name  string
	qtype uint16
	rcode int
	ad    bool
	ede   int // -1: none expected (not checked); else the code
	data  bool
}

func hierCases(h *testnet.Hierarchy) []hierCase {
	n := h.Names
	return []hierCase{
		{n[testnet.Secure], dnsmsg.TypeA, 0, true, -1, true},
		{n[testnet.SecureNSEC3], dnsmsg.TypeA, 0, true, -1, true},
		{"nx.secure.example.", dnsmsg.TypeA, 3, true, -1, false},
		{"nx.secure.lab.", dnsmsg.TypeA, 3, true, -1, false},
		{n[testnet.Secure], dnsmsg.TypeAAAA, 0, true, -1, false},
		{"x.wild.secure.lab.", dnsmsg.TypeA, 0, true, -1, true},
		{"x.wild.secure.example.", dnsmsg.TypeA, 0, true, -1, true},
		{n[testnet.Insecure], dnsmsg.TypeA, 0, false, -1, true},
		{n[testnet.NSEC3Iter], dnsmsg.TypeA, 0, false, validator.EDENSEC3Iterations, true},
		{n[testnet.TCPOnly], dnsmsg.TypeA, 0, true, -1, true},
		{n[testnet.Expired], dnsmsg.TypeA, 2, false, validator.EDESignatureExpired, false},
		{n[testnet.NotYetValid], dnsmsg.TypeA, 2, false, validator.EDESignatureNotYetValid, false},
		{n[testnet.DSMismatch], dnsmsg.TypeA, 2, false, validator.EDEDNSKEYMissing, false},
		{n[testnet.Stripped], dnsmsg.TypeA, 2, false, validator.EDERRSIGsMissing, false},
		{n[testnet.DSDigest], dnsmsg.TypeA, 2, false, validator.EDEDNSSECBogus, false},
		{n[testnet.ForgedNSEC], dnsmsg.TypeA, 2, false, validator.EDEDNSSECBogus, false},
		{n[testnet.Lame], dnsmsg.TypeA, 2, false, -1, false},
		{n[testnet.Unresponsive], dnsmsg.TypeA, 2, false, -1, false},
	}
}

func hierResolver(t testing.TB, h *testnet.Hierarchy, validate bool, mod func(*Config)) *Resolver {
	var addrs []netip.Addr
	for _, a := range h.Roots {
		addrs = append(addrs, a.Addr())
	}
	c := Config{Roots: []Hint{{Name: testnet.RootNS, Addrs: addrs}}, AllowLocal: true, QueryTimeout: 3 * time.Second, NSTimeout: time.Millisecond} // a timeout under load must not fail the next queries
	if validate {
		c.Anchors = []string{h.RootDS}
	}
	if mod != nil {
		mod(&c)
	}
	r, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func wname(t testing.TB, s string) []byte {
	n, err := dnsmsg.NameFromText(s)
	if err != nil {
		t.Fatal(err)
	}
	return n.Wire
}

// TestHierarchy resolves the rig's loopback hierarchy in process, validating
// with its root DS: the right data, AD only for secure answers asked with
// DO, SERVFAIL with the extended error for the broken variants; then again
// from the cache, and with QNAME minimisation off.
func TestHierarchy(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	for _, mode := range []string{"minimise", "cached", "no-minimise"} {
		r := hierResolver(t, h, true, func(c *Config) { c.NoMinimize = mode == "no-minimise" })
		for pass := 0; pass < 1+btoi(mode == "cached"); pass++ {
			for _, c := range hierCases(h) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				a, res, err := r.Resolve(ctx, wname(t, c.name), c.qtype, dnsmsg.ClassINET, QueryFlags{DO: true})
				cancel()
				t.Logf("%s %s %s: rcode %d AD %v %v EDE %d %q queries %d cached %v err %v", mode, c.name, dnsmsg.TypeString(c.qtype), a.Rcode(), a.Flag("ad"), res.Security, res.EDE, res.EDEText, res.Queries, res.Cached, err)
				if a.Rcode() != c.rcode || a.Flag("ad") != c.ad {
					t.Errorf("%s %s %s: rcode %d AD %v, want %d %v\n%s", mode, c.name, dnsmsg.TypeString(c.qtype), a.Rcode(), a.Flag("ad"), c.rcode, c.ad, a)
				}
				if c.ede >= 0 && res.EDE != c.ede {
					t.Errorf("%s %s: EDE %d (%s), want %d", mode, c.name, res.EDE, res.EDEText, c.ede)
				}
				if c.data && len(a.Records(dnsmsg.SectionAN)) == 0 {
					t.Errorf("%s %s: no answer records\n%s", mode, c.name, a)
				}
			}
		}
	}
}

// TestAggressiveNSEC: after a validated NXDOMAIN from the NSEC-signed
// secure.example., another name in the same span is denied from the cached
// NSEC records (RFC 8198) without a query, with AD; an empty non-terminal
// and existing names are still asked.
func TestAggressiveNSEC(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	for _, off := range []bool{false, true} {
		r := hierResolver(t, h, true, func(c *Config) { c.NoAggressive = off })
		ask := func(name string, qtype uint16) (*dnsmsg.Packet, Result) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a, res, _ := r.Resolve(ctx, wname(t, name), qtype, dnsmsg.ClassINET, QueryFlags{DO: true})
			return a, res
		}
		if a, _ := ask("nx.secure.example.", dnsmsg.TypeA); a.Rcode() != 3 || !a.Flag("ad") {
			t.Fatalf("nx: rcode %d AD %v", a.Rcode(), a.Flag("ad"))
		}
		a, res := ask("nx2.secure.example.", dnsmsg.TypeAAAA)
		if a.Rcode() != 3 || !a.Flag("ad") || (res.Queries == 0) == off {
			t.Errorf("aggressive off %v: nx2: rcode %d AD %v after %d queries\n%s", off, a.Rcode(), a.Flag("ad"), res.Queries, a)
		}
		// a DS question is the parent's: denied from the same spans (kresd; Deckard's nsec_aggr_cache)
		a, res = ask("x.nx3.secure.example.", typeDS)
		if a.Rcode() != 3 || !a.Flag("ad") || (res.Queries == 0) == off {
			t.Errorf("aggressive off %v: x.nx3 DS: rcode %d AD %v after %d queries\n%s", off, a.Rcode(), a.Flag("ad"), res.Queries, a)
		}
		// a wildcard expansion, then another name its NSEC proves absent:
		// synthesised from the cached wildcard (RFC 8198 §5.4)
		if a, _ := ask("x.wild.secure.example.", dnsmsg.TypeA); a.Rcode() != 0 || !a.Flag("ad") {
			t.Errorf("x.wild: rcode %d AD %v", a.Rcode(), a.Flag("ad"))
		}
		a, res = ask("y.wild.secure.example.", dnsmsg.TypeA)
		if a.Rcode() != 0 || !a.Flag("ad") || len(a.Records(dnsmsg.SectionAN)) == 0 || (res.Queries == 0) == off {
			t.Errorf("aggressive off %v: y.wild: rcode %d AD %v after %d queries\n%s", off, a.Rcode(), a.Flag("ad"), res.Queries, a)
		}
		if a, _ := ask("wild.secure.example.", dnsmsg.TypeA); a.Rcode() != 0 {
			t.Errorf("the empty non-terminal wild.secure.example.: rcode %d", a.Rcode())
		}
		if a, _ := ask("www.secure.example.", dnsmsg.TypeA); a.Rcode() != 0 || len(a.Records(dnsmsg.SectionAN)) == 0 {
			t.Errorf("www: rcode %d\n%s", a.Rcode(), a)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

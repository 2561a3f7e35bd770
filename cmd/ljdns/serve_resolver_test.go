package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// resolverCase is one query of the hierarchy corpus and what a validating
// resolver answers it with (asked with DO).
type resolverCase struct {
	name  string
	qtype uint16
	rcode int
	ad    bool
	ede   int // -1: not checked
}

func resolverCases(h *testnet.Hierarchy) []resolverCase {
	n := h.Names
	return []resolverCase{
		{n[testnet.Secure], dns.TypeA, 0, true, -1},
		{n[testnet.SecureNSEC3], dns.TypeA, 0, true, -1},
		{"nx.secure.example.", dns.TypeA, 3, true, -1},
		{"nx.secure.lab.", dns.TypeA, 3, true, -1},
		{"nx2.secure.example.", dns.TypeA, 3, true, -1},    // from the NSEC records of nx's answer (RFC 8198)
		{"wild.secure.example.", dns.TypeTXT, 0, true, -1}, // an empty non-terminal: NODATA
		{n[testnet.Secure], dns.TypeAAAA, 0, true, -1},
		{"x.wild.secure.lab.", dns.TypeA, 0, true, -1},
		{"x.wild.secure.example.", dns.TypeA, 0, true, -1},
		{n[testnet.Insecure], dns.TypeA, 0, false, -1},
		{n[testnet.NSEC3Iter], dns.TypeA, 0, false, 27},
		{n[testnet.TCPOnly], dns.TypeA, 0, true, -1},
		{n[testnet.Expired], dns.TypeA, 2, false, 7},
		{n[testnet.NotYetValid], dns.TypeA, 2, false, 8},
		{n[testnet.DSMismatch], dns.TypeA, 2, false, 9},
		{n[testnet.Stripped], dns.TypeA, 2, false, 10},
		{n[testnet.DSDigest], dns.TypeA, 2, false, 6},
		{n[testnet.ForgedNSEC], dns.TypeA, 2, false, 6},
		{n[testnet.Lame], dns.TypeA, 2, false, -1},
		{n[testnet.Unresponsive], dns.TypeA, 2, false, -1},
	}
}

// resolverConfig is the configuration of an ljdns serve (and a kresd) that
// resolves through the hierarchy from its root hints with its trust anchor.
func resolverConfig(h *testnet.Hierarchy, listen netip.AddrPort, validate bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "net.listen('%s', %d)\n", listen.Addr(), listen.Port())
	b.WriteString("modules.load('hints > iterate')\n")
	var addrs []string
	for _, a := range h.Roots {
		addrs = append(addrs, fmt.Sprintf("'%s'", a.Addr()))
	}
	fmt.Fprintf(&b, "hints.root({['%s'] = {%s}})\n", testnet.RootNS, strings.Join(addrs, ", "))
	if validate {
		fmt.Fprintf(&b, "trust_anchors.add_file('%s', true)\n", h.AnchorDS)
	}
	b.WriteString("option('ALLOW_LOCAL', true)\n")
	b.WriteString("cache.ns_tout(1) -- ms: a timeout under load does not set a server aside\n")
	return b.String()
}

// startResolver starts ljdns serve resolving through h and waits for it.
func startResolver(t *testing.T, h *testnet.Hierarchy, validate bool, extra string) (netip.AddrPort, *daemonProc) {
	dir := t.TempDir()
	addr := testnet.FreeAddr(t)
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte(resolverConfig(h, addr, validate)+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startDaemon(t, dir, nil, "-c", cfg)
	waitDNS(t, addr.String())
	return addr, p
}

func askDO(t *testing.T, server netip.AddrPort, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, true)
	c := &dns.Client{Timeout: 15 * time.Second, UDPSize: 1232}
	a, _, err := c.Exchange(m, server.String())
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return a
}

func edeOf(m *dns.Msg) int {
	if o := m.IsEdns0(); o != nil {
		for _, e := range o.Option {
			if x, ok := e.(*dns.EDNS0_EDE); ok {
				return int(x.InfoCode)
			}
		}
	}
	return -1
}

// TestServeResolverHierarchy: ljdns serve resolves the rig's loopback
// hierarchy from its root hints, validating with its trust anchor: the
// right data, AD for the secure answers, SERVFAIL with the extended error
// for the broken variants; kdig sees the AD bit; a kresd configured the
// same way answers the corpus alike (the rig's comparator).
func TestServeResolverHierarchy(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	addr, _ := startResolver(t, h, true, "")
	for _, c := range resolverCases(h) {
		a := askDO(t, addr, c.name, c.qtype)
		t.Logf("%s %s: %s AD %v EDE %d", c.name, dns.TypeToString[c.qtype], dns.RcodeToString[a.Rcode], a.AuthenticatedData, edeOf(a))
		if a.Rcode != c.rcode || a.AuthenticatedData != c.ad {
			t.Errorf("%s %s: rcode %d AD %v, want %d %v\n%s", c.name, dns.TypeToString[c.qtype], a.Rcode, a.AuthenticatedData, c.rcode, c.ad, a)
		}
		if c.ede >= 0 && edeOf(a) != c.ede {
			t.Errorf("%s: EDE %d, want %d\n%s", c.name, edeOf(a), c.ede, a)
		}
		if c.rcode == 0 && c.qtype == dns.TypeA && len(a.Answer) == 0 {
			t.Errorf("%s: no answer\n%s", c.name, a)
		}
	}
	if _, err := exec.LookPath("kdig"); err == nil {
		out, err := exec.Command("kdig", "@"+addr.Addr().String(), "-p", fmt.Sprint(addr.Port()), "+dnssec", h.Names[testnet.Secure], "A").CombinedOutput()
		if err != nil || !strings.Contains(string(out), " ad;") || !strings.Contains(string(out), "NOERROR") {
			t.Errorf("kdig: %v\n%s", err, out)
		}
	}
	if _, err := exec.LookPath("kresd"); err != nil {
		t.Log("kresd not installed: no comparison")
		return
	}
	k := h.StartKresd(t, true)
	var corpus []testnet.Query
	for _, c := range resolverCases(h) {
		if c.name == h.Names[testnet.Lame] || c.name == h.Names[testnet.Unresponsive] {
			continue // timing-dependent in both
		}
		// with DO over TCP: kresd truncates big UDP answers to a partial TC one
		corpus = append(corpus, testnet.Query{Name: c.name, Type: c.qtype}, testnet.Query{Name: c.name, Type: c.qtype, DO: true, TCP: true})
	}
	corpus = append(corpus, testnet.Query{Name: h.Names[testnet.Expired], Type: dns.TypeA, CD: true, DO: true, TCP: true})
	diffs := testnet.Compare(addr, k.Addr(), corpus, testnet.CompareOptions{TTLTolerance: 30, IgnoreAdditional: true, Timeout: 15 * time.Second})
	if len(diffs) > 0 {
		t.Errorf("ljdns serve and kresd differ on %d points:\n%s", len(diffs), testnet.Report(diffs))
	}
}

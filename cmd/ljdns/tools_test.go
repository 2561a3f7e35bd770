package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ljdns/internal/testnet"
)

// hintsConfig is the -C text that points the resolver at the hierarchy's
// root (and lets it use the loopback name servers it learns).
func hintsConfig(h *testnet.Hierarchy) string {
	var addrs []string
	for _, a := range h.Roots {
		addrs = append(addrs, fmt.Sprintf("'%s'", a.Addr()))
	}
	return fmt.Sprintf("hints.root({['%s'] = {%s}}) option('ALLOW_LOCAL', true)", testnet.RootNS, strings.Join(addrs, ", "))
}

// toolDir is the working directory of the tools run by runTool: they must
// leave nothing there (no RUNDIR files, no cache snapshot).
var toolDir string

// runTool runs the ljdns binary with env added to the test's environment.
func runTool(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = toolDir
	cmd.Env = append(os.Environ(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("ljdns %s -> %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	return result{out.String(), errb.String(), code}
}

// TestHostQueryHierarchy: `ljdns host` (kresd-host.lua) and `ljdns query`
// (kresd-query.lua) resolve the rig's loopback hierarchy from root hints
// given with -C, validating with the anchor given with -f / -C: secure and
// insecure marks, NXDOMAIN, a bogus chain with the built-in anchors,
// LJDNS_OUTGOING_ALLOW honoured, the query script's value as exit status.
func TestHostQueryHierarchy(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	hints := hintsConfig(h)
	toolDir = t.TempDir()
	defer func() {
		if ents, _ := os.ReadDir(toolDir); len(ents) > 0 {
			t.Errorf("the tools left %d files in their working directory (%s...)", len(ents), ents[0].Name())
		}
		toolDir = ""
	}()
	secure, insecure := h.Names[testnet.Secure], h.Names[testnet.Insecure]

	r := runTool(t, nil, "host", "-v", "-f", h.AnchorDS, "-C", hints, strings.TrimSuffix(secure, "."))
	if r.code != 0 || !strings.Contains(r.stdout, secure+" has address 192.0.2.1 (secure)\n") {
		t.Errorf("host -v secure: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, secure+" has no MX record (secure)") {
		t.Errorf("host -v: no NODATA line for MX: %q", r.stdout)
	}
	r = runTool(t, nil, "host", "-v", "-f", h.AnchorDS, "-C", hints, insecure)
	if r.code != 0 || !strings.Contains(r.stdout, insecure+" has address 192.0.2.1 (insecure)\n") {
		t.Errorf("host -v insecure: %d %q", r.code, r.stdout)
	}
	r = runTool(t, nil, "host", "-f", h.AnchorDS, "-C", hints, secure)
	if r.code != 0 || r.stdout != secure+" has address 192.0.2.1\n" {
		t.Errorf("host without -v: %d %q", r.code, r.stdout)
	}
	r = runTool(t, nil, "host", "-f", h.AnchorDS, "-C", hints, "-t", "SOA", "secure.example")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "secure.example. has SOA record ") {
		t.Errorf("host -t SOA: %d %q", r.code, r.stdout)
	}
	r = runTool(t, nil, "host", "-f", h.AnchorDS, "-C", hints, "nx.secure.example")
	if r.code != 1 || r.stdout != "Host nx.secure.example not found: 3(NXDOMAIN)\n" {
		t.Errorf("host NXDOMAIN: %d %q", r.code, r.stdout)
	}
	// the built-in (real) root anchors cannot validate the rig's root
	r = runTool(t, nil, "host", "-C", hints, secure)
	if r.code != 1 || !strings.Contains(r.stdout, "not found: 2(SERVFAIL)") {
		t.Errorf("host with the built-in anchors: %d %q, want SERVFAIL", r.code, r.stdout)
	}
	// the outgoing allow list applies to the tool's resolver
	r = runTool(t, []string{"LJDNS_OUTGOING_ALLOW=192.0.2.0/24"}, "host", "-f", h.AnchorDS, "-C", hints, "-t", "A", insecure)
	if r.code != 1 || !strings.Contains(r.stdout, "not found: 2(SERVFAIL)") {
		t.Errorf("host outside LJDNS_OUTGOING_ALLOW: %d %q, want SERVFAIL", r.code, r.stdout)
	}

	// ljdns query: -C text and -C file
	cfg := filepath.Join(t.TempDir(), "tools.conf")
	if err := os.WriteFile(cfg, []byte(hints+"\ntrust_anchors.add_file('"+h.AnchorDS+"', true)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"-C", cfg, secure, "pkt:ad()"}, 0, ""},
		{[]string{"-C", cfg, insecure, "pkt:ad()"}, 1, ""},
		{[]string{"-C", cfg, insecure, "qry.flags.DNSSEC_WANT and qry.flags.DNSSEC_INSECURE"}, 0, ""},
		{[]string{"-C", cfg, secure, "not req:resolved().flags.DNSSEC_INSECURE"}, 0, ""},
		{[]string{"-C", hints, "-C", "trust_anchors.add_file('" + h.AnchorDS + "', true)", "-t", "SOA", "secure.example", "print(kres.dname2str(pkt:qname()), pkt:qtype() == kres.type.SOA)"}, 0, "secure.example.\ttrue\n"},
		{[]string{"-C", cfg, "nx.secure.example", "pkt:rcode() == kres.rcode.NXDOMAIN"}, 0, ""},
		// the seed's example: the zone cut of the name resolved
		{[]string{"-C", cfg, secure, `assert(kres.dname2str(req:resolved().zone_cut.name) == "secure.example.")`}, 0, ""},
		{[]string{"-C", cfg, "x.wild.secure.lab", `print(kres.dname2str(req:resolved().zone_cut.name))`}, 0, "secure.lab.\n"},
		{[]string{"-C", cfg, secure, "assert(pkt:rcode() == kres.rcode.NXDOMAIN, 'not nx')"}, 1, "script:1: not nx\n"},
		{[]string{"-C", hints, secure, "pkt:rcode() == kres.rcode.SERVFAIL"}, 0, ""}, // built-in anchors: bogus
	} {
		r := runTool(t, nil, append([]string{"query"}, c.args...)...)
		if r.code != c.code || (c.out != "" && r.stdout != c.out) {
			t.Errorf("query %q: exit %d %q, want %d %q (stderr %q)", c.args, r.code, r.stdout, c.code, c.out, r.stderr)
		}
	}
}

// TestToolsUsage: the tools' argument errors and help.
func TestToolsUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"host"}, 1, "usage: ljdns host"},
		{[]string{"host", "-h"}, 0, "usage: ljdns host"},
		{[]string{"host", "-t", "NOPE", "x"}, 1, "unknown type"},
		{[]string{"host", "-x", "x"}, 1, "unrecognized option"},
		{[]string{"query", "x"}, 1, "usage: ljdns query"},
		{[]string{"query", "-c", "NOPE", "x", "true"}, 1, "unknown class"},
		{[]string{"query", "-C", "error('broken config')", "x", "true"}, 1, "broken config"},
	} {
		r := ljdns(t, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stdout+r.stderr, c.want) {
			t.Errorf("%q: %d %q %q, want %d and %q", c.args, r.code, r.stdout, r.stderr, c.code, c.want)
		}
	}
}

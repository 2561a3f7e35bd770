package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// TestServePrefillPredict: ljdns serve with prefill.config() reading the
// hierarchy's root zone file (a file:// URL) resolves and validates with the
// root server stopped; predict loads with kresd's configuration form; an
// https URL is refused at load with a clear error.
func TestServePrefillPredict(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	extra := "modules = { predict = { window = 15, period = 6*(60/15) } }\n" +
		"prefill.config({['.'] = {url = 'file://" + h.Zones["."].File + "', interval = 86400, ca_file = '/nonexistent'}})\n"
	addr, _ := startResolver(t, h, true, "modules.load('prefill')\n"+extra)
	if err := h.Servers[testnet.RoleRoot].Stop(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{h.Names[testnet.Secure], h.Names[testnet.SecureNSEC3]} {
		a := askDO(t, addr, name, dns.TypeA)
		if a.Rcode != 0 || !a.AuthenticatedData || len(a.Answer) == 0 {
			t.Errorf("%s with the root prefilled and stopped: %s", name, a)
		}
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte("modules.load('prefill')\nprefill.config({['.'] = {url = 'https://www.internic.net/domain/root.zone'}})\n"), 0o644)
	r := ljdns(t, "", "serve", "--check-config", "-c", cfg, dir)
	if r.code == 0 || !strings.Contains(r.stderr, "nothing is downloaded") || !strings.Contains(r.stderr, "config:2") {
		t.Errorf("https prefill: %d %q", r.code, r.stderr)
	}
	os.WriteFile(cfg, []byte("modules.load('prefill')\nprefill.config({['example.'] = {url = 'x'}})\n"), 0o644)
	if r := ljdns(t, "", "serve", "--check-config", "-c", cfg, dir); r.code == 0 || !strings.Contains(r.stderr, "only the root zone") {
		t.Errorf("prefill of another zone: %d %q", r.code, r.stderr)
	}
}

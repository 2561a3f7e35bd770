package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

const zonefileTestZone = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.10\n"

// TestZonefileBinding: modules = { zonefile = {...} } serves the zone
// through the request path (before policy, whose special-use rules would
// answer test. names), zonefile.zones() lists it, names outside it are
// REFUSED even with RD=1 from loopback (a zone-only configuration never
// recurses), and a reload with a changed file serves the new data.
func TestZonefileBinding(t *testing.T) {
	dir := t.TempDir()
	zf := filepath.Join(dir, "example.test.zone")
	if err := os.WriteFile(zf, []byte(zonefileTestZone), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, 2, `modules = { zonefile = { {name = 'example.test', file = '`+zf+`', acl = {'127.0.0.1', '10.0.0.0/8'},
  tsig = {'k1:hmac-sha256:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=='}} } }`, nil)
	for w := range 2 {
		m := r.query(t, "www.example.test", dns.TypeA, w)
		if m.Rcode != dns.RcodeSuccess || !m.Authoritative || m.RecursionAvailable || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.10" {
			t.Fatalf("worker %d: %v", w, m)
		}
	}
	if m := r.query(t, "nx.example.test", dns.TypeA, 0); m.Rcode != dns.RcodeNameError || len(m.Ns) != 1 {
		t.Fatalf("NXDOMAIN: %v", m)
	}
	if m := r.query(t, "www.example.org", dns.TypeA, 0); m.Rcode != dns.RcodeRefused || len(m.Answer) != 0 {
		t.Fatalf("outside the zone: %v", m)
	}
	if got := r.eval(0, "return zonefile.zones()[1].name .. ' ' .. zonefile.zones()[1].serial"); got != "example.test. 1" {
		t.Fatalf("zonefile.zones(): %q", got)
	}
	mods := r.eval(0, "return table.concat(modules.list(), ' ')")
	if zi, pi := strings.Index(mods, "zonefile"), strings.Index(mods, "policy"); zi < 0 || (pi >= 0 && pi < zi) {
		t.Fatalf("module order: %s", mods)
	}
	if err := os.WriteFile(zf, []byte(strings.Replace(strings.Replace(zonefileTestZone, "192.0.2.10", "192.0.2.11", 1), " 1 3600", " 2 3600", 1)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := r.ld.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if m := r.query(t, "www.example.test", dns.TypeA, 1); len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.11" {
		t.Fatalf("after reload: %v", m)
	}
}

// TestZonefileConfigErrors: a zone file with a syntax error, a zone
// without SOA and bad options fail the configuration with one line naming
// the configuration's line and the zone file's.
func TestZonefileConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.zone")
	os.WriteFile(bad, []byte(zonefileTestZone+"oops A 192.0.2.999\n"), 0o644)
	nosoa := filepath.Join(dir, "nosoa.zone")
	os.WriteFile(nosoa, []byte("$ORIGIN example.test.\n@ 300 NS ns\n"), 0o644)
	good := filepath.Join(dir, "good.zone")
	os.WriteFile(good, []byte(zonefileTestZone), 0o644)
	for _, c := range []struct{ config, want string }{
		{"modules = { zonefile = { {name = 'example.test', file = '" + bad + "'} } }", bad + ":7:"},
		{"modules = { zonefile = { {name = 'example.test', file = '" + nosoa + "'} } }", "no SOA"},
		{"modules = { zonefile = { {name = 'example.test'} } }", "needs name and file"},
		{"modules = { zonefile = { {name = 'example.test', file = '" + good + "', acl = {'300.1.1.1'}} } }", "acl"},
		{"modules = { zonefile = { {name = 'example.test', file = '" + good + "', tsig = 'nokey'} } }", "tsig"},
		{"modules = { zonefile = { {name = 'example.test', file = '" + good + "', color = 'red'} } }", "unknown zone option"},
		{"modules = { zonefile = 'example.test' }", "a list of zones"},
	} {
		err := loadErr(t, "\n"+c.config+"\n", Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "config:2") {
			t.Errorf("%s:\n error %v\n want %q and config:2", c.config, err, c.want)
		}
	}
}

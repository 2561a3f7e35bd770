package serve

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/host"
	"ljdns/internal/testnet"
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

// TestZonefileKnotDifferential: the configuration loader with
// modules = { zonefile = ... } (ljdns serve's path, one listener, two
// workers) answers as knotd on the authority package's test zones (a
// sample of daemon/mod/zonefile's corpus: the full one runs there).
func TestZonefileKnotDifferential(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd")
	var zones []testnet.Zone
	var cfg strings.Builder
	cfg.WriteString("modules = { zonefile = {\n")
	for _, n := range []string{"example.test.", "other.test.", "child.example.test."} {
		f, err := filepath.Abs("../../authority/testdata/" + n + "zone")
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, testnet.Zone{Name: n, File: f})
		fmt.Fprintf(&cfg, "  {name = '%s', file = '%s'},\n", n, f)
	}
	cfg.WriteString("} }\n")
	k := testnet.StartKnot(t, testnet.KnotConfig{Zones: zones})
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ld, err := NewLoader(Options{Config: path, ConfigExplicit: true, Workers: 2, Log: daemon.NewLogger(&syncBuffer{}),
		NewState: func() *lua.LState { return host.New(host.Options{}) }})
	if err != nil {
		t.Fatal(err)
	}
	defer ld.Close()
	c, err := ld.Load()
	if err != nil {
		t.Fatal(err)
	}
	addr := testnet.FreeAddr(t)
	c.Listen = []daemon.Listen{{Addr: addr}}
	srv, err := daemon.New(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	ld.Attach(srv)
	var corpus strings.Builder
	for _, n := range []string{"example.test.", "www.example.test.", "x.wild.example.test.", "ent.example.test.",
		"a.b.c.ent.example.test.", "www.sub.example.test.", "sub.example.test.", "chain1.example.test.", "x.dn.example.test.",
		"nx.example.test.", "www.other.test.", "back.other.test.", "www.child.example.test.", "big.example.test."} {
		for _, ty := range []string{"A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "DS", "ANY"} {
			for _, fl := range []string{"", " +do", " +tcp", " +do +tcp", " +nord"} {
				fmt.Fprintf(&corpus, "%s %s%s\n", n, ty, fl)
			}
		}
	}
	qs, err := testnet.ParseCorpus(corpus.String())
	if err != nil {
		t.Fatal(err)
	}
	// names outside the zones differ on purpose (README, Serving a zone):
	// kresd's default policy answers special-use names (test. itself), and
	// the daemon's REFUSED carries RA
	if d := testnet.Compare(k.Addr(), addr, qs, testnet.CompareOptions{}); len(d) > 0 {
		t.Errorf("%d of %d queries differ from knotd:\n%s", len(d), len(qs), testnet.Report(d))
	}
}

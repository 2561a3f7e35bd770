package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
	"ljdns/validator"
)

// lua2Daemon is `ljdns serve` serving a lua2 script.
type lua2Daemon struct {
	*daemonProc
	addr netip.AddrPort
}

// startLua2 runs ljdns serve with modules = { lua2 = { filename = script, ... } }
// (extra is added to the module's table) on a free address of the
// namespace and waits until it answers.
func startLua2(t *testing.T, script, extra string, args ...string) *lua2Daemon {
	t.Helper()
	return startLua2Config(t, script, "", extra, args...)
}

// startLua2Config is startLua2 with lines of configuration (pre) before
// the modules.
func startLua2Config(t *testing.T, script, pre, extra string, args ...string) *lua2Daemon {
	t.Helper()
	abs, err := filepath.Abs(script)
	if err != nil {
		t.Fatal(err)
	}
	addr := testnet.FreeAddr(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf("net.listen('%s', %d)\nnet.recursion_allow({'192.0.2.255/32'})\n%smodules = { lua2 = { filename = %q, %s } }\n", addr.Addr(), addr.Port(), pre, abs, extra)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startDaemon(t, dir, nil, append([]string{"-c", "config"}, args...)...)
	waitDNS(t, addr.String())
	return &lua2Daemon{p, addr}
}

func (d *lua2Daemon) pid() int { return d.cmd.Process.Pid }

// TestServeLua2Figures measures ljdns serve with a lua2 script against
// pdns_server + lua2 on the same script (SERVE.md §10): without caches on
// both sides, then with pdns's default caches against our packet cache.
// LJDNS_LUA2_FIGURES is the seconds per run (10 in §10); LJDNS_LUA2_SCRIPT
// another script (examples/lua2/perf-zones.lua: zones from
// dns_get_all_domains, pdns with its zone cache), LJDNS_LUA2_WORKERS -f.
func TestServeLua2Figures(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("LJDNS_LUA2_FIGURES"))
	if secs <= 0 {
		t.Skip("set LJDNS_LUA2_FIGURES=<seconds per run> to measure lua2 against pdns_server")
	}
	testnet.Isolate(t)
	testnet.Need(t, "dnsperf", "pdns_server")
	var queries []testnet.Query
	for i := range 1000 {
		queries = append(queries, testnet.Query{Name: fmt.Sprintf("n%d.perf.example.", i), Type: dns.TypeA})
	}
	script := "../../examples/lua2/perf.lua"
	if s := os.Getenv("LJDNS_LUA2_SCRIPT"); s != "" {
		script = s
	}
	noCache := map[string]string{"cache-ttl": "0", "query-cache-ttl": "0", "negquery-cache-ttl": "0"}
	defaults := map[string]string{}
	if src, err := os.ReadFile(script); err == nil && strings.Contains(string(src), "function dns_get_all_domains") {
		// pdns's default zone cache (the rig turns it off for scripts without the function)
		noCache["zone-cache-refresh-interval"], defaults["zone-cache-refresh-interval"] = "300", "300"
	}
	pdnsOff := testnet.StartPDNS(t, testnet.PDNSConfig{LuaScript: script, Settings: noCache})
	pdnsOn := testnet.StartPDNS(t, testnet.PDNSConfig{LuaScript: script, Settings: defaults})
	var args []string
	if w := os.Getenv("LJDNS_LUA2_WORKERS"); w != "" {
		args = []string{"-f", w}
	}
	oursOff := startLua2(t, script, "packet_cache = false", args...)
	oursOn := startLua2(t, script, "packet_cache = true", args...)
	d := time.Duration(secs) * time.Second
	run := func(name string, addr netip.AddrPort, pid int, d time.Duration) float64 {
		t.Helper()
		res, err := testnet.Perf(testnet.PerfConfig{Server: addr, Queries: queries, Duration: d, Clients: 20, Threads: 2, PID: pid})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d > time.Second {
			t.Logf("%-28s %s", name, res)
		}
		return res.QPS
	}
	run("warm-up", oursOn.addr, oursOn.pid(), time.Second)
	run("warm-up", pdnsOn.Addr(), pdnsOn.PID(), time.Second)
	var a, b, c, e float64
	for round := 1; round <= 2; round++ {
		a = run("pdns+lua2 caches off", pdnsOff.Addr(), pdnsOff.PID(), d)
		b = run("ljdns lua2 no packet cache", oursOff.addr, oursOff.pid(), d)
		c = run("pdns+lua2 default caches", pdnsOn.Addr(), pdnsOn.PID(), d)
		e = run("ljdns lua2 packet cache", oursOn.addr, oursOn.pid(), d)
		t.Logf("round %d: no caches %.2fx (bar 2.5x), caches %.2fx (bar 1.5x)", round, b/a, e/c)
	}
}

// lua2Corpus builds the differential corpus over owners: every type asked
// at each owner, names below each owner, over UDP and TCP, with and without
// DO; the DO queries again with EDNS sizes 512, 1232 and 4096.
func lua2Corpus(owners []string) []lua2Q {
	types := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeNS, dns.TypeSOA, dns.TypeMX, dns.TypeTXT, dns.TypeCNAME,
		dns.TypeSRV, dns.TypePTR, dns.TypeDNAME, dns.TypeDS, dns.TypeANY, dns.TypeCAA}
	var names []string
	for _, o := range owners {
		names = append(names, o, "nx."+o, "Nx.Deeper."+o)
	}
	var out []lua2Q
	for _, n := range names {
		for _, t := range types {
			for _, tcp := range []bool{false, true} {
				out = append(out, lua2Q{Query: testnet.Query{Name: n, Type: t, TCP: tcp}})
				out = append(out, lua2Q{Query: testnet.Query{Name: n, Type: t, TCP: tcp, DO: true}, size: 1232})
			}
			for _, size := range []uint16{512, 4096} {
				out = append(out, lua2Q{Query: testnet.Query{Name: n, Type: t, DO: true}, size: size})
			}
		}
	}
	return out
}

// lua2Q is a corpus query with its EDNS size (0: no EDNS unless DO).
type lua2Q struct {
	testnet.Query
	size  uint16
	class uint16 // 0: IN
}

func (q lua2Q) exchange(server netip.AddrPort) (*dns.Msg, error) {
	m := q.Msg()
	if q.class != 0 {
		m.Question[0].Qclass = q.class
	}
	if q.size != 0 {
		if o := m.IsEdns0(); o != nil {
			o.SetUDPSize(q.size)
		} else {
			m.SetEdns0(q.size, q.DO)
		}
	}
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second, UDPSize: 65535}
	tries := 2
	if q.TCP {
		c.Net, tries = "tcp", 1
	}
	var err error
	for range tries {
		var r *dns.Msg
		if r, _, err = c.Exchange(m, server.String()); err == nil {
			return r, nil
		}
	}
	return nil, err
}

// lua2Compare runs the corpus against pdns (A) and ljdns (B).
func lua2Compare(t *testing.T, pdns, ours netip.AddrPort, corpus []lua2Q) {
	t.Helper()
	var diffs []testnet.Diff
	for _, q := range corpus {
		ra, ea := q.exchange(pdns)
		rb, eb := q.exchange(ours)
		switch {
		case ea != nil && eb != nil:
			continue
		case ea != nil || eb != nil:
			diffs = append(diffs, testnet.Diff{Query: q.Query, What: "error", A: fmt.Sprint(ea), B: fmt.Sprint(eb)})
			continue
		}
		for _, d := range testnet.CompareMsgs(q.Query, ra, rb, testnet.CompareOptions{}) {
			d.What += fmt.Sprintf(" (edns %d)", q.size)
			if q.class != 0 {
				d.What += fmt.Sprintf(" (class %s)", dns.ClassToString[q.class])
			}
			diffs = append(diffs, d)
		}
	}
	if out := os.Getenv("LJDNS_LUA2_DIFFS"); out != "" {
		os.WriteFile(out, []byte(testnet.Report(diffs)), 0o644)
	}
	if len(diffs) > 40 {
		diffs = diffs[:40]
	}
	if len(diffs) > 0 {
		t.Errorf("pdns_server (A) and ljdns serve (B) differ on %d of %d queries:\n%s", len(diffs), len(corpus), testnet.Report(diffs))
	}
	t.Logf("%d queries compared", len(corpus))
}

// TestServeLua2DiffTable runs examples/lua2/table.lua under pdns_server and
// ljdns serve and compares their answers.
func TestServeLua2DiffTable(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "pdns_server")
	script := "../../examples/lua2/table.lua"
	// the script has dns_get_all_domains: pdns's zone cache on, as by default
	pdns := testnet.StartPDNS(t, testnet.PDNSConfig{LuaScript: script, Settings: map[string]string{"cache-ttl": "0",
		"query-cache-ttl": "0", "negquery-cache-ttl": "0", "zone-cache-refresh-interval": "300"}})
	ours := startLua2(t, script, "packet_cache = false")
	owners := []string{"lua2.example.", "ns1.lua2.example.", "www.lua2.example.", "WWW.Lua2.Example.", "mail.lua2.example.",
		"alias.lua2.example.", "chain.lua2.example.", "cross.lua2.example.", "out.lua2.example.", "dangling.lua2.example.",
		"loop1.lua2.example.", "x.wild.lua2.example.", "y.x.wild.lua2.example.", "wild.lua2.example.", "*.wild.lua2.example.",
		"z.cwild.lua2.example.", "a.b.ent.lua2.example.", "b.ent.lua2.example.", "ent.lua2.example.",
		"sub.lua2.example.", "ns.sub.lua2.example.", "deep.sub.lua2.example.", "_sip._udp.lua2.example.", "_udp.lua2.example.",
		"sip.lua2.example.", "ptr.lua2.example.", "long.lua2.example.", "many.lua2.example.",
		"other.example.", "www.other.example.", "ns2.other.example.", "nowhere.invalid.", "example."}
	lua2Compare(t, pdns.Addr(), ours.addr, lua2Corpus(owners))
}

// TestServeLua2Chaos compares CHAOS class answers (version.bind,
// version.pdns, id.server TXT; other names and types) and class HS with
// pdns_server's, both with the same version-string and server-id (pdns's
// default version string is its own), then pdns's anonymous and disabled
// settings.
func TestServeLua2Chaos(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "pdns_server")
	script := "../../examples/lua2/table.lua"
	var corpus []lua2Q
	for _, n := range []string{"version.bind.", "VERSION.Bind.", "version.pdns.", "id.server.", "ID.Server.", "hostname.bind.",
		"version.server.", "authors.bind.", "bind.", "www.lua2.example.", "lua2.example.", "nowhere.invalid."} {
		for _, qt := range []uint16{dns.TypeTXT, dns.TypeA, dns.TypeANY, dns.TypeSOA} {
			for _, tcp := range []bool{false, true} {
				corpus = append(corpus, lua2Q{Query: testnet.Query{Name: n, Type: qt, TCP: tcp}, class: dns.ClassCHAOS})
				corpus = append(corpus, lua2Q{Query: testnet.Query{Name: n, Type: qt, TCP: tcp, DO: true}, size: 1232, class: dns.ClassCHAOS})
			}
			corpus = append(corpus, lua2Q{Query: testnet.Query{Name: n, Type: qt}, class: dns.ClassHESIOD})
		}
	}
	for _, c := range []struct{ version, id string }{{"ljdns chaos test", "ns1.chaos.test"}, {"anonymous", "disabled"}} {
		settings := map[string]string{"cache-ttl": "0", "query-cache-ttl": "0", "negquery-cache-ttl": "0",
			"zone-cache-refresh-interval": "300", "version-string": c.version, "server-id": c.id}
		pdns := testnet.StartPDNS(t, testnet.PDNSConfig{LuaScript: script, Settings: settings})
		ours := startLua2(t, script, fmt.Sprintf("packet_cache = false, version_string = %q, server_id = %q", c.version, c.id))
		lua2Compare(t, pdns.Addr(), ours.addr, corpus)
	}
}

// TestServeLua2DiffSigned: examples/lua2/signed.lua (dns_dnssec, a KSK and
// a ZSK from dns_get_domain_keys, NSEC from
// dns_get_before_and_after_names_absolute, CDS and CDNSKEY published by
// metadata) under pdns_server and ljdns
// serve: the same answers (RRSIGs compared by key, labels and validity),
// and every kind of answer from both validated by the validator package
// from the zone's KSK.
func TestServeLua2DiffSigned(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "pdns_server")
	script := "../../examples/lua2/signed.lua"
	pdns := testnet.StartPDNS(t, testnet.PDNSConfig{LuaScript: script, Settings: map[string]string{"cache-ttl": "0",
		"query-cache-ttl": "0", "negquery-cache-ttl": "0", "zone-cache-refresh-interval": "300"}})
	ours := startLua2(t, script, "packet_cache = false")
	owners := []string{"signed.example.", "ns1.signed.example.", "www.signed.example.", "WWW.Signed.Example.",
		"mail.signed.example.", "alias.signed.example.", "x.wild.signed.example.", "y.x.wild.signed.example.",
		"wild.signed.example.", "*.wild.signed.example.", "a.b.ent.signed.example.", "b.ent.signed.example.",
		"ent.signed.example.", "insecure.signed.example.", "ns.insecure.signed.example.", "secure.signed.example.",
		"ns.secure.signed.example.", "zzz.signed.example.", "nowhere.invalid."}
	corpus := lua2Corpus(owners)
	for _, o := range owners {
		for _, qt := range []uint16{dns.TypeDNSKEY, dns.TypeNSEC, dns.TypeRRSIG, dns.TypeCDS, dns.TypeCDNSKEY, dns.TypeNSEC3PARAM} {
			corpus = append(corpus, lua2Q{Query: testnet.Query{Name: o, Type: qt}},
				lua2Q{Query: testnet.Query{Name: o, Type: qt, DO: true}, size: 1232},
				lua2Q{Query: testnet.Query{Name: o, Type: qt, DO: true, TCP: true}, size: 1232})
		}
	}
	lua2Compare(t, pdns.Addr(), ours.addr, corpus)

	const ksk = "3600 IN DNSKEY 257 3 13 K9Y0G/8bCRx8REI2HCQdZ3NjAXwowqLBFxlI9gnuIspindusCKn7nPZy84nxkGQmOnEUQFh4A6ZwMU2/jnbOdQ=="
	v, err := validator.New(validator.Config{Anchors: []string{"signed.example. " + ksk}})
	if err != nil {
		t.Fatal(err)
	}
	for _, server := range []struct {
		name string
		addr netip.AddrPort
	}{{"pdns_server", pdns.Addr()}, {"ljdns", ours.addr}} {
		ask := func(name string, qt uint16) *dns.Msg {
			r, err := lua2Q{Query: testnet.Query{Name: name, Type: qt, DO: true, TCP: true}, size: 1232}.exchange(server.addr)
			if err != nil {
				t.Fatalf("%s: %s %d: %v", server.name, name, qt, err)
			}
			return r
		}
		packet := func(m *dns.Msg) *dnsmsg.Packet {
			w, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			p := dnsmsg.NewPacketFrom(len(w), w)
			if code := p.Parse(false); code != 0 {
				t.Fatalf("answer does not parse: %s", dnsmsg.StrError(code))
			}
			return p
		}
		fetch := func(_ context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error) {
			return packet(ask((&dnsmsg.Name{Wire: name}).String(), qtype)), nil
		}
		for _, c := range []struct {
			name  string
			qt    uint16
			rcode int
		}{
			{"www.signed.example.", dns.TypeA, 0},
			{"www.signed.example.", dns.TypeAAAA, 0},
			{"b.ent.signed.example.", dns.TypeA, dns.RcodeNameError},
			{"signed.example.", dns.TypeMX, 0},
			{"signed.example.", dns.TypeDNSKEY, 0},
			{"signed.example.", dns.TypeCDS, 0},
			{"signed.example.", dns.TypeCDNSKEY, 0},
			{"signed.example.", dns.TypeSOA, 0},
			{"signed.example.", dns.TypeNS, 0},
			{"alias.signed.example.", dns.TypeA, 0},
			{"secure.signed.example.", dns.TypeDS, 0},
			{"insecure.signed.example.", dns.TypeDS, 0},
			{"www.signed.example.", dns.TypeMX, 0},
			{"www.signed.example.", dns.TypeNSEC, 0},
			{"nx.signed.example.", dns.TypeA, dns.RcodeNameError},
			{"a.b.nx.signed.example.", dns.TypeA, dns.RcodeNameError},
			{"zzz.signed.example.", dns.TypeA, dns.RcodeNameError},
			{"x.y.www.signed.example.", dns.TypeA, dns.RcodeNameError},
			{"x.wild.signed.example.", dns.TypeTXT, 0},
			{"y.x.wild.signed.example.", dns.TypeA, 0},
			{"x.wild.signed.example.", dns.TypeMX, 0},
		} {
			m := ask(c.name, c.qt)
			res := v.Validate(context.Background(), nil, packet(m), fetch)
			if res.Security != validator.Secure || m.Rcode != c.rcode {
				t.Errorf("%s: %s %s: %s, rcode %s (want secure, %s)\n%v", server.name, c.name, dns.TypeToString[c.qt], res,
					dns.RcodeToString[m.Rcode], dns.RcodeToString[c.rcode], m)
			}
		}
	}
}

// TestServeLua2PDNSConfig starts ljdns serve from a pdns.conf (a list of
// local addresses with and without ports, local-port) and asks each.
func TestServeLua2PDNSConfig(t *testing.T) {
	testnet.Isolate(t)
	a1, a2 := testnet.FreeAddr(t), testnet.FreeAddr(t)
	script, _ := filepath.Abs("../../examples/lua2/table.lua")
	dir := t.TempDir()
	conf := fmt.Sprintf("# pdns.conf\nlaunch=lua2\nlua2-filename=%s\nlua2-api=2\nlua2-query-logging=no\n"+
		"local-address=%s, %s:%d\nlocal-port=%d\ncache-ttl=0\nloglevel=4\n", script, a1.Addr(), a2.Addr(), a2.Port(), a1.Port())
	if err := os.WriteFile(filepath.Join(dir, "pdns.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startDaemon(t, dir, nil, "--pdns-config", "pdns.conf")
	for _, a := range []netip.AddrPort{a1, a2} {
		waitDNS(t, a.String())
		m := new(dns.Msg)
		m.SetQuestion("www.lua2.example.", dns.TypeA)
		r, err := dns.Exchange(m, a.String())
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || !r.Authoritative {
			t.Errorf("%s: %v %v", a, r, err)
		}
		m.SetQuestion("www.example.org.", dns.TypeA)
		if r, err := dns.Exchange(m, a.String()); err != nil || r.Rcode != dns.RcodeRefused {
			t.Errorf("%s: outside the zones: %v %v", a, r, err)
		}
	}
	if !strings.Contains(p.stderr.String(), "settings not applied: loglevel") {
		t.Errorf("ignored settings not reported:\n%s", p.stderr.String())
	}
}

// TestPDNSConfigErrors: what --pdns-config refuses.
func TestPDNSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for conf, want := range map[string]string{
		"launch=gmysql\n":                         "only launch=lua2",
		"launch=lua2\nlua2-api=1\n":               "only API version 2",
		"launch=lua2\nlocal-port=x\n":             "bad local-port",
		"launch=lua2\nlocal-address=a:b\n":        "local-address",
		"launch=lua2\nlua2-query-logging=maybe\n": "bad boolean",
	} {
		p := filepath.Join(dir, "pdns.conf")
		os.WriteFile(p, []byte(conf), 0o644)
		if _, err := readPDNSConfig(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", conf, err, want)
		}
	}
	p := filepath.Join(dir, "pdns.conf")
	os.WriteFile(p, []byte("launch=lua2\nlua2-filename=x.lua\nlocal-address=127.0.0.1 ::1 [::1]:5300\n"), 0o644)
	c, err := readPDNSConfig(p)
	if err != nil || len(c.Listen) != 3 || c.Listen[0].Port() != 53 || c.Listen[2].Port() != 5300 || !c.PacketCache || !filepath.IsAbs(c.Filename) {
		t.Errorf("%+v %v", c, err)
	}
}

// TestServeLua2Faults: a script that errors, returns a wrong shape, an
// unknown type, bad content, a non-boolean auth or a string TTL gets
// SERVFAIL for that query (as pdns_server answers, when it is installed),
// one that runs past the Lua CPU budget too; other queries are answered
// meanwhile and afterwards, and the reasons are logged at most once a
// second.
func TestServeLua2Faults(t *testing.T) {
	testnet.Isolate(t)
	ours := startLua2(t, "testdata/lua2-loop.lua", "packet_cache = false")
	ask := func(addr netip.AddrPort, name string) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		c := &dns.Client{Timeout: 5 * time.Second}
		r, _, err := c.Exchange(m, addr.String())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}
	names := []string{"error", "shape", "shape2", "type", "content", "auth", "ttl"}
	var pdns *testnet.Peer
	if _, err := exec.LookPath("pdns_server"); err == nil {
		pdns = testnet.StartPDNS(t, testnet.PDNSConfig{LuaScript: "testdata/lua2-faults.lua",
			Settings: map[string]string{"cache-ttl": "0", "query-cache-ttl": "0", "negquery-cache-ttl": "0"}})
	}
	for round := 0; round < 3; round++ {
		for _, n := range names {
			name := n + ".fault.example."
			if r := ask(ours.addr, name); r.Rcode != dns.RcodeServerFailure {
				t.Errorf("%s: ljdns rcode %s, want SERVFAIL", name, dns.RcodeToString[r.Rcode])
			}
			if pdns != nil && round == 0 {
				if r := ask(pdns.Addr(), name); r.Rcode != dns.RcodeServerFailure {
					t.Errorf("%s: pdns_server rcode %s (test assumption)", name, dns.RcodeToString[r.Rcode])
				}
			}
			if r := ask(ours.addr, "good.fault.example."); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
				t.Errorf("good name after %s: %v", name, r)
			}
		}
	}
	// over the budget: SERVFAIL while other queries are answered
	done := make(chan *dns.Msg)
	go func() {
		m := new(dns.Msg)
		m.SetQuestion("loop.fault.example.", dns.TypeA)
		c := &dns.Client{Timeout: 8 * time.Second}
		r, _, _ := c.Exchange(m, ours.addr.String())
		done <- r
	}()
	if r := <-done; r == nil || r.Rcode != dns.RcodeServerFailure {
		t.Errorf("loop: %v, want SERVFAIL", r)
	}
	if r := ask(ours.addr, "good.fault.example."); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("good name after the loop: %v", r)
	}
	log := ours.stderr.String()
	n := strings.Count(log, "[system] lua2:")
	if n == 0 || n > 6 {
		t.Errorf("%d error lines for %d bad queries in about a second (want 1 a second):\n%s", n, 3*len(names)+1, log)
	}
	if !strings.Contains(log, "boom") {
		t.Errorf("the first error is not logged:\n%s", log)
	}
}

// TestServeLua2DiffZonefile runs examples/lua2/zonefile.lua (a zone file
// read by the script; zones found by SOA lookups) under pdns_server and
// ljdns serve and compares their answers.
func TestServeLua2DiffZonefile(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "pdns_server")
	script := "../../examples/lua2/zonefile.lua"
	zf, _ := filepath.Abs("../../examples/lua2/zonefile.zone")
	t.Setenv("LUA2_ZONEFILE", zf)
	pdns := testnet.StartPDNS(t, testnet.PDNSConfig{LuaScript: script, Settings: map[string]string{"cache-ttl": "0",
		"query-cache-ttl": "0", "negquery-cache-ttl": "0"}})
	ours := startLua2(t, script, "packet_cache = false")
	owners := []string{"zf.example.", "ZF.Example.", "ns1.zf.example.", "ns2.zf.example.", "mx.zf.example.", "www.zf.example.",
		"ftp.zf.example.", "FTP.ZF.EXAMPLE.", "users.zf.example.", "bob.users.zf.example.", "a.b.users.zf.example.",
		"special.users.zf.example.", "*.users.zf.example.", "x.y.z.deep.zf.example.", "y.z.deep.zf.example.",
		"z.deep.zf.example.", "deep.zf.example.", "delegated.zf.example.", "www.delegated.zf.example.",
		"ns.delegated.zf.example.", "_xmpp._tcp.zf.example.", "_tcp.zf.example.", "xmpp.zf.example.", "elsewhere.example."}
	lua2Compare(t, pdns.Addr(), ours.addr, lua2Corpus(owners))
}

// TestServeLua2DiffLMDB runs examples/lua2/lmdb.lua (records in a dns.lmdb
// store filled by lmdb-load.lua) under ljdns serve, and under pdns_server
// with a stand-in for dns.lmdb over the same data, and compares.
func TestServeLua2DiffLMDB(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "pdns_server")
	data, _ := filepath.Abs("../../examples/lua2/lmdb.zone")
	shim, _ := filepath.Abs("testdata/lmdb-shim.lua")
	store := t.TempDir()
	if out, err := exec.Command(binary, "../../examples/lua2/lmdb-load.lua", store, data).CombinedOutput(); err != nil {
		t.Fatalf("lmdb-load.lua: %v\n%s", err, out)
	}
	t.Setenv("LUA2_LMDB", store)
	t.Setenv("LUA2_LMDB_DATA", data)
	t.Setenv("LUA2_LMDB_SHIM", shim)
	script := "../../examples/lua2/lmdb.lua"
	pdns := testnet.StartPDNS(t, testnet.PDNSConfig{LuaScript: script, Settings: map[string]string{"cache-ttl": "0",
		"query-cache-ttl": "0", "negquery-cache-ttl": "0", "zone-cache-refresh-interval": "300"}})
	t.Setenv("LUA2_LMDB_SHIM", "") // ljdns uses the real store
	ours := startLua2(t, script, "packet_cache = false")
	owners := []string{"db.example.", "DB.example.", "ns.db.example.", "mail.db.example.", "www.db.example.", "web.db.example.",
		"dyn.db.example.", "host1.dyn.db.example.", "a.b.dyn.db.example.", "ent.db.example.", "a.ent.db.example.", "nope.example."}
	lua2Compare(t, pdns.Addr(), ours.addr, lua2Corpus(owners))
}

// TestServeLua2AXFR transfers lua2.example. (examples/lua2/table.lua,
// dns_list) from pdns_server and from ljdns serve: the same records, the
// SOA first and last.
func TestServeLua2AXFR(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "pdns_server")
	script := "../../examples/lua2/table.lua"
	pdns := testnet.StartPDNS(t, testnet.PDNSConfig{LuaScript: script})
	ours := startLua2(t, script, "")
	xfr := func(addr netip.AddrPort) []string {
		t.Helper()
		m := new(dns.Msg)
		m.SetAxfr("lua2.example.")
		env, err := new(dns.Transfer).In(m, addr.String())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for e := range env {
			if e.Error != nil {
				t.Fatalf("%s: %v", addr, e.Error)
			}
			for _, rr := range e.RR {
				out = append(out, strings.ToLower(rr.String()))
			}
		}
		return out
	}
	a, b := xfr(pdns.Addr()), xfr(ours.addr)
	if len(b) < 3 || b[0] != b[len(b)-1] || !strings.Contains(b[0], "\tsoa\t") {
		t.Fatalf("ljdns AXFR does not start and end with the SOA: %v", b)
	}
	sort.Strings(a)
	sort.Strings(b)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("AXFR differs:\npdns:\n%s\nljdns:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	m := new(dns.Msg)
	m.SetAxfr("other.example.") // dns_list answers it too; nowhere.example is no zone
	if env, err := new(dns.Transfer).In(m, ours.addr.String()); err == nil {
		for e := range env {
			if e.Error != nil {
				t.Errorf("other.example.: %v", e.Error)
			}
		}
	}
}

// TestServeLua2AXFRLarge: a zone larger than one message is transferred
// in several (the SOA first and last, every record once).
func TestServeLua2AXFRLarge(t *testing.T) {
	testnet.Isolate(t)
	script := filepath.Join(t.TempDir(), "big.lua")
	os.WriteFile(script, []byte(`
local soa = { name = "big.example.", type = "SOA", content = "ns.big.example. h.big.example. 1 3600 600 86400 60", ttl = 60, auth = true }
function dns_lookup(qtype, qname)
  if qname:toString():lower() == "big.example." and (qtype:getName() == "SOA" or qtype:getName() == "ANY") then return { soa } end
  return {}
end
function dns_list(target)
  local out = { soa }
  for i = 1, 3000 do
    out[#out + 1] = { name = "n" .. i .. ".big.example.", type = "TXT", content = '"' .. string.rep("x", 100) .. '"', ttl = 60, auth = true }
  end
  return out
end
`), 0o644)
	// building 3000 records takes more than the default 100 ms of Lua time
	// (measured on the wall clock) on a loaded machine
	ours := startLua2Config(t, script, "worker.lua_budget(10000)\n", "")
	m := new(dns.Msg)
	m.SetAxfr("big.example.")
	env, err := new(dns.Transfer).In(m, ours.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	n, msgs := 0, 0
	var first, last dns.RR
	for e := range env {
		if e.Error != nil {
			t.Fatal(e.Error)
		}
		msgs++
		for _, rr := range e.RR {
			if first == nil {
				first = rr
			}
			last = rr
			n++
		}
	}
	if n != 3002 || msgs < 2 || first.Header().Rrtype != dns.TypeSOA || last.Header().Rrtype != dns.TypeSOA {
		t.Errorf("%d records in %d messages (first %v, last %v), want 3002 in several, SOA at both ends", n, msgs, first, last)
	}
}

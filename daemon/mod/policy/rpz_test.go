package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

const rpzZone = `$ORIGIN rpz.local.
$TTL 30
@	SOA ns.rpz.local. hostmaster.rpz.local. 1 12h 15m 3w 2h
	NS ns.rpz.local.
blocked.example		CNAME	.
empty.example		CNAME	*.
*.wild.example		CNAME	*.
pass.blocked.example	CNAME	rpz-passthru.
drop.example		CNAME	rpz-drop.
tc.example		CNAME	rpz-tcp-only.
data.example		A	192.0.2.5
data.example		A	192.0.2.6
Mixed.Case.example	AAAA	2001:db8::5
other.example		CNAME	elsewhere.example.
outside.other.		A	192.0.2.9
`

// TestRPZ: an RPZ file's QNAME triggers answered through the request path
// as kresd 5 answers them (CNAME . -> the default action, CNAME *. ->
// NODATA, wildcard owners, rpz-passthru, rpz-drop -> SERVFAIL, rpz-tcp-only
// -> TC over UDP, local data with NODATA for other types, case-insensitive),
// and the file read again after it was replaced (watch).
func TestRPZ(t *testing.T) {
	testnet.Isolate(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "rpz.zone")
	os.WriteFile(path, []byte(rpzZone), 0o644)
	var warnings []string
	z, err := LoadRPZ(path, DENY, func(f string, a ...any) { warnings = append(warnings, f) })
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if len(warnings) != 2 { // the custom CNAME target and the owner outside the zone
		t.Errorf("warnings: %q", warnings)
	}
	p := New()
	p.Add(z.Rule(), false)
	p.Add(All(ANSWER(map[uint16]Data{dns.TypeA: {RData: [][]byte{{192, 0, 2, 1}}, TTL: 60}}, false)), false)
	addr := start(t, p)
	for _, c := range []struct {
		name  string
		qt    uint16
		rcode int
		an    int
		tc    bool
	}{
		{"blocked.example", dns.TypeA, dns.RcodeNameError, 0, false},
		{"BLOCKED.example", dns.TypeA, dns.RcodeNameError, 0, false},
		{"sub.blocked.example", dns.TypeA, dns.RcodeSuccess, 1, false}, // no wildcard: the next rule
		{"empty.example", dns.TypeA, dns.RcodeSuccess, 0, false},
		{"a.b.wild.example", dns.TypeA, dns.RcodeSuccess, 0, false},
		{"wild.example", dns.TypeA, dns.RcodeSuccess, 1, false},
		{"pass.blocked.example", dns.TypeA, dns.RcodeRefused, 0, false}, // PASS stops the rules: nothing answers here
		{"drop.example", dns.TypeA, dns.RcodeServerFailure, 0, false},
		{"tc.example", dns.TypeA, dns.RcodeSuccess, 0, true},
		{"data.example", dns.TypeA, dns.RcodeSuccess, 2, false},
		{"data.example", dns.TypeMX, dns.RcodeSuccess, 0, false},
		{"mixed.case.EXAMPLE", dns.TypeAAAA, dns.RcodeSuccess, 1, false},
		{"other.example", dns.TypeA, dns.RcodeSuccess, 1, false},
	} {
		m := ask(t, addr, "udp", c.name, c.qt)
		if m.Rcode != c.rcode || len(m.Answer) != c.an || m.Truncated != c.tc {
			t.Errorf("%s %s: rcode %s, %d answers, tc %v; want %s, %d, %v", c.name, dns.TypeToString[c.qt],
				dns.RcodeToString[m.Rcode], len(m.Answer), m.Truncated, dns.RcodeToString[c.rcode], c.an, c.tc)
		}
	}
	if m := ask(t, addr, "udp", "data.example", dns.TypeA); len(m.Answer) > 0 && m.Answer[0].Header().Ttl != 30 {
		t.Errorf("local data TTL %d, want 30", m.Answer[0].Header().Ttl)
	}
	// a new file renamed over the old one is picked up
	z.Watch(50 * time.Millisecond)
	tmp := filepath.Join(dir, "rpz.new")
	os.WriteFile(tmp, []byte("$ORIGIN rpz.local.\n@ 30 SOA ns hm 2 1 1 1 1\nnew.example 30 CNAME .\n"), 0o644)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ask(t, addr, "udp", "new.example", dns.TypeA).Rcode != dns.RcodeNameError {
		if time.Now().After(deadline) {
			t.Fatal("the replaced RPZ file was not read again")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := ask(t, addr, "udp", "blocked.example", dns.TypeA); m.Rcode != dns.RcodeSuccess {
		t.Errorf("old trigger still in force after the reload: %v", m)
	}
	// a bad file is an error at load
	os.WriteFile(tmp, []byte("$ORIGIN rpz.local.\nbad 30 A not-an-address\n"), 0o644)
	if _, err := LoadRPZ(tmp, DENY, nil); err == nil {
		t.Error("a broken RPZ file loaded")
	}
}

// TestRPZWatchInPlace: a watched RPZ file rewritten in place (same inode)
// is read again and its new trigger applies; a broken version keeps the
// rules in force and logs the file and line of the error; the file fixed
// again is read again.
func TestRPZWatchInPlace(t *testing.T) {
	testnet.Isolate(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "rpz.zone")
	head := "$ORIGIN rpz.local.\n@ 30 SOA ns hm 1 1 1 1 1\n"
	if err := os.WriteFile(path, []byte(head+"one.example 30 CNAME .\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 100)
	z, err := LoadRPZ(path, DENY, func(f string, a ...any) {
		select {
		case logs <- fmt.Sprintf(f, a...):
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	z.Watch(50 * time.Millisecond)
	p := New()
	p.Add(z.Rule(), false)
	p.Add(All(ANSWER(map[uint16]Data{dns.TypeA: {RData: [][]byte{{192, 0, 2, 1}}, TTL: 60}}, false)), false)
	addr := start(t, p)
	until := func(what, name string, rcode int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for ask(t, addr, "udp", name, dns.TypeA).Rcode != rcode {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s not %s", what, name, dns.RcodeToString[rcode])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	until("loaded", "one.example", dns.RcodeNameError)
	rewrite := func(body string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(body); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	rewrite(head + "one.example 30 CNAME .\ntwo.example 30 CNAME .\n")
	until("rewritten in place", "two.example", dns.RcodeNameError)
	// broken on line 4: logged with path:4, the rules stay
	rewrite(head + "one.example 30 CNAME .\nthree.example 30 A not-an-address\n")
	deadline := time.Now().Add(30 * time.Second)
	for found := false; !found; {
		select {
		case l := <-logs:
			found = strings.Contains(l, path+":4")
			t.Log(l)
		case <-time.After(time.Until(deadline)):
			t.Fatal("the broken RPZ file was not logged with its file:line")
		}
	}
	if m := ask(t, addr, "udp", "two.example", dns.TypeA); m.Rcode != dns.RcodeNameError {
		t.Errorf("the last good rules were dropped: %v", m)
	}
	rewrite(head + "four.example 30 CNAME .\n")
	until("fixed", "four.example", dns.RcodeNameError)
	until("fixed", "two.example", dns.RcodeSuccess)
}

package testnet

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
)

var exampleZone = Zone{Name: "example.test.", File: "testdata/example.test.zone"}

// query asks addr for name/qtype over network and fails t on error.
func query(t testing.TB, addr netip.AddrPort, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := c.Exchange(m, addr.String())
	if err != nil {
		t.Fatalf("%s %s %s @%s: %v", network, name, dns.TypeToString[qtype], addr, err)
	}
	return r
}

func TestIsolateLoopbackOnly(t *testing.T) {
	Isolate(t)
	if os.Getenv("LJDNS_OUTGOING_ALLOW") != OutgoingAllow {
		t.Errorf("LJDNS_OUTGOING_ALLOW = %q", os.Getenv("LJDNS_OUTGOING_ALLOW"))
	}
	if err := checkIsolated(); err != nil {
		t.Fatal(err)
	}
	a, b := FreeAddr(t), FreeAddr(t)
	if a == b || a.Port() != 53 || !a.Addr().IsLoopback() || a.Addr() == netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("FreeAddr gave %v and %v", a, b)
	}
}

func TestChildArgs(t *testing.T) {
	args := childArgs("TestA/sub case#01")
	if args[0] != `-test.run=^TestA$/^sub case#01$` {
		t.Fatalf("run pattern %q", args[0])
	}
}

func TestStartNeedsNamespace(t *testing.T) {
	if InNamespace() {
		t.Skip("only meaningful outside a namespace")
	}
	ft := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); requireNamespace(ft, "knotd") }()
	<-done
	if !ft.failed {
		t.Fatal("requireNamespace did not fail outside a namespace")
	}
}

// fakeTB records Fatal instead of ending the test.
type fakeTB struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtimeGoexit()
}

func TestKnotAnswers(t *testing.T) {
	Isolate(t)
	p := StartKnot(t, KnotConfig{Zones: []Zone{exampleZone}})
	for _, network := range []string{"udp", "tcp"} {
		r := query(t, p.Addr(), network, "www.example.test", dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || !r.Authoritative {
			t.Fatalf("%s: %v", network, r)
		}
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() {
		t.Fatal("knotd still runs after Stop")
	}
}

func TestNSDAnswers(t *testing.T) {
	Isolate(t)
	p := StartNSD(t, NSDConfig{Zones: []Zone{exampleZone}, Addrs: []netip.AddrPort{FreeAddr(t), FreeAddr(t)}})
	for _, a := range p.Addrs {
		r := query(t, a, "udp", "alias.example.test", dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 3 {
			t.Fatalf("%s: %v", a, r)
		}
	}
}

// TestTCPOnly: a TCP-only knotd or nsd truncates every UDP answer and
// answers over TCP.
func TestTCPOnly(t *testing.T) {
	Isolate(t)
	knot := StartKnot(t, KnotConfig{Zones: []Zone{exampleZone}, TCPOnly: true})
	nsd := StartNSD(t, NSDConfig{Zones: []Zone{exampleZone}, TCPOnly: true})
	for _, p := range []*Peer{knot, nsd} {
		r := query(t, p.Addr(), "udp", "www.example.test", dns.TypeA)
		if !r.Truncated || len(r.Answer) != 0 {
			t.Errorf("%s over UDP: %v", p.Name, r)
		}
		r = query(t, p.Addr(), "tcp", "www.example.test", dns.TypeA)
		if r.Truncated || len(r.Answer) != 2 {
			t.Errorf("%s over TCP: %v", p.Name, r)
		}
	}
}

// TestNoCollision: two tests running at once, each in its own namespace,
// start a knotd on the same 127.0.0.2:53 with different data; each sees
// its own. Run in one namespace, the second knotd cannot bind (or one test
// reads the other's answer) and the test fails.
func TestNoCollision(t *testing.T) {
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			Isolate(t)
			zone := filepath.Join(t.TempDir(), "collide.test.zone")
			text := fmt.Sprintf("$ORIGIN collide.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 127.0.0.2\nwho TXT %q\n", name)
			writeFile(t, zone, text)
			addr := netip.MustParseAddrPort("127.0.0.2:53")
			p := StartKnot(t, KnotConfig{Addrs: []netip.AddrPort{addr}, Zones: []Zone{{"collide.test.", zone}}})
			// Both run at the same time: keep asking for a while so the
			// other test's knotd is up too.
			for range 20 {
				r := query(t, p.Addr(), "udp", "who.collide.test", dns.TypeTXT)
				if len(r.Answer) != 1 || r.Answer[0].(*dns.TXT).Txt[0] != name {
					t.Fatalf("test %s got %v", name, r)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

func TestPDNSAnswers(t *testing.T) {
	Isolate(t)
	p := StartPDNS(t, PDNSConfig{LuaScript: "testdata/example.lua"})
	r := query(t, p.Addr(), "udp", "www.example.test", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || !r.Authoritative {
		t.Fatalf("%v", r)
	}
}

// TestKresdResolves: kresd resolves through a knotd given as its root
// hint (the zone is served as if it were the root's child, with kresd
// told to treat example.test. as stub-free: a forward to knotd).
func TestKresdForwards(t *testing.T) {
	Isolate(t)
	knot := StartKnot(t, KnotConfig{Zones: []Zone{exampleZone}})
	kr := StartKresd(t, KresdConfig{Config: fmt.Sprintf(
		"policy.add(policy.suffix(policy.STUB({'%s@%d'}), {todname('example.test.')}))\n",
		knot.Addr().Addr(), knot.Addr().Port())})
	r := query(t, kr.Addr(), "udp", "www.example.test", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || !r.RecursionAvailable {
		t.Fatalf("%v", r)
	}
}

// TestIsolateSkipsWhereRefused: without a usable unshare a test that calls
// Isolate skips with a message and its body never runs.
func TestIsolateSkipsWhereRefused(t *testing.T) {
	if InNamespace() {
		t.Skip("runs the test binary outside a namespace")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestIsolateLoopbackOnly$", "-test.v=true")
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "PATH=") && !strings.HasPrefix(e, EnvNetns+"=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, "PATH="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- SKIP: TestIsolateLoopbackOnly") || !strings.Contains(string(out), "unshare") ||
		strings.Contains(string(out), "netns|") {
		t.Fatalf("no skip with a message about unshare:\n%s", out)
	}
}

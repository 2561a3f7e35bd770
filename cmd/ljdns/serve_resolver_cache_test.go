package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// TestServeResolverCacheRestartAndStale: the resolver's cache is written
// behind into RUNDIR/cache.bolt: after cache.sync() over the control
// socket, a SIGKILL and the hierarchy's servers stopped, a new ljdns serve
// on the same RUNDIR answers a name it had resolved from the snapshot,
// AD kept, TTL lowered by the time passed. And with serve_stale loaded, a
// daemon whose data expired (cache.max_ttl(4)) answers it from the expired
// data while the servers are gone: TTL 1, EDE 3 (Stale Answer), AD kept.
func TestServeResolverCacheRestartAndStale(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	name := h.Names[testnet.Secure]
	env := []string{"LJDNS_OUTGOING_ALLOW=" + testnet.OutgoingAllow}
	start := func(dir, extra string) (string, *daemonProc) {
		addr := testnet.FreeAddr(t)
		if err := os.WriteFile(filepath.Join(dir, "config"), []byte(resolverConfig(h, addr, true)+extra), 0o644); err != nil {
			t.Fatal(err)
		}
		p := startDaemon(t, dir, env, "-c", "config")
		waitDNS(t, addr.String())
		return addr.String(), p
	}
	ask := func(server string) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		m.SetEdns0(1232, true)
		c := &dns.Client{Timeout: 30 * time.Second, UDPSize: 1232}
		a, _, err := c.Exchange(m, server)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return a
	}
	firstA := func(m *dns.Msg) *dns.A {
		for _, rr := range m.Answer {
			if a, ok := rr.(*dns.A); ok {
				return a
			}
		}
		return nil
	}
	// warm both daemons while the servers answer
	dirA, dirB := t.TempDir(), t.TempDir()
	addrA, procA := start(dirA, "")
	addrB, _ := start(dirB, "modules.load('serve_stale < cache')\ncache.min_ttl(1)\ncache.max_ttl(4)\n")
	a := ask(addrA)
	if a.Rcode != 0 || !a.AuthenticatedData || firstA(a) == nil {
		t.Fatalf("first answer: %v", a)
	}
	ttl0 := firstA(a).Hdr.Ttl
	if b := ask(addrB); b.Rcode != 0 || !b.AuthenticatedData || firstA(b) == nil {
		t.Fatalf("first answer of the serve_stale daemon: %v", b)
	}
	if out := strings.TrimSpace(ljdns(t, "= cache.sync()\n", "serve", "--control", dirA).stdout); !strings.Contains(out, "true") {
		t.Fatalf("cache.sync() over the control socket: %q", out)
	}
	procA.cmd.Process.Kill()
	<-procA.done
	for role, p := range h.Servers {
		if err := p.Stop(); err != nil {
			t.Logf("%s: %v", role, err)
		}
	}
	time.Sleep(5 * time.Second) // the serve_stale daemon's data (max_ttl 4 s) expires; TTLs go down

	b := ask(addrB)
	if b.Rcode != 0 || firstA(b) == nil || firstA(b).A.String() != "192.0.2.1" || firstA(b).Hdr.Ttl != 1 || edeOf(b) != 3 || !b.AuthenticatedData {
		t.Errorf("serve_stale with the servers stopped: rcode %d, EDE %d, AD %v (want NOERROR, the expired A with TTL 1, EDE 3, AD)\n%s",
			b.Rcode, edeOf(b), b.AuthenticatedData, b)
	}

	startA2, _ := start(dirA, "")
	r := ask(startA2)
	if r.Rcode != 0 || firstA(r) == nil || firstA(r).A.String() != "192.0.2.1" || !r.AuthenticatedData {
		t.Fatalf("after the restart with the servers stopped: rcode %d AD %v (want the cached secure answer)\n%s", r.Rcode, r.AuthenticatedData, r)
	}
	if ttl := firstA(r).Hdr.Ttl; ttl >= ttl0 || ttl+600 < ttl0 {
		t.Errorf("TTL after the restart %d, first %d: want it a few seconds lower (absolute expiry)", ttl, ttl0)
	}
}

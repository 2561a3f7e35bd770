package serve

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// fakeRoot serves, at a free 127.0.0.N:53, a root zone that answers every
// A query authoritatively with 192.0.2.8 (TTL ttl) and every other query
// with an authoritative empty answer; it counts the queries. stop closes
// its socket.
func fakeRoot(t *testing.T, ttl uint32) (addr netip.AddrPort, n *atomic.Int64, stop func()) {
	t.Helper()
	addr = testnet.FreeAddr(t)
	pc, err := net.ListenPacket("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	n = new(atomic.Int64)
	go func() {
		buf := make([]byte, 4096)
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m := new(dns.Msg)
			if m.Unpack(buf[:k]) != nil || len(m.Question) != 1 {
				continue
			}
			n.Add(1)
			a := new(dns.Msg)
			a.SetReply(m)
			a.Authoritative = true
			if m.Question[0].Qtype == dns.TypeA {
				a.Answer = append(a.Answer, &dns.A{Hdr: dns.RR_Header{Name: m.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl},
					A: net.ParseIP("192.0.2.8")})
			}
			out, _ := a.Pack()
			pc.WriteTo(out, from)
		}
	}()
	return addr, n, func() { pc.Close() }
}

// resolverConfig is a recursing configuration whose only root server is
// root, without validation.
func resolverConfig(root netip.AddrPort) string {
	return `
modules.load('hints > iterate')
hints.root({['ns.root.'] = {'` + root.Addr().String() + `'}})
trust_anchors.remove('.')
`
}

// TestResolverCacheBounds: cache.min_ttl/max_ttl bound what the resolver
// caches and answers (set after the configuration too), and cache.count()
// and cache.stats() count the resolver's own cache, cache.get() shows it.
func TestResolverCacheBounds(t *testing.T) {
	testnet.Isolate(t)
	root, n, _ := fakeRoot(t, 1)
	r := newRig(t, 1, resolverConfig(root)+"cache.min_ttl(100)\n", nil)
	a := r.query(t, "low.example", dns.TypeA, 0)
	if len(a.Answer) != 1 || a.Answer[0].Header().Ttl != 100 {
		t.Fatalf("answer %v: want one A with TTL 100 (min_ttl)", a)
	}
	asked := n.Load()
	if a := r.query(t, "low.example", dns.TypeA, 0); len(a.Answer) != 1 || n.Load() != asked {
		t.Errorf("again: %v, %d queries upstream (want %d: from the cache)", a, n.Load(), asked)
	}
	count, _ := strconv.Atoi(r.eval(0, "return cache.count()"))
	if count < 1 {
		t.Errorf("cache.count() = %d, want the resolver's entries", count)
	}
	if got := r.eval(0, "return cache.get('low.example').A.rdata[1] .. ' ' .. cache.get('low.example').A.ttl"); !strings.HasPrefix(got, "192.0.2.8 ") {
		t.Errorf("cache.get('low.example'): %q, want the resolver's A", got)
	}
	for _, expr := range []string{"return cache.stats().resolver_entries", "return cache.stats().count_entries", "return cache.stats().resolver_bytes"} {
		if v, _ := strconv.Atoi(r.eval(0, expr)); v < 1 {
			t.Errorf("%s = %d", expr, v)
		}
	}
	// bounds set at run time apply to what is cached next
	r.eval(0, "cache.min_ttl(20); cache.max_ttl(50)")
	if a := r.query(t, "high.example", dns.TypeA, 0); len(a.Answer) != 1 || a.Answer[0].Header().Ttl != 20 {
		t.Errorf("with min_ttl 20: %v (want TTL 20: the root's TTL 1 raised)", a)
	}
	if got := r.eval(0, "return cache.clear().count"); got == "0" {
		t.Errorf("cache.clear().count = %s, want the resolver's entries counted", got)
	}
	if got := r.eval(0, "return cache.stats().resolver_entries"); got != "0" {
		t.Errorf("after cache.clear(): resolver_entries %s", got)
	}
}

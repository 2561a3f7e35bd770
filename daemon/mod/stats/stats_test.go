package stats

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/daemon/mod/policy"
	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

func ask(t *testing.T, addr netip.AddrPort, netw, name string, qt uint16, edns bool) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qt)
	if edns {
		m.SetEdns0(1232, true)
	}
	c := &dns.Client{Net: netw, Timeout: 3 * time.Second}
	if _, _, err := c.Exchange(m, addr.String()); err != nil {
		t.Fatal(err)
	}
}

func TestCountersAndReload(t *testing.T) {
	testnet.Isolate(t) // a loopback of its own: port-0 listeners cannot collide
	st := New()
	st.SampleN = 1
	mk := func() *daemon.Config {
		p := policy.New()
		p.Add(policy.Suffix(policy.DENY, [][]byte{policy.Todname("deny.example.")}), false)
		p.Add(policy.Suffix(policy.ANSWER(map[uint16]policy.Data{dns.TypeA: {RData: [][]byte{{192, 0, 2, 1}}, TTL: 60}}, true),
			[][]byte{policy.Todname("ok.example.")}), false)
		p.Add(policy.Suffix(policy.DROP, [][]byte{policy.Todname("drop.example.")}), false)
		return &daemon.Config{Layers: []daemon.Layer{st, p}, Log: daemon.NewLogger(os.Stderr),
			Listen: []daemon.Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:0")}}}
	}
	cfg := mk()
	s, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	}()
	addr := s.Addrs(daemon.KindDNS)[0]
	ask(t, addr, "udp", "ok.example", dns.TypeA, true)
	ask(t, addr, "udp", "ok.example", dns.TypeA, false)
	ask(t, addr, "tcp", "ok.example", dns.TypeAAAA, false)
	ask(t, addr, "udp", "x.deny.example", dns.TypeA, false)
	ask(t, addr, "udp", "drop.example", dns.TypeA, false)
	want := map[string]int64{"request.total": 5, "request.udp": 4, "request.tcp": 1, "answer.total": 5,
		"answer.noerror": 2, "answer.nodata": 1, "answer.nxdomain": 1, "answer.servfail": 1,
		"query.edns": 1, "query.dnssec": 1, "answer.do": 1, "answer.edns0": 1, "answer.aa": 4, "answer.rd": 5}
	check := func(mult int64) {
		t.Helper()
		got := st.List("")
		for k, v := range want {
			if got[k] != v*mult {
				t.Errorf("%s = %d, want %d", k, got[k], v*mult)
			}
		}
		var buckets int64
		for _, n := range []string{"answer.1ms", "answer.10ms", "answer.50ms", "answer.100ms", "answer.250ms", "answer.500ms", "answer.1000ms", "answer.1500ms", "answer.slow"} {
			buckets += got[n]
		}
		if buckets != 5*mult {
			t.Errorf("latency buckets sum %d, want %d", buckets, 5*mult)
		}
	}
	check(1)
	if f := st.Frequent(); len(f) == 0 || f[0].Name != "ok.example." || f[0].Type != "A" || f[0].Count != 2 {
		t.Errorf("frequent: %+v", f)
	}
	// a reload with the same Stats keeps the counters
	cfg2 := mk()
	cfg2.Listen = []daemon.Listen{{Addr: addr}}
	if err := s.Reload(cfg2); err != nil {
		t.Fatal(err)
	}
	ask(t, addr, "udp", "ok.example", dns.TypeA, true)
	ask(t, addr, "udp", "ok.example", dns.TypeA, false)
	ask(t, addr, "tcp", "ok.example", dns.TypeAAAA, false)
	ask(t, addr, "udp", "x.deny.example", dns.TypeA, false)
	ask(t, addr, "udp", "drop.example", dns.TypeA, false)
	check(2)
	st.Set("custom.thing", 7)
	st.Add("custom.thing", 1)
	if v, ok := st.Get("custom.thing"); !ok || v != 8 {
		t.Errorf("custom: %d %v", v, ok)
	}
	if l := st.List("custom."); len(l) != 1 {
		t.Errorf("list prefix: %v", l)
	}
}

func TestUpstreamRing(t *testing.T) {
	st := New()
	st.UpstreamRing = 3
	for i := 1; i <= 5; i++ {
		r := &daemon.Request{UpstreamAddr: netip.MustParseAddrPort("127.0.0.1:53"), UpstreamRTT: time.Duration(i) * time.Millisecond}
		st.Consume(r, daemon.Consume, dnsmsg.NewPacket(512))
	}
	u := st.Upstreams()["127.0.0.1"]
	if len(u) != 3 || u[0] != 4*time.Millisecond || u[1] != 5*time.Millisecond || u[2] != 3*time.Millisecond {
		t.Errorf("ring: %v", u)
	}
}

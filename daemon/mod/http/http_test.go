package http

import (
	"context"
	"io"
	nethttp "net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"ljdns/daemon"
	"ljdns/daemon/mod/policy"
	"ljdns/daemon/mod/stats"
	"ljdns/internal/testnet"
)

func TestEndpoints(t *testing.T) {
	testnet.Isolate(t) // a loopback of its own: port-0 listeners cannot collide
	st := stats.New()
	st.SampleN = 1
	p := policy.New()
	p.Add(policy.All(policy.ANSWER(map[uint16]policy.Data{dns.TypeA: {RData: [][]byte{{192, 0, 2, 1}}, TTL: 60}}, true)), false)
	mod := New(Options{Stats: st, Extra: func() map[string]float64 { return map[string]float64{"cache.hit;kind=rr": 3} }})
	cfg := &daemon.Config{Layers: []daemon.Layer{st, p}, Log: daemon.NewLogger(os.Stderr), Web: mod,
		Listen: []daemon.Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:0")},
			{Addr: netip.MustParseAddrPort("127.0.0.1:0"), Kind: daemon.KindWebmgmt, Plain: true}}}
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
	dnsAddr, web := s.Addrs(daemon.KindDNS)[0], s.Addrs(daemon.KindWebmgmt)[0]
	for i := 0; i < 3; i++ {
		m := new(dns.Msg)
		m.SetQuestion("www.example.", dns.TypeA)
		if _, err := dns.Exchange(m, dnsAddr.String()); err != nil {
			t.Fatal(err)
		}
	}
	get := func(path string) string {
		t.Helper()
		resp, err := nethttp.Get("http://" + web.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s", path, resp.Status)
		}
		return string(b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(get("/metrics")))
	if err != nil {
		t.Fatal(err)
	}
	if f := fams["answer_total"]; f == nil || f.GetMetric()[0].GetCounter().GetValue() != 3 {
		t.Errorf("answer_total: %v", f)
	}
	if f := fams["request_udp"]; f == nil || f.GetMetric()[0].GetCounter().GetValue() != 3 {
		t.Errorf("request_udp: %v", f)
	}
	lat := fams["latency"]
	if lat == nil || lat.GetMetric()[0].GetHistogram().GetSampleCount() != 3 {
		t.Errorf("latency histogram: %v", lat)
	}
	if f := fams["cache_hit"]; f == nil || f.GetMetric()[0].GetLabel()[0].GetValue() != "rr" {
		t.Errorf("tagged counter: %v", f)
	}
	if fams["answer_1ms"] != nil {
		t.Error("bucket counters not folded into the histogram")
	}
	if h := get("/health"); h != "OK\n" {
		t.Errorf("/health: %q", h)
	}
	if !strings.Contains(get("/stats"), `"answer.total":3`) {
		t.Error("/stats lacks answer.total")
	}
	if !strings.Contains(get("/frequent"), `"www.example."`) {
		t.Error("/frequent")
	}
	if !strings.Contains(get("/"), "<canvas id=\"qps\"") {
		t.Error("status page")
	}
}

package serve

import (
	"io"
	nethttp "net/http"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"ljdns/daemon"
	"ljdns/internal/testnet"
)

// TestHTTPModule: modules.load('http') with a webmgmt listener and
// http.config({tls = false}) serves /metrics (parsed with the Prometheus
// text parser, the namespace applied, answer counts and the RR cache's
// counters), /health and the status page over plain HTTP.
func TestHTTPModule(t *testing.T) {
	testnet.Isolate(t)
	r := newRig(t, 1, `
net.listen('127.0.0.1', 0, {kind = 'webmgmt'})
modules.load('http')
http.config({tls = false})
http.prometheus.namespace = 'resolver_'
modules.load('hints')
hints.set('h.example 192.0.2.1')
`, nil)
	if err := r.srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer r.srv.Shutdown(t.Context())
	for i := 0; i < 3; i++ {
		r.query(t, "h.example", dns.TypeA, 0)
	}
	addrs := r.srv.Addrs(daemon.KindWebmgmt)
	if len(addrs) == 0 {
		t.Fatal("no webmgmt listener")
	}
	base := "http://" + addrs[0].String()
	get := func(path string) (int, string) {
		resp, err := nethttp.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	val := func(name string) float64 {
		f, ok := fams[name]
		if !ok || len(f.Metric) == 0 {
			t.Errorf("/metrics: no %s", name)
			return -1
		}
		m := f.Metric[0]
		if m.Counter != nil {
			return m.Counter.GetValue()
		}
		return -1
	}
	if v := val("resolver_answer_total"); v != 3 {
		t.Errorf("resolver_answer_total = %v, want 3", v)
	}
	if f, ok := fams["resolver_latency"]; !ok || f.GetType().String() != "HISTOGRAM" || f.Metric[0].Histogram.GetSampleCount() != 3 {
		t.Errorf("resolver_latency histogram: %v", f)
	}
	if _, ok := fams["resolver_cache_hit"]; !ok {
		t.Errorf("/metrics: no resolver_cache_hit")
	}
	if code, body := get("/health"); code != 200 || !strings.Contains(body, "OK") {
		t.Errorf("/health: %d %q", code, body)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, "<html") {
		t.Errorf("/: %d %.80q", code, body)
	}
	if code, body := get("/stats"); code != 200 || !strings.Contains(body, `"answer.total":3`) {
		t.Errorf("/stats: %d %.200q", code, body)
	}
}

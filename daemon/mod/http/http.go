// Package http is kresd's http module in Go: a handler for the daemon's
// webmgmt listeners (daemon.Config.Web) with /metrics (Prometheus text
// format through the Prometheus Go client library, kresd's metric names),
// /health, /stats (the counters as JSON), /frequent, /upstreams and, at /,
// a status page charting queries/s, latency buckets, cache hit ratio and
// upstream RTTs live.
package http

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"ljdns/daemon/mod/stats"
)

//go:embed status.html
var statusPage []byte

// Options configures the module.
type Options struct {
	Stats *stats.Stats
	// Namespace prefixes every metric name (http.prometheus.namespace).
	Namespace string
	// Extra adds counters to /metrics and /stats (cache hits, daemon counters), read at each scrape.
	Extra func() map[string]float64
	// Healthy reports whether the server is up (nil: always).
	Healthy func() bool
}

// Module is the http module's handler.
type Module struct {
	o   Options
	mux *http.ServeMux
	mu  sync.Mutex
}

// New returns the module; Handler goes into daemon.Config.Web.
func New(o Options) *Module {
	m := &Module{o: o, mux: http.NewServeMux()}
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{m: m})
	m.mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	m.mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if o.Healthy != nil && !o.Healthy() {
			http.Error(w, "not running", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("OK\n"))
	})
	m.mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, m.counters()) })
	m.mux.HandleFunc("/frequent", func(w http.ResponseWriter, r *http.Request) {
		var out []map[string]any
		if o.Stats != nil {
			for _, f := range o.Stats.Frequent() {
				out = append(out, map[string]any{"name": f.Name, "type": f.Type, "count": f.Count})
			}
		}
		writeJSON(w, out)
	})
	m.mux.HandleFunc("/upstreams", func(w http.ResponseWriter, r *http.Request) {
		out := map[string][]float64{}
		if o.Stats != nil {
			for a, rtts := range o.Stats.Upstreams() {
				for _, d := range rtts {
					out[a] = append(out[a], float64(d.Microseconds())/1000)
				}
			}
		}
		writeJSON(w, out)
	})
	m.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(statusPage)
	})
	return m
}

// Handle adds an endpoint (a module's M.endpoints).
func (m *Module) Handle(pattern string, h http.Handler) { m.mux.Handle(pattern, h) }

// ServeHTTP serves the endpoints.
func (m *Module) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// counters is stats.list() plus Extra.
func (m *Module) counters() map[string]float64 {
	out := map[string]float64{}
	if m.o.Stats != nil {
		for k, v := range m.o.Stats.List("") {
			out[k] = float64(v)
		}
	}
	if m.o.Extra != nil {
		for k, v := range m.o.Extra() {
			out[k] = v
		}
	}
	return out
}

// bucketNames are folded into the latency histogram (kresd's prometheus.lua).
var bucketNames = []struct {
	key string
	le  float64
}{{"answer.1ms", 1}, {"answer.10ms", 10}, {"answer.50ms", 50}, {"answer.100ms", 100}, {"answer.250ms", 250},
	{"answer.500ms", 500}, {"answer.1000ms", 1000}, {"answer.1500ms", 1500}}

type collector struct{ m *Module }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {} // unchecked: names come from the counters

// metricName turns a counter key ("answer.total", "x;tag=v") into a name and labels.
func metricName(ns, key string) (string, map[string]string) {
	var labels map[string]string
	if i := strings.IndexByte(key, ';'); i >= 0 {
		labels = map[string]string{}
		for _, kv := range strings.Split(key[i+1:], ";") {
			if j := strings.IndexByte(kv, '='); j > 0 {
				labels[kv[:j]] = kv[j+1:]
			}
		}
		key = key[:i]
	}
	b := []byte(ns + key)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == ':') {
			b[i] = '_'
		}
	}
	return string(b), labels
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctr := c.m.counters()
	ns := c.m.o.Namespace
	skip := map[string]bool{"answer.slow": true, "answer.sum_ms": true}
	for _, b := range bucketNames {
		skip[b.key] = true
	}
	if _, ok := ctr["answer.1ms"]; ok {
		buckets := map[float64]uint64{}
		var cum uint64
		for _, b := range bucketNames {
			cum += uint64(ctr[b.key])
			buckets[b.le] = cum
		}
		count := cum + uint64(ctr["answer.slow"])
		ch <- prometheus.MustNewConstHistogram(prometheus.NewDesc(ns+"latency", "answer latency in milliseconds", nil, nil),
			count, ctr["answer.sum_ms"], buckets)
	}
	for k, v := range ctr {
		if skip[k] {
			continue
		}
		name, labels := metricName(ns, k)
		keys := make([]string, 0, len(labels))
		vals := make([]string, 0, len(labels))
		for lk, lv := range labels {
			keys = append(keys, lk)
			vals = append(vals, lv)
		}
		desc := prometheus.NewDesc(name, "kresd counter "+k, keys, nil)
		m, err := prometheus.NewConstMetric(desc, prometheus.CounterValue, v, vals...)
		if err == nil {
			ch <- m
		}
	}
}

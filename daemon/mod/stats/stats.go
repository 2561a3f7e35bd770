// Package stats is kresd's stats module in Go: the built-in counters under
// kresd's names (request.*, answer.*, latency buckets, query.edns,
// query.dnssec), user counters (Set), sampled frequent queries and the
// recent upstream RTTs. Keep one Stats value across reloads and its
// counters survive them.
package stats

import (
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// Built-in counter names, in kresd's order.
var Names = []string{
	"request.total", "request.internal", "request.udp", "request.tcp", "request.xdp", "request.dot", "request.doh",
	"answer.total", "answer.noerror", "answer.nodata", "answer.nxdomain", "answer.servfail", "answer.cached",
	"answer.1ms", "answer.10ms", "answer.50ms", "answer.100ms", "answer.250ms", "answer.500ms",
	"answer.1000ms", "answer.1500ms", "answer.slow", "answer.sum_ms",
	"answer.aa", "answer.tc", "answer.rd", "answer.ra", "answer.ad", "answer.cd", "answer.edns0", "answer.do",
	"query.edns", "query.dnssec",
}

const (
	reqTotal = iota
	reqInternal
	reqUDP
	reqTCP
	reqXDP
	reqDoT
	reqDoH
	ansTotal
	ansNoError
	ansNoData
	ansNXDomain
	ansServFail
	ansCached
	ans1ms
	ans10ms
	ans50ms
	ans100ms
	ans250ms
	ans500ms
	ans1000ms
	ans1500ms
	ansSlow
	ansSumMs
	ansAA
	ansTC
	ansRD
	ansRA
	ansAD
	ansCD
	ansEDNS0
	ansDO
	qEDNS
	qDNSSEC
	nBuiltin
)

// Bucket bounds of the latency counters (answer.1ms ... answer.1500ms; slow above).
var Buckets = []time.Duration{time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}

// Frequent is one sampled frequent query.
type Frequent struct {
	Name  string
	Type  string
	Count uint64
}

type upstreamSample struct {
	addr netip.Addr
	rtt  time.Duration
}

// Stats holds the counters and is the daemon layer counting them.
type Stats struct {
	builtin [nBuiltin]atomic.Uint64
	index   map[string]int

	mu     sync.RWMutex
	custom map[string]*atomic.Int64

	sample       atomic.Uint64
	SampleN      uint64 // count 1 request in SampleN in Frequent (default 10)
	MaxFreq      int    // default 5000
	freqMu       sync.Mutex
	freq         map[string]*Frequent
	upMu         sync.Mutex
	ups          []upstreamSample
	upNext       int
	UpstreamRing int // default 512
}

// New returns zeroed counters.
func New() *Stats {
	s := &Stats{index: map[string]int{}, custom: map[string]*atomic.Int64{}, freq: map[string]*Frequent{},
		SampleN: 10, MaxFreq: 5000, UpstreamRing: 512}
	for i, n := range Names {
		s.index[n] = i
	}
	return s
}

// Name is "stats".
func (s *Stats) Name() string { return "stats" }

// Get returns the counter key (0 when unknown) and whether it exists.
func (s *Stats) Get(key string) (int64, bool) {
	if i, ok := s.index[key]; ok {
		return int64(s.builtin[i].Load()), true
	}
	s.mu.RLock()
	c, ok := s.custom[key]
	s.mu.RUnlock()
	if !ok {
		return 0, false
	}
	return c.Load(), true
}

// Set sets key to v (stats.set; a built-in counter is overwritten too).
func (s *Stats) Set(key string, v int64) {
	if i, ok := s.index[key]; ok {
		s.builtin[i].Store(uint64(v))
		return
	}
	s.mu.Lock()
	c, ok := s.custom[key]
	if !ok {
		c = new(atomic.Int64)
		s.custom[key] = c
	}
	s.mu.Unlock()
	c.Store(v)
}

// Add adds d to key (a module's own counter).
func (s *Stats) Add(key string, d int64) {
	if i, ok := s.index[key]; ok {
		s.builtin[i].Add(uint64(d))
		return
	}
	s.mu.RLock()
	c, ok := s.custom[key]
	s.mu.RUnlock()
	if !ok {
		s.Set(key, 0)
		s.mu.RLock()
		c = s.custom[key]
		s.mu.RUnlock()
	}
	c.Add(d)
}

// List returns the counters whose names start with prefix (stats.list).
func (s *Stats) List(prefix string) map[string]int64 {
	out := map[string]int64{}
	for i, n := range Names {
		if strings.HasPrefix(n, prefix) {
			out[n] = int64(s.builtin[i].Load())
		}
	}
	s.mu.RLock()
	for n, c := range s.custom {
		if strings.HasPrefix(n, prefix) {
			out[n] = c.Load()
		}
	}
	s.mu.RUnlock()
	return out
}

// Frequent returns the sampled frequent queries, most frequent first.
func (s *Stats) Frequent() []Frequent {
	s.freqMu.Lock()
	out := make([]Frequent, 0, len(s.freq))
	for _, f := range s.freq {
		out = append(out, *f)
	}
	s.freqMu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name+out[i].Type < out[j].Name+out[j].Type
	})
	return out
}

// ClearFrequent empties the frequent list.
func (s *Stats) ClearFrequent() {
	s.freqMu.Lock()
	s.freq = map[string]*Frequent{}
	s.freqMu.Unlock()
}

// Upstreams returns the recent upstream RTTs by address (stats.upstreams).
func (s *Stats) Upstreams() map[string][]time.Duration {
	s.upMu.Lock()
	defer s.upMu.Unlock()
	out := map[string][]time.Duration{}
	for _, u := range s.ups {
		k := "unknown" // a transport that does not say which upstream answered
		if u.addr.IsValid() {
			k = u.addr.String()
		}
		out[k] = append(out[k], u.rtt)
	}
	return out
}

// countRequest counts the request (request.*, query.*, frequent): from
// AnswerFinalize, which every request reaches whichever layer answered it
// (a cache answering in begin before stats' place included).
func (s *Stats) countRequest(r *daemon.Request) {
	s.builtin[reqTotal].Add(1)
	switch r.Proto {
	case daemon.UDP:
		s.builtin[reqUDP].Add(1)
	case daemon.TCP:
		s.builtin[reqTCP].Add(1)
	case daemon.DoT:
		s.builtin[reqDoT].Add(1)
	case daemon.DoH:
		s.builtin[reqDoH].Add(1)
	}
	if !r.Client.IsValid() {
		s.builtin[reqInternal].Add(1)
	}
	if ok, _ := r.EDNS(); ok {
		s.builtin[qEDNS].Add(1)
	}
	if r.DO() {
		s.builtin[qDNSSEC].Add(1)
	}
	if n := s.SampleN; n <= 1 || s.sample.Add(1)%n == 0 {
		s.noteFrequent(r)
	}
}

func (s *Stats) noteFrequent(r *daemon.Request) {
	name := (&dnsmsg.Name{Wire: dnsmsg.LowerName(r.QName())}).String()
	typ := dnsmsg.TypeString(r.QType())
	k := name + " " + typ
	s.freqMu.Lock()
	defer s.freqMu.Unlock()
	if f, ok := s.freq[k]; ok {
		f.Count++
		return
	}
	if len(s.freq) >= s.MaxFreq {
		for k2, f := range s.freq { // drop the ones seen once
			if f.Count <= 1 {
				delete(s.freq, k2)
			}
		}
		if len(s.freq) >= s.MaxFreq {
			return
		}
	}
	s.freq[k] = &Frequent{Name: name, Type: typ, Count: 1}
}

// Consume records the upstream's RTT.
func (s *Stats) Consume(r *daemon.Request, st daemon.State, a *dnsmsg.Packet) daemon.State {
	if a == nil || !r.UpstreamAddr.IsValid() && r.UpstreamRTT == 0 {
		return st
	}
	s.upMu.Lock()
	n := s.UpstreamRing
	if n <= 0 {
		n = 512
	}
	u := upstreamSample{r.UpstreamAddr.Addr(), r.UpstreamRTT}
	if len(s.ups) < n {
		s.ups = append(s.ups, u)
	} else {
		s.ups[s.upNext%n] = u
		s.upNext++
	}
	s.upMu.Unlock()
	return st
}

// AnswerFinalize counts the answer.
func (s *Stats) AnswerFinalize(r *daemon.Request, st daemon.State) daemon.State {
	s.countRequest(r)
	if r.Options.Has(daemon.NoAnswer) {
		return st
	}
	b := s.builtin[:]
	b[ansTotal].Add(1)
	rc := r.Rcode()
	if st&daemon.Fail != 0 && rc == 0 {
		rc = 2
	}
	switch rc {
	case 0:
		if r.Answer.Count(dnsmsg.SectionAN) == 0 {
			b[ansNoData].Add(1)
		} else {
			b[ansNoError].Add(1)
		}
	case 2:
		b[ansServFail].Add(1)
	case 3:
		b[ansNXDomain].Add(1)
	}
	if r.Cached {
		b[ansCached].Add(1)
	}
	if !r.Start.IsZero() {
		d := time.Since(r.Start)
		i := ans1ms
		for _, bound := range Buckets {
			if d <= bound {
				break
			}
			i++
		}
		b[i].Add(1)
		b[ansSumMs].Add(uint64(d / time.Millisecond))
	}
	h := r.Answer.Buf[2:4]
	for _, f := range []struct {
		on  bool
		idx int
	}{{h[0]&0x04 != 0, ansAA}, {h[0]&0x02 != 0, ansTC}, {h[0]&0x01 != 0, ansRD}, {h[1]&0x80 != 0, ansRA},
		{h[1]&0x20 != 0, ansAD}, {h[1]&0x10 != 0, ansCD}} {
		if f.on {
			b[f.idx].Add(1)
		}
	}
	if ok, _ := r.EDNS(); ok {
		b[ansEDNS0].Add(1)
	}
	if r.DO() {
		b[ansDO].Add(1)
	}
	return st
}

package cache

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/clock"
	"ljdns/daemon"
	"ljdns/dnsmsg"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// answer builds an upstream answer with miekg/dns and returns it parsed.
func answer(t testing.TB, qname string, qtype uint16, rcode int, an, ns []string) *dnsmsg.Packet {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.Response = true
	m.Rcode = rcode
	for _, s := range an {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		m.Answer = append(m.Answer, rr)
	}
	for _, s := range ns {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		m.Ns = append(m.Ns, rr)
	}
	w, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	p := dnsmsg.NewPacketFrom(len(w), w)
	if c := p.Parse(false); c != 0 {
		t.Fatal(dnsmsg.StrError(c))
	}
	return p
}

func wire(t testing.TB, s string) []byte {
	n, err := dnsmsg.NameFromText(s)
	if err != nil {
		t.Fatal(err)
	}
	return n.Wire
}

const soa = "example.org. 3600 IN SOA ns.example.org. host.example.org. 1 7200 3600 1209600 300"

func TestRRCachePositiveNegativeClamp(t *testing.T) {
	clk := clock.NewFake(t0)
	c := New(Options{Clock: clk, MinTTL: 10 * time.Second, MaxTTL: 600 * time.Second})
	c.Store(answer(t, "www.example.org.", dns.TypeA, 0, []string{
		"www.example.org. 3 IN CNAME web.example.org.",
		"web.example.org. 86400 IN A 192.0.2.1",
		"other.example.com. 100 IN A 192.0.2.9", // off the chain: not stored
	}, nil), wire(t, "www.example.org"), dnsmsg.TypeA, dnsmsg.ClassINET, false)

	a, ok := c.Lookup(wire(t, "WWW.Example.ORG"), dnsmsg.TypeA, dnsmsg.ClassINET, false, false)
	if !ok || len(a.AN) != 2 || a.AN[0].Type != dnsmsg.TypeCNAME || a.AN[1].Type != dnsmsg.TypeA {
		t.Fatalf("lookup through the CNAME: %v %+v", ok, a)
	}
	if a.AN[0].TTL != 10 || a.AN[1].TTL != 600 {
		t.Errorf("TTLs %d %d, want clamped 10 600", a.AN[0].TTL, a.AN[1].TTL)
	}
	if _, ok := c.Lookup(wire(t, "other.example.com"), dnsmsg.TypeA, dnsmsg.ClassINET, false, false); ok {
		t.Error("a record off the answer's chain was stored")
	}
	if _, ok := c.Lookup(wire(t, "www.example.org"), dnsmsg.TypeA, dnsmsg.ClassINET, true, false); ok {
		t.Error("an entry stored without DO answered a DO query")
	}
	clk.Advance(11 * time.Second)
	if _, ok := c.Lookup(wire(t, "www.example.org"), dnsmsg.TypeA, dnsmsg.ClassINET, false, false); ok {
		t.Error("answered after the CNAME expired")
	}
	if a, ok := c.Lookup(wire(t, "web.example.org"), dnsmsg.TypeA, dnsmsg.ClassINET, false, false); !ok || a.AN[0].TTL != 589 {
		t.Errorf("remaining TTL: %v %+v", ok, a)
	}

	// negative: NXDOMAIN for every type, NODATA for its type; TTL min(SOA TTL, MINIMUM)
	c.Store(answer(t, "nx.example.org.", dns.TypeA, dns.RcodeNameError, nil, []string{soa}),
		wire(t, "nx.example.org"), dnsmsg.TypeA, dnsmsg.ClassINET, false)
	a, ok = c.Lookup(wire(t, "nx.example.org"), dnsmsg.TypeMX, dnsmsg.ClassINET, false, false)
	if !ok || a.Rcode != 3 || len(a.NS) != 1 || a.NS[0].Type != dnsmsg.TypeSOA || a.NS[0].TTL != 300 {
		t.Fatalf("NXDOMAIN: %v %+v", ok, a)
	}
	c.Store(answer(t, "web.example.org.", dns.TypeAAAA, 0, nil, []string{soa}),
		wire(t, "web.example.org"), dnsmsg.TypeAAAA, dnsmsg.ClassINET, false)
	a, ok = c.Lookup(wire(t, "web.example.org"), dnsmsg.TypeAAAA, dnsmsg.ClassINET, false, false)
	if !ok || a.Rcode != 0 || len(a.AN) != 0 || len(a.NS) != 1 {
		t.Fatalf("NODATA: %v %+v", ok, a)
	}
	if _, ok := c.Lookup(wire(t, "web.example.org"), dnsmsg.TypeTXT, dnsmsg.ClassINET, false, false); ok {
		t.Error("NODATA for AAAA answered TXT")
	}
	// a negative answer without a SOA is not cached (RFC 2308 §5)
	c.Store(answer(t, "nosoa.example.org.", dns.TypeA, dns.RcodeNameError, nil, nil),
		wire(t, "nosoa.example.org"), dnsmsg.TypeA, dnsmsg.ClassINET, false)
	if _, ok := c.Lookup(wire(t, "nosoa.example.org"), dnsmsg.TypeA, dnsmsg.ClassINET, false, false); ok {
		t.Error("negative answer without SOA cached")
	}
	// SERVFAIL is not cached
	c.Store(answer(t, "sf.example.org.", dns.TypeA, dns.RcodeServerFailure, nil, []string{soa}),
		wire(t, "sf.example.org"), dnsmsg.TypeA, dnsmsg.ClassINET, false)
	if _, ok := c.Lookup(wire(t, "sf.example.org"), dnsmsg.TypeA, dnsmsg.ClassINET, false, false); ok {
		t.Error("SERVFAIL cached")
	}
}

func TestRRCacheClear(t *testing.T) {
	c := New(Options{Clock: clock.NewFake(t0)})
	for _, n := range []string{"a.example.org.", "b.a.example.org.", "example.org.", "x.example.com."} {
		c.Store(answer(t, n, dns.TypeA, 0, []string{n + " 300 IN A 192.0.2.1"}, nil), wire(t, n), dnsmsg.TypeA, 1, false)
		c.Store(answer(t, n, dns.TypeTXT, 0, []string{n + " 300 IN TXT x"}, nil), wire(t, n), dnsmsg.TypeTXT, 1, false)
	}
	if n := c.Clear(wire(t, "A.example.org"), dnsmsg.TypeTXT, false); n != 1 {
		t.Errorf("clear name+type removed %d, want 1", n)
	}
	if n := c.Clear(wire(t, "a.example.org"), 0, true); n != 3 {
		t.Errorf("clear subtree removed %d, want 3", n)
	}
	if _, ok := c.Lookup(wire(t, "example.org"), dnsmsg.TypeA, 1, false, false); !ok {
		t.Error("the parent was cleared with the subtree")
	}
	if n := c.Clear(nil, 0, false); n != 4 || c.Len() != 0 || c.Bytes() != 0 {
		t.Errorf("clear all removed %d, left %d entries %d bytes", n, c.Len(), c.Bytes())
	}
}

func TestRRCacheSizeLimit(t *testing.T) {
	c := New(Options{Clock: clock.NewFake(t0), MaxBytes: 64 << 10, Shards: 4})
	for i := 0; i < 5000; i++ {
		n := dns.Fqdn(string(rune('a'+i%26)) + "x" + itoa(i) + ".example.org")
		c.Store(answer(t, n, dns.TypeA, 0, []string{n + " 300 IN A 192.0.2.1"}, nil), wire(t, n), dnsmsg.TypeA, 1, false)
	}
	if b := c.Bytes(); b > 64<<10 {
		t.Errorf("live bytes %d over the limit", b)
	}
	if c.Evictions.Load() == 0 || c.Len() == 0 {
		t.Errorf("evictions %d, entries %d", c.Evictions.Load(), c.Len())
	}
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}

// TestSnapshotRestart: after Sync and Close, a new cache on the file has the
// entries with their absolute expiry; expired ones are not loaded.
func TestSnapshotRestart(t *testing.T) {
	clk := clock.NewFake(t0)
	path := filepath.Join(t.TempDir(), "cache.bolt")
	c, err := Open(Options{Clock: clk, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	c.Store(answer(t, "long.example.org.", dns.TypeA, 0, []string{"long.example.org. 1000 IN A 192.0.2.1"}, nil),
		wire(t, "long.example.org"), dnsmsg.TypeA, 1, false)
	c.Store(answer(t, "short.example.org.", dns.TypeA, 0, []string{"short.example.org. 20 IN A 192.0.2.2"}, nil),
		wire(t, "short.example.org"), dnsmsg.TypeA, 1, false)
	c.Store(answer(t, "nx.example.org.", dns.TypeA, 3, nil, []string{soa}), wire(t, "nx.example.org"), dnsmsg.TypeA, 1, false)
	if err := c.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(100 * time.Second)
	c2, err := Open(Options{Clock: clk, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	a, ok := c2.Lookup(wire(t, "long.example.org"), dnsmsg.TypeA, 1, false, false)
	if !ok || a.AN[0].TTL != 900 {
		t.Fatalf("after restart: %v %+v", ok, a)
	}
	if _, ok := c2.Lookup(wire(t, "short.example.org"), dnsmsg.TypeA, 1, false, false); ok {
		t.Error("an entry expired while stopped was loaded")
	}
	if a, ok := c2.Lookup(wire(t, "nx.example.org"), dnsmsg.TypeA, 1, false, false); !ok || a.Rcode != 3 {
		t.Errorf("negative entry after restart: %v %+v", ok, a)
	}
}

// TestSnapshotWriteBehind: the ticker writes a changed cache without Sync.
func TestSnapshotWriteBehind(t *testing.T) {
	clk := clock.NewFake(t0)
	path := filepath.Join(t.TempDir(), "cache.bolt")
	c, err := Open(Options{Clock: clk, Path: path, SyncInterval: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Store(answer(t, "wb.example.org.", dns.TypeA, 0, []string{"wb.example.org. 1000 IN A 192.0.2.1"}, nil),
		wire(t, "wb.example.org"), dnsmsg.TypeA, 1, false)
	clk.BlockUntil(1)
	clk.Advance(5 * time.Second)
	for i := 0; c.dirty.Load(); i++ {
		if i > 5000 {
			t.Fatal("write-behind did not run")
		}
		time.Sleep(time.Millisecond)
	}
	c.snap.mu.Lock() // wait for the write in progress
	c.snap.mu.Unlock()
	// read the file through a second handle-free load
	n := New(Options{Clock: clk})
	if err := n.load(c.snap.db); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.Lookup(wire(t, "wb.example.org"), dnsmsg.TypeA, 1, false, false); !ok {
		t.Error("write-behind snapshot lacks the entry")
	}
}

// TestSnapshotKill: a child process stores, Syncs and is killed with
// SIGKILL while holding the bbolt file open; the file then opens and holds
// the entry.
func TestSnapshotKill(t *testing.T) {
	if p := os.Getenv("LJDNS_CACHE_CHILD"); p != "" {
		c, err := Open(Options{Path: p})
		if err != nil {
			os.Exit(3)
		}
		c.Store(answer(t, "kill.example.org.", dns.TypeA, 0, []string{"kill.example.org. 3600 IN A 192.0.2.7"}, nil),
			wire(t, "kill.example.org"), dnsmsg.TypeA, 1, false)
		if err := c.Sync(); err != nil {
			os.Exit(4)
		}
		c.Store(answer(t, "late.example.org.", dns.TypeA, 0, []string{"late.example.org. 3600 IN A 192.0.2.8"}, nil),
			wire(t, "late.example.org"), dnsmsg.TypeA, 1, false)
		os.Stdout.WriteString("synced\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "cache.bolt")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSnapshotKill$")
	cmd.Env = append(os.Environ(), "LJDNS_CACHE_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if string(buf[:n]) != "synced\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q", buf[:n])
	}
	cmd.Process.Kill() // SIGKILL: no Close, the file's lock dies with the process
	cmd.Wait()
	c, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if a, ok := c.Lookup(wire(t, "kill.example.org"), dnsmsg.TypeA, 1, false, false); !ok || a.AN[0].TTL > 3600 || a.AN[0].TTL < 3500 {
		t.Errorf("after SIGKILL: %v %+v", ok, a)
	}
	if _, ok := c.Lookup(wire(t, "late.example.org"), dnsmsg.TypeA, 1, false, false); ok {
		t.Error("an entry stored after the last Sync survived SIGKILL (write-behind should not have run yet)")
	}
}

func TestPacketCache(t *testing.T) {
	clk := clock.NewFake(t0)
	p := NewPacketCache(PacketOptions{Clock: clk})
	k := PacketKey{QName: wire(t, "Www.Example.org"), QType: 1, QClass: 1, EDNSSize: 1232}
	if !p.Put(&k, answer(t, "www.example.org.", dns.TypeA, 0, []string{"www.example.org. 3600 IN A 192.0.2.1"}, nil), false) {
		t.Fatal("not stored")
	}
	get := func(k PacketKey, rec bool) (ttl uint32, ok bool) {
		ok = p.Get(&k, rec, func(rc int, aa bool, secs *[3][]*dnsmsg.RRSet, age uint32) {
			if len(secs[0]) > 0 {
				ttl = secs[0][0].TTL - age
			}
		})
		return
	}
	k2 := k
	k2.QName = wire(t, "www.example.ORG")
	if ttl, ok := get(k2, true); !ok || ttl != 3600 {
		t.Errorf("case-insensitive hit: %v %d", ok, ttl)
	}
	for _, f := range []func(*PacketKey){
		func(k *PacketKey) { k.DO = true }, func(k *PacketKey) { k.CD = true },
		func(k *PacketKey) { k.EDNSSize = 0 }, func(k *PacketKey) { k.View = "v" }, func(k *PacketKey) { k.QType = 28 },
	} {
		k3 := k
		f(&k3)
		if _, ok := get(k3, true); ok {
			t.Errorf("hit with a different key %+v", k3)
		}
	}
	clk.Advance(19 * time.Second)
	if ttl, ok := get(k, true); !ok || ttl != 3600-19 {
		t.Errorf("aged: %v %d", ok, ttl)
	}
	clk.Advance(time.Second)
	if _, ok := get(k, true); ok {
		t.Error("positive answer kept past the 20 s cap")
	}
	// negative: 60 s cap
	nk := PacketKey{QName: wire(t, "nx.example.org"), QType: 1, QClass: 1}
	p.Put(&nk, answer(t, "nx.example.org.", dns.TypeA, 3, nil, []string{"example.org. 3600 IN SOA a. b. 1 2 3 4 3600"}), true)
	clk.Advance(59 * time.Second)
	if _, ok := get(nk, false); ok {
		t.Error("an upstream answer served to a client that may not recurse")
	}
	if _, ok := get(nk, true); !ok {
		t.Error("negative answer gone before 60 s")
	}
	clk.Advance(time.Second)
	if _, ok := get(nk, true); ok {
		t.Error("negative answer kept past the 60 s cap")
	}
	p.Put(&k, answer(t, "www.example.org.", dns.TypeA, 0, []string{"www.example.org. 3600 IN A 192.0.2.1"}, nil), false)
	p.Clear()
	if p.Len() != 0 {
		t.Error("Clear left entries")
	}
}

// fakeUpstream answers from a table and counts queries.
type fakeUpstream struct {
	n    atomic.Int32
	fail atomic.Bool
	ecs  bool
}

func (f *fakeUpstream) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	f.n.Add(1)
	if f.fail.Load() {
		return nil, errors.New("upstream down")
	}
	m := new(dns.Msg)
	if err := m.Unpack(q.Bytes()); err != nil {
		return nil, err
	}
	r := new(dns.Msg)
	r.SetReply(m)
	name := m.Question[0].Name
	switch m.Question[0].Qtype {
	case dns.TypeA:
		rr, _ := dns.NewRR(name + " 300 IN A 192.0.2.53")
		r.Answer = append(r.Answer, rr)
	default:
		rr, _ := dns.NewRR("example.org. 300 IN SOA a. b. 1 2 3 4 300")
		r.Ns = append(r.Ns, rr)
	}
	if f.ecs {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 1232}}
		o.Option = append(o.Option, &dns.EDNS0_SUBNET{Code: 8, Family: 1, SourceNetmask: 24, SourceScope: 24, Address: []byte{192, 0, 2, 0}})
		r.Extra = append(r.Extra, o)
	}
	w, err := r.Pack()
	if err != nil {
		return nil, err
	}
	p := dnsmsg.NewPacketFrom(len(w), w)
	if c := p.Parse(false); c != 0 {
		return nil, errors.New(dnsmsg.StrError(c))
	}
	return p, nil
}
func (f *fakeUpstream) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	return errors.New("no")
}
func (f *fakeUpstream) Close() error { return nil }

type fwdLayer struct{ t *fakeUpstream }

func (l *fwdLayer) Name() string { return "fwd" }
func (l *fwdLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if r.MayRecurse() {
		r.Upstream = l.t
	}
	return s
}

var (
	client = netip.MustParseAddrPort("127.0.0.1:5353")
	local  = netip.MustParseAddrPort("127.0.0.1:53")
)

func query(t *testing.T, s *daemon.Server, name string, qt uint16, rd bool) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qt)
	m.RecursionDesired = rd
	w, _ := m.Pack()
	out, ok := s.Exchange(w, client, local, daemon.UDP, 0)
	if !ok {
		t.Fatal("no answer")
	}
	r := new(dns.Msg)
	if err := r.Unpack(out); err != nil {
		t.Fatal(err)
	}
	return r
}

func startDaemon(t *testing.T, layers ...daemon.Layer) *daemon.Server {
	cfg := &daemon.Config{Layers: layers, Log: daemon.NewLogger(os.Stderr)}
	s, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

// TestLayersInPipeline: the packet cache and the RR cache answer repeated
// queries without the upstream; RD=0 is not answered from them; serve_stale
// answers when the upstream fails after expiry.
func TestLayersInPipeline(t *testing.T) {
	clk := clock.NewFake(t0)
	up := &fakeUpstream{}
	rr := New(Options{Clock: clk, StaleKeep: time.Hour})
	pk := NewPacketCache(PacketOptions{Clock: clk})
	s := startDaemon(t, &PacketLayer{pk}, &fwdLayer{up}, &RRLayer{rr}, &StaleLayer{C: rr})

	a := query(t, s, "www.example.org.", dns.TypeA, true)
	if len(a.Answer) != 1 || up.n.Load() != 1 {
		t.Fatalf("first: %v (upstream %d)", a, up.n.Load())
	}
	a = query(t, s, "www.example.org.", dns.TypeA, true)
	if len(a.Answer) != 1 || up.n.Load() != 1 || pk.Hits.Load() != 1 {
		t.Fatalf("second (packet cache): %v upstream %d hits %d", a, up.n.Load(), pk.Hits.Load())
	}
	pk.Clear()
	a = query(t, s, "WWW.example.org.", dns.TypeA, true)
	if len(a.Answer) != 1 || up.n.Load() != 1 || rr.Hits.Load() != 1 {
		t.Fatalf("third (RR cache): %v upstream %d hits %d", a, up.n.Load(), rr.Hits.Load())
	}
	a = query(t, s, "www.example.org.", dns.TypeAAAA, true)
	a = query(t, s, "www.example.org.", dns.TypeAAAA, true)
	if a.Rcode != 0 || len(a.Ns) != 1 || up.n.Load() != 2 {
		t.Errorf("negative cached: %v upstream %d", a, up.n.Load())
	}
	if a := query(t, s, "www.example.org.", dns.TypeA, false); a.Rcode != dns.RcodeRefused {
		t.Errorf("RD=0 answered from cache: %v", a)
	}
	// serve_stale
	pk.Clear()
	clk.Advance(400 * time.Second)
	up.fail.Store(true)
	a = query(t, s, "www.example.org.", dns.TypeA, true)
	if a.Rcode != 0 || len(a.Answer) != 1 || a.Answer[0].Header().Ttl != 1 {
		t.Errorf("serve_stale: %v", a)
	}
	if o := a.IsEdns0(); o == nil {
		t.Log("no EDNS in the answer (query had none)")
	}
}

// TestPacketCacheScope: an answer with a non-zero ECS scope is not cached.
func TestPacketCacheScope(t *testing.T) {
	up := &fakeUpstream{ecs: true}
	pk := NewPacketCache(PacketOptions{})
	s := startDaemon(t, &PacketLayer{pk}, &fwdLayer{up})
	query(t, s, "www.example.org.", dns.TypeA, true)
	query(t, s, "www.example.org.", dns.TypeA, true)
	if up.n.Load() != 2 || pk.Len() != 0 {
		t.Errorf("scoped answer cached: upstream %d entries %d", up.n.Load(), pk.Len())
	}
}

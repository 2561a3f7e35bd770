package zonefile

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

// lockedLog collects log lines.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func writeZone(t *testing.T, path, body string, stamp time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, stamp, stamp); err != nil {
		t.Fatal(err)
	}
}

const zoneV1 = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.10\n"

// TestZoneErrors: a syntax error and a zone without SOA fail Configure
// with the file and line; nothing is served from them.
func TestZoneErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.zone")
	writeZone(t, bad, "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nwww A 192.0.2.300\n", time.Now())
	nosoa := filepath.Join(dir, "nosoa.zone")
	writeZone(t, nosoa, "$ORIGIN example.test.\n$TTL 300\n@ NS ns\nns A 192.0.2.1\n", time.Now())
	for _, c := range []struct{ file, want string }{
		{bad, bad + ":5:"},
		{nosoa, "has no SOA"},
		{filepath.Join(dir, "missing.zone"), "missing.zone"},
	} {
		m := New(Options{Poll: -1, Log: daemon.NewLogger(&lockedLog{})})
		err := m.Configure([]Zone{{Name: "example.test.", File: c.file}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.file, err, c.want)
		}
		if len(m.Engine().Zones()) != 0 {
			t.Errorf("%s: a zone is served", c.file)
		}
		t.Logf("%v", err)
	}
	m := New(Options{Poll: -1})
	for _, zs := range [][]Zone{{{Name: "", File: bad}}, {{Name: "example.test.", File: ""}},
		{{Name: "a.test", File: bad}, {Name: "A.test.", File: bad}}} {
		if err := m.Configure(zs); err == nil {
			t.Errorf("%+v: no error", zs)
		}
	}
}

// TestReloadOnChange: a changed file is served once the check sees it,
// queries answered all along (none lost); a broken change keeps the last
// good zone and is logged with file:line; Configure (the daemon's reload)
// adds and drops zones.
func TestReloadOnChange(t *testing.T) {
	testnet.Isolate(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "example.test.zone")
	stamp := time.Now().Add(-time.Hour)
	writeZone(t, f, zoneV1, stamp)
	logs := &lockedLog{}
	m := New(Options{Poll: 20 * time.Millisecond, Log: daemon.NewLogger(logs)})
	if err := m.Configure([]Zone{{Name: "example.test.", File: f}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	addr := testnet.FreeAddr(t)
	s, err := daemon.New(&daemon.Config{Listen: []daemon.Listen{{Addr: addr}}, Layers: []daemon.Layer{m}, Log: daemon.NewLogger(logs)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	ask := func(name string) *dns.Msg {
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeA)
		r, _, err := c.Exchange(q, addr.String())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}
	addrOf := func(r *dns.Msg) string {
		if len(r.Answer) == 0 {
			return dns.RcodeToString[r.Rcode]
		}
		return r.Answer[0].(*dns.A).A.String()
	}
	// a client asking all along
	var bad atomic.Int32
	var asked atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		uc := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		for {
			select {
			case <-stop:
				return
			default:
			}
			q := new(dns.Msg)
			q.SetQuestion("ns.example.test.", dns.TypeA)
			r, _, err := uc.Exchange(q, addr.String())
			asked.Add(1)
			if err != nil || len(r.Answer) != 1 {
				bad.Add(1)
			}
		}
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not seen in 10 s", what)
			}
		}
	}
	if got := addrOf(ask("www.example.test.")); got != "192.0.2.10" {
		t.Fatalf("www: %s", got)
	}
	writeZone(t, f, strings.Replace(strings.Replace(zoneV1, "192.0.2.10", "192.0.2.11", 1), " 1 3600", " 2 3600", 1), stamp.Add(time.Minute))
	waitFor("the changed zone", func() bool { return addrOf(ask("www.example.test.")) == "192.0.2.11" })
	writeZone(t, f, zoneV1+"broken A 192.0.2.\n", stamp.Add(2*time.Minute))
	waitFor("the error logged", func() bool { return strings.Contains(logs.String(), f+":7:") })
	if got := addrOf(ask("www.example.test.")); got != "192.0.2.11" {
		t.Fatalf("after a broken change: %s, want the last good 192.0.2.11", got)
	}
	// the daemon's reload: another zone added, then the first dropped
	o := filepath.Join(dir, "other.test.zone")
	writeZone(t, o, strings.ReplaceAll(zoneV1, "example.test.", "other.test."), stamp)
	if err := m.Configure([]Zone{{Name: "example.test.", File: f}, {Name: "other.test", File: o}}); err != nil {
		t.Fatal(err)
	}
	if got := addrOf(ask("www.other.test.")); got != "192.0.2.10" {
		t.Fatalf("added zone: %s", got)
	}
	close(stop)
	wg.Wait()
	if err := m.Configure([]Zone{{Name: "other.test", File: o}}); err != nil {
		t.Fatal(err)
	}
	if got := addrOf(ask("www.example.test.")); got != "REFUSED" {
		t.Fatalf("dropped zone: %s", got)
	}
	if n := bad.Load(); n > 0 {
		t.Errorf("%d of %d queries unanswered during the reloads", n, asked.Load())
	}
	t.Logf("%d queries during the reloads; log:\n%s", asked.Load(), logs.String())
}

// passLayer answers every A query it sees with 198.51.100.1.
type passLayer struct{}

func (passLayer) Name() string { return "pass" }

func (passLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if r.QType() != dnsmsg.TypeA {
		return s
	}
	r.Answer.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.QName()}, Type: dnsmsg.TypeA, Class: dnsmsg.ClassINET, TTL: 5,
		RData: [][]byte{{198, 51, 100, 1}}}, true)
	return daemon.Done
}

// TestPassThrough: names outside the zones go on to the next layer (a
// forwarder, say); inside they are answered whatever RD, with AA and no
// RA; with the module alone outside names are REFUSED (nothing recurses).
func TestPassThrough(t *testing.T) {
	testnet.Isolate(t)
	zs := testZones(t)
	_, addr := serveZones(t, moduleZones(zs[:1]), passLayer{})
	_, alone := serveZones(t, moduleZones(zs[:1]))
	c := &dns.Client{Timeout: 2 * time.Second}
	for _, rd := range []bool{true, false} {
		q := new(dns.Msg)
		q.SetQuestion("www.example.test.", dns.TypeA)
		q.RecursionDesired = rd
		r, _, err := c.Exchange(q, addr.String())
		if err != nil || !r.Authoritative || r.RecursionAvailable || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.80" {
			t.Fatalf("in zone, rd=%v: %v %v", rd, r, err)
		}
		q.SetQuestion("www.example.org.", dns.TypeA)
		r, _, err = c.Exchange(q, addr.String())
		if err != nil || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "198.51.100.1" {
			t.Fatalf("outside, rd=%v: %v %v", rd, r, err)
		}
		r, _, err = c.Exchange(q, alone.String())
		if err != nil || r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
			t.Fatalf("outside, module alone, rd=%v: %v %v", rd, r, err)
		}
	}
}

package daemon

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// closeLayer counts its Close calls.
type closeLayer struct {
	layerFunc
	closed *atomic.Int32
}

func (c closeLayer) Close() error {
	c.closed.Add(1)
	return nil
}

// TestReloadDrains: a request in flight when the configuration is replaced
// finishes on the old one (its answer arrives), and the old configuration's
// layers are closed after it; a layer shared by both is not closed.
func TestReloadDrains(t *testing.T) {
	testnet.Isolate(t)
	up := &memTransport{hold: make(chan struct{}), started: make(chan string, 4)}
	var closedOld, closedShared atomic.Int32
	old := closeLayer{layerFunc{name: "old"}, &closedOld}
	shared := &sharedCloser{closed: &closedShared}
	s := startServer(t, &Config{DrainTimeout: 10 * time.Second, Layers: []Layer{old, shared, forwardLayer(up)}})
	addr := s.Addrs(KindDNS)[0]
	ans := make(chan *dns.Msg, 1)
	go func() {
		c := &dns.Client{Timeout: 10 * time.Second}
		m, _, _ := c.Exchange(query("held.example", dns.TypeA), addr.String())
		ans <- m
	}()
	<-up.started
	if err := s.Reload(&Config{Listen: []Listen{{Addr: addr}}, Log: s.Logger(), Layers: []Layer{shared,
		&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.9"), ttl: 60}}}); err != nil {
		t.Fatal(err)
	}
	// the new configuration answers at once while the old request waits
	if m := exchange(t, "udp", addr, query("new.example", dns.TypeA)); len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.9" {
		t.Fatalf("new configuration: %v", m)
	}
	time.Sleep(100 * time.Millisecond)
	if closedOld.Load() != 0 {
		t.Fatal("old layers closed while a request was in flight")
	}
	close(up.hold)
	if m := <-ans; m == nil || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
		t.Fatalf("the request in flight during the reload: %v", m)
	}
	deadline := time.Now().Add(5 * time.Second)
	for closedOld.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if closedOld.Load() != 1 || closedShared.Load() != 0 {
		t.Fatalf("closed old %d (want 1), shared %d (want 0)", closedOld.Load(), closedShared.Load())
	}
}

type sharedCloser struct{ closed *atomic.Int32 }

func (*sharedCloser) Name() string { return "shared" }
func (c *sharedCloser) Close() error {
	c.closed.Add(1)
	return nil
}

// TestReloadDrainDeadline: a request still running after DrainTimeout has
// its context cancelled (the old configuration's timers and loops stop).
func TestReloadDrainDeadline(t *testing.T) {
	up := &memTransport{hold: make(chan struct{}), started: make(chan string, 4)}
	s := newTestServer(t, &Config{DrainTimeout: 200 * time.Millisecond, Layers: []Layer{forwardLayer(up)}})
	done := make(chan *dns.Msg, 1)
	go func() {
		m, _ := ask(t, s, pack(t, query("stuck.example", dns.TypeA)), loClient, UDP)
		done <- m
	}()
	<-up.started
	start := time.Now()
	if err := s.Reload(&Config{Log: s.Logger()}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-done:
		if m.Rcode != dns.RcodeServerFailure {
			t.Fatalf("cancelled request: %v", m)
		}
		t.Logf("the old request ended %v after the reload", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("the old request was not cancelled after the drain deadline")
	}
}

// TestShutdownDrains: Shutdown stops accepting but lets a request in
// flight answer.
func TestShutdownDrains(t *testing.T) {
	testnet.Isolate(t)
	up := &memTransport{hold: make(chan struct{}), started: make(chan string, 4)}
	s, err := New(&Config{Listen: []Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:0")}}, Log: NewLogger(testWriter{t}),
		Layers: []Layer{forwardLayer(up)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addrs(KindDNS)[0]
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tcpSend(t, c, pack(t, query("held.example", dns.TypeA)))
	<-up.started
	stopped := make(chan error, 1)
	go func() { stopped <- s.Shutdown(context.Background()) }()
	time.Sleep(100 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		t.Fatal("still accepting after Shutdown began")
	}
	close(up.hold)
	if m, err := tcpRecv(t, c, 5*time.Second); err != nil || m.Rcode != dns.RcodeSuccess {
		t.Fatalf("in-flight answer during shutdown: %v %v", m, err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestControlSocket: lines on RUNDIR/control/<pid> go to Config.Control and
// its output comes back; the socket is 0600 and goes away at Shutdown.
func TestControlSocket(t *testing.T) {
	dir := t.TempDir()
	s := newTestServer(t, &Config{Control: func(line string) string { return "got " + strings.ToUpper(line) }})
	path, err := s.ListenControl(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || filepath.Base(path) != itoaPid() {
		t.Fatalf("control socket %s: %v", path, err)
	}
	c, err := DialControl(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for _, l := range []string{"hello", "net.list()"} {
		c.Write([]byte(l + "\n"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := br.ReadString('\n')
		if err != nil || got != "got "+strings.ToUpper(l)+"\n" {
			t.Fatalf("reply %q %v", got, err)
		}
	}
	s.Shutdown(context.Background())
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("control socket left: %v", err)
	}
}

func itoaPid() string { return itoa(os.Getpid()) }

// TestLockRundir: flock says who owns RUNDIR; a released lock is taken again.
func TestLockRundir(t *testing.T) {
	dir := t.TempDir()
	l, err := LockRundir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockRundir(dir); err == nil || !strings.Contains(err.Error(), "owns") {
		t.Fatalf("second lock: %v", err)
	}
	l.Unlock()
	l2, err := LockRundir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.Unlock()
}

// TestTLSSessionTickets: sessions resume across a reload (the ticket keys
// stay), and across two servers sharing tls_sticket_secret.
func TestTLSSessionTickets(t *testing.T) {
	testnet.Isolate(t)
	secret := strings.Repeat("s", 40)
	lo := netip.MustParseAddr("127.0.0.1")
	cert, err := SelfSignedCert("dot.test", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mk := func() *Config {
		return &Config{Listen: []Listen{{Addr: netip.AddrPortFrom(lo, 0), Kind: KindTLS}}, TicketSecret: secret,
			Certificates: []tls.Certificate{cert}}
	}
	a := startServer(t, mk())
	b := startServer(t, mk())
	cache := tls.NewLRUClientSessionCache(10)
	dial := func(addr netip.AddrPort) bool {
		t.Helper()
		c, err := tls.Dial("tcp", addr.String(), &tls.Config{InsecureSkipVerify: true, ClientSessionCache: cache,
			ServerName: "dot.test", NextProtos: []string{"dot"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// TLS 1.3 tickets arrive after the handshake: make one exchange
		tcpSend(t, c, pack(t, query("example.org", dns.TypeA)))
		if _, err := tcpRecv(t, c, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		return c.ConnectionState().DidResume
	}
	aAddr := a.Addrs(KindTLS)[0]
	if dial(aAddr) {
		t.Fatal("first connection resumed")
	}
	if !dial(aAddr) {
		t.Fatal("second connection did not resume")
	}
	cfg := mk()
	cfg.Listen[0].Addr = aAddr
	if err := a.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if !dial(aAddr) {
		t.Fatal("no resumption after a reload")
	}
	// the session cache is keyed by server name: the ticket from a goes to b
	if !dial(b.Addrs(KindTLS)[0]) {
		t.Fatal("no resumption on another server sharing the secret")
	}
	c := startServer(t, &Config{Listen: []Listen{{Addr: netip.AddrPortFrom(lo, 0), Kind: KindTLS}}, Certificates: []tls.Certificate{cert}})
	if dial(c.Addrs(KindTLS)[0]) {
		t.Fatal("resumed on a server with other ticket keys")
	}
	if _, err := New(&Config{TicketSecret: "short"}); err == nil {
		t.Fatal("a short tls_sticket_secret accepted")
	}
}

// TestTrace: with the logger at debug level every request is traced.
func TestTrace(t *testing.T) {
	var buf lockedBuf
	log := NewLogger(&buf)
	s := newTestServer(t, &Config{Log: log, Layers: []Layer{layerFunc{name: "tr", begin: func(r *Request, st State) State {
		r.Tracef("hello from %s", "tr")
		return st
	}}}})
	ask(t, s, pack(t, query("a.example", dns.TypeA)), loClient, UDP)
	if strings.Contains(buf.String(), "hello") {
		t.Fatal("traced at level notice")
	}
	log.SetLevel(LevelDebug)
	ask(t, s, pack(t, query("a.example", dns.TypeA)), loClient, UDP)
	if !strings.Contains(buf.String(), "[reqdbg] [") || !strings.Contains(buf.String(), "hello from tr") ||
		!strings.Contains(buf.String(), "request 'a.example.' type 'A' from 127.0.0.1:40000 over udp") ||
		!strings.Contains(buf.String(), "answer rcode 5") {
		t.Fatalf("no trace line in %q", buf.String())
	}
}

// TestPrivilegedAfterDrop: once user() dropped privileges, a reload that
// adds a listener on a port below 1024 is refused with a clear message and
// the running configuration stays.
func TestPrivilegedAfterDrop(t *testing.T) {
	testnet.Isolate(t)
	s := startServer(t, &Config{Layers: []Layer{&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}})
	addr := s.Addrs(KindDNS)[0]
	s.dropped.Store(true) // as after user(): switching users needs a real second user
	err := s.Reload(&Config{Listen: []Listen{{Addr: addr}, {Addr: netip.MustParseAddrPort("127.0.0.1:53")}}, Log: s.Logger()})
	if err == nil || !strings.Contains(err.Error(), "privileged port after user()") {
		t.Fatalf("reload with port 53 after the drop: %v", err)
	}
	if m := exchange(t, "udp", addr, query("example.org", dns.TypeA)); len(m.Answer) != 1 {
		t.Fatalf("the running configuration changed: %v", m)
	}
	// high ports are fine
	if err := s.Reload(&Config{Listen: []Listen{{Addr: addr}, {Addr: netip.MustParseAddrPort("127.0.0.1:5353")}}, Log: s.Logger()}); err != nil {
		t.Fatal(err)
	}
}

// TestReloadFailureKeepsConfig: a configuration that fails (bad listener
// kind, an address that cannot be bound) is refused with the reason and
// the running one keeps serving with its sockets.
func TestReloadFailureKeepsConfig(t *testing.T) {
	testnet.Isolate(t)
	s := startServer(t, &Config{Layers: []Layer{&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}})
	addr := s.Addrs(KindDNS)[0]
	busy, err := net.ListenPacket("udp", "127.0.0.9:53") // no SO_REUSEPORT: the daemon cannot share it
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for name, cfg := range map[string]*Config{
		"kind":   {Listen: []Listen{{Addr: addr}, {Addr: netip.MustParseAddrPort("127.0.0.1:5300"), Kind: "bogus"}}},
		"bind":   {Listen: []Listen{{Addr: addr}, {Addr: netip.MustParseAddrPort("127.0.0.9:53")}}},
		"secret": {Listen: []Listen{{Addr: addr}}, TicketSecret: "too short"},
	} {
		cfg.Log = s.Logger()
		if err := s.Reload(cfg); err == nil {
			t.Fatalf("%s: reload accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
		if m := exchange(t, "udp", addr, query("example.org", dns.TypeA)); len(m.Answer) != 1 {
			t.Fatalf("%s: the running configuration was replaced: %v", name, m)
		}
	}
	if got := s.Addrs(KindDNS); len(got) != 1 {
		t.Fatalf("listeners after failed reloads: %v", got)
	}
}

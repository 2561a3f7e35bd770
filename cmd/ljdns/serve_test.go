package main

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// lockedBuffer collects a process's output safely.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type daemonProc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
	err    error
}

// startDaemon runs `ljdns serve args...` in dir and stops it (by PID) at
// the end of the test.
func startDaemon(t *testing.T, dir string, env []string, args ...string) *daemonProc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "-n"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &daemonProc{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	cmd.Stdout = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("daemon %d output:\n%s", cmd.Process.Pid, p.stderr.String())
		}
	})
	return p
}

// exited waits for the process to end and returns its exit code.
func (p *daemonProc) exited(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("daemon still running after %v:\n%s", within, p.stderr.String())
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return 0
}

// waitDNS polls addr over UDP until it answers (at most 10 s).
func waitDNS(t *testing.T, addr string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion("example.org.", dns.TypeA)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, _, err := c.Exchange(m, addr)
		if err == nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer from %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeDefaults starts a configuration-less daemon: kresd 5's default
// listeners (127.0.0.1 and ::1, ports 53 and 853), SERVFAIL for a name to
// resolve (it recurses from the built-in root hints, which the namespace
// cannot reach), SIGTERM ends it with status 0.
func TestServeDefaults(t *testing.T) {
	testnet.Isolate(t)
	dir := t.TempDir()
	p := startDaemon(t, dir, nil)
	for _, a := range []string{"127.0.0.1:53", "[::1]:53"} {
		if r := waitDNS(t, a); r.Rcode != dns.RcodeServerFailure {
			t.Errorf("%s: rcode %s, want SERVFAIL", a, dns.RcodeToString[r.Rcode])
		}
	}
	for _, a := range []string{"127.0.0.1:853", "[::1]:853"} {
		c, err := net.DialTimeout("tcp", a, 2*time.Second)
		if err != nil {
			t.Errorf("TLS port %s: %v", a, err)
			continue
		}
		c.Close()
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exited(t, 15*time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGTERM", code)
	}
}

// TestServeLock: a second daemon on the same RUNDIR is refused; after a
// SIGKILL leaves the control socket behind, a new daemon starts (the lock
// went with the process), and a third is refused by it.
func TestServeLock(t *testing.T) {
	testnet.Isolate(t)
	dir := t.TempDir()
	a := startDaemon(t, dir, nil, "-a", "127.0.0.2@53")
	waitDNS(t, "127.0.0.2:53")
	b := startDaemon(t, dir, nil, "-a", "127.0.0.3@53")
	if code := b.exited(t, 10*time.Second); code == 0 || !strings.Contains(b.stderr.String(), "owns this run directory") {
		t.Fatalf("second daemon: status %d, output:\n%s", code, b.stderr.String())
	}
	a.cmd.Process.Kill()
	a.exited(t, 10*time.Second)
	socks, _ := filepath.Glob(filepath.Join(dir, "control", "*"))
	if len(socks) == 0 {
		t.Fatal("SIGKILL left no control socket behind: the test proves nothing")
	}
	c := startDaemon(t, dir, nil, "-a", "127.0.0.4@53")
	waitDNS(t, "127.0.0.4:53")
	d := startDaemon(t, dir, nil, "-a", "127.0.0.5@53")
	if code := d.exited(t, 10*time.Second); code == 0 {
		t.Fatalf("daemon after the restart was not refused:\n%s", d.stderr.String())
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.exited(t, 15*time.Second)
}

// TestServeNotifyAndSignals checks sd_notify (READY=1 at start, RELOADING=1
// and READY=1 around a SIGHUP, STOPPING=1 at SIGTERM) on a unixgram socket,
// the control socket's mode, and `ljdns serve --control`.
func TestServeNotifyAndSignals(t *testing.T) {
	testnet.Isolate(t)
	dir := t.TempDir()
	sock := filepath.Join(t.TempDir(), "notify")
	nc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := nc.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case m := <-msgs:
			if m != want {
				t.Fatalf("sd_notify got %q, want %q", m, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no sd_notify %q", want)
		}
	}
	p := startDaemon(t, dir, []string{"NOTIFY_SOCKET=" + sock}, "-a", "127.0.0.2@53")
	expect("READY=1")
	waitDNS(t, "127.0.0.2:53")
	socks, _ := filepath.Glob(filepath.Join(dir, "control", "*"))
	if len(socks) != 1 {
		t.Fatalf("control sockets %v", socks)
	}
	if fi, err := os.Stat(socks[0]); err != nil || fi.Mode().Perm() != 0o600 || filepath.Base(socks[0]) != strconv.Itoa(p.cmd.Process.Pid) {
		t.Fatalf("control socket %s: %v %v", socks[0], fi.Mode(), err)
	}
	r := ljdns(t, "print(1)\n", "serve", "--control", dir)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "1" { // worker 0's Lua prompt (luamod/serve)
		t.Fatalf("--control: %+v", r)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	expect("RELOADING=1")
	expect("READY=1")
	waitDNS(t, "127.0.0.2:53")
	p.cmd.Process.Signal(syscall.SIGTERM)
	expect("STOPPING=1")
	if code := p.exited(t, 15*time.Second); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	if !strings.Contains(p.stderr.String(), "[system] configuration reloaded") {
		t.Errorf("no reload line in:\n%s", p.stderr.String())
	}
	if socks, _ := filepath.Glob(filepath.Join(dir, "control", "*")); len(socks) != 0 {
		t.Errorf("control socket left after a clean stop: %v", socks)
	}
}

// TestServeArgs checks the command-line forms.
func TestServeArgs(t *testing.T) {
	o, err := parseServeArgs([]string{"-a", "127.0.0.1@5353", "-a::1", "--tls=127.0.0.1", "-t", "::1@8853", "-f2", "--check-config", "-S", "3:doh2", "-c", "x.conf", "run"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range o.Listen {
		got = append(got, l.String())
	}
	want := "127.0.0.1@5353 dns,::1@53 dns,127.0.0.1@853 tls,::1@8853 tls,fd 3 doh2"
	if strings.Join(got, ",") != want {
		t.Errorf("listen = %s\nwant %s", strings.Join(got, ","), want)
	}
	if o.Workers != 2 || !o.CheckConfig || o.Config != "x.conf" || !o.ConfigExplicit || o.RunDir != "run" {
		t.Errorf("options %+v", o)
	}
	for _, bad := range [][]string{{"-a"}, {"-a", "nonsense"}, {"-f", "0"}, {"--bogus"}, {"a", "b"}, {"-a", "1.2.3.4@99999"}} {
		if _, err := parseServeArgs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestServeReloadUnderLoad sends SIGHUP every 100 ms to a daemon under a
// fixed dnsperf rate and compares its loss with a control daemon that is
// not reloaded (testnet.FixedRate): reloads keep the sockets, so no more
// queries may be lost (a tolerance of 0.1% of the queries for the shared
// machine's noise).
func TestServeReloadUnderLoad(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "dnsperf")
	ctl := startDaemon(t, t.TempDir(), nil, "-a", "127.0.0.3@53")
	srv := startDaemon(t, t.TempDir(), nil, "-a", "127.0.0.2@53")
	waitDNS(t, "127.0.0.3:53")
	waitDNS(t, "127.0.0.2:53")
	var corpus []testnet.Query
	for i := 0; i < 100; i++ {
		corpus = append(corpus, testnet.Query{Name: "host" + strconv.Itoa(i) + ".example.", Type: dns.TypeA})
	}
	stop := make(chan struct{})
	reloads := 0
	go func() {
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				srv.cmd.Process.Signal(syscall.SIGHUP)
				reloads++
			}
		}
	}()
	rc, err := testnet.FixedRate(testnet.PerfConfig{Server: netip.MustParseAddrPort("127.0.0.2:53"), PID: srv.cmd.Process.Pid,
		Queries: corpus, Duration: 5 * time.Second, Clients: 10}, netip.MustParseAddrPort("127.0.0.3:53"), ctl.cmd.Process.Pid, 5000)
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	n := strings.Count(srv.stderr.String(), "configuration reloaded")
	t.Logf("%v; %d reloads done", rc, n)
	if n < 20 {
		t.Fatalf("only %d reloads during the run", n)
	}
	if rc.ExtraLoss() > 0.001 {
		t.Fatalf("reloads lost more than the control: %v", rc)
	}
}

// TestServeInheritedSockets: -S fd and -S fd:tls serve on sockets the
// supervisor opened (systemd socket activation's hand-over).
func TestServeInheritedSockets(t *testing.T) {
	testnet.Isolate(t)
	udp, err := net.ListenPacket("udp", "127.0.0.2:53")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.2:53")
	if err != nil {
		t.Fatal(err)
	}
	uf, _ := udp.(*net.UDPConn).File()
	tf, _ := tcp.(*net.TCPListener).File()
	udp.Close()
	tcp.Close()
	dir := t.TempDir()
	cmd := exec.Command(binary, "serve", "-n", "-S", "3", "-S", "4:dns", dir)
	cmd.ExtraFiles = []*os.File{uf, tf}
	var out lockedBuffer
	cmd.Stderr, cmd.Stdout = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	uf.Close()
	tf.Close()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Log(out.String())
		}
	}()
	if r := waitDNS(t, "127.0.0.2:53"); r.Rcode != dns.RcodeServerFailure { // recursion, root unreachable
		t.Fatalf("UDP on fd 3: %v", r)
	}
	c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion("example.org.", dns.TypeA)
	if r, _, err := c.Exchange(m, "127.0.0.2:53"); err != nil || r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("TCP on fd 4: %v %v", r, err)
	}
	if strings.Contains(out.String(), ":853") {
		t.Fatalf("defaults applied although sockets were handed over:\n%s", out.String())
	}
}

// TestServeCheckConfig: without the Lua environment wired in, a named
// configuration file is an error (no silent default), and --check-config
// of a configuration-less start succeeds.
func TestServeCheckConfig(t *testing.T) {
	if newConfigLoader != nil {
		t.Skip("the Lua configuration environment is wired in: its own tests cover --check-config")
	}
	dir := t.TempDir()
	if r := ljdns(t, "", "serve", "--check-config", dir); r.code != 0 {
		t.Fatalf("config-less --check-config: %+v", r)
	}
	os.WriteFile(filepath.Join(dir, "my.conf"), []byte("net.listen('127.0.0.1', 53)\n"), 0o644)
	if r := ljdns(t, "", "serve", "--check-config", "-c", "my.conf", dir); r.code == 0 || !strings.Contains(r.stderr, "my.conf") {
		t.Fatalf("-c without the Lua environment: %+v", r)
	}
}

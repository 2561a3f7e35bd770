// Package testnet is the loopback test rig: it runs a test inside a network
// namespace of its own (Isolate), starts real DNS servers there (knotd, nsd,
// kresd, pdns_server with the lua2 backend) from generated configurations,
// compares two servers' answers over a query corpus (Compare), and measures
// servers under load with dnsperf (Perf, FixedRate).
//
// Every server the rig starts runs inside a loopback-only network
// namespace: a test calls Isolate first, which re-executes the test binary
// for just that test under `unshare -n`. Inside, the whole of 127.0.0.0/8 is
// the test's own, so tests and packages running in parallel never collide
// on port 53, and nothing a peer sends can leave the machine.
package testnet

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// EnvNetns is set to "1" in the environment of a test binary re-executed
// by Isolate inside its own network namespace.
const EnvNetns = "LJDNS_TESTNET_NETNS"

// OutgoingAllow is the value of LJDNS_OUTGOING_ALLOW inside a namespace:
// loopback only.
const OutgoingAllow = "127.0.0.0/8,::1/128"

// InNamespace reports whether this process runs inside a namespace made by
// Isolate.
func InNamespace() bool { return os.Getenv(EnvNetns) == "1" }

var (
	unshareOnce sync.Once
	unshareCmd  []string // the unshare invocation that works here, nil if none
	unshareErr  error
)

// unshareArgs finds how to make a network namespace here: plain `unshare -n`
// as root, else with a user namespace of our own (`unshare -r -n`).
func unshareArgs() ([]string, error) {
	unshareOnce.Do(func() {
		path, err := exec.LookPath("unshare")
		if err != nil {
			unshareErr = errors.New("unshare(1) is not installed")
			return
		}
		var msgs []string
		for _, try := range [][]string{{path, "-n"}, {path, "-r", "-n"}} {
			out, err := exec.Command(try[0], append(try[1:], "true")...).CombinedOutput()
			if err == nil {
				unshareCmd = try
				return
			}
			msgs = append(msgs, fmt.Sprintf("%s: %v %s", strings.Join(try[1:], " "), err, strings.TrimSpace(string(out))))
		}
		unshareErr = errors.New(strings.Join(msgs, "; "))
	})
	return unshareCmd, unshareErr
}

// Isolate makes the calling test run inside a loopback-only network
// namespace of its own. Call it first in the test: everything before it
// runs twice.
//
// If the process already is in such a namespace (EnvNetns set by the
// re-exec), Isolate brings lo up if needed, checks that lo is the only
// interface and returns. Otherwise it re-executes the test binary for just
// this test (-test.run '^Name$', -test.v, -test.timeout, -test.short and
// non-testing flags kept) under `unshare -n` (or `unshare -r -n` where only
// user namespaces are allowed) with LJDNS_OUTGOING_ALLOW=127.0.0.0/8,::1/128,
// streams its output with t.Log, fails t if the child failed, and ends the
// test in the parent with t.SkipNow (the child did the work; a skip inside
// the child is reported as a skip). Where unshare is refused it skips t with
// a message: a peer never runs outside a namespace.
func Isolate(t *testing.T) {
	t.Helper()
	if InNamespace() {
		if err := checkIsolated(); err != nil {
			t.Fatalf("testnet: %s is set but this is no namespace of ours: %v", EnvNetns, err)
		}
		return
	}
	how, err := unshareArgs()
	if err != nil {
		t.Skipf("testnet: %s needs a network namespace of its own and unshare is refused here (%v); skipped, never run outside one", t.Name(), err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("testnet: cannot find the test binary: %v", err)
	}
	args := append(append(append([]string{}, how[1:]...), "--", exe), childArgs(t.Name())...)
	cmd := exec.Command(how[0], args...)
	cmd.Env = append(os.Environ(), EnvNetns+"=1", "LJDNS_OUTGOING_ALLOW="+OutgoingAllow)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("testnet: cannot start %v: %v", cmd.Args, err)
	}
	var passed, skipped bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		pass, skip := "--- PASS: "+t.Name()+" ", "--- SKIP: "+t.Name()+" "
		for sc.Scan() {
			line := sc.Text()
			trimmed := strings.TrimSpace(line)
			passed = passed || strings.HasPrefix(trimmed, pass)
			skipped = skipped || strings.HasPrefix(trimmed, skip)
			t.Log("netns| " + line)
		}
		io.Copy(io.Discard, pr)
	}()
	werr := cmd.Wait()
	pw.Close()
	<-done
	switch {
	case werr != nil:
		t.Fatalf("testnet: %s failed inside its network namespace: %v", t.Name(), werr)
	case skipped:
		t.Skipf("testnet: %s skipped inside its network namespace (reason above)", t.Name())
	case !passed:
		t.Fatalf("testnet: %s did not run inside its network namespace (no PASS line from %v)", t.Name(), cmd.Args)
	}
	t.Skipf("testnet: %s ran and passed inside a network namespace of its own (output above)", t.Name())
}

// childArgs are the flags of the re-executed test binary: only this test,
// verbose, and the set flags that do not select, repeat or profile tests.
func childArgs(name string) []string {
	var elems []string
	for _, e := range strings.Split(name, "/") {
		elems = append(elems, "^"+regexp.QuoteMeta(e)+"$")
	}
	args := []string{"-test.run=" + strings.Join(elems, "/"), "-test.v=true", "-test.count=1"}
	keep := map[string]bool{"test.timeout": true, "test.short": true, "test.failfast": true,
		"test.parallel": true, "test.gocoverdir": true}
	flag.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "test.") && !keep[f.Name] {
			return
		}
		args = append(args, "-"+f.Name+"="+f.Value.String())
	})
	return args
}

// checkIsolated brings lo up and checks it is the only interface, which is
// what a fresh network namespace has.
func checkIsolated() error {
	if err := loopbackUp(); err != nil {
		return err
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if i.Name != "lo" {
			return fmt.Errorf("interface %s is present", i.Name)
		}
	}
	return nil
}

// loopbackUp sets IFF_UP on lo (what `ip link set lo up` does).
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	flags := ifr.Uint16()
	if flags&unix.IFF_UP != 0 {
		return nil
	}
	ifr.SetUint16(flags | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS lo: %w", err)
	}
	return nil
}

// Need skips t (with a message) unless every named program is on PATH.
func Need(t testing.TB, programs ...string) {
	t.Helper()
	var missing []string
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Skipf("testnet: %s not installed (.ci/run installs the peers)", strings.Join(missing, ", "))
	}
}

var addrCount atomic.Uint32

// FreeAddr returns a loopback address and port not used by another test of
// this process. Inside a namespace of our own it is 127.0.0.N:53 with N
// counting up from 2 (then 127.0.1.1 and on); outside one it is 127.0.0.1
// with a port that was free for both UDP and TCP.
func FreeAddr(t testing.TB) netip.AddrPort {
	t.Helper()
	if InNamespace() {
		for {
			n := addrCount.Add(1)
			hi, lo := n>>8, n&255
			if lo == 0 || lo == 255 || hi == 0 && lo < 2 { // keep 127.0.0.1 for tools
				continue
			}
			if hi > 255 {
				t.Fatal("testnet: FreeAddr ran out of addresses")
			}
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, byte(hi), byte(lo)}), 53)
		}
	}
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))
		}
	}
	t.Fatal("testnet: no free port on 127.0.0.1")
	return netip.AddrPort{}
}

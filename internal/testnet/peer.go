package testnet

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// StartTimeout bounds how long a StartX function waits for its server to
// answer.
const StartTimeout = 10 * time.Second

// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// Peer is one started server process.
type Peer struct {
	Name  string           // "knotd", "nsd", "kresd", "pdns"
	Addrs []netip.AddrPort // where it listens (UDP and TCP)
	Dir   string           // its private run directory (configs, zones, logs)
	Log   string           // path of its log file
	Cmd   *exec.Cmd

	done     chan struct{} // closed when the process has been waited for
	waitErr  error
	stopOnce sync.Once
	stopped  bool // Stop sent the signal (the exit status is then ours)
	stopErr  error
	cleanup  []func() // run by Stop after the process ended
}

// Zone is a zone a server loads: the origin and a zone file path.
type Zone struct{ Name, File string }

// Addr is Addrs[0].
func (p *Peer) Addr() netip.AddrPort { return p.Addrs[0] }

// PID is the process id of the server.
func (p *Peer) PID() int { return p.Cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Peer) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process by its PID (SIGTERM, then SIGKILL to its process
// group after a grace period) and waits for it. It returns an error if the
// process had ended on its own with a failure before Stop. Calling it again
// returns the first result.
func (p *Peer) Stop() error {
	p.stopOnce.Do(func() {
		if !p.Exited() {
			p.stopped = true
			p.Cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(stopGrace):
				syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
				<-p.done
			}
		} else if p.waitErr != nil {
			p.stopErr = fmt.Errorf("%s exited before Stop: %v", p.Name, p.waitErr)
		}
		for _, f := range p.cleanup {
			f()
		}
	})
	return p.stopErr
}

// newPeerDir makes the private directory of a peer. It outlives the test
// when the test fails (its path is logged) and is removed otherwise.
func newPeerDir(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ljdns-testnet-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// requireNamespace fails t unless this process runs inside a namespace of
// Isolate's: no peer runs outside one.
func requireNamespace(t testing.TB, name string) {
	t.Helper()
	if !InNamespace() {
		t.Fatalf("testnet: starting %s needs testnet.Isolate(t) first: peers run only inside a network namespace of their own", name)
	}
}

// startPeer starts argv with its output in dir/<name>.log, registers Stop
// and the log handling with t.Cleanup, and waits until ready returns nil
// (polling, bounded by StartTimeout) or the process exits.
func startPeer(t testing.TB, name, dir string, addrs []netip.AddrPort, ready func() error, argv ...string) *Peer {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(logf, "# %s\n", strings.Join(argv, " "))
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("testnet: cannot start %s: %v", name, err)
	}
	p := &Peer{Name: name, Addrs: addrs, Dir: dir, Log: logPath, Cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		err := p.Stop()
		if err != nil {
			t.Errorf("testnet: %v", err)
		}
		if t.Failed() {
			t.Logf("testnet: %s log kept in %s:\n%s", name, logPath, readLog(logPath))
			return
		}
		os.RemoveAll(dir)
	})
	deadline := time.Now().Add(StartTimeout)
	for {
		err := ready()
		if err == nil {
			return p
		}
		if p.Exited() {
			t.Fatalf("testnet: %s exited while starting (%v); log %s:\n%s", name, p.waitErr, logPath, readLog(logPath))
		}
		if time.Now().After(deadline) {
			t.Fatalf("testnet: %s did not answer within %v (%v); log %s:\n%s", name, StartTimeout, err, logPath, readLog(logPath))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readLog returns the end of a log file (at most 64 KiB).
func readLog(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 64<<10 {
		b = append([]byte("...\n"), b[len(b)-64<<10:]...)
	}
	return string(b)
}

// answers returns a readiness check: a query for qname/qtype to each of
// addrs gets a reply (any rcode) over net ("udp" or "tcp").
func answers(addrs []netip.AddrPort, qname string, qtype uint16, network string) func() error {
	return func() error {
		c := &dns.Client{Net: network, Timeout: 300 * time.Millisecond}
		for _, a := range addrs {
			m := new(dns.Msg)
			m.SetQuestion(dns.Fqdn(qname), qtype)
			if _, _, err := c.Exchange(m, a.String()); err != nil {
				return err
			}
		}
		return nil
	}
}

// probeName is the name a readiness check asks for: the first zone's apex.
func probeName(zones []Zone) string {
	if len(zones) == 0 {
		return "."
	}
	return dns.Fqdn(zones[0].Name)
}

// absZones checks the zones and makes their file paths absolute.
func absZones(t testing.TB, zones []Zone) []Zone {
	t.Helper()
	out := make([]Zone, len(zones))
	for i, z := range zones {
		if z.Name == "" || z.File == "" {
			t.Fatalf("testnet: zone %d needs Name and File: %+v", i, z)
		}
		f, err := filepath.Abs(z.File)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("testnet: zone %s: %v", z.Name, err)
		}
		out[i] = Zone{Name: dns.Fqdn(z.Name), File: f}
	}
	return out
}

// orFree returns addrs, or one FreeAddr when it is empty.
func orFree(t testing.TB, addrs []netip.AddrPort) []netip.AddrPort {
	t.Helper()
	if len(addrs) == 0 {
		return []netip.AddrPort{FreeAddr(t)}
	}
	return append([]netip.AddrPort(nil), addrs...)
}

// writeFile writes a generated file into a peer's directory.
func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

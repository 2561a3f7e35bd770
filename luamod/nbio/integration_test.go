package nbio_test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Integration tests: build the ljdns binary, run examples/responder.lua on
// loopback and query it with kdig and with Go clients.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// root is the module root (tests run in luamod/nbio).
const root = "../.."

func ljdnsBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ljdns-nbio-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "ljdns")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/ljdns")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// responder runs examples/responder.lua and returns its UDP/TCP and TLS ports.
type responder struct {
	cmd       *exec.Cmd
	port, tls int
}

func startResponder(t *testing.T) *responder {
	t.Helper()
	bin := ljdnsBinary(t)
	cmd := exec.Command(bin, "examples/responder.lua", "-p", "0", "-t", "0")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &responder{cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("responder did not start: %v", err)
	}
	m := regexp.MustCompile(`udp=(\d+) tcp=\d+ tls=(\d+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("unexpected start-up line %q", line)
	}
	r.port, _ = strconv.Atoi(m[1])
	r.tls, _ = strconv.Atoi(m[2])
	return r
}

func (r *responder) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// query asks the responder over net ("udp", "tcp") with a deadline.
func query(t *testing.T, network, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %s: %v", network, name, err)
	}
	return r
}

func TestKdig(t *testing.T) {
	kdig, err := exec.LookPath("kdig")
	if err != nil {
		t.Skip("kdig not installed (apt-get install knot-dnsutils)")
	}
	r := startResponder(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"udp", []string{"-p", strconv.Itoa(r.port), "www.example.org", "A", "+short"}, "192.0.2.80\n192.0.2.81\n"},
		{"tcp", []string{"-p", strconv.Itoa(r.port), "+tcp", "example.org", "MX", "+short"}, "10 mail.example.org.\n"},
		{"tls", []string{"-p", strconv.Itoa(r.tls), "+tls", "www.example.org", "AAAA", "+short"}, "2001:db8::80\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"@127.0.0.1", "+time=5", "+retry=0"}, c.args...)
			out, err := exec.Command(kdig, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("kdig %v: %v\n%s", args, err, out)
			}
			if got := string(out); got != c.want {
				t.Fatalf("kdig %v = %q, want %q", args, got, c.want)
			}
		})
	}
	t.Run("nxdomain-tls", func(t *testing.T) {
		out, err := exec.Command(kdig, "@127.0.0.1", "-p", strconv.Itoa(r.tls), "+tls", "+time=5",
			"nope.example.org", "A").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "status: NXDOMAIN") {
			t.Fatalf("kdig +tls nope.example.org: %v\n%s", err, out)
		}
	})
}

func TestResponderAnswers(t *testing.T) {
	r := startResponder(t)
	for _, network := range []string{"udp", "tcp"} {
		m := query(t, network, r.addr(), "www.example.org.", dns.TypeA)
		if len(m.Answer) != 2 || !m.Authoritative {
			t.Fatalf("%s: answer %v", network, m)
		}
		m = query(t, network, r.addr(), "nope.example.org.", dns.TypeA)
		if m.Rcode != dns.RcodeNameError || len(m.Ns) != 1 {
			t.Fatalf("%s: nxdomain %v", network, m)
		}
		m = query(t, network, r.addr(), "mail.example.org.", dns.TypeAAAA)
		if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 || len(m.Ns) != 1 {
			t.Fatalf("%s: nodata %v", network, m)
		}
		m = query(t, network, r.addr(), "example.com.", dns.TypeA)
		if m.Rcode != dns.RcodeRefused {
			t.Fatalf("%s: out of zone %v", network, m)
		}
	}
}

// The responder keeps answering while it receives garbage datagrams, a TCP
// length prefix larger than its buffer, a client that never finishes its
// message, and a flood of connections that are dropped at once.
func TestResponderBadInput(t *testing.T) {
	r := startResponder(t)
	u, err := net.Dial("udp", r.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for i := 0; i < 200; i++ {
		junk := make([]byte, i%40)
		for j := range junk {
			junk[j] = byte(i * j)
		}
		u.Write(junk)
	}
	query(t, "udp", r.addr(), "www.example.org.", dns.TypeA)

	// A length prefix over the responder's buffer: it drops the connection.
	big, err := net.Dial("tcp", r.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	big.Write([]byte{0xff, 0xf0, 1, 2, 3})
	big.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := big.Read(make([]byte, 10)); err == nil {
		t.Fatalf("oversized prefix: read %d bytes, want the connection closed", n)
	}

	// A slow client: half a message, then silence.
	slow, err := net.Dial("tcp", r.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write([]byte{0, 40, 0x12})
	for _, network := range []string{"udp", "tcp"} {
		query(t, network, r.addr(), "www.example.org.", dns.TypeA)
	}

	// A flood of connections dropped at once (some with a partial message).
	for i := 0; i < 2000; i++ {
		c, err := net.Dial("tcp", r.addr())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if i%2 == 0 {
			c.Write([]byte{0})
		}
		c.Close()
	}
	for _, network := range []string{"udp", "tcp"} {
		query(t, network, r.addr(), "example.org.", dns.TypeSOA)
	}
}

// goroutines waits for the goroutine count to drop to at most want.
func goroutines(want int) int {
	var n int
	for i := 0; i < 100; i++ {
		runtime.GC()
		if n = runtime.NumGoroutine(); n <= want {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

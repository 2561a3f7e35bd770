package scripts

// examples_test.go: the examples of issue 11 item 16 — --help everywhere,
// bench.lua on a file that is no zone, RFC 2308 TTLs in negative answers,
// the forwarder's upstream timeout (-t), and servers that end on SIGTERM,
// also as the first process of a PID namespace (a container's PID 1).

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExamplesHelp: every example answers --help and -h with its usage
// and status 0, without running.
func TestExamplesHelp(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "examples", "*.lua"))
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		for _, h := range []string{"--help", "-h"} {
			r := ljdns(t, "examples/"+filepath.Base(f), h)
			mustOK(t, r, filepath.Base(f)+" "+h)
			if !strings.HasPrefix(r.stdout, "Usage: ") || strings.Count(r.stdout, "\n") > 20 || r.stderr != "" {
				t.Errorf("%s %s: stdout\n%s\nstderr\n%s", filepath.Base(f), h, r.stdout, r.stderr)
			}
		}
	}
}

// TestBenchNotAZone: bench.lua on a file that is no zone (or has an error,
// or no records) says so on one line and exits 1 instead of measuring.
func TestBenchNotAZone(t *testing.T) {
	dir := t.TempDir()
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7 + i/13)
	}
	files := map[string]string{
		"garbage.zone": string(garbage),
		"text.zone":    "this is not a zone\n",
		"late.zone":    "$ORIGIN t.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nbad A 1.2.3\n",
		"empty.zone":   "; nothing\n",
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		r := ljdns(t, "examples/bench.lua", path)
		oneLine(t, r, "bench: ")
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, name) {
			t.Errorf("%s: exit %d\nstdout %q\nstderr %q", name, r.code, r.stdout, r.stderr)
		}
	}
	r := ljdns(t, "examples/bench.lua", filepath.Join(dir, "missing.zone"))
	oneLine(t, r, "bench: ")
}

// TestNegativeAnswerTTL: NXDOMAIN and NODATA answers of server.lua and
// responder.lua carry the SOA with min(SOA TTL, MINIMUM) as TTL (RFC 2308
// §3), as knotd's do.
func TestNegativeAnswerTTL(t *testing.T) {
	needBins(t, "knotd")
	dir := t.TempDir()
	zones := map[string]string{
		// SOA TTL 3600 above MINIMUM 300, and 60 below it.
		"min.example": "$ORIGIN min.example.\n$TTL 3600\n@ SOA ns h 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.1\n*.wild 120 A 192.0.2.9\n",
		"ttl.example": "$ORIGIN ttl.example.\n$TTL 3600\n@ 60 SOA ns h 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.1\n",
	}
	for z, text := range zones {
		if err := os.WriteFile(filepath.Join(dir, z+".zone"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kport := freePort(t)
	startKnot(t, knotConfig{port: kport, zonesDir: dir, primaries: []string{"min.example", "ttl.example"}})
	queries := map[string][][]string{
		"min.example": {{"nx.min.example", "A"}, {"ns.min.example", "MX"}, {"min.example", "TXT"}, {"x.wild.min.example", "MX"}},
		"ttl.example": {{"nx.ttl.example", "A"}, {"ns.ttl.example", "AAAA"}},
	}
	for z, qs := range queries {
		sport, _ := startServer(t, filepath.Join(dir, z+".zone"))
		rport := freePort(t)
		rlog := background(t, ljdnsBin, "examples/responder.lua", "-q", "-p", strconv.Itoa(rport), filepath.Join(dir, z+".zone"))
		waitTCP(t, rport, rlog)
		for _, q := range qs {
			kr := ljdns(t, append([]string{"ldig", "@127.0.0.1", "-p", strconv.Itoa(kport)}, q...)...)
			mustOK(t, kr, "ldig to knotd")
			ks, ksec := digSections(t, kr.stdout)
			if len(ksec["AUTHORITY"]) != 1 {
				t.Fatalf("knotd %v: %s", q, kr.stdout)
			}
			servers := map[string]int{"server.lua": sport}
			if !strings.HasPrefix(q[0], "x.wild") { // responder.lua has no wildcards
				servers["responder.lua"] = rport
			}
			for name, port := range servers {
				r := ljdns(t, append([]string{"ldig", "@127.0.0.1", "-p", strconv.Itoa(port)}, q...)...)
				mustOK(t, r, "ldig to "+name)
				s, sec := digSections(t, r.stdout)
				if s != ks || strings.Join(sec["AUTHORITY"], "\n") != strings.Join(ksec["AUTHORITY"], "\n") {
					t.Errorf("%s %v: %s %v, knotd %s %v", name, q, s, sec["AUTHORITY"], ks, ksec["AUTHORITY"])
				}
			}
		}
	}
}

// TestForwarderTimeout: with -t, an upstream that never answers (UDP or
// TCP) gets the client a SERVFAIL, not silence.
func TestForwarderTimeout(t *testing.T) {
	port := freePort(t)
	p := strconv.Itoa(port)
	// A black hole: reads datagrams, accepts connections, answers nothing.
	pc, err := net.ListenPacket("udp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(); l.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	fport := freePort(t)
	log := background(t, ljdnsBin, "examples/forwarder.lua", "-q", "-t", "1", "-l", fmt.Sprintf("127.0.0.1#%d", fport), "127.0.0.1#"+p)
	waitTCP(t, fport, log)
	for _, extra := range []string{"+notcp", "+tcp"} {
		r := ljdns(t, "ldig", "@127.0.0.1", "-p", strconv.Itoa(fport), "+timeout=30", "+tries=1", extra, "example.com", "A")
		mustOK(t, r, "ldig via the forwarder "+extra)
		if !strings.Contains(r.stdout, "status: SERVFAIL") {
			t.Errorf("%s: %s", extra, r.stdout)
		}
	}
}

// TestServersExitOnSIGTERM: server.lua, responder.lua, forwarder.lua and
// namepile end on SIGTERM, as ordinary processes and as the first process
// of a PID namespace (what `docker stop` meets), with an idle client
// connection open. A regression guard: a signal handler added to the host
// for scripts (as serve has one) must keep this true.
func TestServersExitOnSIGTERM(t *testing.T) {
	zone := filepath.Join(zonesDir(), "example.com.zone")
	servers := map[string]func(port int) []string{
		"server.lua": func(port int) []string {
			return []string{"examples/server.lua", "-q", "-l", fmt.Sprintf("127.0.0.1#%d", port), zone}
		},
		"responder.lua": func(port int) []string {
			return []string{"examples/responder.lua", "-q", "-p", strconv.Itoa(port), zone}
		},
		"forwarder.lua": func(port int) []string {
			return []string{"examples/forwarder.lua", "-q", "-l", fmt.Sprintf("127.0.0.1#%d", port), "127.0.0.1#9"}
		},
		"namepile": func(port int) []string {
			return []string{"namepile", "-q", zonesDir(), fmt.Sprintf("@127.0.0.1#%d", port)}
		},
	}
	pidns := exec.Command("unshare", "-pf", "--kill-child", "true").Run() == nil
	for name, args := range servers {
		for _, asInit := range []bool{false, true} {
			if asInit && !pidns {
				t.Logf("unshare -p refused: %s not tested as PID 1 of a namespace", name)
				continue
			}
			port := freePort(t)
			cmd := exec.Command(ljdnsBin, args(port)...)
			if asInit {
				cmd = exec.Command("unshare", append([]string{"-pf", "--kill-child", ljdnsBin}, args(port)...)...)
			}
			cmd.Dir = repoRoot
			out := &syncBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			waitTCP(t, port, out)
			idle, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			pid := cmd.Process.Pid
			if asInit {
				pid = childOf(t, pid)
			}
			syscall.Kill(pid, syscall.SIGTERM)
			// Liveness, not speed: a server that ignores SIGTERM would run
			// until killed; docker waits 10 s before its SIGKILL.
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				syscall.Kill(pid, syscall.SIGKILL)
				<-done
				t.Errorf("%s (PID 1 of a namespace: %v) did not end on SIGTERM\n%s", name, asInit, out.String())
			}
			idle.Close()
		}
	}
}

// childOf returns the only child of process pid.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		t.Fatalf("process %d has children %q", pid, f)
	}
	c, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

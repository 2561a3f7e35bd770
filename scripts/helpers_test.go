package scripts

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// ljdnsBin is the binary built once by TestMain; repoRoot the module root.
var ljdnsBin, repoRoot string

func TestMain(m *testing.M) {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	repoRoot = filepath.Dir(wd)
	tmp, err := os.MkdirTemp("", "ljdns-scripts-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ljdnsBin = filepath.Join(tmp, "ljdns")
	build := exec.Command("go", "build", "-o", ljdnsBin, "./cmd/ljdns")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building ljdns: %v\n%s", err, out)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// result is the outcome of one command.
type result struct {
	stdout, stderr string
	code           int
}

// safetyTimeout only keeps a broken peer from hanging the whole run.
const safetyTimeout = 5 * time.Minute

// run executes name with args in the repository root.
func run(t *testing.T, stdin string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safetyTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = repoRoot
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	return result{out.String(), errb.String(), code}
}

// ljdns runs the binary under test.
func ljdns(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, "", ljdnsBin, args...)
}

// mustOK fails the test unless r exited with status 0.
func mustOK(t *testing.T, r result, what string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", what, r.code, r.stdout, r.stderr)
	}
}

// needBins skips the test when a peer program is not installed.
func needBins(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not installed", n)
		}
	}
}

// syncBuffer collects the output of a background process.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// background starts a long-running process, stopped (by PID) when the
// test ends; its output is logged on failure.
func background(t *testing.T, name string, args ...string) *syncBuffer {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = repoRoot
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("output of %s %v:\n%s", name, args, out.String())
		}
	})
	return out
}

// freePort returns a port free for both TCP and UDP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// waitTCP waits until something accepts connections on port.
func waitTCP(t *testing.T, port int, log *syncBuffer) {
	t.Helper()
	for i := 0; i < 600; i++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := ""
	if log != nil {
		out = log.String()
	}
	t.Fatalf("nothing listens on port %d\n%s", port, out)
}

// knotConfig describes a knotd instance for a test.
type knotConfig struct {
	port      int
	zonesDir  string   // zone files NAME.zone
	primaries []string // zones served from files
	// secondaries are zones transferred from primaryAddr ("127.0.0.1@port").
	secondaries []string
	primaryAddr string
	key         string // "name:alg:secret" (optional)
}

// startKnot writes a configuration into a temporary directory, starts
// knotd and waits until it listens. It returns the config path.
func startKnot(t *testing.T, kc knotConfig) string {
	t.Helper()
	needBins(t, "knotd")
	dir := t.TempDir()
	for _, d := range []string{"run", "db", "sec"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n    rundir: %q\n    listen: 127.0.0.1@%d\n", filepath.Join(dir, "run"), kc.port)
	b.WriteString("    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n")
	b.WriteString("log:\n  - target: stderr\n    any: info\n")
	fmt.Fprintf(&b, "database:\n    storage: %q\n", filepath.Join(dir, "db"))
	keyName, alg, secret := "", "", ""
	if kc.key != "" {
		parts := strings.SplitN(kc.key, ":", 3)
		keyName, alg, secret = parts[0], parts[1], parts[2]
		fmt.Fprintf(&b, "key:\n  - id: %s\n    algorithm: %s\n    secret: %s\n", keyName, alg, secret)
		fmt.Fprintf(&b, "acl:\n  - id: xfr\n    action: transfer\n    key: %s\n", keyName)
	} else {
		b.WriteString("acl:\n  - id: xfr\n    action: transfer\n    address: 127.0.0.0/8\n")
	}
	if kc.primaryAddr != "" {
		fmt.Fprintf(&b, "remote:\n  - id: primary\n    address: %s\n", kc.primaryAddr)
		if keyName != "" {
			fmt.Fprintf(&b, "    key: %s\n", keyName)
		}
	}
	fmt.Fprintf(&b, "template:\n  - id: default\n    storage: %q\n    file: \"%%s.zone\"\n", kc.zonesDir)
	b.WriteString("    zonefile-sync: -1\n    journal-content: none\n    semantic-checks: off\n")
	b.WriteString("zone:\n")
	for _, z := range kc.primaries {
		fmt.Fprintf(&b, "  - domain: %s\n    acl: xfr\n", z)
	}
	for _, z := range kc.secondaries {
		fmt.Fprintf(&b, "  - domain: %s\n    master: primary\n    acl: xfr\n    storage: %q\n    zonefile-load: none\n",
			z, filepath.Join(dir, "sec"))
	}
	conf := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	log := background(t, "knotd", "-c", conf)
	waitTCP(t, kc.port, log)
	return conf
}

// rrKey normalises one record: lowercase owner, class, TTL, type and the
// uncompressed RDATA wire in hex, so differences in text formatting
// between tools do not matter.
func rrKey(rr dns.RR) string {
	h := rr.Header()
	buf := make([]byte, 65536)
	off, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return "unpackable:" + rr.String()
	}
	nameLen := 0
	for nameLen < off && buf[nameLen] != 0 {
		nameLen += int(buf[nameLen]) + 1
	}
	nameLen++
	rdata := buf[nameLen+10 : off]
	return fmt.Sprintf("%s %d %s %s", strings.ToLower(h.Name), h.Ttl, dns.TypeToString[h.Rrtype]+"/"+strconv.Itoa(int(h.Rrtype)), hex.EncodeToString(rdata))
}

// parseRRLine parses one presentation-format RR line (class optional).
func parseRRLine(line string) (dns.RR, error) {
	rr, err := dns.NewRR(line)
	if err == nil && rr == nil {
		err = errors.New("empty record")
	}
	return rr, err
}

// zoneRecords parses presentation text (a zone, or tool output after
// comments were removed) into normalised record keys.
func zoneRecords(t *testing.T, text string) []string {
	t.Helper()
	var keys []string
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), ";") || isTSIG(line) {
			continue
		}
		rr, err := parseRRLine(line)
		if err != nil {
			t.Fatalf("cannot parse record %q: %v", line, err)
		}
		keys = append(keys, rrKey(rr))
	}
	sort.Strings(keys)
	return keys
}

// zoneFileRecords parses a zone file with miekg/dns.
func zoneFileRecords(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zp := dns.NewZoneParser(f, "", path)
	var keys []string
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		keys = append(keys, rrKey(rr))
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

// sameRecords reports the differences between two sorted key lists.
func sameRecords(t *testing.T, what string, want, got []string) {
	t.Helper()
	if strings.Join(want, "\n") == strings.Join(got, "\n") {
		return
	}
	wm := map[string]int{}
	for _, k := range want {
		wm[k]++
	}
	for _, k := range got {
		wm[k]--
	}
	var diff []string
	for k, n := range wm {
		if n > 0 {
			diff = append(diff, "missing: "+k)
		} else if n < 0 {
			diff = append(diff, "extra:   "+k)
		}
	}
	sort.Strings(diff)
	if len(diff) > 20 {
		diff = append(diff[:20], "...")
	}
	t.Fatalf("%s: records differ (want %d, got %d):\n%s", what, len(want), len(got), strings.Join(diff, "\n"))
}

var statusRE = regexp.MustCompile(`status: ([A-Z0-9]+)`)

// digSections splits dig-like text (ldig's or kdig's) into the response
// status and the normalised records of each section.
func digSections(t *testing.T, out string) (string, map[string][]string) {
	t.Helper()
	status := ""
	if m := statusRE.FindStringSubmatch(out); m != nil {
		status = m[1]
	}
	secs := map[string][]string{}
	cur := ""
	for _, line := range strings.Split(out, "\n") {
		trim := strings.TrimSpace(line)
		switch {
		case trim == "":
			continue
		case strings.HasPrefix(trim, ";; ANSWER"):
			cur = "ANSWER"
		case strings.HasPrefix(trim, ";; AUTHORITY"):
			cur = "AUTHORITY"
		case strings.HasPrefix(trim, ";; ADDITIONAL"):
			cur = "ADDITIONAL"
		case strings.HasPrefix(trim, ";"):
			cur = ""
		case cur != "":
			rr, err := parseRRLine(line)
			if err != nil {
				t.Fatalf("cannot parse %q: %v\n%s", line, err, out)
			}
			secs[cur] = append(secs[cur], rrKey(rr))
		}
	}
	for k := range secs {
		sort.Strings(secs[k])
	}
	return status, secs
}

// oneLine checks that a failing tool printed exactly one clear line.
func oneLine(t *testing.T, r result, prefix string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("expected a non-zero exit, got 0\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	msg := strings.TrimRight(r.stderr, "\n")
	if strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, prefix) ||
		strings.Contains(msg, "traceback") || strings.Contains(msg, ".lua:") {
		t.Fatalf("want one line starting with %q on stderr, got:\n%s", prefix, r.stderr)
	}
}

// genZone writes a generated zone of n records and returns its path.
func genZone(t *testing.T, dir string, n int, origin string) string {
	t.Helper()
	needBins(t, "python3")
	gen := filepath.Join(repoRoot, "scripts", "testdata", "genzone.py")
	path := filepath.Join(dir, strings.TrimSuffix(origin, ".")+".zone")
	r := run(t, "", "python3", gen, "--records", strconv.Itoa(n), "--origin", origin, "-o", path)
	mustOK(t, r, "genzone")
	return path
}

// isTSIG tells a TSIG record line (printed by kdig after each signed
// message), which is no zone content.
func isTSIG(line string) bool {
	f := strings.Fields(line)
	for i := 1; i < len(f) && i < 4; i++ {
		if f[i] == "TSIG" {
			return true
		}
	}
	return false
}

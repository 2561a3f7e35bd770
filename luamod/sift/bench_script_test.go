package sift_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"ljdns/host"
)

// repoRoot is the repository root relative to this package.
const repoRoot = "../.."

// writeZone writes a synthetic zone of n records: the shared genzone.py
// when python3 and the script are there, else a small Go generator.
func writeZone(t *testing.T, path string, n int) {
	t.Helper()
	gen := filepath.Join(repoRoot, "..", "shared", "bench", "genzone.py")
	if _, err := os.Stat(gen); err == nil {
		if py, err := exec.LookPath("python3"); err == nil {
			cmd := exec.Command(py, gen, "--records", fmt.Sprint(n), "-o", path)
			if out, err := cmd.CombinedOutput(); err == nil {
				return
			} else {
				t.Logf("genzone.py failed (%v): %s; using the Go generator", err, out)
			}
		}
	}
	var b bytes.Buffer
	b.WriteString("$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n")
	for i := 3; i < n; i++ {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "h%06d 300 IN A 10.%d.%d.%d\n", i, i>>16&255, i>>8&255, i&255)
		case 1:
			fmt.Fprintf(&b, "h%06d IN AAAA 2001:db8::%x:%x\n", i, i>>16, i&0xffff)
		case 2:
			fmt.Fprintf(&b, "h%06d IN MX 10 mx%d\n", i, i%10)
		default:
			fmt.Fprintf(&b, "h%06d IN TXT \"host %d\"\n", i, i)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBenchScript runs examples/bench.lua unchanged on a 100k-record zone
// and checks that every stage completes and prints its figures (no timing
// assertions: this is a test, not a measurement).
func TestBenchScript(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	zone := filepath.Join(work, "zone100k.txt")
	writeZone(t, zone, 100000)
	t.Chdir(work)
	t.Setenv("LUA_PATH", root+"/?.lua;;") // spec.helper from the repository
	t.Setenv("BENCH_STAGES", "")
	os.Unsetenv("BENCH_STAGES")

	out := filepath.Join(work, "bench.out")
	L := host.New(host.Options{})
	defer L.Close()
	// Send print/io.write output to a file so the test can read it.
	if err := L.DoString(fmt.Sprintf(`io.output(%q)
		local write = io.write
		print = function (...)
			local t = {...}
			for i = 1, select('#', ...) do t[i] = tostring(t[i]) end
			write(table.concat(t, '\t'), '\n')
		end`, out)); err != nil {
		t.Fatal(err)
	}
	arg := L.NewTable()
	arg.RawSetInt(0, lua.LString("examples/bench.lua"))
	arg.RawSetInt(1, lua.LString(zone))
	L.SetGlobal("arg", arg)
	fn, err := host.LoadFile(L, filepath.Join(root, "examples", "bench.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Call(L, fn); err != nil {
		t.Fatal(host.FormatError(err))
	}
	L.DoString(`io.output():close()`)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	t.Log("\n" + text)
	for _, stage := range []string{"nameset", "sortedset", "lmdb"} {
		re := regexp.MustCompile(`(?s)bench: ` + stage + `\nload: [0-9.]+ msec \(100000 rrs\)\n` +
			`(sort: in [0-9.]+ msec\n)?search #1: [0-9]+ ops/sec\nsearch #2: [0-9]+ ops/sec\nsearch #3: [0-9]+ ops/sec\n`)
		if !re.MatchString(text) {
			t.Errorf("stage %s missing or incomplete", stage)
		}
	}
	if !strings.Contains(text, "bench: signer") {
		t.Errorf("signer stage missing")
	} else if !strings.Contains(text, "skipped") && !regexp.MustCompile(`ecdsa sign: [0-9]+ ops/sec`).MatchString(text) {
		t.Errorf("signer stage printed no figures")
	}
	if _, err := os.Stat(filepath.Join(work, ".tmpbench")); err == nil {
		t.Errorf(".tmpbench left behind")
	}
}

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ljdns-cmd")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ljdns")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func ljdns(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func writeScript(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.lua")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLI(t *testing.T) {
	args := writeScript(t, "print(#arg, arg[0] ~= nil, arg[1], arg[2], arg[-1] ~= nil, select('#', ...), ...)")
	failing := writeScript(t, "local x = 1\nerror('boom')\n")
	syntax := writeScript(t, "local = 1\n")
	exits := writeScript(t, "io.write('partial') os.exit(3)")
	mod := filepath.Join(t.TempDir(), "mymod.lua")
	os.WriteFile(mod, []byte("return {answer = 42}"), 0o644)
	cases := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantOut    string // substring of stdout
		wantErr    string // substring of stderr
		oneLineErr bool
	}{
		{name: "arg table and varargs", args: []string{args, "a", "b"}, wantOut: "2\ttrue\ta\tb\ttrue\t2\ta\tb\n"},
		{name: "-e", args: []string{"-e", "print(1 + 1)"}, wantOut: "2\n"},
		{name: "-e then script", args: []string{"-e", "x = 5", writeScript(t, "print(x)")}, wantOut: "5\n"},
		{name: "-l", args: []string{"-l", "jit", "-e", "print(type(package.loaded.jit))"}, wantOut: "table\n"},
		{name: "script from stdin", stdin: "print('from stdin', ...)", args: []string{"-", "z"}, wantOut: "from stdin\tz\n"},
		{name: "LUA_PATH require", args: []string{"-e", "print(require('mymod').answer)"}, wantOut: "42\n"},
		{name: "version", args: []string{"version"}, wantOut: "ljdns "},
		{name: "help", args: []string{"--help"}, wantOut: "usage: ljdns"},
		{name: "os.exit flushes", args: []string{exits}, wantCode: 3, wantOut: "partial"},
		{name: "runtime error", args: []string{failing}, wantCode: 1, wantErr: "s.lua:2: boom\nstack traceback:"},
		{name: "syntax error", args: []string{syntax}, wantCode: 1, wantErr: "s.lua", oneLineErr: true},
		{name: "missing file", args: []string{"/nonexistent/x.lua"}, wantCode: 1, wantErr: "cannot open /nonexistent/x.lua", oneLineErr: true},
		{name: "directory as script", args: []string{t.TempDir()}, wantCode: 1, wantErr: "cannot open", oneLineErr: true},
		{name: "bad option", args: []string{"--bogus"}, wantCode: 1, wantErr: "unrecognized option '--bogus'"},
		{name: "-e without code", args: []string{"-e"}, wantCode: 1, wantErr: "needs an argument", oneLineErr: true},
		{name: "-l missing module", args: []string{"-l", "no.such.mod"}, wantCode: 1, wantErr: "module no.such.mod not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "LUA_PATH require" {
				t.Setenv("LUA_PATH", filepath.Join(filepath.Dir(mod), "?.lua")+";;")
			}
			r := ljdns(t, c.stdin, c.args...)
			if r.code != c.wantCode {
				t.Fatalf("exit %d, want %d (stderr %q)", r.code, c.wantCode, r.stderr)
			}
			if !strings.Contains(r.stdout, c.wantOut) {
				t.Fatalf("stdout %q does not contain %q", r.stdout, c.wantOut)
			}
			if !strings.Contains(r.stderr, c.wantErr) {
				t.Fatalf("stderr %q does not contain %q", r.stderr, c.wantErr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, ".go:") {
				t.Fatalf("stderr shows a Go trace: %q", r.stderr)
			}
			if c.oneLineErr && strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Fatalf("stderr is not one line: %q", r.stderr)
			}
		})
	}
}

// TestGoPanicReported checks that a Go panic in a function Lua calls —
// even one not wrapped by luabind.Guard — is reported as a Lua error with
// a traceback and exit status 1, never a Go stack trace.
func TestGoPanicReported(t *testing.T) {
	orig := newState
	defer func() { newState = orig }()
	newState = func() *lua.LState {
		L := orig()
		L.SetGlobal("gopanic", L.NewFunction(func(L *lua.LState) int {
			var p *struct{ x int }
			return p.x // nil dereference
		}))
		return L
	}
	stderr := captureStderr(t, func() {
		if code := run([]string{writeScript(t, "local function f() gopanic() end\nf()\n")}); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
	})
	if !strings.Contains(stderr, "internal error") || !strings.Contains(stderr, "nil pointer dereference") {
		t.Fatalf("stderr %q lacks the panic report", stderr)
	}
	if strings.Contains(stderr, "goroutine ") {
		t.Fatalf("stderr shows a Go trace: %q", stderr)
	}
}

func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		var b bytes.Buffer
		b.ReadFrom(r)
		done <- b.String()
	}()
	f()
	os.Stderr = old
	w.Close()
	return <-done
}

// TestREPL drives the real binary in tmux as a person would.
func TestREPL(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed")
	}
	home := t.TempDir()
	sock := filepath.Join(home, "tmux.sock")
	tmux := func(args ...string) string {
		out, _ := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		return string(out)
	}
	if out, err := exec.Command("tmux", "-S", sock, "new-session", "-d", "-x", "120", "-y", "40",
		"env", "HOME="+home, "TERM=xterm", binary).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	defer tmux("kill-server")
	screen := func() string { return tmux("capture-pane", "-p") }
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(screen(), want) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("screen never showed %q:\n%s", want, screen())
	}
	send := func(keys ...string) { tmux(append([]string{"send-keys", "-t", "0"}, keys...)...) }
	waitFor("LuaJIT-compatible")
	send("1 + 41", "Enter")
	waitFor("42")
	send("= 'ab' .. 'cd'", "Enter")
	waitFor("abcd")
	send("function twice(x)", "Enter")
	waitFor(">>")
	send("return 2 * x end", "Enter")
	send("twice(21.5)", "Enter")
	waitFor("43")
	send("error('oops')", "Enter")
	waitFor("oops")
	send("while true do end", "Enter")
	time.Sleep(300 * time.Millisecond)
	send("C-c")
	waitFor("interrupted")
	send("print('still' .. ' alive')", "Enter")
	waitFor("still alive")
	send("Up")
	waitFor("print('still' .. ' alive')")
	send("C-u", "C-d")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if !strings.Contains(tmux("list-sessions"), "windows") {
			return // the REPL exited on Ctrl-D
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("REPL did not exit on Ctrl-D:\n%s", screen())
}

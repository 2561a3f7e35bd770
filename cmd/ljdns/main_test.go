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
	// ljdns serve now recurses from the root hints: tests never reach past loopback.
	if os.Getenv("LJDNS_OUTGOING_ALLOW") == "" {
		os.Setenv("LJDNS_OUTGOING_ALLOW", "127.0.0.0/8,::1/128")
	}
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
		// issue 11: arg is a table with -e, as luajit's createargtable makes it
		{name: "-e arg table", args: []string{"-e", "print(type(arg), #arg, arg[0], arg[-1] ~= nil, arg[-2])"},
			wantOut: "table\t0\tnil\ttrue\t-e\n"},
		{name: "-e sees the script's arg", args: []string{"-e", "print(arg[0] == nil, arg[1], arg[-2])", args, "z"},
			wantOut: "false\tz\t-e\n"},
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

// tmuxREPL is the real binary's REPL running in a detached tmux session.
type tmuxREPL struct {
	t    *testing.T
	sock string
}

// startREPL starts `ljdns args...` in tmux with a fresh HOME (history).
func startREPL(t *testing.T, args ...string) *tmuxREPL {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed")
	}
	home := t.TempDir()
	r := &tmuxREPL{t: t, sock: filepath.Join(home, "tmux.sock")}
	cmd := append([]string{"-S", r.sock, "new-session", "-d", "-x", "120", "-y", "50",
		"env", "HOME=" + home, "TERM=xterm", binary}, args...)
	if out, err := exec.Command("tmux", cmd...).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() { r.tmux("kill-server") })
	r.waitLine("LuaJIT-compatible", 1, strings.Contains)
	return r
}

func (r *tmuxREPL) tmux(args ...string) string {
	out, _ := exec.Command("tmux", append([]string{"-S", r.sock}, args...)...).CombinedOutput()
	return string(out)
}

// screen is the pane with its history, one string per line.
func (r *tmuxREPL) screen() []string {
	return strings.Split(r.tmux("capture-pane", "-p", "-S", "-1000"), "\n")
}

func (r *tmuxREPL) send(keys ...string) { r.tmux(append([]string{"send-keys", "-t", "0"}, keys...)...) }

// line types s and Enter.
func (r *tmuxREPL) line(s string) { r.send(s, "Enter") }

// waitLine waits until n lines of the screen match want (match(line,
// want)); the REPL echoes what is typed after its prompt "> ", so a whole
// line equal to want is output, never the input that asked for it.
func (r *tmuxREPL) waitLine(want string, n int, match func(line, want string) bool) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		count := 0
		for _, l := range r.screen() {
			if match(strings.TrimRight(l, " "), want) {
				count++
			}
		}
		if count >= n {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("screen never showed %q (%d times):\n%s", want, n, strings.Join(r.screen(), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// equal compares a screen line with the output wanted; the terminal's echo
// of a Ctrl-C ("^C") may precede the output on its line.
func equal(line, want string) bool { return strings.TrimPrefix(line, "^C") == want }

// output waits for the n-th line that is exactly want.
func (r *tmuxREPL) output(want string, n int) {
	r.t.Helper()
	r.waitLine(want, n, equal)
}

// TestREPL drives the real binary in tmux as a person would. Every wait is
// for a line of output that differs from what was typed.
func TestREPL(t *testing.T) {
	r := startREPL(t)
	r.line("1 + 41")
	r.output("42", 1)
	r.line("= 'ab' .. 'cd'")
	r.output("abcd", 1)
	r.line("function twice(x)")
	r.output(">> ", 0) // the continuation prompt may carry the cursor
	r.waitLine(">>", 1, strings.HasPrefix)
	r.line("return 2 * x end")
	r.line("twice(21.5)")
	r.output("43", 1)
	// issue 11: every runtime error printed "interrupted"
	r.line("error('oops')")
	r.output("stdin:1: oops", 1)
	r.line("io.stderr:write('spinning', '\\n') while true do end")
	r.output("spinning", 1)
	r.send("C-c")
	r.output("interrupted", 1)
	r.line("print('still' .. ' alive')")
	r.output("still alive", 1)
	r.send("Up")
	r.output("> print('still' .. ' alive')", 2)
	r.send("C-u", "C-d")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !strings.Contains(r.tmux("list-sessions"), "windows") {
			return // the REPL exited on Ctrl-D
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("REPL did not exit on Ctrl-D:\n%s", strings.Join(r.screen(), "\n"))
}

// TestREPLInterrupts is issue 11's REPL list: coroutines made on one line
// run on a later one; Ctrl-C ends nb.run() and io.read() waits; a line
// typed while a chunk runs is not lost; a syntax error quoting EOF is an
// error, not incomplete input; arg is a table.
func TestREPLInterrupts(t *testing.T) {
	r := startREPL(t)
	r.line("nb = require('dns.nbio')")
	r.line("nb.go(function() nb.sleep(0.01) print('slept') end)")
	r.waitLine("thread: ", 1, strings.HasPrefix)
	r.line("= nb.run(10)")
	r.output("slept", 1)
	r.output("true", 1)

	r.line("u = nb.socket('inet', 'dgram') u:bind('127.0.0.1', 0) nb.go(function() u:receive() end)")
	r.line("io.stderr:write('waiting in run', '\\n') nb.run()")
	r.output("waiting in run", 1)
	r.send("C-c")
	r.output("interrupted", 1)

	r.line("io.stderr:write('reading', '\\n') line = io.read()")
	r.output("reading", 1)
	r.send("C-c")
	r.output("interrupted", 2)

	r.line("io.stderr:write('busy', '\\n') while true do end")
	r.output("busy", 1)
	r.line("print('typed' .. ' ahead')") // echoed by the terminal while the chunk runs
	r.output("print('typed' .. ' ahead')", 1)
	r.send("C-c")
	r.output("interrupted", 3)
	r.output("typed ahead", 1)

	r.line("x = 1 EOF EOF") // a syntax error, complete: the next line runs on its own
	r.line("= 6 * 7 + 1")
	r.output("43", 1)

	r.line("= type(arg) .. ' ' .. #arg .. ' ' .. tostring(arg[-1] ~= nil)")
	r.output("table 0 true", 1)
	r.line("io.stderr:write('type a line', '\\n') got = io.read()")
	r.output("type a line", 1)
	r.line("from io.read")
	r.line("= '[' .. got .. ']'")
	r.output("[from io.read]", 1)
}

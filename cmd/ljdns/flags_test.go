package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLuaJITCommandLine checks the luajit(1) command-line forms scripts
// and wrappers use: -lMOD attached, -v printing the version and going
// on, -j/-O accepted, and a UTF-8 byte order mark before a script.
func TestLuaJITCommandLine(t *testing.T) {
	dir := t.TempDir()
	bom := filepath.Join(dir, "bom.lua")
	os.WriteFile(bom, []byte("\xef\xbb\xbfprint('bom ok', ...)\n"), 0o644)
	bomShebang := filepath.Join(dir, "bom2.lua")
	os.WriteFile(bomShebang, []byte("\xef\xbb\xbf#!/usr/bin/env luajit\nprint('line', debug.getinfo(1, 'l').currentline)\n"), 0o644)
	cases := []struct {
		name, wantOut string
		args          []string
	}{
		{"-l attached", "table\n", []string{"-ljit", "-e", "print(type(jit))"}},
		{"-l attached module", "number\n", []string{"-ldns", "-e", "print(type(package.loaded.dns.type.AAAA))"}},
		{"-v then script", "ljdns 0.1.0", []string{"-v", "-e", "print('ran')"}},
		{"-v then -e output", "ran\n", []string{"-v", "-e", "print('ran')"}},
		{"-j and -O ignored", "ok\n", []string{"-joff", "-j", "on", "-O3", "-O", "-e", "print('ok')"}},
		{"BOM before script", "bom ok\tx\n", []string{bom, "x"}},
		{"BOM and #! line", "line\t2\n", []string{bomShebang}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ljdns(t, "", c.args...)
			if r.code != 0 {
				t.Fatalf("exit %d (stderr %q)", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, c.wantOut) {
				t.Fatalf("stdout %q does not contain %q", r.stdout, c.wantOut)
			}
		})
	}
}

// TestLuaJITErrorReports checks what an uncaught error prints, against
// luajit(1)'s report (its "luajit: " prefix is "ljdns: " here, and its
// last "[C]: at 0x..." line is "[C]: ?").
func TestLuaJITErrorReports(t *testing.T) {
	dir := t.TempDir()
	script := func(name, src string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(src), 0o644)
		return p
	}
	cases := []struct {
		name, path, want string
	}{
		{"error object with __tostring",
			script("e1.lua", "local function inner() error(setmetatable({}, {__tostring = function() return 'TS' end})) end\ninner()\n"),
			"ljdns: TS\nstack traceback:\n\t[C]: in function 'error'\n\t" + dir + "/e1.lua:1: in function 'inner'\n\t" + dir + "/e1.lua:2: in main chunk\n\t[C]: ?\n"},
		{"error object without __tostring", script("e3.lua", "error({})\n"), "ljdns: (error object is not a string)\n"},
		{"runtime error names the variable",
			script("e2.lua", "local function inner() local t = nil; return t.x end\nlocal function outer() return inner() + 1 end\nouter()\n"),
			"ljdns: " + dir + "/e2.lua:1: attempt to index local 't' (a nil value)\nstack traceback:\n\t" + dir + "/e2.lua:1: in function 'inner'\n\t" +
				dir + "/e2.lua:2: in function 'outer'\n\t" + dir + "/e2.lua:3: in main chunk\n\t[C]: ?\n"},
		{"stack overflow", script("so.lua", "local function f() return 1 + f() end\nf()\n"), "ljdns: " + dir + "/so.lua:1: stack overflow\n"},
		{"syntax error at the end", script("se.lua", "local function f()\n  return 1\n"),
			"ljdns: " + dir + "/se.lua:3: 'end' expected (to close 'function' at line 1) near '<eof>'\n"},
		{"syntax error", script("se2.lua", "x = 1\ny = = 2\n"), "ljdns: " + dir + "/se2.lua:2: unexpected symbol near '='\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ljdns(t, "", c.path)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1 (stderr %q)", r.code, r.stderr)
			}
			got := r.stderr
			if c.name == "stack overflow" {
				got, _, _ = strings.Cut(got, "stack traceback:")
			}
			if got != c.want {
				t.Fatalf("stderr\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

// TestSystemLuaRock loads a pure-Lua rock from the system Lua 5.1
// directory (Debian's lua-dkjson), as luajit does; skipped without it.
func TestSystemLuaRock(t *testing.T) {
	if _, err := os.Stat("/usr/share/lua/5.1/dkjson.lua"); err != nil {
		t.Skip("lua-dkjson not installed")
	}
	r := ljdns(t, "", "-e", `local j = require('dkjson') print(j.encode({a = {1, 2, 0.5}}), j.decode('[1,2,{"x":true}]')[3].x)`)
	if r.code != 0 || r.stdout != "{\"a\":[1,2,0.5]}\ttrue\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

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

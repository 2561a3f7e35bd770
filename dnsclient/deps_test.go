package dnsclient

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestNoLuaDependency checks that dnsclient stands without Lua: no
// package it depends on is gopher-lua or one of ljdns's Lua-side packages
// (SERVE.md §8).
func TestNoLuaDependency(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		gocmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(gocmd, "list", "-deps", "ljdns/dnsclient", "ljdns/tlscreds").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps printed nothing")
	}
	for _, p := range deps {
		if strings.HasPrefix(p, "github.com/yuin/gopher-lua") || p == "ljdns/luabind" ||
			strings.HasPrefix(p, "ljdns/luamod/") || p == "ljdns/host" {
			t.Errorf("ljdns/dnsclient depends on %s", p)
		}
	}
}

package dnssec

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestNoLuaDependency checks that dnssec and the validator stand alone: no
// package they depend on, directly or not, is gopher-lua or one of ljdns's
// Lua-side packages (SERVE.md §8: no arrow back to luamod/).
func TestNoLuaDependency(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		gocmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	pkgs := []string{"ljdns/dnssec/..."}
	if out, err := exec.Command(gocmd, "list", "ljdns/validator/...").CombinedOutput(); err == nil && len(out) > 0 {
		pkgs = append(pkgs, "ljdns/validator/...")
	}
	out, err := exec.Command(gocmd, append([]string{"list", "-deps"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps printed nothing")
	}
	for _, p := range deps {
		if forbiddenDep(p) {
			t.Errorf("%v depends on %s", pkgs, p)
		}
	}
}

// forbiddenDep reports an import path dnssec and validator must not depend on.
func forbiddenDep(p string) bool {
	return strings.HasPrefix(p, "github.com/yuin/gopher-lua") ||
		p == "ljdns/luabind" || strings.HasPrefix(p, "ljdns/luabind/") ||
		strings.HasPrefix(p, "ljdns/luamod/") || p == "ljdns/host" || strings.HasPrefix(p, "ljdns/host/")
}

func TestForbiddenDep(t *testing.T) {
	for p, want := range map[string]bool{
		"github.com/yuin/gopher-lua":       true,
		"github.com/yuin/gopher-lua/parse": true,
		"ljdns/luabind":                    true,
		"ljdns/luamod/dnssec":              true,
		"ljdns/host":                       true,
		"ljdns/dnsmsg":                     false,
		"ljdns/clock":                      false,
		"crypto/rsa":                       false,
	} {
		if got := forbiddenDep(p); got != want {
			t.Errorf("forbiddenDep(%q) = %v, want %v", p, got, want)
		}
	}
}

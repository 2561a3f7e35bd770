package daemon

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestNoLuaDependency checks that daemon and its subpackages stay pure Go:
// nothing they depend on is gopher-lua or one of ljdns's Lua-side packages
// (SERVE.md §8: luamod/serve builds on daemon, never the reverse).
func TestNoLuaDependency(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		gocmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(gocmd, "list", "-deps", "ljdns/daemon/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps printed nothing")
	}
	for _, p := range deps {
		if forbiddenDep(p) {
			t.Errorf("ljdns/daemon/... depends on %s", p)
		}
	}
}

func forbiddenDep(p string) bool {
	return strings.HasPrefix(p, "github.com/yuin/gopher-lua") ||
		p == "ljdns/luabind" || strings.HasPrefix(p, "ljdns/luabind/") ||
		strings.HasPrefix(p, "ljdns/luamod/") || p == "ljdns/host" || strings.HasPrefix(p, "ljdns/host/") ||
		p == "ljdns/cmd/ljdns"
}

func TestForbiddenDep(t *testing.T) {
	for p, want := range map[string]bool{
		"github.com/yuin/gopher-lua": true,
		"ljdns/luamod/serve":         true,
		"ljdns/luamod/nbio":          true,
		"ljdns/host":                 true,
		"ljdns/luabind":              true,
		"ljdns/dnsclient":            false,
		"ljdns/dnsmsg":               false,
		"golang.org/x/net/ipv4":      false,
	} {
		if got := forbiddenDep(p); got != want {
			t.Errorf("forbiddenDep(%q) = %v, want %v", p, got, want)
		}
	}
}

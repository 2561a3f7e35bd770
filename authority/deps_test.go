package authority

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoLuaDependency checks that the engine is pure Go: nothing it
// depends on, directly or not, is gopher-lua or a Lua-side ljdns package.
func TestNoLuaDependency(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil && os.Getenv("GOROOT") != "" {
		gocmd, err = filepath.Join(os.Getenv("GOROOT"), "bin", "go"), nil
	}
	if err != nil {
		t.Fatalf("no go command to list the dependencies: %v", err)
	}
	out, err := exec.Command(gocmd, "list", "-deps", "ljdns/authority").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps printed nothing")
	}
	for _, p := range deps {
		if forbiddenDep(p) {
			t.Errorf("ljdns/authority depends on %s", p)
		}
	}
}

func forbiddenDep(p string) bool {
	return strings.HasPrefix(p, "github.com/yuin/gopher-lua") ||
		p == "ljdns/luabind" || strings.HasPrefix(p, "ljdns/luabind/") ||
		strings.HasPrefix(p, "ljdns/luamod/") || p == "ljdns/luamod" ||
		p == "ljdns/host" || strings.HasPrefix(p, "ljdns/host/")
}

func TestForbiddenDep(t *testing.T) {
	for p, want := range map[string]bool{
		"github.com/yuin/gopher-lua": true,
		"ljdns/luamod/dns":           true,
		"ljdns/host":                 true,
		"ljdns/luabind":              true,
		"ljdns/dnsmsg":               false,
		"ljdns/dnsmsg/zone":          false,
	} {
		if got := forbiddenDep(p); got != want {
			t.Errorf("forbiddenDep(%q) = %v, want %v", p, got, want)
		}
	}
}

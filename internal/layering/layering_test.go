// Package layering holds the one test of the project's import rule
// (SERVE.md §8): the Go packages the daemon and other programs build on
// stay usable without Lua, so none of them may depend, directly or not, on
// gopher-lua or on a Lua-side package of ljdns (luamod/, luabind, host,
// cmd/ljdns).
package layering

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// pureGo lists the package patterns that must stand without Lua. A new
// Lua-free package is added here, not given a copy of this test.
var pureGo = []string{
	"ljdns/authority/...",
	"ljdns/clock/...",
	"ljdns/daemon/...",
	"ljdns/dnsclient/...",
	"ljdns/dnsmsg/...",
	"ljdns/dnssec/...",
	"ljdns/etcdstore/...",
	"ljdns/resolver/...",
	"ljdns/tlscreds/...",
	"ljdns/validator/...",
}

// forbidden reports an import path a Lua-free package must not depend on.
func forbidden(p string) bool {
	under := func(root string) bool { return p == root || strings.HasPrefix(p, root+"/") }
	return under("github.com/yuin/gopher-lua") || under("ljdns/luabind") ||
		under("ljdns/luamod") || under("ljdns/host") || under("ljdns/cmd")
}

func TestForbidden(t *testing.T) {
	for p, want := range map[string]bool{
		"github.com/yuin/gopher-lua":       true,
		"github.com/yuin/gopher-lua/parse": true,
		"ljdns/luabind":                    true,
		"ljdns/luamod/dns":                 true,
		"ljdns/luamod/serve":               true,
		"ljdns/host":                       true,
		"ljdns/cmd/ljdns":                  true,
		"ljdns/hostile":                    false,
		"ljdns/dnsmsg/zone":                false,
		"ljdns/dnsclient":                  false,
		"github.com/miekg/dns":             false,
		"strings":                          false,
	} {
		if got := forbidden(p); got != want {
			t.Errorf("forbidden(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestNoLuaDependency lists the dependencies of every Lua-free package with
// `go list -deps` and fails on each forbidden one, naming who pulls it in.
func TestNoLuaDependency(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		gocmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	touchSources(t)
	for _, pattern := range pureGo {
		// Patterns of packages not written yet match nothing; -e keeps going.
		out, err := exec.Command(gocmd, "list", "-e", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", pattern).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pattern, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) == 0 || lines[0] == "" {
			t.Errorf("go list -deps %s printed nothing", pattern)
			continue
		}
		for _, line := range lines {
			f := strings.Fields(line)
			if len(f) == 0 || forbidden(f[0]) {
				continue
			}
			for _, imp := range f[1:] {
				if forbidden(imp) {
					t.Errorf("%s: %s imports %s", pattern, f[0], imp)
				}
			}
		}
	}
}

// touchSources reads go.mod and every Go file under the repository's root
// so that go test's cache, which tracks the files a test opens, reruns this
// test when any of them changes: `go list` in a child process is invisible
// to it.
func touchSources(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			_, err = os.ReadFile(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

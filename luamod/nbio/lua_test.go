package nbio_test

import (
	"os"
	"testing"

	"ljdns/host"
)

// runLua runs a Lua chunk in a fresh state and fails the test on error.
func runLua(t testing.TB, src string) {
	t.Helper()
	L := host.New(host.Options{})
	defer L.Close()
	fn, err := host.LoadString(L, src, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Call(L, fn); err != nil {
		t.Fatal(host.FormatError(err))
	}
}

func TestDebugScript(t *testing.T) {
	p := os.Getenv("NBIO_SCRIPT")
	if p == "" {
		t.Skip("NBIO_SCRIPT not set")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	runLua(t, string(b))
}

package prefill

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLoad: a zone file becomes record sets (two NS records of one owner
// merged), URLs other than file:// are refused, a broken file is an error.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "root.zone")
	os.WriteFile(p, []byte(". 86400 IN SOA a.root. h.root. 1 2 3 4 5\n. 86400 IN NS a.root.\nexample. 172800 IN NS ns1.example.\nexample. 172800 IN NS ns2.example.\nns1.example. 172800 IN A 127.0.0.9\n"), 0o644)
	sets, err := Load(".", p)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 4 || len(sets[2].RData) != 2 || sets[2].Type != 2 {
		t.Errorf("sets %v", sets)
	}
	if got, err := Path("file://" + p); err != nil || got != p {
		t.Errorf("Path(file://) = %q %v", got, err)
	}
	if _, err := Path("https://www.internic.net/domain/root.zone"); err == nil {
		t.Error("https URL accepted")
	}
	os.WriteFile(p, []byte(". IN BOGUS x\n"), 0o644)
	if _, err := Load(".", p); err == nil {
		t.Error("broken zone accepted")
	}
}

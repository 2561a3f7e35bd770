package serve

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestPolicyRPZReload: policy.rpz(action, path) watches its file (kresd
// watches it too): a new trigger written to the file takes effect in the
// running configuration, a removed one stops applying.
func TestPolicyRPZReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rpz.zone")
	head := "$ORIGIN rpz.local.\n@ 30 SOA ns hm 1 1 1 1 1\n"
	if err := os.WriteFile(path, []byte(head+"old.example 30 CNAME .\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, 1, "policy.add(policy.rpz(policy.DENY, '"+path+"'))", nil)
	if a := r.query(t, "old.example", dns.TypeA, 0); a.Rcode != dns.RcodeNameError {
		t.Fatalf("old.example: %v", a)
	}
	if a := r.query(t, "new.example", dns.TypeA, 0); a.Rcode == dns.RcodeNameError {
		t.Fatalf("new.example before the change: %v", a)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(head+"new.example 30 CNAME .\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for r.query(t, "new.example", dns.TypeA, 0).Rcode != dns.RcodeNameError {
		if time.Now().After(deadline) {
			t.Fatal("the changed RPZ file was not read again")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a := r.query(t, "old.example", dns.TypeA, 0); a.Rcode == dns.RcodeNameError {
		t.Errorf("old.example still blocked: %v", a)
	}
}

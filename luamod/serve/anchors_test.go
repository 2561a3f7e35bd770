package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const rootDS2017 = ". 3600 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D"

// TestTrustAnchors: trust_anchors.* and -k feed the generation's anchor
// store (the resolver's AnchorSource): the built-in root anchors by
// default, add/remove/negative/timers, a missing key file an error unless
// the configuration adds the root's anchors, which then seed it.
func TestTrustAnchors(t *testing.T) {
	r := newRig(t, 2, "", nil)
	st := r.ld.current().TrustAnchors()
	if a := strings.Join(st.Anchors(), "\n"); !strings.Contains(a, "DS 20326 8 2") || !strings.Contains(a, "DS 38696 8 2") {
		t.Fatalf("default anchors %q, want the built-in KSK-2017 and KSK-2024", a)
	}
	if got := r.eval(0, "= trust_anchors.summary():match('built%-in') ~= nil"); got != "true" {
		t.Fatalf("summary of the built-in anchors: %s", got)
	}

	r = newRig(t, 2, `
trust_anchors.add('example. 3600 IN DS 1 8 2 `+strings.Repeat("AB", 32)+`')
trust_anchors.add('`+rootDS2017+`')
trust_anchors.negative = {'bad.boy'}
trust_anchors.set_hold_down_time(10 * sec)
trust_anchors.refresh_time = 5 * sec
trust_anchors.keep_removed = 2
`, nil)
	st = r.ld.current().TrustAnchors()
	if a := st.Anchors(); len(a) != 2 || !strings.Contains(a[0], "20326") || !strings.HasPrefix(a[1], "example. ") {
		t.Fatalf("anchors %q", a)
	}
	if st.HoldDown() != 10*time.Second || st.RefreshTime() != 5*time.Second || st.KeepRemoved() != 2 {
		t.Fatalf("hold-down %v, refresh %v, keep %d", st.HoldDown(), st.RefreshTime(), st.KeepRemoved())
	}
	if n := st.Insecure(); len(n) != 1 || n[0] != "bad.boy" {
		t.Fatalf("negative anchors %v", n)
	}
	for _, c := range []struct{ expr, want string }{
		{"= #trust_anchors.list().anchors", "2"},
		{"= trust_anchors.hold_down_time", "10000"},
		{"= trust_anchors.remove('example.')", "true"},
		{"= trust_anchors.remove('example.')", "false"},
		{"= #trust_anchors.list().anchors", "1"},
		{"= select(2, pcall(trust_anchors.add, 'x. A 1.2.3.4')):match('only DS and DNSKEY') ~= nil", "true"},
	} {
		if got := r.eval(0, c.expr); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}

	// -k with a file that does not exist: no bootstrap over the internet
	keys := filepath.Join(t.TempDir(), "root.keys")
	err := loadErr(t, "", Options{KeyFile: keys})
	if err == nil || !strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("missing key file: %v", err)
	}
	if err := loadErr(t, "trust_anchors.add('"+rootDS2017+"')\n", Options{KeyFile: keys}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(keys)
	if err != nil || !strings.Contains(string(data), "DS 20326 8 2 E06D44B8") || !strings.Contains(string(data), "; Valid:") {
		t.Fatalf("seeded key file %q, %v", data, err)
	}
	// the file exists now: it is read, states included
	r = newRig(t, 1, "trust_anchors.add_file('"+keys+"')\n", nil)
	if got := r.eval(0, "= trust_anchors.summary():match('; Valid: ; KeyTag:20326') ~= nil"); got != "true" {
		t.Fatalf("summary of the key file: %s", got)
	}
	if err := loadErr(t, "trust_anchors.add_file('"+keys+".none', true)\n", Options{}); err == nil {
		t.Fatal("a missing read-only key file was accepted")
	}
}

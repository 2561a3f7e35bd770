package serve

import (
	"strings"
	"testing"
	"time"

	"ljdns/daemon/cache"
)

// TestServeStaleTimeoutField: serve_stale.timeout is kresd's field in
// milliseconds (default 3000) and reaches the Go layer: assigning it
// changes how long a forwarded query with stale data waits for the
// upstream (daemon/cache's TestStaleTimeout tests the wait); a bad value
// is an error.
func TestServeStaleTimeoutField(t *testing.T) {
	r := newRig(t, 1, "modules.load('serve_stale < cache')\nassert(serve_stale.timeout == 3000)\nserve_stale.timeout = 250", nil)
	if got := r.eval(0, "return serve_stale.timeout"); got != "250" {
		t.Fatalf("serve_stale.timeout: %q", got)
	}
	l, ok := r.ld.persistentGet("serve_stale").(*cache.StaleLayer)
	if !ok || l.Timeout() != 250*time.Millisecond {
		t.Fatalf("layer timeout: %v", l)
	}
	if got := r.eval(0, "return select(2, pcall(function() serve_stale.timeout = -1 end))"); !strings.Contains(got, "milliseconds") {
		t.Fatalf("negative timeout: %q", got)
	}
}

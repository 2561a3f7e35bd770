package serve

import (
	"os"
	"testing"

	"ljdns/dnsclient"
)

// TestMain keeps the package's tests on loopback: configurations recurse
// from the root hints now.
func TestMain(m *testing.M) {
	if os.Getenv(dnsclient.EnvOutgoingAllow) == "" {
		os.Setenv(dnsclient.EnvOutgoingAllow, "127.0.0.0/8,::1/128")
	}
	os.Exit(m.Run())
}

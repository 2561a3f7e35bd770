package daemon

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"ljdns/internal/testnet"
)

// TestPortZeroRetries: with port 0 the UDP socket's port must also be free
// for TCP. In a namespace of its own the test narrows the ephemeral range to
// two ports and holds TCP on one of them, so about half of the UDP picks
// collide; every start must still succeed, on the other port.
func TestPortZeroRetries(t *testing.T) {
	testnet.Isolate(t)
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_local_port_range", []byte("40000 40001\n"), 0o644); err != nil {
		t.Skipf("cannot narrow the ephemeral port range here: %v", err)
	}
	held, err := net.Listen("tcp", "127.0.0.1:40000")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for i := 0; i < 10; i++ {
		cfg := &Config{Listen: []Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:0")}}}
		s, err := New(cfg)
		if err == nil {
			err = s.Start()
		}
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		addrs := s.Addrs(KindDNS)
		if len(addrs) == 0 || addrs[0].Port() != 40001 {
			t.Fatalf("start %d: listening on %v, want port 40001", i, addrs)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.Shutdown(ctx)
		cancel()
	}
}

package dnsclient

import (
	"errors"
	"net/netip"
	"testing"
)

func TestAllowList(t *testing.T) {
	l, err := ParseAllowList("127.0.0.0/8, ::1/128,192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[string]bool{
		"127.0.0.1": true, "127.255.0.9": true, "::1": true, "192.0.2.1": true,
		"::ffff:127.0.0.2": true, "192.0.2.2": false, "10.0.0.1": false, "::2": false,
	} {
		if got := l.Contains(netip.MustParseAddr(a)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", a, got, want)
		}
	}
	if l, err := ParseAllowList(""); err != nil || l != nil || !l.Contains(netip.MustParseAddr("8.8.8.8")) {
		t.Errorf("empty list: %v %v", l, err)
	}
	for _, bad := range []string{"127.0.0.0/33", "localhost", ",,", "1.2.3.4/8x"} {
		if _, err := ParseAllowList(bad); err == nil {
			t.Errorf("ParseAllowList(%q) accepted", bad)
		}
	}
}

// TestPolicyRefuses checks that every constructor refuses a destination
// outside the allow list with ErrRefusedByPolicy.
func TestPolicyRefuses(t *testing.T) {
	l, _ := ParseAllowList("127.0.0.0/8")
	SetAllowList(l)
	defer func() { policy.Lock(); policy.loaded = false; policy.Unlock() }()
	for name, f := range map[string]func() error{
		"dgram":        func() error { _, err := NewDgram("192.0.2.1", DgramOptions{}); return err },
		"stream":       func() error { _, err := NewStream("192.0.2.1", StreamOptions{}); return err },
		"multi_stream": func() error { _, err := NewMultiStream("[2001:db8::1]:53", StreamOptions{}); return err },
		"dgram_stream": func() error { _, err := NewDgramStream("192.0.2.1#53", DgramStreamOptions{}); return err },
		"dot":          func() error { _, err := NewStream("192.0.2.1", StreamOptions{TLS: &TLSOptions{}}); return err },
	} {
		if err := f(); !errors.Is(err, ErrRefusedByPolicy) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := NewDgram("127.0.0.9#5353", DgramOptions{}); err != nil {
		t.Errorf("allowed address refused: %v", err)
	}
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1#53": "127.0.0.1:53", "127.0.0.1@5353": "127.0.0.1:5353", "127.0.0.1": "127.0.0.1:53",
		"[::1]:853": "[::1]:853", "::1": "[::1]:53", "::1#54": "[::1]:54", "[::1]": "[::1]:53",
		"::ffff:127.0.0.1#53": "127.0.0.1:53",
	} {
		got, err := ParseAddr(in, 53)
		if err != nil || got.String() != want {
			t.Errorf("ParseAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "localhost", "127.0.0.1#", "127.0.0.1#99999", "1.2.3"} {
		if _, err := ParseAddr(bad, 53); err == nil {
			t.Errorf("ParseAddr(%q) accepted", bad)
		}
	}
}

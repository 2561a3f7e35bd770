package nbio

import (
	"net/netip"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"

	"ljdns/luabind"
)

func TestAddrFamily(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"127.0.0.1", "inet"}, {"::1", "inet6"}, {"/tmp/sock", "unix"}, {"example.org", "inet"},
	} {
		if got := addrFamily(c.in); got != c.want {
			t.Errorf("addrFamily(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestResolveAndConvert(t *testing.T) {
	cases := []struct {
		name string
		af   int
		host string
		port int
		want string // String() of the result, "" = error expected
	}{
		{"v4", unix.AF_INET, "127.0.0.1", 53, "127.0.0.1"},
		{"any4", unix.AF_INET, "*", 0, "0.0.0.0"},
		{"any6", unix.AF_INET6, "", 0, "::"},
		{"v6 brackets", unix.AF_INET6, "[::1]", 853, "::1"},
		{"unix", unix.AF_UNIX, "/run/x.sock", 0, "/run/x.sock"},
		{"bad port", unix.AF_INET, "127.0.0.1", 70000, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := resolve(c.af, c.host, c.port)
			if c.want == "" {
				if err == nil {
					t.Fatalf("resolve(%q, %d) = %v, want an error", c.host, c.port, a)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := a.String(); got != c.want {
				t.Fatalf("resolve = %q, want %q", got, c.want)
			}
			sa, err := toSockaddr(c.af, a)
			if err != nil {
				t.Fatal(err)
			}
			var back luabind.Sockaddr
			fromSockaddr(sa, &back)
			if back.String() != c.want || (c.af != unix.AF_UNIX && int(back.Addr.Port()) != c.port) {
				t.Fatalf("round trip %v -> %v", a, back)
			}
		})
	}
	// v4 addresses on inet6 sockets are mapped; v6 on inet fails.
	a := &luabind.Sockaddr{Addr: netip.MustParseAddrPort("192.0.2.1:53")}
	if sa, err := toSockaddr(unix.AF_INET6, a); err != nil || sa.(*unix.SockaddrInet6).Addr[10] != 0xff {
		t.Fatalf("v4 on inet6: %v %v", sa, err)
	}
	if _, err := toSockaddr(unix.AF_INET, &luabind.Sockaddr{Addr: netip.MustParseAddrPort("[::1]:53")}); err == nil {
		t.Fatal("v6 address on an inet socket accepted")
	}
}

func TestFit(t *testing.T) {
	if got := fit(nil, 2); len(got) != 2 || got[0] == nil {
		t.Fatalf("fit(nil, 2) = %v", got)
	}
	if got := fit([]lua.LValue{lua.LNil, lua.LNil, lua.LNil}, 1); len(got) != 1 {
		t.Fatalf("fit(3 values, 1) has %d", len(got))
	}
	if !luabind.WantResultsAvailable() {
		t.Fatal("gopher-lua's LState.currentFrame/callFrame.NRet not found: resumed calls would get unadjusted results")
	}
}

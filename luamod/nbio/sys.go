package nbio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"golang.org/x/sys/unix"

	"ljdns/luabind"
)

// Plain-Go socket helpers on raw descriptors (no Lua).

// Sentinel errors.
var (
	// ErrClosed is returned for operations on a closed socket.
	ErrClosed = errors.New("closed")
	// errAgain means the non-blocking call would block.
	errAgain = unix.EAGAIN
)

// familyOf maps a family name to AF_*.
func familyOf(name string) (int, bool) {
	switch name {
	case "inet":
		return unix.AF_INET, true
	case "inet6":
		return unix.AF_INET6, true
	case "unix":
		return unix.AF_UNIX, true
	}
	return 0, false
}

// familyName maps AF_* to the Lua name.
func familyName(af int) string {
	switch af {
	case unix.AF_INET:
		return "inet"
	case unix.AF_INET6:
		return "inet6"
	case unix.AF_UNIX:
		return "unix"
	}
	return "unknown"
}

// addrFamily is nb.family: 'unix' if addr has '/', 'inet6' if ':', else 'inet'.
func addrFamily(addr string) string {
	switch {
	case strings.Contains(addr, "/"):
		return "unix"
	case strings.Contains(addr, ":"):
		return "inet6"
	}
	return "inet"
}

// newSocketFD opens a non-blocking, close-on-exec socket.
func newSocketFD(af, typ int) (int, error) {
	return unix.Socket(af, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
}

// resolve turns host text (an IP literal, "*" or "" for any, or a name
// looked up with the system resolver) and port into an address usable on
// a socket of family af.
func resolve(af int, host string, port int) (*luabind.Sockaddr, error) {
	if af == unix.AF_UNIX {
		return &luabind.Sockaddr{Path: host}, nil
	}
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("invalid port %d", port)
	}
	var ip netip.Addr
	switch host {
	case "", "*":
		ip = netip.IPv4Unspecified()
		if af == unix.AF_INET6 {
			ip = netip.IPv6Unspecified()
		}
	default:
		var err error
		if ip, err = netip.ParseAddr(strings.Trim(host, "[]")); err != nil {
			ips, lerr := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
			if lerr != nil || len(ips) == 0 {
				return nil, fmt.Errorf("cannot resolve %q", host)
			}
			ip = ips[0]
			for _, a := range ips {
				if a.Is4() == (af == unix.AF_INET) {
					ip = a
					break
				}
			}
		}
	}
	return &luabind.Sockaddr{Addr: netip.AddrPortFrom(ip, uint16(port))}, nil
}

// toSockaddr converts for a socket of family af (v4 addresses are mapped
// for inet6 sockets).
func toSockaddr(af int, a *luabind.Sockaddr) (unix.Sockaddr, error) {
	if a.Path != "" || af == unix.AF_UNIX {
		if af != unix.AF_UNIX {
			return nil, errors.New("address family mismatch")
		}
		return &unix.SockaddrUnix{Name: a.Path}, nil
	}
	ip := a.Addr.Addr()
	if !ip.IsValid() {
		return nil, errors.New("empty address")
	}
	if af == unix.AF_INET6 {
		if ip.Is4() {
			ip = netip.AddrFrom16(ip.As16())
		}
		sa := &unix.SockaddrInet6{Port: int(a.Addr.Port()), Addr: ip.As16()}
		if z := ip.Zone(); z != "" {
			if ifi, err := net.InterfaceByName(z); err == nil {
				sa.ZoneId = uint32(ifi.Index)
			}
		}
		return sa, nil
	}
	ip = ip.Unmap()
	if !ip.Is4() {
		return nil, errors.New("address family mismatch")
	}
	return &unix.SockaddrInet4{Port: int(a.Addr.Port()), Addr: ip.As4()}, nil
}

// fromSockaddr fills dst from a kernel address.
func fromSockaddr(sa unix.Sockaddr, dst *luabind.Sockaddr) {
	*dst = luabind.Sockaddr{}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		dst.Addr = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		dst.Addr = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	case *unix.SockaddrUnix:
		dst.Path = a.Name
	}
}

// sockoptNames maps ljsyscall-style option names to (level, option).
var sockoptNames = map[string][2]int{
	"reuseaddr":    {unix.SOL_SOCKET, unix.SO_REUSEADDR},
	"reuseport":    {unix.SOL_SOCKET, unix.SO_REUSEPORT},
	"keepalive":    {unix.SOL_SOCKET, unix.SO_KEEPALIVE},
	"broadcast":    {unix.SOL_SOCKET, unix.SO_BROADCAST},
	"rcvbuf":       {unix.SOL_SOCKET, unix.SO_RCVBUF},
	"sndbuf":       {unix.SOL_SOCKET, unix.SO_SNDBUF},
	"rcvbufforce":  {unix.SOL_SOCKET, unix.SO_RCVBUFFORCE},
	"sndbufforce":  {unix.SOL_SOCKET, unix.SO_SNDBUFFORCE},
	"nodelay":      {unix.IPPROTO_TCP, unix.TCP_NODELAY},
	"fastopen":     {unix.IPPROTO_TCP, unix.TCP_FASTOPEN},
	"defer_accept": {unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT},
	"v6only":       {unix.IPPROTO_IPV6, unix.IPV6_V6ONLY},
	"freebind":     {unix.IPPROTO_IP, unix.IP_FREEBIND},
}

// levelNames maps level names to SOL_* / IPPROTO_*.
var levelNames = map[string]int{
	"socket": unix.SOL_SOCKET, "ip": unix.IPPROTO_IP, "ipv6": unix.IPPROTO_IPV6,
	"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP,
}

// tuneBuffers enlarges the socket buffers (errors ignored).
func tuneBuffers(fd int) {
	const size = 4 << 20
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, size)
}

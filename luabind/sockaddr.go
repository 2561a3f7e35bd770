package luabind

import (
	"net"
	"net/netip"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// SockaddrTypeName is the registry name of socket-address objects, shared by
// dns.utils.inaddr, nb.addr(), syscall's S.t.sockaddr_* and socket methods.
const SockaddrTypeName = "sockaddr"

// Sockaddr is a socket address: an IP address and port, or a unix path.
// The zero value is an empty address (nb.addr()) that receivefrom fills.
type Sockaddr struct {
	Addr netip.AddrPort // inet/inet6
	Path string         // unix
}

// Family returns "inet", "inet6", "unix" or "" for an empty address.
func (s *Sockaddr) Family() string {
	switch {
	case s.Path != "":
		return "unix"
	case s.Addr.Addr().Is4() || s.Addr.Addr().Is4In6():
		return "inet"
	case s.Addr.Addr().IsValid():
		return "inet6"
	}
	return ""
}

// UDPAddr converts to a *net.UDPAddr (nil for unix/empty).
func (s *Sockaddr) UDPAddr() *net.UDPAddr {
	if !s.Addr.IsValid() {
		return nil
	}
	return net.UDPAddrFromAddrPort(s.Addr)
}

// String is the address text as ljsyscall prints it: "127.0.0.1",
// "fe80::1", or the path of a unix address (the port is not included).
func (s *Sockaddr) String() string {
	if s.Path != "" {
		return s.Path
	}
	if !s.Addr.IsValid() {
		return ""
	}
	return s.Addr.Addr().Unmap().String()
}

// HostPort is "host#port", the form of utils.addrparse.
func (s *Sockaddr) HostPort() string {
	return s.String() + "#" + strconv.Itoa(int(s.Addr.Port()))
}

// PushSockaddr pushes s as a sockaddr object with fields .addr (text),
// .port (number) and .family ("inet", "inet6", "unix").
func PushSockaddr(L *lua.LState, s *Sockaddr) {
	registerSockaddr(L)
	Push(L, SockaddrTypeName, s)
}

// CheckSockaddr returns argument n as a *Sockaddr or raises.
func CheckSockaddr(L *lua.LState, n int) *Sockaddr {
	registerSockaddr(L)
	return Check[*Sockaddr](L, n, SockaddrTypeName)
}

func registerSockaddr(L *lua.LState) {
	if _, ok := L.GetTypeMetatable(SockaddrTypeName).(*lua.LTable); ok {
		return
	}
	RegisterType(L, TypeSpec{Name: SockaddrTypeName, Meta: map[string]lua.LGFunction{
		"__index": func(L *lua.LState) int {
			s := Check[*Sockaddr](L, 1, SockaddrTypeName)
			switch L.CheckString(2) {
			case "addr":
				if s.Path != "" {
					L.Push(lua.LString(s.Path))
				} else if s.Addr.IsValid() {
					L.Push(lua.LString(s.Addr.Addr().Unmap().String()))
				} else {
					L.Push(lua.LNil)
				}
			case "port":
				L.Push(lua.LNumber(s.Addr.Port()))
			case "family":
				L.Push(lua.LString(s.Family()))
			case "path":
				L.Push(lua.LString(s.Path))
			default:
				L.Push(lua.LNil)
			}
			return 1
		},
		"__newindex": func(L *lua.LState) int {
			s := Check[*Sockaddr](L, 1, SockaddrTypeName)
			switch L.CheckString(2) {
			case "port":
				s.Addr = netip.AddrPortFrom(s.Addr.Addr(), uint16(L.CheckInt(3)))
			case "addr":
				a, err := netip.ParseAddr(L.CheckString(3))
				if err != nil {
					L.ArgError(3, "invalid address")
				}
				s.Addr = netip.AddrPortFrom(a, s.Addr.Port())
			default:
				L.RaiseError("cannot set field %s of sockaddr", L.CheckString(2))
			}
			return 0
		},
		"__tostring": func(L *lua.LState) int {
			L.Push(lua.LString(Check[*Sockaddr](L, 1, SockaddrTypeName).String()))
			return 1
		},
		"__eq": func(L *lua.LState) int {
			a, _ := As[*Sockaddr](L.Get(1))
			b, _ := As[*Sockaddr](L.Get(2))
			return Bool(L, a != nil && b != nil && *a == *b)
		},
	}})
}

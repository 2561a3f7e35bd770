package dns

// This file is the Go contract other ljdns modules (nbio, tls, sift, dnssec)
// build on: pushing and checking the userdata of the dnsmsg types. The
// types themselves and their logic are package ljdns/dnsmsg.

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// Registry names of the userdata types of this package.
const (
	NameTypeName   = "dns.dname"
	RRSetTypeName  = "dns.rrset"
	PacketTypeName = "dns.packet"
)

// PushName pushes a dname userdata holding n (not copied).
func PushName(L *lua.LState, n *dnsmsg.Name) {
	registerTypes(L)
	luabind.Push(L, NameTypeName, n)
}

// ToName converts a dname userdata (returned as is) or a wire-format Lua
// string or buffer (parsed as by dns.dname(wire), implicit root) to a Name.
func ToName(v lua.LValue) (*dnsmsg.Name, bool) {
	if n, ok := luabind.As[*dnsmsg.Name](v); ok {
		return n, true
	}
	if b, ok := luabind.ToBytes(v); ok {
		w, err := dnsmsg.NameFromWire(b)
		if err != nil {
			return nil, false
		}
		return &dnsmsg.Name{Wire: w}, true
	}
	return nil, false
}

// CheckName returns argument n as a Name (dname or wire string), raising
// "bad argument #n (dns.dname expected)" otherwise.
func CheckName(L *lua.LState, n int) *dnsmsg.Name {
	if nm, ok := ToName(L.Get(n)); ok {
		return nm
	}
	L.ArgError(n, NameTypeName+" expected, got "+luabind.TypeName(L.Get(n)))
	return nil
}

// PushRRSet pushes an rrset userdata holding rr (not copied).
func PushRRSet(L *lua.LState, rr *dnsmsg.RRSet) {
	registerTypes(L)
	luabind.Push(L, RRSetTypeName, rr)
}

// CheckRRSet returns argument n as an RRSet or raises.
func CheckRRSet(L *lua.LState, n int) *dnsmsg.RRSet {
	return luabind.Check[*dnsmsg.RRSet](L, n, RRSetTypeName)
}

// PushPacket pushes a packet userdata holding p (not copied).
func PushPacket(L *lua.LState, p *dnsmsg.Packet) {
	registerTypes(L)
	luabind.Push(L, PacketTypeName, p)
}

// CheckPacket returns argument n as a Packet or raises.
func CheckPacket(L *lua.LState, n int) *dnsmsg.Packet {
	return luabind.Check[*dnsmsg.Packet](L, n, PacketTypeName)
}

package dns

// This file is the Go contract other ljdns modules (nbio, tls, sift, dnssec)
// build on. Keep these signatures stable; bodies live here or in the files
// named in each comment.

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// Registry names of the userdata types of this package.
const (
	NameTypeName   = "dns.dname"
	RRSetTypeName  = "dns.rrset"
	PacketTypeName = "dns.packet"
)

// PushName pushes a dname userdata holding n (not copied).
func PushName(L *lua.LState, n *Name) {
	registerTypes(L)
	luabind.Push(L, NameTypeName, n)
}

// ToName converts a dname userdata (returned as is) or a wire-format Lua
// string or buffer (parsed as by dns.dname(wire), implicit root) to a Name.
func ToName(v lua.LValue) (*Name, bool) {
	if n, ok := luabind.As[*Name](v); ok {
		return n, true
	}
	if b, ok := luabind.ToBytes(v); ok {
		w, err := NameFromWire(b)
		if err != nil {
			return nil, false
		}
		return &Name{Wire: w}, true
	}
	return nil, false
}

// CheckName returns argument n as a Name (dname or wire string), raising
// "bad argument #n (dns.dname expected)" otherwise.
func CheckName(L *lua.LState, n int) *Name {
	if nm, ok := ToName(L.Get(n)); ok {
		return nm
	}
	L.ArgError(n, NameTypeName+" expected, got "+luabind.TypeName(L.Get(n)))
	return nil
}

// PushRRSet pushes an rrset userdata holding rr (not copied).
func PushRRSet(L *lua.LState, rr *RRSet) {
	registerTypes(L)
	luabind.Push(L, RRSetTypeName, rr)
}

// CheckRRSet returns argument n as an RRSet or raises.
func CheckRRSet(L *lua.LState, n int) *RRSet {
	return luabind.Check[*RRSet](L, n, RRSetTypeName)
}

// PushPacket pushes a packet userdata holding p (not copied).
func PushPacket(L *lua.LState, p *Packet) {
	registerTypes(L)
	luabind.Push(L, PacketTypeName, p)
}

// CheckPacket returns argument n as a Packet or raises.
func CheckPacket(L *lua.LState, n int) *Packet {
	return luabind.Check[*Packet](L, n, PacketTypeName)
}

// NewPacket returns an empty message of capacity maxSize (12 <= maxSize < 65536):
// size 12, random ID, all other header bits zero, section ANSWER.
// (implemented in packet.go)

// NameFromWire parses a wire-format name from the start of b: the end of
// b counts as the root label; compression pointers, labels running past
// the data and names over 255 bytes are errors. Returns the uncompressed
// wire form including the root label. (implemented in dname.go)

// NameFromText parses presentation text (trailing dot optional, escapes
// \DDD and \X) into a Name. (implemented in dname.go)

// (n *Name) String() returns the text form of API.md §1.7. (dname.go)

// CompareNames compares two wire names in canonical DNS order (RFC 4034
// §6.1, ASCII case folded, ties broken on raw bytes): <0, 0, >0. (dname.go)

// (rr *RRSet) Add(rdata []byte) inserts a copy of rdata in canonical order,
// ignoring exact duplicates. (rrset.go)

// (rr *RRSet) String() is the zone-line text of API.md §1.7. (rrset.go)

// RDataText returns the presentation text of one RDATA of type t. (rdata.go)

// ParseRData parses "<TYPE> <fields>" as dns.rdata.parse does: type and wire
// RDATA, or an error. (rdata.go)

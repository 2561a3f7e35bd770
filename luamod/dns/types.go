package dns

import "ljdns/luabind"

// Name is a domain name in uncompressed wire form, root label included.
// The zero-length Name is the placeholder owner of an owner-less RR set
// (its Lua `.bytes` is nil).
type Name struct {
	Wire []byte
}

// LuaBytes implements luabind.ByteSource.
func (n *Name) LuaBytes() []byte { return n.Wire }

// RRSet is an RR set: owner, type, class, one TTL and RDATA kept in
// canonical order without duplicates.
type RRSet struct {
	Owner *Name // nil when the set has no owner
	Type  uint16
	Class uint16
	TTL   uint32
	RData [][]byte
}

// Packet is a DNS message in a fixed-capacity wire buffer: Mem.B has
// length max_size, Size bytes of it are the message. Sections are written
// in order; parse() fills the per-RR view.
type Packet struct {
	Mem  *luabind.Memory // len(Mem.B) == max_size
	Size int             // current wire length
	pstate
}

// Bytes returns the message bytes wire[0:Size].
func (p *Packet) Bytes() []byte { return p.Mem.B[:p.Size] }

// MaxSize returns the capacity of the packet.
func (p *Packet) MaxSize() int { return len(p.Mem.B) }

// ID returns the message ID from the wire header (0 if shorter than 2 bytes).
func (p *Packet) ID() uint16 {
	if p.Size < 2 {
		return 0
	}
	return uint16(p.Mem.B[0])<<8 | uint16(p.Mem.B[1])
}

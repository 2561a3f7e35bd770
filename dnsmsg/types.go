package dnsmsg

// Name is a domain name in uncompressed wire form, root label included.
// The zero-length Name is the placeholder owner of an owner-less RR set.
type Name struct {
	Wire []byte
}

// LuaBytes returns n.Wire. With this method a Name can stand where a Lua
// binding expects bytes (the ljdns/luabind.ByteSource interface).
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

// Packet is a DNS message in a fixed-capacity wire buffer: Buf has length
// MaxSize, and its first Size bytes are the message. Records are written
// section by section (Begin, Put); Parse fills the per-record view
// (Records, OPT, TSIG).
type Packet struct {
	Buf  []byte // the wire buffer; len(Buf) == MaxSize(), never reallocated
	Size int    // current wire length
	pstate
}

// Bytes returns the message bytes Buf[0:Size].
func (p *Packet) Bytes() []byte { return p.Buf[:p.Size] }

// MaxSize returns the capacity of the packet.
func (p *Packet) MaxSize() int { return len(p.Buf) }

// ID returns the message ID from the wire header (0 if shorter than 2 bytes).
func (p *Packet) ID() uint16 {
	if p.Size < 2 {
		return 0
	}
	return uint16(p.Buf[0])<<8 | uint16(p.Buf[1])
}

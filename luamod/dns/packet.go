package dns

import (
	"bytes"
	"encoding/binary"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// SectionTypeName is the registry name of packet section views.
const SectionTypeName = "dns.section"

// sectionView is pkt:section(id): a live view of one section's records.
type sectionView struct {
	p *Packet
	s int
}

func registerPacket(L *lua.LState) {
	mt := luabind.RegisterType(L, luabind.TypeSpec{Name: PacketTypeName, Methods: packetMethods, Meta: map[string]lua.LGFunction{
		"__index":    packetIndex,
		"__newindex": packetNewIndex,
		"__tostring": func(L *lua.LState) int { L.Push(lua.LString(CheckPacket(L, 1).String())); return 1 },
		"__len":      func(L *lua.LState) int { L.Push(lua.LNumber(CheckPacket(L, 1).Size)); return 1 },
		"__ipairs": func(L *lua.LState) int {
			pushSectionIpairs(L, &sectionView{CheckPacket(L, 1), SectionAN})
			return 3
		},
	}})
	fastIndex(L, mt, PacketTypeName, packetIndex)
}

func registerSection(L *lua.LState) {
	luabind.RegisterType(L, luabind.TypeSpec{Name: SectionTypeName, Meta: map[string]lua.LGFunction{
		"__index": func(L *lua.LState) int {
			v := luabind.Check[*sectionView](L, 1, SectionTypeName)
			recs := v.p.Records(v.s)
			switch k := L.Get(2).(type) {
			case lua.LNumber:
				i := int(k)
				if i < 0 || i >= len(recs) {
					L.RaiseError("section index %d out of range (count %d)", i, len(recs))
				}
				PushRRSet(L, recs[i])
			case lua.LString:
				if k == "count" {
					L.Push(lua.LNumber(len(recs)))
				} else {
					L.Push(lua.LNil)
				}
			default:
				L.Push(lua.LNil)
			}
			return 1
		},
		"__len": func(L *lua.LState) int {
			v := luabind.Check[*sectionView](L, 1, SectionTypeName)
			L.Push(lua.LNumber(len(v.p.Records(v.s))))
			return 1
		},
		"__ipairs": func(L *lua.LState) int {
			pushSectionIpairs(L, luabind.Check[*sectionView](L, 1, SectionTypeName))
			return 3
		},
		"__tostring": func(L *lua.LState) int {
			v := luabind.Check[*sectionView](L, 1, SectionTypeName)
			var b bytes.Buffer
			for _, rr := range v.p.Records(v.s) {
				b.WriteString(rr.String())
			}
			L.Push(lua.LString(b.String()))
			return 1
		},
	}})
}

// pushSectionIpairs pushes iterator, state, -1 over the records of v.
func pushSectionIpairs(L *lua.LState, v *sectionView) {
	recs := v.p.Records(v.s)
	L.Push(L.NewFunction(func(L *lua.LState) int {
		i := L.CheckInt(2) + 1
		if i < 0 || i >= len(recs) {
			return 0
		}
		L.Push(lua.LNumber(i))
		PushRRSet(L, recs[i])
		return 2
	}))
	luabind.Push(L, SectionTypeName, v)
	L.Push(lua.LNumber(-1))
}

var packetMethods map[string]lua.LGFunction

func init() {
	packetMethods = map[string]lua.LGFunction{
		"id":             hdrField(0),
		"qdcount":        hdrField(offQD),
		"ancount":        hdrField(offAN),
		"nscount":        hdrField(offNS),
		"arcount":        hdrField(offAR),
		"opcode":         pktOpcode,
		"rcode":          pktRcode,
		"question":       pktQuestion,
		"qname":          pktQname,
		"qtype":          pktQField(0),
		"qclass":         pktQField(1),
		"begin":          pktBegin,
		"put":            pktPut,
		"section":        pktSection,
		"empty":          func(L *lua.LState) int { return luabind.Bool(L, CheckPacket(L, 1).Empty()) },
		"parse":          pktParse,
		"parse_question": pktParseQuestion,
		"parse_section":  pktParseSection,
		"towire":         func(L *lua.LState) int { L.Push(lua.LString(CheckPacket(L, 1).Bytes())); return 1 },
		"copy":           pktCopy,
		"clear":          func(L *lua.LState) int { CheckPacket(L, 1).Clear(); return 0 },
		"answers":        pktAnswers,
		"toanswer":       pktToAnswer,
		"tostring":       pktToString,
	}
}

func init() {
	for _, f := range flagBits {
		packetMethods[f.name] = pktFlag(f.name)
	}
}

// packetNew is dns.packet(size [, wire]).
func packetNew(L *lua.LState) int {
	size := luabind.CheckInt(L, 1)
	if size < hdrLen || size >= 65536 {
		L.RaiseError("packet size must be <12, 65535>")
	}
	if L.Get(2) != lua.LNil {
		wire := luabind.CheckBytes(L, 2, 0)
		if len(wire) < size {
			L.RaiseError("wire shorter than packet size (%d < %d)", len(wire), size)
		}
		PushPacket(L, NewPacketFrom(size, wire))
		return 1
	}
	p := NewPacket(size)
	PushPacket(L, p)
	return 1
}

func packetIndex(L *lua.LState) int {
	p := CheckPacket(L, 1)
	k := L.Get(2)
	if s, ok := k.(lua.LString); ok {
		switch s {
		case "size":
			L.Push(lua.LNumber(p.Size))
			return 1
		case "max_size":
			L.Push(lua.LNumber(len(p.Mem.B)))
			return 1
		case "wire":
			luabind.PushView(L, luabind.ViewOf(p.Mem, 0))
			return 1
		case "opt_rr":
			pushOptRRSet(L, p.opt)
			return 1
		case "tsig_rr":
			pushOptRRSet(L, p.tsig)
			return 1
		case "parsed":
			L.Push(lua.LNumber(p.parsed))
			return 1
		case "qname_size":
			L.Push(lua.LNumber(p.qnameSize))
			return 1
		case "rrset_count":
			L.Push(lua.LNumber(len(p.rrs)))
			return 1
		case "cur_section":
			L.Push(lua.LNumber(p.section))
			return 1
		}
	}
	L.Push(upMethods(L).RawGet(k))
	return 1
}

func pushOptRRSet(L *lua.LState, rr *RRSet) {
	if rr == nil {
		L.Push(lua.LNil)
		return
	}
	PushRRSet(L, rr)
}

func packetNewIndex(L *lua.LState) int {
	p := CheckPacket(L, 1)
	switch L.Get(2).String() {
	case "size":
		n := luabind.CheckInt(L, 3)
		if n < 0 || n > len(p.Mem.B) {
			L.RaiseError("packet size %d out of range <0, %d>", n, len(p.Mem.B))
		}
		p.Size = n
	default:
		L.RaiseError("packet field '%s' is read-only", L.Get(2).String())
	}
	return 0
}

// hdrField is a 16-bit header getter/setter at off.
func hdrField(off int) lua.LGFunction {
	return func(L *lua.LState) int {
		p := CheckPacket(L, 1)
		if L.Get(2) != lua.LNil {
			p.setU16(off, luabind.CheckInt(L, 2))
		}
		L.Push(lua.LNumber(binary.BigEndian.Uint16(p.Mem.B[off:])))
		return 1
	}
}

func pktFlag(name string) lua.LGFunction {
	return func(L *lua.LState) int {
		p := CheckPacket(L, 1)
		if L.GetTop() >= 2 {
			p.SetFlag(name, luabind.Truthy(L, 2))
			return luabind.Bool(L, true)
		}
		return luabind.Bool(L, p.Flag(name))
	}
}

func pktOpcode(L *lua.LState) int {
	p := CheckPacket(L, 1)
	if L.Get(2) != lua.LNil {
		p.Mem.B[2] = p.Mem.B[2]&^0x78 | byte(luabind.CheckInt(L, 2)&0x0F)<<3
	}
	L.Push(lua.LNumber(p.Opcode()))
	return 1
}

func pktRcode(L *lua.LState) int {
	p := CheckPacket(L, 1)
	if L.Get(2) != lua.LNil {
		v := luabind.CheckInt(L, 2)
		if v > 15 && p.opt == nil {
			L.RaiseError("cannot use extended without OPT in packet")
		}
		p.Mem.B[3] = p.Mem.B[3]&^0x0F | byte(v&0x0F)
		if p.opt != nil {
			p.opt.TTL = p.opt.TTL&0x00FFFFFF | uint32(v>>4&0xFF)<<24
			if p.optOff >= 0 && p.optOff+9 <= p.Size {
				binary.BigEndian.PutUint32(p.Mem.B[p.optOff+5:], p.opt.TTL)
			}
		}
	}
	L.Push(lua.LNumber(p.Rcode()))
	return 1
}

func pktQuestion(L *lua.LState) int {
	p := CheckPacket(L, 1)
	qn := CheckName(L, 2)
	qt := luabind.CheckInt(L, 3)
	qc := luabind.OptInt(L, 4, int(ClassINET))
	ok, err := p.SetQuestion(qn.Wire, uint16(qt), uint16(qc))
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	return luabind.Bool(L, ok)
}

func pktQname(L *lua.LState) int {
	qn, _, _, ok := CheckPacket(L, 1).Question()
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	PushName(L, &Name{Wire: qn})
	return 1
}

func pktQField(which int) lua.LGFunction {
	return func(L *lua.LState) int {
		_, qt, qc, ok := CheckPacket(L, 1).Question()
		switch {
		case !ok:
			L.Push(lua.LNil)
		case which == 0:
			L.Push(lua.LNumber(qt))
		default:
			L.Push(lua.LNumber(qc))
		}
		return 1
	}
}

func pktBegin(L *lua.LState) int {
	p := CheckPacket(L, 1)
	s := luabind.CheckInt(L, 2)
	if s < 0 || s > SectionAR {
		L.ArgError(2, "section must be 0..2")
	}
	if err := p.Begin(s); err != nil {
		L.RaiseError("%s", err.Error())
	}
	L.Push(lua.LNumber(0))
	return 1
}

func pktPut(L *lua.LState) int {
	p := CheckPacket(L, 1)
	rr, ok := luabind.As[*RRSet](L.Get(2))
	if !ok {
		return luabind.Bool(L, false)
	}
	return luabind.Bool(L, p.Put(rr, luabind.Truthy(L, 3) && L.Get(3) == lua.LTrue))
}

func pktSection(L *lua.LState) int {
	p := CheckPacket(L, 1)
	if L.Get(2) == lua.LNil {
		L.Push(lua.LNumber(p.section))
		return 1
	}
	s := luabind.CheckInt(L, 2)
	if s < 0 || s > SectionAR {
		L.ArgError(2, "section must be 0..2")
	}
	registerTypes(L)
	luabind.Push(L, SectionTypeName, &sectionView{p, s})
	return 1
}

func pktParse(L *lua.LState) int {
	p := CheckPacket(L, 1)
	if code := p.Parse(luabind.Truthy(L, 2)); code != 0 {
		L.Push(lua.LFalse)
		L.Push(lua.LNumber(code))
		return 2
	}
	return luabind.Bool(L, true)
}

func pktParseQuestion(L *lua.LState) int {
	if code := CheckPacket(L, 1).ParseQuestion(); code != 0 {
		return luabind.Fail(L, "%s", StrError(code))
	}
	return luabind.Bool(L, true)
}

func pktParseSection(L *lua.LState) int {
	p := CheckPacket(L, 1)
	s := luabind.CheckInt(L, 2)
	if s < 0 || s > SectionAR {
		L.ArgError(2, "section must be 0..2")
	}
	if code := p.ParseSection(s); code != 0 {
		return luabind.Fail(L, "%s", StrError(code))
	}
	return luabind.Bool(L, true)
}

// Copy returns a parsed copy of p, or nil if p does not parse.
func (p *Packet) Copy() *Packet {
	c := &Packet{Mem: &luabind.Memory{B: make([]byte, len(p.Mem.B))}, Size: p.Size}
	copy(c.Mem.B, p.Mem.B[:p.Size])
	if c.Parse(false) != 0 {
		return nil
	}
	return c
}

func pktCopy(L *lua.LState) int {
	c := CheckPacket(L, 1).Copy()
	if c == nil {
		L.Push(lua.LNil)
		return 1
	}
	PushPacket(L, c)
	return 1
}

// Answers reports whether p is a response matching query q.
func (p *Packet) Answers(q *Packet) bool {
	if !p.Flag("qr") || p.ID() != q.ID() {
		return false
	}
	n1, t1, c1, ok1 := p.Question()
	n2, t2, c2, ok2 := q.Question()
	return ok1 == ok2 && t1 == t2 && c1 == c2 && bytes.Equal(n1, n2)
}

func pktAnswers(L *lua.LState) int {
	return luabind.Bool(L, CheckPacket(L, 1).Answers(CheckPacket(L, 2)))
}

func pktToAnswer(L *lua.LState) int {
	p := CheckPacket(L, 1)
	a := CheckPacket(L, 2)
	if a == p {
		L.RaiseError("cannot answer into the query packet")
	}
	if len(a.Mem.B) < p.Size {
		L.RaiseError("answer packet too small (%d < %d)", len(a.Mem.B), p.Size)
	}
	a.Clear()
	if qn, qt, qc, ok := p.Question(); ok {
		if _, err := a.SetQuestion(qn, qt, qc); err != nil {
			L.RaiseError("%s", err.Error())
		}
	}
	a.setU16(0, int(p.ID()))
	a.SetFlag("qr", true)
	return luabind.Bool(L, true)
}

func pktToString(L *lua.LState) int {
	p := CheckPacket(L, 1)
	switch v := L.Get(2); {
	case v == lua.LTrue:
		L.Push(lua.LString(p.ShortString()))
	case v.String() == "json":
		L.Push(lua.LString(p.JSON()))
	default:
		L.Push(lua.LString(p.String()))
	}
	return 1
}

package dns

import (
	"bytes"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// SectionTypeName is the registry name of packet section views.
const SectionTypeName = "dns.section"

// sectionView is pkt:section(id): a live view of one section's records.
type sectionView struct {
	p *dnsmsg.Packet
	s int
}

func registerPacket(L *lua.LState) {
	mt := luabind.RegisterType(L, luabind.TypeSpec{Name: PacketTypeName, Methods: packetMethods, Meta: map[string]lua.LGFunction{
		"__index":    packetIndex,
		"__newindex": packetNewIndex,
		"__tostring": func(L *lua.LState) int { L.Push(lua.LString(CheckPacket(L, 1).String())); return 1 },
		"__len":      func(L *lua.LState) int { L.Push(lua.LNumber(CheckPacket(L, 1).Size)); return 1 },
		"__ipairs": func(L *lua.LState) int {
			pushSectionIpairs(L, &sectionView{CheckPacket(L, 1), dnsmsg.SectionAN})
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
		"id":             hdrField(dnsmsg.OffID),
		"qdcount":        hdrField(dnsmsg.OffQDCount),
		"ancount":        hdrField(dnsmsg.OffANCount),
		"nscount":        hdrField(dnsmsg.OffNSCount),
		"arcount":        hdrField(dnsmsg.OffARCount),
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
	for _, f := range dnsmsg.FlagNames() {
		packetMethods[f] = pktFlag(f)
	}
}

// packetNew is dns.packet(size [, wire]).
func packetNew(L *lua.LState) int {
	size := luabind.CheckInt(L, 1)
	if size < dnsmsg.HeaderLen || size >= 65536 {
		L.RaiseError("packet size must be <12, 65535>")
	}
	if L.Get(2) != lua.LNil {
		wire := luabind.CheckBytes(L, 2, 0)
		if len(wire) < size {
			L.RaiseError("wire shorter than packet size (%d < %d)", len(wire), size)
		}
		PushPacket(L, dnsmsg.NewPacketFrom(size, wire))
		return 1
	}
	p := dnsmsg.NewPacket(size)
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
			L.Push(lua.LNumber(p.MaxSize()))
			return 1
		case "wire":
			luabind.PushView(L, luabind.ViewOf(&luabind.Memory{B: p.Buf}, 0))
			return 1
		case "opt_rr":
			pushOptRRSet(L, p.OPT())
			return 1
		case "tsig_rr":
			pushOptRRSet(L, p.TSIG())
			return 1
		case "parsed":
			L.Push(lua.LNumber(p.Parsed()))
			return 1
		case "qname_size":
			L.Push(lua.LNumber(p.QNameSize()))
			return 1
		case "rrset_count":
			L.Push(lua.LNumber(p.RecordCount()))
			return 1
		case "cur_section":
			L.Push(lua.LNumber(p.Section()))
			return 1
		}
	}
	L.Push(upMethods(L).RawGet(k))
	return 1
}

func pushOptRRSet(L *lua.LState, rr *dnsmsg.RRSet) {
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
		if n < 0 || n > p.MaxSize() {
			L.RaiseError("packet size %d out of range <0, %d>", n, p.MaxSize())
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
			p.SetHeaderField(off, uint16(luabind.CheckInt(L, 2)))
		}
		L.Push(lua.LNumber(p.HeaderField(off)))
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
		p.SetOpcode(luabind.CheckInt(L, 2))
	}
	L.Push(lua.LNumber(p.Opcode()))
	return 1
}

func pktRcode(L *lua.LState) int {
	p := CheckPacket(L, 1)
	if L.Get(2) != lua.LNil {
		if err := p.SetRcode(luabind.CheckInt(L, 2)); err != nil {
			L.RaiseError("%s", err.Error())
		}
	}
	L.Push(lua.LNumber(p.Rcode()))
	return 1
}

func pktQuestion(L *lua.LState) int {
	p := CheckPacket(L, 1)
	qn := CheckName(L, 2)
	qt := luabind.CheckInt(L, 3)
	qc := luabind.OptInt(L, 4, int(dnsmsg.ClassINET))
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
	PushName(L, &dnsmsg.Name{Wire: qn})
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
	if s < 0 || s > dnsmsg.SectionAR {
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
	rr, ok := luabind.As[*dnsmsg.RRSet](L.Get(2))
	if !ok {
		return luabind.Bool(L, false)
	}
	return luabind.Bool(L, p.Put(rr, luabind.Truthy(L, 3) && L.Get(3) == lua.LTrue))
}

func pktSection(L *lua.LState) int {
	p := CheckPacket(L, 1)
	if L.Get(2) == lua.LNil {
		L.Push(lua.LNumber(p.Section()))
		return 1
	}
	s := luabind.CheckInt(L, 2)
	if s < 0 || s > dnsmsg.SectionAR {
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
		return luabind.Fail(L, "%s", dnsmsg.StrError(code))
	}
	return luabind.Bool(L, true)
}

func pktParseSection(L *lua.LState) int {
	p := CheckPacket(L, 1)
	s := luabind.CheckInt(L, 2)
	if s < 0 || s > dnsmsg.SectionAR {
		L.ArgError(2, "section must be 0..2")
	}
	if code := p.ParseSection(s); code != 0 {
		return luabind.Fail(L, "%s", dnsmsg.StrError(code))
	}
	return luabind.Bool(L, true)
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

func pktAnswers(L *lua.LState) int {
	return luabind.Bool(L, CheckPacket(L, 1).Answers(CheckPacket(L, 2)))
}

func pktToAnswer(L *lua.LState) int {
	if err := CheckPacket(L, 1).ToAnswer(CheckPacket(L, 2)); err != nil {
		L.RaiseError("%s", err.Error())
	}
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

package serve

import (
	"bytes"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// kresPacketType is the registry name of kres packets (knot_pkt_t).
const kresPacketType = "kres.packet"

// kresPacket is a kres packet: a dnsmsg packet, possibly one of a
// request's (then live only while the request is; see reqGuard).
type kresPacket struct {
	p     *dnsmsg.Packet
	guard *reqGuard // nil for packets of Lua's own
	ro    bool      // the query of a request
}

func pushKresPacket(L *lua.LState, k *kresPacket) lua.LValue {
	ud := L.NewUserData()
	ud.Value = k
	L.SetMetatable(ud, L.GetTypeMetatable(kresPacketType))
	return ud
}

// checkPkt returns the packet of argument 1, raising when its request ended.
func checkPkt(L *lua.LState) *dnsmsg.Packet {
	k := luabind.Check[*kresPacket](L, 1, kresPacketType)
	if k.guard != nil && k.guard.dead() {
		L.RaiseError("kres.packet: the request of this packet has ended")
	}
	return k.p
}

func checkPktRW(L *lua.LState) *dnsmsg.Packet {
	k := luabind.Check[*kresPacket](L, 1, kresPacketType)
	if k.ro {
		L.RaiseError("kres.packet: the query packet is read-only")
	}
	return checkPkt(L)
}

// kresNewPacket is kres.packet(size, [wire]).
func kresNewPacket(L *lua.LState, first int) int {
	size := L.CheckInt(first)
	if size < 12 || size > 65535 {
		L.ArgError(first, "packet size must be within 12-65535")
	}
	var p *dnsmsg.Packet
	if w, ok := L.Get(first + 1).(lua.LString); ok {
		p = dnsmsg.NewPacketFrom(size, []byte(w))
	} else {
		p = dnsmsg.NewPacket(size)
		p.SetID(0)
	}
	L.Push(pushKresPacket(L, &kresPacket{p: p}))
	return 1
}

// flagGetSet returns a method for a header flag: getter, or setter
// returning the new value.
func flagGetSet(name string) lua.LGFunction {
	return func(L *lua.LState) int {
		if L.GetTop() >= 2 {
			p := checkPktRW(L)
			on := lua.LVAsBool(L.Get(2))
			p.SetFlag(name, on)
			L.Push(lua.LTrue) // kresd's setters say true
			return 1
		}
		L.Push(lua.LBool(checkPkt(L).Flag(name)))
		return 1
	}
}

var kresPacketMethods = map[string]lua.LGFunction{
	"rd": flagGetSet("rd"), "tc": flagGetSet("tc"), "aa": flagGetSet("aa"), "qr": flagGetSet("qr"),
	"cd": flagGetSet("cd"), "ad": flagGetSet("ad"), "ra": flagGetSet("ra"),
	"dobit": func(L *lua.LState) int {
		p := checkPkt(L)
		L.Push(lua.LBool(p.OPT() != nil && dnsmsg.OPTDo(p.OPT())))
		return 1
	},
	"rcode": func(L *lua.LState) int {
		if L.GetTop() >= 2 {
			p := checkPktRW(L)
			rc := L.CheckInt(2)
			if err := p.SetRcode(rc); err != nil {
				L.RaiseError("kres.packet: %v", err)
			}
			L.Push(lua.LNumber(rc))
			return 1
		}
		L.Push(lua.LNumber(checkPkt(L).Rcode()))
		return 1
	},
	"opcode": func(L *lua.LState) int {
		if L.GetTop() >= 2 {
			p := checkPktRW(L)
			p.SetOpcode(L.CheckInt(2))
			L.Push(L.Get(2))
			return 1
		}
		L.Push(lua.LNumber(checkPkt(L).Opcode()))
		return 1
	},
	"id": func(L *lua.LState) int {
		if L.GetTop() >= 2 {
			p := checkPktRW(L)
			p.SetID(uint16(L.CheckInt(2)))
			L.Push(L.Get(2))
			return 1
		}
		L.Push(lua.LNumber(checkPkt(L).ID()))
		return 1
	},
	"qdcount": countMethod(-1), "ancount": countMethod(0), "nscount": countMethod(1), "arcount": countMethod(2),
	"qname": func(L *lua.LState) int {
		qn, _, _, ok := checkPkt(L).Question()
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LString(qn))
		return 1
	},
	"qtype": func(L *lua.LState) int {
		_, qt, _, _ := checkPkt(L).Question()
		L.Push(lua.LNumber(qt))
		return 1
	},
	"qclass": func(L *lua.LState) int {
		_, _, qc, _ := checkPkt(L).Question()
		L.Push(lua.LNumber(qc))
		return 1
	},
	"question": func(L *lua.LState) int {
		p := checkPktRW(L)
		qn := []byte(nameArg(L, 2))
		if dnsmsg.DnameLen(qn) != len(qn) {
			L.ArgError(2, "wire-format name expected")
		}
		ok, err := p.SetQuestion(qn, uint16(L.CheckInt(4)), uint16(L.CheckInt(3)))
		if err != nil || !ok {
			L.RaiseError("kres.packet: question does not fit")
		}
		L.Push(lua.LTrue)
		return 1
	},
	"begin": func(L *lua.LState) int {
		p := checkPktRW(L)
		s := L.CheckInt(2)
		if s < 0 || s > 2 {
			L.ArgError(2, "section must be ANSWER, AUTHORITY or ADDITIONAL")
		}
		if err := p.Begin(s); err != nil {
			L.RaiseError("kres.packet: %v", err)
		}
		L.Push(lua.LTrue)
		return 1
	},
	"put": func(L *lua.LState) int {
		p := checkPktRW(L)
		owner := []byte(nameArg(L, 2))
		if len(owner) == 0 || dnsmsg.DnameLen(owner) != len(owner) {
			return putError(L, -22, "invalid parameter")
		}
		rr := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: owner}, TTL: uint32(L.CheckInt(3)),
			Class: uint16(L.CheckInt(4)), Type: uint16(L.CheckInt(5))}
		rr.RData = [][]byte{[]byte(L.CheckString(6))}
		if !p.Put(rr, false) {
			return putError(L, -28, "no space")
		}
		L.Push(lua.LTrue)
		return 1
	},
	"put_rr": func(L *lua.LState) int {
		p := checkPktRW(L)
		rr := checkRRSetArg(L, 2)
		if !p.Put(rr, false) {
			return putError(L, -28, "no space")
		}
		L.Push(lua.LTrue)
		return 1
	},
	"section": func(L *lua.LState) int {
		p := checkPkt(L)
		t := L.NewTable()
		for _, rr := range p.Records(L.CheckInt(2)) {
			for _, rd := range rr.RData {
				e := L.NewTable()
				e.RawSetString("owner", lua.LString(rr.OwnerWire()))
				e.RawSetString("ttl", lua.LNumber(rr.TTL))
				e.RawSetString("class", lua.LNumber(rr.Class))
				e.RawSetString("type", lua.LNumber(rr.Type))
				e.RawSetString("rdata", lua.LString(rd))
				t.Append(e)
			}
		}
		L.Push(t)
		return 1
	},
	"rrsets": func(L *lua.LState) int {
		p := checkPkt(L)
		t := L.NewTable()
		var last *dnsmsg.RRSet
		for _, rr := range p.Records(L.CheckInt(2)) {
			if last != nil && last.Type == rr.Type && last.Class == rr.Class && bytes.Equal(last.OwnerWire(), rr.OwnerWire()) {
				for _, rd := range rr.RData {
					last.RData = append(last.RData, append([]byte(nil), rd...))
				}
				continue
			}
			last = rr.Copy()
			t.Append(pushRRSetValue(L, last))
		}
		L.Push(t)
		return 1
	},
	"towire": func(L *lua.LState) int {
		L.Push(lua.LString(checkPkt(L).Bytes()))
		return 1
	},
	"tostring": func(L *lua.LState) int {
		L.Push(lua.LString(checkPkt(L).String()))
		return 1
	},
	"parse": func(L *lua.LState) int {
		p := checkPkt(L)
		if rc := p.Parse(false); rc != 0 {
			L.Push(lua.LNil)
			L.Push(lua.LString(dnsmsg.StrError(rc)))
			return 2
		}
		L.Push(lua.LTrue)
		return 1
	},
	"recycle": func(L *lua.LState) int {
		p := checkPktRW(L)
		p.Clear()
		L.Push(lua.LTrue)
		return 1
	},
	"clear_payload": func(L *lua.LState) int {
		p := checkPktRW(L)
		qn, qt, qc, ok := p.Question()
		id, flags := p.ID(), p.HeaderField(2)
		p.Clear()
		p.SetID(id)
		p.SetHeaderField(2, flags)
		if ok {
			p.SetQuestion(qn, qt, qc)
		}
		L.Push(lua.LTrue)
		return 1
	},
	"remaining_bytes": func(L *lua.LState) int {
		p := checkPkt(L)
		L.Push(lua.LNumber(p.MaxSize() - p.Size))
		return 1
	},
	"has_wire": func(L *lua.LState) int {
		L.Push(lua.LBool(checkPkt(L).Size > 0))
		return 1
	},
	"resize": func(L *lua.LState) int {
		p := checkPkt(L)
		L.Push(lua.LBool(L.CheckInt(2) <= p.MaxSize()))
		return 1
	},
}

func countMethod(s int) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(lua.LNumber(checkPkt(L).Count(s)))
		return 1
	}
}

// putError returns nil and an error object {code=, msg=} (knot's errors).
func putError(L *lua.LState, code int, msg string) int {
	e := L.NewTable()
	e.RawSetString("code", lua.LNumber(code))
	e.RawSetString("msg", lua.LString(msg))
	mt := L.NewTable()
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(msg))
		return 1
	}))
	L.SetMetatable(e, mt)
	L.Push(lua.LNil)
	L.Push(e)
	return 2
}

// registerKresTypes registers the packet, rrset, request and flags types.
func registerKresTypes(L *lua.LState) {
	luabind.RegisterType(L, luabind.TypeSpec{Name: kresPacketType, Methods: kresPacketMethods,
		Meta: map[string]lua.LGFunction{
			"__tostring": func(L *lua.LState) int {
				L.Push(lua.LString(checkPkt(L).String()))
				return 1
			},
			"__len": func(L *lua.LState) int {
				L.Push(lua.LNumber(checkPkt(L).Size))
				return 1
			},
		}})
	registerRRSet(L)
	registerRequest(L)
	registerFlags(L)
}

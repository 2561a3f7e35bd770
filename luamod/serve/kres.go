package serve

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// kresd's constants (daemon/lua/kres.lua of kresd 5).
var (
	kresClasses  = map[string]int{"IN": 1, "CH": 3, "NONE": 254, "ANY": 255}
	kresSections = map[string]int{"ANSWER": 0, "AUTHORITY": 1, "ADDITIONAL": 2}
	kresRcodes   = map[string]int{"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMPL": 4,
		"REFUSED": 5, "YXDOMAIN": 6, "YXRRSET": 7, "NXRRSET": 8, "NOTAUTH": 9, "NOTZONE": 10, "BADVERS": 16,
		"BADCOOKIE": 23}
	kresOpcodes = map[string]int{"QUERY": 0, "IQUERY": 1, "STATUS": 2, "NOTIFY": 4, "UPDATE": 5}
	kresRanks   = map[string]int{"INITIAL": 0, "OMIT": 1, "TRY": 2, "INDET": 4, "BOGUS": 5, "MISMATCH": 6,
		"MISSING": 7, "INSECURE": 8, "AUTH": 16, "SECURE": 32}
	kresEDE = map[string]int{"OTHER": 0, "DNSKEY_ALG": 1, "DS_DIGEST": 2, "STALE": 3, "FORGED": 4,
		"INDETERMINATE": 5, "BOGUS": 6, "SIG_EXPIRED": 7, "SIG_NOTYET": 8, "DNSKEY_MISS": 9, "RRSIG_MISS": 10,
		"DNSKEY_BIT": 11, "NSEC_MISS": 12, "CACHED_ERR": 13, "NOT_READY": 14, "BLOCKED": 15, "CENSORED": 16,
		"FILTERED": 17, "PROHIBITED": 18, "STALE_NXD": 19, "NOTAUTH": 20, "NOTSUP": 21, "NREACH_AUTH": 22,
		"NETWORK": 23, "INV_DATA": 24, "EXPIRED_INV": 25, "TOO_EARLY": 26, "NSEC3_ITERS": 27, "NONCONF_POLICY": 28,
		"SYNTHESIZED": 29}
)

// constTable makes a table of constants and its inverse in rev.
func constTable(L *lua.LState, m map[string]int, rev *lua.LTable) *lua.LTable {
	t := L.NewTable()
	for k, v := range m {
		t.RawSetString(k, lua.LNumber(v))
		if rev != nil {
			rev.RawSetInt(v, lua.LString(k))
		}
	}
	return t
}

// openKres builds the kres table of a worker state.
func (w *worker) openKres(L *lua.LState) *lua.LTable {
	registerKresTypes(L)
	k := L.NewTable()
	ts := L.NewTable()
	k.RawSetString("tostring", ts)
	for _, pair := range []struct {
		name string
		m    map[string]int
	}{{"class", kresClasses}, {"section", kresSections}, {"rcode", kresRcodes}, {"opcode", kresOpcodes}, {"rank", kresRanks}} {
		rev := L.NewTable()
		k.RawSetString(pair.name, constTable(L, pair.m, rev))
		ts.RawSetString(pair.name, rev)
	}
	k.RawSetString("extended_error", constTable(L, kresEDE, nil))
	// types: every known mnemonic; TYPEnnn parses; the reverse map falls back to TYPEnnn
	types, trev := L.NewTable(), L.NewTable()
	for n, s := range dnsmsg.TypeNames() {
		if n == 65535 || strings.HasPrefix(s, "TYPE") {
			continue // reserved: knot names it TYPE65535
		}
		types.RawSetString(s, lua.LNumber(n))
		trev.RawSetInt(int(n), lua.LString(s))
	}
	tmeta := L.NewTable()
	tmeta.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		s := L.CheckString(2)
		if strings.HasPrefix(s, "TYPE") {
			if n, err := strconv.Atoi(s[4:]); err == nil && n >= 0 && n <= 65535 {
				L.Push(lua.LNumber(n))
				return 1
			}
		}
		return 0
	}))
	L.SetMetatable(types, tmeta)
	rmeta := L.NewTable()
	rmeta.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		if n, ok := L.Get(2).(lua.LNumber); ok {
			L.Push(lua.LString(fmt.Sprintf("TYPE%d", int(n))))
			return 1
		}
		return 0
	}))
	L.SetMetatable(trev, rmeta)
	k.RawSetString("type", types)
	ts.RawSetString("type", trev)
	for name, st := range map[string]daemon.State{"CONSUME": daemon.Consume, "PRODUCE": daemon.Produce,
		"DONE": daemon.Done, "FAIL": daemon.Fail, "YIELD": daemon.Yield} {
		k.RawSetString(name, lua.LNumber(st))
	}
	luabind.SetFuncs(L, k, "kres", map[string]lua.LGFunction{
		"str2dname":   kresStr2dname,
		"dname2str":   kresDname2str,
		"dname2wire":  kresDname2wire,
		"parse_rdata": kresParseRdata,
		"rr2str":      kresRR2str,
		"str2ip":      kresStr2ip,
		"mk_qflags":   kresMkQflags,
		"pkt_t":       kresCastPkt,
		"request_t":   kresCastReq,
		"sockaddr_t":  func(L *lua.LState) int { L.Push(L.Get(1)); return 1 },
		"lru":         kresLRU,
	})
	pktCtor := L.NewTable()
	luabind.SetConstructor(L, pktCtor, kresPacketType, func(L *lua.LState) int { return kresNewPacket(L, 2) })
	k.RawSetString("packet", L.NewFunction(func(L *lua.LState) int { return kresNewPacket(L, 1) }))
	k.RawSetString("packet_t", pktCtor)
	rrCtor := L.NewTable()
	luabind.SetConstructor(L, rrCtor, kresRRSetType, func(L *lua.LState) int { return kresNewRRSet(L, 2) })
	k.RawSetString("rrset", rrCtor)
	k.RawSetString("rrset_t", rrCtor)
	return k
}

// kresStr2dname is kres.str2dname(s) (todname): lowercase wire form.
func kresStr2dname(L *lua.LState) int {
	s := L.CheckString(1)
	n, err := dnsmsg.NameFromText(s)
	if err != nil {
		return 0
	}
	L.Push(lua.LString(dnsmsg.LowerName(n.Wire)))
	return 1
}

// kresDname2str is kres.dname2str(wire): the name's text ('com.').
func kresDname2str(L *lua.LState) int {
	b := []byte(nameArg(L, 1))
	if b == nil || dnsmsg.DnameLen(b) <= 0 {
		return 0
	}
	n := &dnsmsg.Name{Wire: b[:dnsmsg.DnameLen(b)]}
	L.Push(lua.LString(n.String()))
	return 1
}

// kresDname2wire is kres.dname2wire(name): the wire form as a string.
func kresDname2wire(L *lua.LState) int {
	b := []byte(nameArg(L, 1))
	if dnsmsg.DnameLen(b) <= 0 {
		return 0
	}
	L.Push(lua.LString(b[:dnsmsg.DnameLen(b)]))
	return 1
}

// nameArg reads a wire-format name given as a string or a dns.dname.
func nameArg(L *lua.LState, n int) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case *lua.LUserData:
		if nm, ok := v.Value.(*dnsmsg.Name); ok {
			return string(nm.Wire)
		}
	case *lua.LNilType:
		return ""
	}
	L.ArgError(n, "domain name (wire format) expected")
	return ""
}

// kresParseRdata is kres.parse_rdata({'A 1.2.3.4', ...}) -> {wire, ...}.
func kresParseRdata(L *lua.LState) int {
	t, ok := L.Get(1).(*lua.LTable)
	if !ok {
		L.ArgError(1, "table of strings expected")
	}
	out := L.NewTable()
	for i := 1; i <= t.Len(); i++ {
		s, ok := t.RawGetInt(i).(lua.LString)
		if !ok {
			L.RaiseError("kres.parse_rdata: element %d is not a string", i)
		}
		_, rd, err := dnsmsg.ParseRData(string(s))
		if err != nil {
			L.RaiseError("kres.parse_rdata: '%s': %v", string(s), err)
		}
		out.Append(lua.LString(rd))
	}
	L.Push(out)
	return 1
}

// kresRR2str is kres.rr2str({owner=, ttl=, type=, rdata=}) -> one presentation line.
func kresRR2str(L *lua.LState) int {
	t := L.CheckTable(1)
	owner := lua.LVAsString(t.RawGetString("owner"))
	typ := uint16(lua.LVAsNumber(t.RawGetString("type")))
	ttl := uint32(lua.LVAsNumber(t.RawGetString("ttl")))
	rd := lua.LVAsString(t.RawGetString("rdata"))
	n := &dnsmsg.Name{Wire: []byte(owner)}
	L.Push(lua.LString(fmt.Sprintf("%s %d %s %s", n.String(), ttl, dnsmsg.TypeString(typ), dnsmsg.RDataText(typ, []byte(rd)))))
	return 1
}

// kresStr2ip is kres.str2ip('1.2.3.4') -> 4 or 16 raw bytes.
func kresStr2ip(L *lua.LState) int {
	a, err := netip.ParseAddr(L.CheckString(1))
	if err != nil {
		return 0
	}
	L.Push(lua.LString(a.AsSlice()))
	return 1
}

// kresMkQflags is kres.mk_qflags({'NO_CACHE', ...}) -> a flags object.
func kresMkQflags(L *lua.LState) int {
	t := L.CheckTable(1)
	var f daemon.Flags
	t.ForEach(func(_, v lua.LValue) {
		x, ok := daemon.FlagByName(lua.LVAsString(v))
		if !ok {
			L.RaiseError("kres.mk_qflags: unknown flag '%s'", lua.LVAsString(v))
		}
		f |= x
	})
	pushFlags(L, &flagsRef{get: func() daemon.Flags { return f }, set: func(n daemon.Flags) { f = n }})
	return 1
}

// kresCastPkt is kres.pkt_t(x): x is already a packet here (no cdata casts).
func kresCastPkt(L *lua.LState) int {
	if _, ok := L.Get(1).(*lua.LUserData); !ok {
		L.ArgError(1, "packet expected")
	}
	L.Push(L.Get(1))
	return 1
}

// kresCastReq is kres.request_t(x).
func kresCastReq(L *lua.LState) int {
	L.Push(L.Get(1))
	return 1
}

// kresLRU is kres.lru(n): a table bounded to n entries (oldest insert evicted).
func kresLRU(L *lua.LState) int {
	max := L.OptInt(1, 1024)
	store := L.NewTable()
	order := []lua.LValue{}
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		L.Push(store.RawGet(L.Get(2)))
		return 1
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		k, v := L.Get(2), L.Get(3)
		if store.RawGet(k) == lua.LNil && v != lua.LNil {
			order = append(order, k)
			if len(order) > max {
				store.RawSet(order[0], lua.LNil)
				order = order[1:]
			}
		}
		store.RawSet(k, v)
		return 0
	}))
	t := L.NewTable()
	L.SetMetatable(t, mt)
	L.Push(t)
	return 1
}

package dnssec

import (
	"sort"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
	"ljdns/luabind"
	"ljdns/luamod/dns"
)

// Modules lists the Lua modules this package provides.
var Modules = []luabind.Module{{Name: "dns.dnssec", Load: Loader}}

// Key states and rollover actions of the Lua tables (informational only).
// algoNames are the keys of the Lua dnssec.algo table, by algorithm number
// (the numbers of ljdns/dnssec's Alg constants).
var algoNames = map[uint8]string{
	dnssec.AlgInvalid: "invalid", dnssec.AlgDH: "dh", dnssec.AlgDSA: "dsa", dnssec.AlgDSASHA1: "dsa_sha1",
	dnssec.AlgRSASHA1: "rsa_sha1", dnssec.AlgDSASHA1NSEC3: "dsa_sha1_nsec3", dnssec.AlgRSASHA1NSEC3: "rsa_sha1_nsec3",
	dnssec.AlgRSASHA256: "rsa_sha256", dnssec.AlgRSASHA512: "rsa_sha512", dnssec.AlgECCGOST: "ecc_gost",
	dnssec.AlgECDSAP256SHA256: "ecdsa_p256_sha256", dnssec.AlgECDSAP384SHA384: "ecdsa_p384_sha384",
	dnssec.AlgED25519: "ed25519", dnssec.AlgED448: "ed448",
}

var (
	stateConsts  = map[string]int{"INVALID": 0, "PUBLISHED": 1, "ACTIVE": 2, "RETIRED": 3, "REMOVED": 4}
	actionConsts = map[string]int{"ZSK_INIT": 1, "ZSK_PUBLISH": 2, "ZSK_RESIGN": 3, "ZSK_RETIRE": 4}
)

// Loader opens dns.dnssec. It also adds rrsig_signature and dnskey to the
// shared dns.rdata table (API.md §2.1.4).
func Loader(L *lua.LState) int {
	registerKey(L)
	registerSigner(L)
	dnsMod := requireDNS(L)
	var typeTbl lua.LValue = lua.LNil
	if dnsMod != nil {
		typeTbl = dnsMod.RawGetString("type")
		if rd, ok := dnsMod.RawGetString("rdata").(*lua.LTable); ok {
			luabind.SetFuncs(L, rd, "dns.rdata", rdataExtras)
		}
	}
	mod := luabind.NewModule(L, "dns.dnssec", exports)
	mod.RawSetString("denial", L.NewClosure(luabind.Guard("dns.dnssec.denial", dnssecDenial), typeTbl))

	algo, state, action := L.NewTable(), L.NewTable(), L.NewTable()
	tostr := L.NewTable()
	ialgo, istate, iaction := L.NewTable(), L.NewTable(), L.NewTable()
	for n, name := range algoNames {
		algo.RawSetString(name, lua.LNumber(n))
		ialgo.RawSetInt(int(n), lua.LString(name))
	}
	for k, v := range stateConsts {
		state.RawSetString(k, lua.LNumber(v))
		istate.RawSetInt(v, lua.LString(k))
	}
	for k, v := range actionConsts {
		action.RawSetString(k, lua.LNumber(v))
		iaction.RawSetInt(v, lua.LString(k))
	}
	tostr.RawSetString("algo", ialgo)
	tostr.RawSetString("state", istate)
	tostr.RawSetString("action", iaction)
	mod.RawSetString("algo", algo)
	mod.RawSetString("state", state)
	mod.RawSetString("action", action)
	mod.RawSetString("tostring", tostr)
	L.Push(mod)
	return 1
}

// requireDNS returns the table of require('dns'), or nil when it fails.
func requireDNS(L *lua.LState) *lua.LTable {
	if err := L.CallByParam(lua.P{Fn: L.GetGlobal("require"), NRet: 1, Protect: true}, lua.LString("dns")); err != nil {
		return nil
	}
	v := L.Get(-1)
	L.Pop(1)
	t, _ := v.(*lua.LTable)
	return t
}

var exports = map[string]lua.LGFunction{
	"key":    dnssecKey,
	"signer": dnssecSigner,
	"cover":  dnssecCover,
}

// rdataExtras are added to dns.rdata when dns.dnssec loads.
var rdataExtras = map[string]lua.LGFunction{
	"rrsig_signature": rdataRRSIGSignature,
	"dnskey":          rdataDNSKEY,
}

// rdataRRSIGSignature is dns.rdata.rrsig_signature(rd) -> signature | nil.
func rdataRRSIGSignature(L *lua.LState) int {
	sig, err := dnssec.RRSIGSignature(luabind.CheckBytes(L, 1, 0))
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	luabind.PushBytes(L, sig)
	return 1
}

// rdataDNSKEY is dns.rdata.dnskey(flags, proto, alg, pubkey [, len]) -> rdata.
func rdataDNSKEY(L *lua.LState) int {
	flags, proto, alg := luabind.CheckInt(L, 1), luabind.CheckInt(L, 2), luabind.CheckInt(L, 3)
	key := luabind.CheckBytes(L, 4, 5)
	rd := make([]byte, 0, 4+len(key))
	rd = append(rd, byte(flags>>8), byte(flags), byte(proto), byte(alg))
	luabind.PushBytes(L, append(rd, key...))
	return 1
}

// shotgunTypes returns every numeric value below 127 of the dns.type table
// (pairs order does not matter: the bitmap is sorted).
func shotgunTypes(tbl lua.LValue) []uint16 {
	t, ok := tbl.(*lua.LTable)
	if !ok {
		return dnssec.ShotgunTypes
	}
	var out []uint16
	t.ForEach(func(_, v lua.LValue) {
		if n, ok := v.(lua.LNumber); ok && n >= 0 && n < 127 && n == lua.LNumber(int(n)) {
			out = append(out, uint16(n))
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// dnssecDenial is dnssec.denial(name, type [, ttl] [, nxdomain]) or
// dnssec.denial(name, type, {ttl=, nxdomain=, cover=, types=, next=}) ->
// NSEC rrset. With types (the types present at name; RRSIG and NSEC are
// added) and/or next (the next name, default the immediate successor) the
// NSEC is an ordinary one, e.g. for a pre-signed zone's chain.
func dnssecDenial(L *lua.LState) int {
	name := dns.CheckName(L, 1)
	qtype := uint16(luabind.CheckInt(L, 2))
	var (
		ttl      uint32
		nxdomain bool
		cover    bool
		types    []uint16
		next     []byte
	)
	switch v := L.Get(3).(type) {
	case lua.LBool:
		nxdomain = bool(v)
	case *lua.LTable:
		ttl = uint32(luaInt(v.RawGetString("ttl")))
		nxdomain = lua.LVAsBool(v.RawGetString("nxdomain"))
		cover = lua.LVAsBool(v.RawGetString("cover"))
		if tl, ok := v.RawGetString("types").(*lua.LTable); ok {
			for i := 1; i <= tl.Len(); i++ {
				types = append(types, uint16(luaInt(tl.RawGetInt(i))))
			}
			types = append(types, dnssec.TypeRRSIG, dnssec.TypeNSEC)
		}
		if nv := v.RawGetString("next"); nv != lua.LNil {
			n, ok := dns.ToName(nv)
			if !ok || len(n.Wire) == 0 {
				L.ArgError(3, "next must be a domain name")
			}
			next = n.Wire
		}
	default:
		ttl = uint32(luabind.OptInt(L, 3, 0))
		nxdomain = luabind.Truthy(L, 4)
	}
	if len(name.Wire) == 0 {
		L.ArgError(1, "owner name expected")
	}
	var rr *dnsmsg.RRSet
	switch {
	case cover:
		if rr = dnssec.Cover(name.Wire, ttl); rr == nil {
			return luabind.Fail(L, "dnssec: the root name cannot be covered")
		}
	case next != nil || (types != nil && !nxdomain):
		if next == nil {
			next = dnssec.Successor(name.Wire)
		}
		if types == nil {
			types = []uint16{dnssec.TypeRRSIG, dnssec.TypeNSEC}
		}
		rr = dnssec.NSEC(name.Wire, next, ttl, types)
	default:
		if types == nil {
			types = shotgunTypes(L.Get(lua.UpvalueIndex(1)))
		}
		rr = dnssec.Denial(name.Wire, qtype, ttl, nxdomain, types)
	}
	dns.PushRRSet(L, rr)
	return 1
}

// dnssecCover is dnssec.cover(name [, ttl]) -> NSEC rrset (RFC 4470).
func dnssecCover(L *lua.LState) int {
	name := dns.CheckName(L, 1)
	rr := dnssec.Cover(name.Wire, uint32(luabind.OptInt(L, 2, 0)))
	if rr == nil {
		return luabind.Fail(L, "dnssec: the root name cannot be covered")
	}
	dns.PushRRSet(L, rr)
	return 1
}

// luaInt converts a Lua number (or numeric string) to an int, 0 otherwise.
func luaInt(v lua.LValue) int {
	if n, ok := v.(lua.LNumber); ok {
		return int(n)
	}
	return 0
}

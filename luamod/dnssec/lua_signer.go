package dnssec

import (
	"errors"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
	"ljdns/luabind"
	"ljdns/luamod/dns"
)

// signerTypeName is the registry name of the signer userdata.
const signerTypeName = "dnssec.signer"

// luaSigner is the signer userdata.
type luaSigner struct {
	*dnssec.Signer
}

// registerSigner registers the signer type and returns its metatable.
func registerSigner(L *lua.LState) *lua.LTable {
	return luabind.RegisterType(L, luabind.TypeSpec{Name: signerTypeName, Methods: signerMethods})
}

func checkSigner(L *lua.LState, n int) *luaSigner {
	return luabind.Check[*luaSigner](L, n, signerTypeName)
}

var signerMethods = map[string]lua.LGFunction{
	"reset":  signerReset,
	"add":    signerAdd,
	"get":    signerGet,
	"verify": signerVerify,
	"sign":   signerSign,
}

// dnssecSigner is dnssec.signer(key) -> signer | nil, err; nothing for nil.
func dnssecSigner(L *lua.LState) int {
	if L.Get(1) == lua.LNil {
		return 0
	}
	k, ok := luabind.Test[*dnssec.Key](L, 1)
	if !ok {
		L.RaiseError("invalid key type")
	}
	if !k.CanSign() && !k.CanVerify() {
		L.RaiseError("key cannot be used for signing")
	}
	s, err := dnssec.NewSigner(k)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	// Each signer has its own metatable, a copy of the type's, whose
	// __index table holds the methods and the fields algo and tag (cached
	// at creation): a method lookup is then a table access, not a call
	// into Go, which counts when signing or verifying in a loop.
	mt := registerSigner(L)
	own, index := L.NewTable(), L.NewTable()
	mt.ForEach(func(k, v lua.LValue) { own.RawSet(k, v) })
	luabind.Methods(L, signerTypeName).ForEach(func(k, v lua.LValue) { index.RawSet(k, v) })
	index.RawSetString("algo", lua.LNumber(k.Algo))
	index.RawSetString("tag", lua.LNumber(k.Tag()))
	own.RawSetString("__index", index)
	ud := luabind.NewUserData(L, signerTypeName, &luaSigner{Signer: s})
	ud.Metatable = own
	L.Push(ud)
	return 1
}

// signerReset is s:reset() -> true.
func signerReset(L *lua.LState) int {
	checkSigner(L, 1).Reset()
	return luabind.Bool(L, true)
}

// signerAdd is s:add(bytes [, len]) or s:add(rrset) -> true | nil, err.
func signerAdd(L *lua.LState) int {
	s := checkSigner(L, 1)
	if rr, ok := luabind.Test[*dnsmsg.RRSet](L, 2); ok {
		if rr.Owner == nil || len(rr.Owner.Wire) == 0 {
			return luabind.Fail(L, "dnssec: cannot add an RRset without owner")
		}
		s.AddRRSet(rr)
		return luabind.Bool(L, true)
	}
	s.Write(luabind.CheckBytes(L, 2, 3))
	return luabind.Bool(L, true)
}

// signerGet is s:get() -> signature | nil, err.
func signerGet(L *lua.LState) int {
	sig, err := checkSigner(L, 1).Sign()
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	luabind.PushBytes(L, sig)
	return 1
}

// signerVerify is s:verify(signature [, len]) or s:verify(rr, rrsig [, now])
// -> true | nil, err.
func signerVerify(L *lua.LState) int {
	s := checkSigner(L, 1)
	rr, ok := luabind.Test[*dnsmsg.RRSet](L, 2)
	if !ok {
		if err := s.Verify(luabind.CheckBytes(L, 2, 3)); err != nil {
			return luabind.FailErr(L, "", err)
		}
		return luabind.Bool(L, true)
	}
	rrsig := dns.CheckRRSet(L, 3)
	if rrsig.Type != dnssec.TypeRRSIG {
		L.RaiseError("second rr is not rrsig")
	}
	now := uint32(int64(luabind.OptNumber(L, 4, float64(time.Now().Unix()))))
	s.Reset()
	if len(rrsig.RData) == 0 {
		return luabind.Fail(L, "%v: no RDATA", dnssec.ErrRRSIG)
	}
	// Any RRSIG of the set may be ours; report the error of the first
	// one made with this key when none verifies.
	var first, mine error
	for _, rd := range rrsig.RData {
		err := s.Key.VerifyRRSet(rr, rd, now)
		if err == nil {
			return luabind.Bool(L, true)
		}
		if first == nil {
			first = err
		}
		if mine == nil && (errors.Is(err, dnssec.ErrSignature) || errors.Is(err, dnssec.ErrExpired) || errors.Is(err, dnssec.ErrNotYetValid)) {
			mine = err
		}
	}
	if mine != nil {
		first = mine
	}
	return luabind.FailErr(L, "", first)
}

// signerSign is s:sign(rr [, expire [, incept [, signer]]]) -> RRSIG rrset
// | nil, err. expire is relative to incept (default rr:ttl()), incept
// defaults to now, signer to the key's name, then rr's owner.
func signerSign(L *lua.LState) int {
	s := checkSigner(L, 1)
	rr := dns.CheckRRSet(L, 2)
	incept := int64(luabind.OptNumber(L, 4, float64(time.Now().Unix())))
	expire := int64(luabind.OptNumber(L, 3, float64(rr.TTL)))
	var signer []byte
	if L.Get(5) != lua.LNil {
		signer = dns.CheckName(L, 5).Wire
		if len(signer) == 0 {
			L.ArgError(5, "signer name expected")
		}
	}
	rd, err := s.Key.SignRRSet(rr, uint32(incept), uint32(incept+expire), signer)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	out := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: append([]byte(nil), rr.Owner.Wire...)},
		Type: dnssec.TypeRRSIG, Class: rr.Class, TTL: rr.TTL, RData: [][]byte{rd}}
	dns.PushRRSet(L, out)
	return 1
}

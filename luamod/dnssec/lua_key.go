package dnssec

import (
	"bytes"
	"fmt"
	"strconv"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
	"ljdns/luabind"
	"ljdns/luamod/dns"
)

// keyTypeName is the registry name of the key userdata.
const keyTypeName = "dnssec.key"

func registerKey(L *lua.LState) {
	luabind.RegisterType(L, luabind.TypeSpec{Name: keyTypeName, Methods: keyMethods,
		Meta: map[string]lua.LGFunction{"__tostring": keyString}})
}

func pushKey(L *lua.LState, k *dnssec.Key) {
	registerKey(L)
	luabind.Push(L, keyTypeName, k)
}

func checkKey(L *lua.LState, n int) *dnssec.Key {
	return luabind.Check[*dnssec.Key](L, n, keyTypeName)
}

var keyMethods = map[string]lua.LGFunction{
	"algo":       keyAlgo,
	"flags":      keyFlags,
	"protocol":   keyProtocol,
	"ksk":        func(L *lua.LState) int { return luabind.Bool(L, checkKey(L, 1).KSK()) },
	"zsk":        func(L *lua.LState) int { return luabind.Bool(L, checkKey(L, 1).ZSK()) },
	"name":       keyName,
	"pubkey":     keyPubkey,
	"rdata":      keyRData,
	"privkey":    keyPrivkey,
	"tag":        func(L *lua.LState) int { L.Push(lua.LNumber(checkKey(L, 1).Tag())); return 1 },
	"can_verify": func(L *lua.LState) int { return luabind.Bool(L, checkKey(L, 1).CanVerify()) },
	"can_sign":   func(L *lua.LState) int { return luabind.Bool(L, checkKey(L, 1).CanSign()) },
	"ds":         keyDS,
	"id":         keyID,
	"bits":       func(L *lua.LState) int { L.Push(lua.LNumber(checkKey(L, 1).Bits())); return 1 },
	"tostring":   keyString,
}

// dnssecKey is dnssec.key() -> key (flags 256, protocol 3, no algorithm).
func dnssecKey(L *lua.LState) int {
	pushKey(L, dnssec.NewKey())
	return 1
}

// keyString is tostring(k): the key tag as text.
func keyString(L *lua.LState) int {
	L.Push(lua.LString(strconv.Itoa(int(checkKey(L, 1).Tag()))))
	return 1
}

// setterArg returns argument 2 as an integer, whether it was given, and
// an error when it is outside [0, max]. A non-number raises.
func setterArg(L *lua.LState, max int) (int, bool, error) {
	if L.GetTop() < 2 || L.Get(2) == lua.LNil {
		return 0, false, nil
	}
	v := luabind.CheckInt(L, 2)
	if v < 0 || v > max {
		return 0, true, fmt.Errorf("dnssec: value %d out of range 0..%d", v, max)
	}
	return v, true, nil
}

// keyAlgo is k:algo([n]) -> n | nil, err.
func keyAlgo(L *lua.LState) int {
	k := checkKey(L, 1)
	if v, ok, err := setterArg(L, 255); err != nil {
		return luabind.FailErr(L, "", err)
	} else if ok {
		if err := k.SetAlgorithm(uint8(v)); err != nil {
			return luabind.FailErr(L, "", err)
		}
	}
	L.Push(lua.LNumber(k.Algo))
	return 1
}

// keyFlags is k:flags([n]) -> n.
func keyFlags(L *lua.LState) int {
	k := checkKey(L, 1)
	if v, ok, err := setterArg(L, 0xffff); err != nil {
		return luabind.FailErr(L, "", err)
	} else if ok {
		k.Flags = uint16(v)
	}
	L.Push(lua.LNumber(k.Flags))
	return 1
}

// keyProtocol is k:protocol([n]) -> n.
func keyProtocol(L *lua.LState) int {
	k := checkKey(L, 1)
	if v, ok, err := setterArg(L, 0xff); err != nil {
		return luabind.FailErr(L, "", err)
	} else if ok {
		k.Protocol = uint8(v)
	}
	L.Push(lua.LNumber(k.Protocol))
	return 1
}

// keyName is k:name([dname]) -> dname | nil (nil, err for a bad name).
func keyName(L *lua.LState) int {
	k := checkKey(L, 1)
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		n, ok := dns.ToName(L.Get(2))
		if !ok || len(n.Wire) == 0 {
			return luabind.Fail(L, "%v", dnssec.ErrName)
		}
		k.Owner = bytes.Clone(n.Wire)
	}
	if k.Owner == nil {
		L.Push(lua.LNil)
		return 1
	}
	dns.PushName(L, &dnsmsg.Name{Wire: bytes.Clone(k.Owner)})
	return 1
}

// keyPubkey is k:pubkey([bytes [, len]]) -> true | nil, err (setter) or the
// raw public key field (getter, nil when unset).
func keyPubkey(L *lua.LState) int {
	k := checkKey(L, 1)
	if L.GetTop() < 2 || L.Get(2) == lua.LNil {
		if raw := k.PublicKey(); raw == nil {
			L.Push(lua.LNil)
		} else {
			luabind.PushBytes(L, raw)
		}
		return 1
	}
	if err := k.SetPublicKey(luabind.CheckBytes(L, 2, 3)); err != nil {
		return luabind.FailErr(L, "", err)
	}
	return luabind.Bool(L, true)
}

// keyRData is k:rdata([bytes [, len]]) -> true | nil, err, or the DNSKEY RDATA.
func keyRData(L *lua.LState) int {
	k := checkKey(L, 1)
	if L.GetTop() < 2 || L.Get(2) == lua.LNil {
		luabind.PushBytes(L, k.RData())
		return 1
	}
	if err := k.SetRData(luabind.CheckBytes(L, 2, 3)); err != nil {
		return luabind.FailErr(L, "", err)
	}
	return luabind.Bool(L, true)
}

// keyPrivkey is k:privkey(pem [, len]) -> true | nil, err. Without an
// argument it returns the private key as PKCS#8 PEM (or nil, err).
func keyPrivkey(L *lua.LState) int {
	k := checkKey(L, 1)
	if L.GetTop() < 2 || L.Get(2) == lua.LNil {
		pem, err := k.PrivateKeyPEM()
		if err != nil {
			return luabind.FailErr(L, "", err)
		}
		luabind.PushBytes(L, pem)
		return 1
	}
	if err := k.SetPrivateKey(luabind.CheckBytes(L, 2, 3)); err != nil {
		return luabind.FailErr(L, "", err)
	}
	return luabind.Bool(L, true)
}

// keyDS is k:ds([digest_type]) -> DS RDATA | nil, err (default 2, SHA-256).
func keyDS(L *lua.LState) int {
	k := checkKey(L, 1)
	dt := luabind.OptInt(L, 2, 2)
	if dt < 0 || dt > 255 {
		return luabind.Fail(L, "%v: %d", dnssec.ErrDigest, dt)
	}
	ds, err := k.DS(uint8(dt))
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	luabind.PushBytes(L, ds)
	return 1
}

// keyID is k:id() -> hex key ID | nil, err.
func keyID(L *lua.LState) int {
	id, err := checkKey(L, 1).ID()
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	L.Push(lua.LString(id))
	return 1
}

package serve

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
)

// The AuthLua4 surface of PowerDNS that lua2 scripts use (pdns 4.7.3):
// DNSName (newDN), QType (newQType), ComboAddress (newCA), pdnslog, the
// pdns table (type codes, loglevels, rcodes, place), pdnsrandom.

const (
	mtDNSName = "pdns.DNSName"
	mtQType   = "pdns.QType"
	mtCA      = "pdns.ComboAddress"
)

// dnName is a DNSName: wire form with the case kept; nil is an unset name.
type dnName struct{ w []byte }

// qType is a QType.
type qType struct{ code uint16 }

// comboAddr is a ComboAddress.
type comboAddr struct{ ap netip.AddrPort }

func dnText(w []byte) string {
	// the usual name (letters, digits, - _ * /) in one allocation
	var b strings.Builder
	b.Grow(max(len(w), 1))
	i := 0
	for i < len(w) {
		l := int(w[i])
		if l == 0 {
			break
		}
		if l > 63 || i+1+l > len(w) {
			return (&dnsmsg.Name{Wire: w}).String()
		}
		for _, c := range w[i+1 : i+1+l] {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*' || c == '/') {
				return (&dnsmsg.Name{Wire: w}).String()
			}
		}
		b.Write(w[i+1 : i+1+l])
		b.WriteByte('.')
		i += 1 + l
	}
	if b.Len() == 0 {
		return "."
	}
	return b.String()
}

// qtypeLNames holds the mnemonic of every known type as a Lua value (no
// allocation per getName).
var qtypeLNames = sync.OnceValue(func() map[uint16]lua.LValue {
	m := map[uint16]lua.LValue{}
	for t, n := range dnsmsg.TypeNames() {
		m[t] = lua.LString(n)
	}
	return m
})

// qtypeLName returns qtypeName(code) as a Lua string.
func qtypeLName(code uint16) lua.LValue {
	if v, ok := qtypeLNames()[code]; ok {
		return v
	}
	return lua.LString(qtypeName(code))
}

// parseDN reads a name as DNSName(string) does: "" and "." are the root, a
// trailing dot is optional.
func parseDN(s string) ([]byte, error) {
	if s == "" || s == "." {
		return []byte{0}, nil
	}
	n, err := dnsmsg.NameFromText(s)
	if err != nil {
		return nil, err
	}
	return n.Wire, nil
}

func pushDN(L *lua.LState, w []byte) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = &dnName{w: w}
	ud.Metatable = L.GetTypeMetatable(mtDNSName)
	return ud
}

// dnNameBuf is a DNSName with room for a short name in the same
// allocation.
type dnNameBuf struct {
	dnName
	buf [48]byte
}

// pushDNCopy pushes a DNSName holding a copy of w (one allocation for
// names up to 48 bytes besides the userdata).
func pushDNCopy(L *lua.LState, w []byte) *lua.LUserData {
	var d *dnName
	if len(w) <= 48 {
		b := &dnNameBuf{}
		b.w = append(b.buf[:0], w...)
		d = &b.dnName
	} else {
		d = &dnName{w: append([]byte{}, w...)}
	}
	ud := L.NewUserData()
	ud.Value = d
	ud.Metatable = L.GetTypeMetatable(mtDNSName)
	return ud
}

func checkDN(L *lua.LState, i int) *dnName {
	if ud, ok := L.Get(i).(*lua.LUserData); ok {
		if d, ok := ud.Value.(*dnName); ok {
			return d
		}
	}
	L.ArgError(i, "DNSName expected")
	return nil
}

// dnArg accepts a DNSName or a string (pdns converts strings implicitly).
func dnArg(L *lua.LState, i int) []byte {
	switch v := L.Get(i).(type) {
	case lua.LString:
		w, err := parseDN(string(v))
		if err != nil {
			L.RaiseError("invalid DNSName %q: %v", string(v), err)
		}
		return w
	case *lua.LUserData:
		if d, ok := v.Value.(*dnName); ok {
			return d.w
		}
	}
	L.ArgError(i, "DNSName expected")
	return nil
}

func mustSet(L *lua.LState, d *dnName) []byte {
	if d.w == nil {
		L.RaiseError("Attempt to print an unset DNSName")
	}
	return d.w
}

func pushQType(L *lua.LState, code uint16) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = &qType{code: code}
	ud.Metatable = L.GetTypeMetatable(mtQType)
	return ud
}

// qtypeCode reads a type name as QType::chartocode does: case-insensitive,
// "TYPEn" and "#n" forms; unknown names are 0.
func qtypeCode(s string) uint16 {
	if t, ok := qtypeCodes()[s]; ok {
		return t
	}
	u := strings.ToUpper(s)
	if t, ok := qtypeCodes()[u]; ok {
		return t
	}
	if rest, ok := strings.CutPrefix(u, "TYPE"); ok {
		if n, err := strconv.ParseUint(rest, 10, 16); err == nil {
			return uint16(n)
		}
	}
	if rest, ok := strings.CutPrefix(u, "#"); ok {
		if n, err := strconv.ParseUint(rest, 10, 16); err == nil {
			return uint16(n)
		}
	}
	return 0
}

// qtypeCodes maps type mnemonics to codes.
var qtypeCodes = sync.OnceValue(func() map[string]uint16 {
	m := map[string]uint16{}
	for t, n := range dnsmsg.TypeNames() {
		m[n] = t
	}
	return m
})

func qtypeName(code uint16) string {
	if code == 0 {
		return "TYPE0"
	}
	return dnsmsg.TypeString(code)
}

// openAuthLua4 sets the AuthLua4 globals in L; logf writes pdnslog lines.
func openAuthLua4(L *lua.LState, logf func(level int, msg string)) {
	dn := L.NewTypeMetatable(mtDNSName)
	L.SetField(dn, "__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"toString": func(L *lua.LState) int {
			L.Push(lua.LString(dnText(mustSet(L, checkDN(L, 1)))))
			return 1
		},
		"toStringNoDot": func(L *lua.LState) int {
			s := dnText(mustSet(L, checkDN(L, 1)))
			if s != "." {
				s = strings.TrimSuffix(s, ".")
			}
			L.Push(lua.LString(s))
			return 1
		},
		"canonCompare": func(L *lua.LState) int {
			a, b := checkDN(L, 1), dnArg(L, 2)
			L.Push(lua.LBool(dnsmsg.CompareNames(a.w, b) < 0))
			return 1
		},
		"isPartOf": func(L *lua.LState) int {
			a, b := checkDN(L, 1), dnArg(L, 2)
			if a.w == nil || b == nil {
				L.RaiseError("isPartOf of an unset DNSName")
			}
			L.Push(lua.LBool(dnsmsg.NameWithin(a.w, b)))
			return 1
		},
		"countLabels": func(L *lua.LState) int {
			L.Push(lua.LNumber(dnsmsg.LabelCount(checkDN(L, 1).w)))
			return 1
		},
		"wireLength": dnWireLength,
		"wirelength": dnWireLength,
		"chopOff": func(L *lua.LState) int {
			d := checkDN(L, 1)
			if len(d.w) <= 1 {
				L.Push(lua.LFalse)
				return 1
			}
			d.w = d.w[1+int(d.w[0]):]
			L.Push(lua.LTrue)
			return 1
		},
		"makeRelative": func(L *lua.LState) int {
			d, z := checkDN(L, 1), dnArg(L, 2)
			if d.w == nil || !dnsmsg.NameWithin(d.w, z) {
				L.Push(pushDN(L, nil))
				return 1
			}
			rel := append([]byte{}, d.w[:len(d.w)-len(z)]...)
			L.Push(pushDN(L, append(rel, 0)))
			return 1
		},
		"getRawLabels": func(L *lua.LState) int {
			d := checkDN(L, 1)
			t := L.NewTable()
			for _, l := range dnsmsg.SplitName(d.w) {
				t.Append(lua.LString(l))
			}
			L.Push(t)
			return 1
		},
		"equal": func(L *lua.LState) int {
			d := checkDN(L, 1)
			L.Push(lua.LBool(d.w != nil && bytes.EqualFold(d.w, dnArg(L, 2))))
			return 1
		},
		"empty": func(L *lua.LState) int {
			L.Push(lua.LBool(checkDN(L, 1).w == nil))
			return 1
		},
	}))
	L.SetField(dn, "__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(dnText(mustSet(L, checkDN(L, 1)))))
		return 1
	}))
	L.SetField(dn, "__eq", L.NewFunction(func(L *lua.LState) int {
		a, b := checkDN(L, 1), checkDN(L, 2)
		L.Push(lua.LBool(len(a.w) == len(b.w) && bytes.EqualFold(a.w, b.w) && (a.w == nil) == (b.w == nil)))
		return 1
	}))
	L.SetField(dn, "__lt", L.NewFunction(func(L *lua.LState) int {
		a, b := checkDN(L, 1), checkDN(L, 2)
		L.Push(lua.LBool(dnLess(a.w, b.w)))
		return 1
	}))
	L.SetGlobal("newDN", L.NewFunction(func(L *lua.LState) int {
		s := L.CheckString(1)
		w, err := parseDN(s)
		if err != nil {
			L.RaiseError("newDN(%q): %v", s, err)
		}
		L.Push(pushDN(L, w))
		return 1
	}))

	qt := L.NewTypeMetatable(mtQType)
	checkQT := func(L *lua.LState, i int) *qType {
		if ud, ok := L.Get(i).(*lua.LUserData); ok {
			if q, ok := ud.Value.(*qType); ok {
				return q
			}
		}
		L.ArgError(i, "QType expected")
		return nil
	}
	L.SetField(qt, "__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"getCode": func(L *lua.LState) int { L.Push(lua.LNumber(checkQT(L, 1).code)); return 1 },
		"getName": func(L *lua.LState) int { L.Push(qtypeLName(checkQT(L, 1).code)); return 1 },
		"toString": func(L *lua.LState) int {
			L.Push(qtypeLName(checkQT(L, 1).code))
			return 1
		},
	}))
	L.SetField(qt, "__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(qtypeLName(checkQT(L, 1).code))
		return 1
	}))
	L.SetField(qt, "__eq", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(checkQT(L, 1).code == checkQT(L, 2).code))
		return 1
	}))
	L.SetGlobal("newQType", L.NewFunction(func(L *lua.LState) int {
		switch v := L.Get(1).(type) {
		case lua.LNumber:
			L.Push(pushQType(L, uint16(v)))
		default:
			L.Push(pushQType(L, qtypeCode(L.CheckString(1))))
		}
		return 1
	}))

	ca := L.NewTypeMetatable(mtCA)
	checkCA := func(L *lua.LState, i int) *comboAddr {
		if ud, ok := L.Get(i).(*lua.LUserData); ok {
			if c, ok := ud.Value.(*comboAddr); ok {
				return c
			}
		}
		L.ArgError(i, "ComboAddress expected")
		return nil
	}
	caString := func(L *lua.LState) int { L.Push(lua.LString(checkCA(L, 1).ap.Addr().String())); return 1 }
	L.SetField(ca, "__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"isIPv4":   func(L *lua.LState) int { L.Push(lua.LBool(checkCA(L, 1).ap.Addr().Is4())); return 1 },
		"isIPv6":   func(L *lua.LState) int { L.Push(lua.LBool(!checkCA(L, 1).ap.Addr().Is4())); return 1 },
		"getPort":  func(L *lua.LState) int { L.Push(lua.LNumber(checkCA(L, 1).ap.Port())); return 1 },
		"toString": caString,
		"toStringWithPort": func(L *lua.LState) int {
			L.Push(lua.LString(checkCA(L, 1).ap.String()))
			return 1
		},
		"toStringNoInterface": caString,
		"getRaw": func(L *lua.LState) int {
			L.Push(lua.LString(checkCA(L, 1).ap.Addr().AsSlice()))
			return 1
		},
		"isMappedIPv4": func(L *lua.LState) int { L.Push(lua.LBool(checkCA(L, 1).ap.Addr().Is4In6())); return 1 },
		"mapToIPv4": func(L *lua.LState) int {
			c := checkCA(L, 1)
			ud := L.NewUserData()
			ud.Value = &comboAddr{netip.AddrPortFrom(c.ap.Addr().Unmap(), c.ap.Port())}
			ud.Metatable = L.GetTypeMetatable(mtCA)
			L.Push(ud)
			return 1
		},
		"equal": func(L *lua.LState) int {
			L.Push(lua.LBool(checkCA(L, 1).ap.Addr() == checkCA(L, 2).ap.Addr()))
			return 1
		},
	}))
	L.SetField(ca, "__tostring", L.NewFunction(caString))
	L.SetField(ca, "__eq", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(checkCA(L, 1).ap == checkCA(L, 2).ap))
		return 1
	}))
	L.SetGlobal("newCA", L.NewFunction(func(L *lua.LState) int {
		s := L.CheckString(1)
		ap, err := parseCA(s)
		if err != nil {
			L.RaiseError("newCA(%q): %v", s, err)
		}
		ud := L.NewUserData()
		ud.Value = &comboAddr{ap}
		ud.Metatable = L.GetTypeMetatable(mtCA)
		L.Push(ud)
		return 1
	}))

	levels := []string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Info", "Debug"}
	pdns := L.NewTable()
	ll := L.NewTable()
	for i, n := range levels {
		ll.RawSetString(n, lua.LNumber(i))
	}
	pdns.RawSetString("loglevels", ll)
	for t, n := range dnsmsg.TypeNames() {
		pdns.RawSetString(n, lua.LNumber(t))
	}
	for i, n := range []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"} {
		pdns.RawSetString(n, lua.LNumber(i))
	}
	pdns.RawSetString("DROP", lua.LNumber(-2))
	place := L.NewTable()
	for i, n := range []string{"QUESTION", "ANSWER", "AUTHORITY", "ADDITIONAL"} {
		place.RawSetString(n, lua.LNumber(i))
	}
	pdns.RawSetString("place", place)
	L.SetGlobal("pdns", pdns)
	L.SetGlobal("pdns_features", L.NewTable())
	L.SetGlobal("pdnslog", L.NewFunction(func(L *lua.LState) int {
		msg := L.CheckString(1)
		logf(L.OptInt(2, 4), msg)
		return 0
	}))
	L.SetGlobal("pdnsrandom", L.NewFunction(func(L *lua.LState) int {
		if m := L.OptInt64(1, 0); m > 0 {
			L.Push(lua.LNumber(rand.Int64N(m)))
		} else {
			L.Push(lua.LNumber(rand.Uint32()))
		}
		return 1
	}))
}

func dnWireLength(L *lua.LState) int {
	L.Push(lua.LNumber(len(checkDN(L, 1).w)))
	return 1
}

// dnLess is DNSName::operator<: the raw storage compared right to left,
// case-insensitively (not canonical order).
func dnLess(a, b []byte) bool {
	i, j := len(a)-1, len(b)-1
	for i >= 0 && j >= 0 {
		x, y := lowerByte(a[i]), lowerByte(b[j])
		if x != y {
			return x < y
		}
		i--
		j--
	}
	return i < j
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// parseCA reads "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53".
func parseCA(s string) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 0), nil
	}
	return netip.ParseAddrPort(s)
}

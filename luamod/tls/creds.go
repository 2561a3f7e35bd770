package tls

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
	"ljdns/tlscreds"
)

// credsTypeName is the registry name of credential objects.
const credsTypeName = "dns.tls.creds"

// Creds are TLS credentials (the plain-Go part lives in tlscreds, shared
// with dnsclient's DNS-over-TLS transports).
type Creds = tlscreds.Creds

func registerCreds(L *lua.LState) {
	luabind.RegisterType(L, luabind.TypeSpec{
		Name: credsTypeName,
		Meta: map[string]lua.LGFunction{
			"__tostring": func(L *lua.LState) int {
				c := luabind.Check[*Creds](L, 1, credsTypeName)
				L.Push(lua.LString("tls.creds(" + c.Name + ")"))
				return 1
			},
			"__index": func(L *lua.LState) int {
				c := luabind.Check[*Creds](L, 1, credsTypeName)
				switch L.CheckString(2) {
				case "hostname":
					L.Push(lua.LString(c.Hostname))
				case "strict":
					L.Push(lua.LBool(c.Strict))
				default:
					L.Push(lua.LNil)
				}
				return 1
			},
		},
	})
}

// credsArg reads the optional credentials argument n: nil (opportunistic),
// 'x509' (system roots, strict) or a credentials object.
func credsArg(L *lua.LState, n int, st *state) *Creds {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return st.anon
	case lua.LString:
		switch v {
		case "x509":
			return st.x509
		case "anon":
			return st.anon
		}
		L.ArgError(n, "unknown credentials '"+string(v)+"'")
	}
	return luabind.Check[*Creds](L, n, credsTypeName)
}

// tls.creds.x509{cafile=, certfile=, keyfile=, hostname=} -> creds | nil, err
func credsX509(L *lua.LState, st *state) int {
	opt := L.OptTable(1, L.NewTable())
	str := func(k string) string {
		if v, ok := opt.RawGetString(k).(lua.LString); ok {
			return string(v)
		}
		return ""
	}
	c, err := tlscreds.Load(str("cafile"), str("certfile"), str("keyfile"), str("hostname"))
	if err != nil {
		return luabind.FailErr(L, "dns.tls", err)
	}
	if str("cafile") == "" && str("hostname") == "" && str("certfile") == "" {
		c.Strict = true // x509 credentials with system roots
	}
	c.Name = "x509"
	luabind.Push(L, credsTypeName, c)
	st.open.Append(L.Get(-1))
	return 1
}

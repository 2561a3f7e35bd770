package serve

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/authority"
	"ljdns/daemon/mod/zonefile"
	"ljdns/dnsmsg"
)

func init() { registerModuleBinding("zonefile", openZonefile) }

// openZonefile is the zonefile module (SERVE.md §5) over
// daemon/mod/zonefile: one module value for the process, kept across
// reloads (zones stay served while a new configuration loads; config()
// changes the set).
//
//	modules = { zonefile = { {name = 'example.com', file = 'example.com.zone',
//	    acl = {'127.0.0.1', '10.0.0.0/8'}, tsig = {'xfr-key:hmac-sha256:BASE64'}}, ... } }
//
// A zone with keys = {'Kexample.com.+013+12345.private', ...} (or one
// string) and/or key_dir = 'keys/' is signed on line (authority.Signer),
// denial = 'whitelies' (RFC 4470, the default) or 'compact' (RFC 9824).
func openZonefile(L *lua.LState, env *Env) lua.LValue {
	m := env.Persistent("zonefile", func() any {
		return zonefile.New(zonefile.Options{Log: env.Log()})
	}).(*zonefile.Module)
	env.AddLayer(m)
	M := L.NewTable()
	L.SetFuncs(M, map[string]lua.LGFunction{
		"config": func(L *lua.LState) int {
			zones, err := zonefileConfig(L.Get(1))
			if err == nil {
				err = m.Configure(zones)
			}
			if err == nil { // view:tsig('\5name', ...) finds these secrets
				for _, z := range zones {
					for _, k := range z.Keys {
						tsigKeyring(env).Add(k)
					}
				}
			}
			if err != nil {
				L.RaiseError("zonefile: %v", err)
			}
			L.Push(lua.LTrue)
			return 1
		},
		// zones() lists the zones served: {name, file, serial} each.
		"zones": func(L *lua.LState) int {
			t := L.NewTable()
			for _, z := range m.Engine().Zones() {
				e := L.NewTable()
				e.RawSetString("name", lua.LString((&dnsmsg.Name{Wire: z.Origin}).String()))
				e.RawSetString("file", lua.LString(z.File))
				e.RawSetString("serial", lua.LNumber(z.Serial()))
				t.Append(e)
			}
			L.Push(t)
			return 1
		},
		// check() loads the changed zone files now; it returns the errors (strings).
		"check": func(L *lua.LState) int {
			t := L.NewTable()
			for _, err := range m.Check() {
				t.Append(lua.LString(err.Error()))
			}
			L.Push(t)
			return 1
		},
	})
	return M
}

// zonefileConfig reads the list of zone tables.
func zonefileConfig(v lua.LValue) ([]zonefile.Zone, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("config: a list of zones expected, got %s", v.Type())
	}
	var zones []zonefile.Zone
	var err error
	t.ForEach(func(k, zv lua.LValue) {
		if err != nil {
			return
		}
		if _, ok := k.(lua.LNumber); !ok {
			err = fmt.Errorf("config: unknown option %q", lua.LVAsString(k))
			return
		}
		zt, ok := zv.(*lua.LTable)
		if !ok {
			err = fmt.Errorf("zone %v: a table {name = ..., file = ...} expected", k)
			return
		}
		var z zonefile.Zone
		z, err = zonefileZone(zt)
		if err == nil {
			zones = append(zones, z)
		}
	})
	return zones, err
}

func zonefileZone(t *lua.LTable) (zonefile.Zone, error) {
	var z zonefile.Zone
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		key := lua.LVAsString(k)
		switch key {
		case "name":
			z.Name = lua.LVAsString(v)
		case "file":
			z.File = lua.LVAsString(v)
		case "acl":
			z.ACL = []netip.Prefix{}
			err = eachString(v, "acl", func(s string) error {
				p, perr := parsePrefixOrAddr(s)
				if perr != nil {
					return fmt.Errorf("acl: %v", perr)
				}
				z.ACL = append(z.ACL, p)
				return nil
			})
		case "keys":
			err = eachString(v, "keys", func(s string) error {
				signConf(&z).Keys = append(signConf(&z).Keys, absPath(s))
				return nil
			})
		case "key_dir":
			signConf(&z).KeyDir = absPath(lua.LVAsString(v))
		case "denial":
			var d authority.Denial
			if d, err = authority.ParseDenial(lua.LVAsString(v)); err == nil {
				signConf(&z).Options.Denial = d
			}
		case "tsig":
			err = eachString(v, "tsig", func(s string) error {
				k, kerr := dnsmsg.ParseTSIGKey(s)
				if kerr != nil {
					return fmt.Errorf("tsig: %v", kerr)
				}
				z.Keys = append(z.Keys, k)
				return nil
			})
		default:
			err = fmt.Errorf("unknown zone option %q", key)
		}
	})
	if err == nil && (z.Name == "" || z.File == "") {
		err = fmt.Errorf("a zone needs name and file")
	}
	if err == nil && z.Sign != nil && len(z.Sign.Keys) == 0 && z.Sign.KeyDir == "" {
		err = fmt.Errorf("denial without keys or key_dir")
	}
	if err != nil {
		if z.Name != "" {
			err = fmt.Errorf("zone %s: %v", z.Name, err)
		}
		return z, err
	}
	if abs, aerr := filepath.Abs(z.File); aerr == nil {
		z.File = abs
	}
	return z, nil
}

// signConf returns z's signing configuration, made on first use.
func signConf(z *zonefile.Zone) *authority.SignConfig {
	if z.Sign == nil {
		z.Sign = &authority.SignConfig{}
	}
	return z.Sign
}

// absPath makes a configured path absolute (the daemon may chdir).
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// eachString calls fn for a string or each string of a list.
func eachString(v lua.LValue, what string, fn func(string) error) error {
	switch x := v.(type) {
	case lua.LString:
		return fn(string(x))
	case *lua.LTable:
		var err error
		x.ForEach(func(_, e lua.LValue) {
			if err == nil {
				err = fn(lua.LVAsString(e))
			}
		})
		return err
	}
	return fmt.Errorf("%s: a string or a list of strings expected", what)
}

// parsePrefixOrAddr reads "10.0.0.0/8" or "192.0.2.1" (a host).
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

package serve

import (
	"fmt"
	"net/netip"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/daemon/mod/dns64"
	"ljdns/dnsmsg"
)

func init() { registerModuleBinding("dns64", openDNS64) }

// openDNS64 is kresd 5's dns64 module (RFC 6147) over daemon/mod/dns64:
// modules = {'dns64'} synthesizes with 64:ff9b::/96;
// dns64.config('prefix') or dns64.config({prefix =, rev_ttl =,
// exclude_subnets = {prefixes}}) changes it. The A queries go through the
// server's own pipeline (cache, resolver).
func openDNS64(L *lua.LState, env *Env) lua.LValue {
	d := env.Shared("dns64", func() any {
		return dns64.New(func(r *daemon.Request, qname []byte, qtype uint16) (*dnsmsg.Packet, error) {
			s := env.Server()
			if s == nil {
				return nil, fmt.Errorf("dns64: no server")
			}
			return s.Resolve(qname, qtype, dnsmsg.ClassINET, 0, r.Worker)
		})
	}).(*dns64.DNS64)
	env.AddLayer(d)
	M := L.NewTable()
	L.SetFuncs(M, map[string]lua.LGFunction{
		"config": func(L *lua.LState) int {
			c := dns64.Config{Prefix: dns64.WellKnown, RevTTL: 60}
			parse := func(s string) netip.Prefix {
				p, err := netip.ParsePrefix(s)
				if err != nil {
					a, err2 := netip.ParseAddr(s)
					if err2 != nil {
						L.RaiseError("dns64.config(): bad prefix %q", s)
					}
					p = netip.PrefixFrom(a, 96)
				}
				return p
			}
			switch v := L.Get(1).(type) {
			case lua.LString:
				c.Prefix = parse(string(v))
			case *lua.LTable:
				if p, ok := v.RawGetString("prefix").(lua.LString); ok {
					c.Prefix = parse(string(p))
				}
				if n, ok := v.RawGetString("rev_ttl").(lua.LNumber); ok {
					c.RevTTL = uint32(n)
				}
				if ex, ok := v.RawGetString("exclude_subnets").(*lua.LTable); ok {
					c.Exclude = []netip.Prefix{}
					ex.ForEach(func(_, e lua.LValue) {
						p, err := netip.ParsePrefix(lua.LVAsString(e))
						if err != nil {
							L.RaiseError("dns64.config(): exclude_subnets: %v", err)
						}
						c.Exclude = append(c.Exclude, p)
					})
				}
			case *lua.LNilType:
			default:
				L.RaiseError("dns64.config(): prefix string or table expected")
			}
			if err := d.Configure(c); err != nil {
				L.RaiseError("dns64.config(): %v", err)
			}
			return 0
		},
	})
	return M
}

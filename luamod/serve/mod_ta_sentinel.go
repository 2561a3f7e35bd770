package serve

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon/mod/tasentinel"
)

func init() { registerModuleBinding("ta_sentinel", openTASentinel) }

// openTASentinel is kresd 5's ta_sentinel module (RFC 8509, loaded by
// default) over daemon/mod/tasentinel; the key tags are those of the
// root's trusted anchors in the configuration's trust_anchors.
func openTASentinel(L *lua.LState, env *Env) lua.LValue {
	g := env.gen
	l := env.Shared("ta_sentinel", func() any {
		return tasentinel.New(func() []uint16 {
			if g.anchors == nil {
				return nil
			}
			var tags []uint16
			for _, ks := range g.anchors.Keysets() {
				if len(ks.Owner) != 1 || ks.Owner[0] != 0 {
					continue
				}
				for _, k := range ks.Keys {
					if k.State.Trusted() {
						tags = append(tags, k.Tag)
					}
				}
			}
			return tags
		})
	}).(*tasentinel.Sentinel)
	env.AddLayer(l)
	return L.NewTable()
}

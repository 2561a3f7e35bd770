package serve

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon/mod/renumber"
)

func init() { registerModuleBinding("renumber", openRenumber) }

// openRenumber is kresd 5's renumber module over daemon/mod/renumber:
// renumber.config({{'10.10.10.0/24', '192.168.1.0'}, {'10.0.0.1/32',
// '127.0.0.1!'}}) and modules = {renumber = {...}} add rules.
// kresd's renumber.name() owner rules are not provided.
func openRenumber(L *lua.LState, env *Env) lua.LValue {
	n := env.Shared("renumber", func() any { return renumber.New() }).(*renumber.Renumber)
	env.AddLayer(n)
	M := L.NewTable()
	L.SetFuncs(M, map[string]lua.LGFunction{
		"config": func(L *lua.LState) int {
			if L.Get(1) == lua.LNil {
				return 0
			}
			t, ok := L.Get(1).(*lua.LTable)
			if !ok {
				L.RaiseError("[renumber] expected { {prefix, target}, ... }")
			}
			if _, ok := t.RawGetInt(1).(*lua.LTable); !ok {
				L.RaiseError("[renumber] expected { {prefix, target}, ... }")
			}
			var rules []renumber.Rule
			for i := 1; i <= t.Len(); i++ {
				p, ok := t.RawGetInt(i).(*lua.LTable)
				if !ok {
					L.RaiseError("[renumber] expected { {prefix, target}, ... }")
				}
				r, err := renumber.ParseRule(lua.LVAsString(p.RawGetInt(1)), lua.LVAsString(p.RawGetInt(2)))
				if err != nil {
					L.RaiseError("%v", err)
				}
				rules = append(rules, r)
			}
			if env.Worker() == 0 {
				n.Add(rules...)
			}
			return 0
		},
	})
	return M
}

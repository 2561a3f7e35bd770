package serve

// trust_anchors (sandbox.lua) over the generation's resolver/anchors
// store: add_file (and -k), add, remove, set_insecure/negative, summary,
// hold_down_time, refresh_time and keep_removed. Every worker runs the
// configuration against the one store (the calls are idempotent); the
// loader checks it once the configuration has run (a key file that does
// not exist is an error unless anchors were added for its zone).

import (
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/resolver/anchors"
)

// TrustAnchors returns the trust anchors the configuration set up: the
// resolver's AnchorSource (its Anchors and Observe), and its negative
// trust anchors (Insecure).
func (g *generation) TrustAnchors() *anchors.Store { return g.anchors }

// taNatives are the Go halves of sandbox.lua's trust_anchors functions,
// S.ta_*; failures return nil and the message.
func (w *worker) taNatives(L *lua.LState, S *lua.LTable) {
	st := w.gen.anchors
	fail := func(L *lua.LState, err error) int {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	ms := func(L *lua.LState, n int) time.Duration {
		return time.Duration(float64(L.CheckNumber(n)) * float64(time.Millisecond))
	}
	for name, fn := range map[string]lua.LGFunction{
		"ta_add_file": func(L *lua.LState) int {
			if err := st.AddFile(L.CheckString(1), lua.LVAsBool(L.Get(2))); err != nil {
				return fail(L, err)
			}
			L.Push(lua.LTrue)
			return 1
		},
		"ta_add": func(L *lua.LState) int {
			if err := st.Add(L.CheckString(1)); err != nil {
				return fail(L, err)
			}
			L.Push(lua.LTrue)
			return 1
		},
		"ta_remove": func(L *lua.LState) int {
			L.Push(lua.LBool(st.Remove(L.CheckString(1))))
			return 1
		},
		"ta_set_insecure": func(L *lua.LState) int {
			var names []string
			L.CheckTable(1).ForEach(func(_, v lua.LValue) {
				if s, ok := v.(lua.LString); ok {
					names = append(names, string(s))
				}
			})
			if err := st.SetInsecure(names); err != nil {
				return fail(L, err)
			}
			L.Push(lua.LTrue)
			return 1
		},
		"ta_summary": func(L *lua.LState) int {
			L.Push(lua.LString(st.Summary()))
			return 1
		},
		"ta_anchors": func(L *lua.LState) int {
			t := L.NewTable()
			for _, a := range st.Anchors() {
				t.Append(lua.LString(a))
			}
			L.Push(t)
			return 1
		},
		"ta_hold_down_time": func(L *lua.LState) int { st.SetHoldDown(ms(L, 1)); return 0 },
		"ta_refresh_time": func(L *lua.LState) int {
			if L.Get(1) == lua.LNil {
				st.SetRefreshTime(0)
			} else {
				st.SetRefreshTime(ms(L, 1))
			}
			return 0
		},
		"ta_keep_removed": func(L *lua.LState) int { st.SetKeepRemoved(L.CheckInt(1)); return 0 },
	} {
		S.RawSetString(name, L.NewFunction(fn))
	}
}

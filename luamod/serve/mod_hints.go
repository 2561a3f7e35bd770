package serve

import (
	"bufio"
	"os"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon/mod/hints"
)

// kresd's built-in root hints (root.hints of IANA).
var defaultRootHints = map[string][]string{
	"a.root-servers.net.": {"198.41.0.4", "2001:503:ba3e::2:30"},
	"b.root-servers.net.": {"170.247.170.2", "2801:1b8:10::b"},
	"c.root-servers.net.": {"192.33.4.12", "2001:500:2::c"},
	"d.root-servers.net.": {"199.7.91.13", "2001:500:2d::d"},
	"e.root-servers.net.": {"192.203.230.10", "2001:500:a8::e"},
	"f.root-servers.net.": {"192.5.5.241", "2001:500:2f::f"},
	"g.root-servers.net.": {"192.112.36.4", "2001:500:12::d0d"},
	"h.root-servers.net.": {"198.97.190.53", "2001:500:1::53"},
	"i.root-servers.net.": {"192.36.148.17", "2001:7fe::53"},
	"j.root-servers.net.": {"192.58.128.30", "2001:503:c27::2:30"},
	"k.root-servers.net.": {"193.0.14.129", "2001:7fd::1"},
	"l.root-servers.net.": {"199.7.83.42", "2001:500:9f::42"},
	"m.root-servers.net.": {"202.12.27.33", "2001:dc3::35"},
}

func init() { registerModuleBinding("hints", openHints) }

// openHints is kresd's hints module over daemon/mod/hints: one table per
// configuration generation, shared by the workers.
func openHints(L *lua.LState, env *Env) lua.LValue {
	h := env.Shared("hints", func() any {
		h := hints.New()
		h.SetRoot(defaultRootHints)
		return h
	}).(*hints.Hints)
	env.AddLayer(h)
	strList := func(xs []string) *lua.LTable {
		t := L.NewTable()
		for _, x := range xs {
			t.Append(lua.LString(x))
		}
		return t
	}
	mapTable := func(m map[string][]string) *lua.LTable {
		t := L.NewTable()
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.RawSetString(k, strList(m[k]))
		}
		return t
	}
	set := func(L *lua.LState, spec string) int {
		if err := h.Set(spec); err != nil {
			L.RaiseError("%v", err)
		}
		t := L.NewTable()
		t.RawSetString("result", lua.LTrue)
		L.Push(t)
		return 1
	}
	M := L.NewTable()
	L.SetFuncs(M, map[string]lua.LGFunction{
		"config": func(L *lua.LState) int {
			h.Clear()
			if p := L.OptString(1, ""); p != "" {
				if err := h.AddHosts(p); err != nil {
					L.RaiseError("hints.config: %v", err)
				}
			}
			L.Push(lua.LTrue)
			return 1
		},
		"add_hosts": func(L *lua.LState) int {
			if err := h.AddHosts(L.OptString(1, "/etc/hosts")); err != nil {
				L.RaiseError("hints.add_hosts: %v", err)
			}
			t := L.NewTable()
			t.RawSetString("result", lua.LTrue)
			L.Push(t)
			return 1
		},
		"set": func(L *lua.LState) int { return set(L, L.CheckString(1)) },
		"del": func(L *lua.LState) int {
			ok, err := h.Del(L.CheckString(1))
			if err != nil {
				L.RaiseError("%v", err)
			}
			t := L.NewTable()
			t.RawSetString("result", lua.LBool(ok))
			L.Push(t)
			return 1
		},
		"get": func(L *lua.LState) int {
			if L.GetTop() == 0 || L.Get(1) == lua.LNil {
				L.Push(mapTable(h.All()))
				return 1
			}
			name := L.CheckString(1)
			t := L.NewTable()
			if as := h.Get(name); len(as) > 0 {
				n := strings.ToLower(strings.TrimSuffix(name, ".")) + "."
				t.RawSetString(n, strList(as))
			}
			L.Push(t)
			return 1
		},
		"root": func(L *lua.LState) int {
			if tb, ok := L.Get(1).(*lua.LTable); ok {
				m := map[string][]string{}
				var bad error
				tb.ForEach(func(k, v lua.LValue) {
					n := lua.LVAsString(k)
					switch x := v.(type) {
					case lua.LString:
						m[n] = append(m[n], string(x))
					case *lua.LTable:
						x.ForEach(func(_, a lua.LValue) { m[n] = append(m[n], lua.LVAsString(a)) })
					}
				})
				if bad = h.SetRoot(m); bad != nil {
					L.RaiseError("%v", bad)
				}
			}
			L.Push(mapTable(h.Root()))
			return 1
		},
		"root_file": func(L *lua.LState) int {
			path := L.OptString(1, "")
			if path == "" {
				h.SetRoot(defaultRootHints)
				L.Push(lua.LString(""))
				return 1
			}
			m, err := readRootFile(path)
			if err != nil {
				L.Push(lua.LString(err.Error()))
				return 1
			}
			if err := h.SetRoot(m); err != nil {
				L.Push(lua.LString(err.Error()))
				return 1
			}
			L.Push(lua.LString(""))
			return 1
		},
		"use_nodata": func(L *lua.LState) int {
			h.UseNodata(L.ToBool(1))
			L.Push(lua.LTrue)
			return 1
		},
		"ttl": func(L *lua.LState) int {
			if v, ok := L.Get(1).(lua.LNumber); ok {
				if v < 0 || v > 0x7fffffff {
					L.ArgError(1, "TTL out of range")
				}
				h.SetTTL(uint32(v))
			}
			L.Push(lua.LNumber(h.TTL()))
			return 1
		},
	})
	mt := L.NewTable()
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		// hints['name'] = 'addr'
		name, addr := L.CheckString(2), L.CheckString(3)
		return set(L, name+" "+addr)
	}))
	L.SetMetatable(M, mt)
	return M
}

// readRootFile reads the A and AAAA records of a root hints zone file.
func readRootFile(path string) (map[string][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		fs := strings.Fields(line)
		for i := 1; i+1 < len(fs); i++ {
			if t := strings.ToUpper(fs[i]); t == "A" || t == "AAAA" {
				n := strings.ToLower(fs[0])
				if !strings.HasSuffix(n, ".") {
					n += "."
				}
				m[n] = append(m[n], fs[i+1])
				break
			}
		}
	}
	return m, sc.Err()
}

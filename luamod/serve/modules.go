package serve

import (
	"fmt"
	"os"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/host"
)

// notShipped are kresd 5 modules that ljdns serve does not provide: a
// configuration loading one fails naming it.
var notShipped = map[string]bool{
	"daf": true, "graphite": true,
	"bogus_log": true, "dnstap": true, "prefetch": true, "experimental_dot_auth": true,
	"etcd": true, "rebinding": true, "ta_signal": true, "serve_stale_old": true,
	"edns_keepalive_old": true, "dnssec_log": true, "cookies": true, "bogus": true, "memcached": true,
	"redis": true, "hints_old": true, "priming_old": true, "trust_anchors": true, "version": true,
}

// authoritativeModules are loaded before policy unless placed explicitly.
var authoritativeModules = map[string]bool{"lua2": true, "zonefile": true, "etcdzone": true}

// parseModuleSpec splits kresd's 'name > other' / 'name < other'.
func parseModuleSpec(spec string) (name, rel, other string) {
	spec = strings.TrimSpace(spec)
	for _, op := range []string{">", "<"} {
		if i := strings.Index(spec, op); i >= 0 {
			return strings.TrimSpace(spec[:i]), op, strings.TrimSpace(spec[i+1:])
		}
	}
	return spec, "", ""
}

// findModule returns the loaded module name, or nil.
func (w *worker) findModule(name string) (int, *module) {
	for i, m := range w.modules {
		if m.name == name {
			return i, m
		}
	}
	return -1, nil
}

// loadModule loads spec ('name', 'name > other', 'name < other'); a
// module already loaded stays where it is. Errors name the module.
func (w *worker) loadModule(spec, _ string) error {
	name, rel, other := parseModuleSpec(spec)
	if name == "" {
		return fmt.Errorf("modules.load(): empty module name")
	}
	if _, m := w.findModule(name); m != nil {
		return nil
	}
	m := &module{name: name}
	if open, ok := binding(name); ok {
		w.env.cur = name
		val, err := w.openGo(open)
		w.env.cur = ""
		if err != nil {
			return fmt.Errorf("modules.load('%s'): %s", name, err)
		}
		for _, mm := range w.pendingGo {
			m.goLayers = append(m.goLayers, mm)
		}
		w.pendingGo = nil
		if val != lua.LNil {
			w.L.SetGlobal(name, val)
		}
	} else if _, ok := builtinPlaceholders[name]; ok {
		m.builtin = true
	} else {
		path := w.searchModule(name)
		if path == "" {
			if notShipped[name] {
				return fmt.Errorf("modules.load('%s'): kresd's module '%s' is not shipped with ljdns serve", name, name)
			}
			return fmt.Errorf("modules.load('%s'): module not found (Go modules: %s; Lua modules on package.path)", name, strings.Join(GoModules(), ", "))
		}
		t, err := w.openLua(name, path)
		if err != nil {
			return err
		}
		m.lua = t
	}
	pos := len(w.modules)
	if rel == "" && authoritativeModules[name] {
		// authoritative data is answered before policy's rules (and its
		// special-use names: a served zone may be under test.)
		if i, _ := w.findModule("policy"); i >= 0 {
			pos = i
		}
	}
	if rel != "" {
		if i, _ := w.findModule(other); i >= 0 {
			pos = i
			if rel == ">" {
				pos = i + 1
			}
		}
	}
	w.modules = append(w.modules, nil)
	copy(w.modules[pos+1:], w.modules[pos:])
	w.modules[pos] = m
	w.modulesChanged()
	return nil
}

// openGo calls a Go module's open in protected mode.
func (w *worker) openGo(open moduleOpen) (v lua.LValue, err error) {
	L := w.L
	fn := L.NewFunction(func(L *lua.LState) int {
		L.Push(open(L, w.env))
		return 1
	})
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}); err != nil {
		return lua.LNil, fmt.Errorf("%s", firstLine(host.FormatError(err)))
	}
	v = L.Get(-1)
	L.Pop(1)
	return v, nil
}

// addGoLayer records a layer added by the Go module being opened (once
// per layer value: every worker's binding adds the same shared layer).
func (w *worker) addGoLayer(mod string, l daemon.Layer) {
	for _, x := range w.pendingGo {
		if x == l {
			return
		}
	}
	w.pendingGo = append(w.pendingGo, l)
}

// searchModule looks for name on package.path (kresd also tries kres_modules.name).
func (w *worker) searchModule(name string) string {
	pkg, ok := w.L.GetGlobal("package").(*lua.LTable)
	if !ok {
		return ""
	}
	ppath := lua.LVAsString(pkg.RawGetString("path"))
	for _, n := range []string{name, "kres_modules." + name} {
		file := strings.ReplaceAll(n, ".", "/")
		for _, pat := range strings.Split(ppath, ";") {
			if pat == "" {
				continue
			}
			p := strings.ReplaceAll(pat, "?", file)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
	}
	return ""
}

// openLua executes a Lua module file and calls its init.
func (w *worker) openLua(name, path string) (*lua.LTable, error) {
	L := w.L
	fn, err := host.LoadFile(L, path)
	if err != nil {
		return nil, fmt.Errorf("%s", firstLine(host.FormatError(err)))
	}
	top := L.GetTop()
	if err := host.Call(L, fn, lua.LString(name)); err != nil {
		return nil, fmt.Errorf("%s", firstLine(host.FormatError(err)))
	}
	var t *lua.LTable
	if L.GetTop() > top {
		t, _ = L.Get(top + 1).(*lua.LTable)
	}
	L.SetTop(top)
	if t == nil {
		t, _ = L.GetGlobal(name).(*lua.LTable)
	}
	if t == nil {
		return nil, fmt.Errorf("modules.load('%s'): %s did not return a module table", name, path)
	}
	L.SetGlobal(name, t)
	if f, ok := t.RawGetString("init").(*lua.LFunction); ok {
		if err := host.Call(L, f, t); err != nil {
			return nil, fmt.Errorf("%s", firstLine(host.FormatError(err)))
		}
	}
	return t, nil
}

// unloadModule removes a module (deinit for Lua modules).
func (w *worker) unloadModule(name string) bool {
	i, m := w.findModule(name)
	if m == nil {
		return false
	}
	w.modules = append(w.modules[:i], w.modules[i+1:]...)
	if m.lua != nil {
		if f, ok := m.lua.RawGetString("deinit").(*lua.LFunction); ok {
			if err := host.Call(w.L, f, m.lua); err != nil {
				w.gen.ld.log.Warnf("system", "module %s: deinit: %s", name, firstLine(host.FormatError(err)))
			}
		}
	}
	if !m.builtin {
		w.L.SetGlobal(name, lua.LNil)
	}
	w.modulesChanged()
	return true
}

// modulesChanged refreshes the Lua layer functions of this state and, once
// the server runs, the request path (modules loaded at run time).
func (w *worker) modulesChanged() {
	w.layers = w.collectLayers()
	if !w.running.Load() || w.id != 0 {
		return
	}
	w.gen.relayer()
}

// modLoad is modules.load(spec).
func (w *worker) modLoad(L *lua.LState) int {
	spec := L.CheckString(1)
	if err := w.loadModule(spec, ""); err != nil {
		L.RaiseError("%s", err)
	}
	L.Push(lua.LTrue)
	return 1
}

// modUnload is modules.unload(name).
func (w *worker) modUnload(L *lua.LState) int {
	name, _, _ := parseModuleSpec(L.CheckString(1))
	if !w.unloadModule(name) {
		L.RaiseError("modules.unload('%s'): module not loaded", name)
	}
	L.Push(lua.LTrue)
	return 1
}

// modList is modules.list().
func (w *worker) modList(L *lua.LState) int {
	t := L.NewTable()
	for _, m := range w.modules {
		t.Append(lua.LString(m.name))
	}
	L.Push(t)
	return 1
}

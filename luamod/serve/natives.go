package serve

import (
	"fmt"
	"os"
	"os/user"
	"syscall"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/luabind"
)

// natives returns the table of Go functions the sandbox builds kresd's
// globals from (sandbox.lua's S).
func (w *worker) natives() *lua.LTable {
	L := w.L
	S := L.NewTable()
	fn := func(t *lua.LTable, prefix string, m map[string]lua.LGFunction) *lua.LTable {
		return luabind.SetFuncs(L, t, prefix, m)
	}
	fn(S, "serve", map[string]lua.LGFunction{
		"log":            w.nLog,
		"log_level":      w.nLogLevel,
		"log_groups":     w.nLogGroups,
		"group_name":     nGroupName,
		"hostname":       nHostname,
		"version":        w.nVersion,
		"moduledir":      w.nModuledir,
		"user":           w.nUser,
		"option":         w.nOption,
		"quit":           w.nQuit,
		"reload":         w.nReload,
		"resolve":        w.nResolve,
		"map":            w.nMap,
		"resolver_clear": w.nResolverClear,
		"setenv": func(L *lua.LState) int {
			setenv(L.CheckString(1), L.Get(2))
			return 0
		},
	})
	S.RawSetString("kres", w.openKres(L))
	S.RawSetString("net", fn(L.NewTable(), "net", w.netFuncs()))
	S.RawSetString("modules", fn(L.NewTable(), "modules", map[string]lua.LGFunction{
		"load":   w.modLoad,
		"unload": w.modUnload,
		"list":   w.modList,
	}))
	S.RawSetString("cache", w.cacheTable(L))
	S.RawSetString("event", fn(L.NewTable(), "event", map[string]lua.LGFunction{
		"after":      func(L *lua.LState) int { return w.eventAfter(L, false) },
		"recurrent":  func(L *lua.LState) int { return w.eventAfter(L, true) },
		"cancel":     w.eventCancel,
		"reschedule": w.eventReschedule,
	}))
	wt := fn(L.NewTable(), "worker", map[string]lua.LGFunction{
		"sleep":     w.workerSleep,
		"coroutine": w.workerCoroutine,
		"stats":     w.workerStats,
	})
	wt.RawSetString("id", lua.LNumber(w.id))
	wt.RawSetString("count", lua.LNumber(w.gen.ld.o.Workers))
	wt.RawSetString("pid", lua.LNumber(os.Getpid()))
	S.RawSetString("worker", wt)

	return S
}

// logLevels maps log_* functions' levels.
var logLevels = map[string]daemon.Level{"crit": daemon.LevelCrit, "error": daemon.LevelErr,
	"warning": daemon.LevelWarning, "notice": daemon.LevelNotice, "info": daemon.LevelInfo, "debug": daemon.LevelDebug}

func (w *worker) nLog(L *lua.LState) int {
	lv := logLevels[L.CheckString(1)]
	w.gen.ld.log.Logf(lv, L.CheckString(2), "%s", L.CheckString(3))
	return 0
}

func (w *worker) nLogLevel(L *lua.LState) int {
	log := w.gen.ld.log
	if L.GetTop() >= 1 && L.Get(1) != lua.LNil {
		s := L.CheckString(1)
		lv, ok := daemon.ParseLevel(s)
		if !ok {
			L.ArgError(1, fmt.Sprintf("unknown log level '%s' (crit, err, warning, notice, info, debug)", s))
		}
		log.SetLevel(lv)
		w.gen.cfg.Verbose = lv == daemon.LevelDebug
	}
	L.Push(lua.LString(log.Level().String()))
	return 1
}

func (w *worker) nLogGroups(L *lua.LState) int {
	log := w.gen.ld.log
	if t, ok := L.Get(1).(*lua.LTable); ok {
		var gs []string
		t.ForEach(func(_, v lua.LValue) { gs = append(gs, lua.LVAsString(v)) })
		log.SetGroups(gs)
	}
	t := L.NewTable()
	for _, g := range log.Groups() {
		t.Append(lua.LString(g))
	}
	L.Push(t)
	return 1
}

// logGroups are kresd 5's log groups (enum kr_log_group order), for
// ffi.C.LOG_GRP_* and log_groups().
var logGroups = []string{"system", "cache", "io", "net", "ta", "tasent", "tls", "tls_cl", "xdp", "zimprt",
	"zscann", "doh", "dnssec", "hint", "plan", "iterat", "valdtr", "resolv", "select", "zoncut", "cookie",
	"statis", "rebind", "worker", "policy", "daf", "timejm", "timesk", "graphi", "prefil", "primin", "srvstl",
	"wtchdg", "nsid", "dnstap", "tests", "dotaut", "http", "contrl", "module", "devel", "renum", "exterr",
	"rules", "prlayr", "defer", "doq", "dns64"}

// logGroupConst maps the LOG_GRP_ constant names to group indexes.
var logGroupConst = map[string]int{"SYSTEM": 0, "CACHE": 1, "IO": 2, "NETWORK": 3, "TA": 4, "TASENTINEL": 5,
	"TLS": 6, "TLSCLIENT": 7, "XDP": 8, "ZIMPORT": 9, "ZSCANNER": 10, "DOH": 11, "DNSSEC": 12, "HINT": 13,
	"PLAN": 14, "ITERATOR": 15, "VALIDATOR": 16, "RESOLVER": 17, "SELECTION": 18, "ZCUT": 19, "COOKIES": 20,
	"STATISTICS": 21, "REBIND": 22, "WORKER": 23, "POLICY": 24, "DAF": 25, "DETECTTIMEJUMP": 26,
	"DETECTTIMESKEW": 27, "GRAPHITE": 28, "PREFILL": 29, "PRIMING": 30, "SRVSTALE": 31, "WATCHDOG": 32,
	"NSID": 33, "DNSTAP": 34, "TESTS": 35, "DOTAUTH": 36, "HTTP": 37, "CONTROL": 38, "MODULE": 39,
	"DEVEL": 40, "RENUMBER": 41, "EDE": 42, "RULES": 43, "PROTOLAYER": 44, "DEFER": 45, "DOQ": 46, "DNS64": 47}

func nGroupName(L *lua.LState) int {
	i := L.CheckInt(1)
	if i >= 0 && i < len(logGroups) {
		L.Push(lua.LString(logGroups[i]))
	} else {
		L.Push(lua.LString("system"))
	}
	return 1
}

func nHostname(L *lua.LState) int {
	if s := L.OptString(1, ""); s != "" {
		if err := syscall.Sethostname([]byte(s)); err != nil {
			L.RaiseError("hostname(): %v", err)
		}
	}
	h, _ := os.Hostname()
	L.Push(lua.LString(h))
	return 1
}

func (w *worker) nVersion(L *lua.LState) int {
	v := w.gen.ld.o.Version
	if v == "" {
		v = "ljdns"
	}
	L.Push(lua.LString(v))
	return 1
}

func (w *worker) nModuledir(L *lua.LState) int {
	pkg := L.GetGlobal("package").(*lua.LTable)
	if d := L.OptString(1, ""); d != "" {
		pkg.RawSetString("path", lua.LString(d+"/?.lua;"+d+"/?/init.lua;"+lua.LVAsString(pkg.RawGetString("path"))))
		L.Push(lua.LString(d))
		return 1
	}
	L.Push(lua.LString("."))
	return 1
}

// nUser is user(name, [group]): the daemon switches to them once the
// first configuration's listeners are bound (daemon.Config.User), so that
// privileged ports configured before user() still open, as in kresd.
func (w *worker) nUser(L *lua.LState) int {
	name := L.CheckString(1)
	if _, err := user.Lookup(name); err != nil {
		L.RaiseError("user(): %v", err)
	}
	group := L.OptString(2, "")
	if group != "" {
		if _, err := user.LookupGroup(group); err != nil {
			L.RaiseError("user(): %v", err)
		}
	}
	w.gen.cfg.User, w.gen.cfg.Group = name, group
	L.Push(lua.LTrue)
	return 1
}

// nOption is option(name, [bool]) over the request flags every request starts with.
func (w *worker) nOption(L *lua.LState) int {
	name := L.CheckString(1)
	f, ok := daemon.FlagByName(name)
	if !ok {
		L.ArgError(1, fmt.Sprintf("invalid option name '%s'", name))
	}
	cfg := w.gen.cfg
	if v := L.Get(2); v != lua.LNil {
		if v == lua.LTrue {
			cfg.Options |= f
		} else {
			cfg.Options &^= f
		}
		w.applyRuntime(func(c *daemon.Config) { c.Options = cfg.Options })
	}
	L.Push(lua.LBool(cfg.Options.Has(f)))
	return 1
}

func (w *worker) nQuit(L *lua.LState) int {
	code := L.OptInt(1, 0)
	if q := w.gen.ld.o.Quit; q != nil && w.running.Load() {
		q(code)
		return 0
	}
	hostExit(L, code)
	return 0
}

// hostExit ends the process the way os.exit does in a script.
func hostExit(L *lua.LState, code int) {
	osT, ok := L.GetGlobal("os").(*lua.LTable)
	if ok {
		if f, ok := osT.RawGetString("exit").(*lua.LFunction); ok {
			L.Push(f)
			L.Push(lua.LNumber(code))
			L.Call(1, 0)
		}
	}
	os.Exit(code)
}

func (w *worker) nReload(L *lua.LState) int {
	r := w.gen.ld.o.Reload
	if r == nil || !w.running.Load() {
		L.RaiseError("reload(): the daemon is not running")
	}
	go r() // the reload retires this state: never wait for it here
	L.Push(lua.LTrue)
	return 1
}

// applyRuntime changes the configuration of the running server (an
// option(), net.listen() made after the start): worker 0's settings are
// the served ones.
func (w *worker) applyRuntime(change func(c *daemon.Config)) error {
	if !w.running.Load() || w.id != 0 {
		return nil
	}
	srv := w.gen.ld.server()
	if srv == nil || w.gen.ld.current() != w.gen {
		return nil
	}
	c := *w.gen.cfg
	change(&c)
	return srv.Reload(&c)
}

// relayer puts the current module layers into the running server
// (modules loaded or unloaded at run time). It runs on worker 0's
// goroutine, which holds its state: the layers are read from it here.
func (g *generation) relayer() {
	g.finish()
	g.reloadServer()
}

// relayerAsync is relayer from another goroutine: worker 0's state is
// read on its own goroutine.
func (g *generation) relayerAsync() {
	w0 := g.workers[0]
	w0.exec(func() { g.finish() })
	g.reloadServer()
}

func (g *generation) reloadServer() {
	if srv := g.ld.server(); srv != nil && g.ld.current() == g {
		c := *g.cfg
		if err := srv.Reload(&c); err != nil {
			g.ld.log.Errorf("system", "modules: %v", err)
		}
	}
}

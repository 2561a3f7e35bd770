package serve

import (
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/host"
)

// loadErr loads config and returns the load error.
func loadErr(t *testing.T, config string, o Options) error {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "config")
	os.WriteFile(p, []byte(config), 0o644)
	o.Config, o.ConfigExplicit = p, true
	o.CheckConfig = true
	o.NewState = func() *lua.LState { return host.New(host.Options{}) }
	o.Log = daemon.NewLogger(&syncBuffer{})
	ld, err := NewLoader(o)
	if err != nil {
		t.Fatal(err)
	}
	defer ld.Close()
	_, err = ld.Load()
	return err
}

// eval evaluates expr in worker w of the rig and returns the text.
func (r *rig) eval(w int, expr string) string {
	return strings.TrimSpace(r.ld.current().workers[w].evalLine(expr))
}

// TestConfigErrors: a syntax error, a runtime error, a bad address and a
// missing module each give one line with the configuration's file:line.
func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ name, config, want string }{
		{"syntax", "net.listen('127.0.0.1', 53)\nx = ''1''\n", "config:2:"},
		{"runtime", "\n\nlocal x = nil\nx.y = 1\n", "config:4:"},
		{"address", "net.listen('300.1.1.1', 53)", "config:1:"},
		{"module", "\nmodules = {'nosuchmodule'}", "config:2: modules.load('nosuchmodule'): module not found"},
		{"kresd module", "modules.load('daf')", "config:1: modules.load('daf'): kresd's module 'daf' is not shipped"},
		{"bad option", "option('MARS', true)", "config:1:"},
		{"bad kind", "net.listen('127.0.0.1', 53, {kind = 'carrier-pigeon'})", "config:1:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := loadErr(t, c.config, Options{})
			if err == nil {
				t.Fatal("loaded")
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line containing %q", msg, c.want)
			}
		})
	}
}

// TestConfigEnvironment checks kresd's globals, units and the table
// merges of a configuration, and the seeds' older forms.
func TestConfigEnvironment(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "root.keys")
	os.WriteFile(keys, []byte(". 3600 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"), 0o644)
	r := newRig(t, 2, `
net = {'127.0.0.1', '::1'}
net.listen('127.0.0.1', 853, {kind = 'tls'})
net.bufsize(4096)
cache.size = 10 * MB
trust_anchors.file = '`+keys+`'
trust_anchors.set_insecure({'example.'})
option('ALLOW_LOCAL', true)
modules = {answer = true}
units = {sec, minute, hour, day, kB, MB, GB}
seen_id = worker.id
`, map[string]string{"answer": answerMod})
	cfg := r.ld.current().cfg
	if len(cfg.Listen) != 3 || cfg.Listen[2].Kind != daemon.KindTLS {
		t.Errorf("listeners %v, want 127.0.0.1@53, ::1@53, 127.0.0.1@853 tls", cfg.Listen)
	}
	if cfg.BufSize != 4096 || !cfg.Options.Has(daemon.AllowLocal) {
		t.Errorf("bufsize %d, options %v", cfg.BufSize, cfg.Options)
	}
	for _, c := range []struct{ expr, want string }{
		{"= table.concat(units, ' ')", "1000 60000 3600000 86400000 1024 1048576 1073741824"},
		{"= cache.current_size", "10485760"},
		{"= #net.list()", "5"},
		{"= modules.list()[#modules.list()]", "answer"},
		{"= type(answer.layer.begin)", "function"},
		{"= trust_anchors.summary():match('20326') ~= nil", "true"},
		{"= trust_anchors.summary():match('negative trust anchor example.') ~= nil", "true"},
		{"= worker.id .. '/' .. worker.count", "0/2"},
		{"= option('ALLOW_LOCAL')", "true"},
		{"= table_print({a = 1})", "{\n    ['a'] = 1,\n}"},
		{"= help():match('net.listen') ~= nil", "true"},
		{"= net = 5", "error:"},
	} {
		if got := r.eval(0, c.expr); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	if got := r.eval(1, "= seen_id"); got != "1" {
		t.Errorf("worker 1's worker.id = %q", got)
	}
	// map() evaluates in every worker, results in worker order
	if got := r.eval(0, "= table.concat(map('worker.id'), ',')"); got != "0,1" {
		t.Errorf("map('worker.id') = %q, want 0,1", got)
	}
}

// TestEvents: event.after, recurrent, reschedule and cancel in milliseconds,
// worker.coroutine with worker.sleep in seconds; callbacks get the id.
func TestEvents(t *testing.T) {
	r := newRig(t, 1, `
fired = {}
event.after(10, function(id) table.insert(fired, 'after') end)
ticks = 0
tick = event.recurrent(5, function(id) ticks = ticks + 1 if ticks == 3 then event.cancel(id) end end)
late = event.after(60000, function() table.insert(fired, 'never') end)
event.reschedule(late, 20)
gone = event.after(15, function() table.insert(fired, 'cancelled') end)
event.cancel(gone)
worker.coroutine(function() worker.sleep(0.03) table.insert(fired, 'slept') end)
`, nil)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r.eval(0, "= #fired .. ' ' .. ticks") == "3 3" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := r.eval(0, "table.sort(fired) return table.concat(fired, ' ') .. ' ' .. ticks")
	if got != "after never slept 3" {
		t.Errorf("events: %q, want 'after never slept 3'", got)
	}
}

// TestModuleLifecycle: a Lua module's init, config and deinit; unload
// takes its layer out of the request path.
func TestModuleLifecycle(t *testing.T) {
	mod := `
local M = {layer = {}}
function M.init(m) log = {'init'} end
function M.config(c) table.insert(log, 'config ' .. c.x) end
function M.deinit() table.insert(log, 'deinit') end
function M.layer.begin(state, req)
	local a = req:ensure_answer()
	a:rcode(kres.rcode.NXDOMAIN)
	return kres.DONE
end
return M`
	r := newRig(t, 1, "modules = {life = {x = 'y'}}", map[string]string{"life": mod})
	if got := r.eval(0, "= table.concat(log, ',')"); got != "init,config y" {
		t.Errorf("log %q", got)
	}
	if a := r.query(t, "x.example.", 1, 0); a.Rcode != 3 {
		t.Errorf("rcode %d, want NXDOMAIN from the layer", a.Rcode)
	}
	r.eval(0, "modules.unload('life')")
	if got := r.eval(0, "= table.concat(log, ',')"); got != "init,config y,deinit" {
		t.Errorf("log %q", got)
	}
	srv := r.ld.server()
	for _, l := range srv.Config().Layers {
		if l.Name() == "life" {
			t.Fatalf("the unloaded module's layer is still in the request path")
		}
	}
}

// TestReloadRetiresStates: a reload executes the configuration into new
// states; once the daemon retires the old configuration (after its
// requests drained), the old states' timers and coroutines stop.
func TestReloadRetiresStates(t *testing.T) {
	r := newRig(t, 1, `
ticks = 0
event.recurrent(5, function() ticks = ticks + 1 end)
worker.coroutine(function() while true do worker.sleep(0.005) ticks = ticks + 1 end end)
`, nil)
	old := r.ld.current()
	cfg, err := r.ld.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !old.workers[0].stopped.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !old.workers[0].stopped.Load() {
		t.Fatal("the old generation's worker still runs after the reload drained")
	}
	select {
	case <-old.workers[0].done:
	case <-time.After(5 * time.Second):
		t.Fatal("the old generation's loop did not end")
	}
	if r.ld.current() == old || r.ld.current().workers[0].stopped.Load() {
		t.Fatal("the new generation is not the one serving")
	}
	if got := r.eval(0, "= ticks >= 0"); got != "true" {
		t.Errorf("new state: %q", got)
	}
}

// TestSeedForms loads the forms the seeds' documentation
// (../shared/seeds/knot-resolver-daemon.rst) shows, kresd 5 removed ones
// included.
func TestSeedForms(t *testing.T) {
	r := newRig(t, 2, `
net = { '127.0.0.1', '::1' }
net.listen(net.lo, 5353)
net.listen({net.lo, '127.0.0.1'}, 53853, {tls = true})
net.bufsize(4096)
net.tcp_pipeline(50)
cache.size = 10*MB
cache.storage = 'lmdb://.'
trust_anchors.negative = { 'bad.boy', 'example.com' }
trust_anchors.hold_down_time = 30 * day
msg_count = 0
event.recurrent(5 * sec, function(e) msg_count = msg_count + 1 end)
local interval = 1 * minute
event.after(1 * minute, function (ev) interval = interval / 2 event.reschedule(ev, interval) end)
e = event.after(1 * minute, function() print('Hi!') end)
event.cancel(e)
worker.coroutine(function () for i = 0, 2 do worker.sleep(0.01) end end)
resolve('.', kres.type.DNSKEY, kres.class.IN, 'NO_CACHE')
resolve('example.com', kres.type.AAAA, kres.class.IN, 0, function (answer, req)
	local pkt = kres.pkt_t(answer)
	seed_rcode = pkt:rcode()
	local records = pkt:section(kres.section.ANSWER)
	for i = 1, #records do print('record:', kres.rr2str(records[i])) end
end)
resolve { name = 'example.com', type = kres.type.AAAA, init = function (req) end }
`, nil)
	for _, c := range []struct{ expr, want string }{
		{"= net.bufsize()", "4096"},
		{"= net.tcp_pipeline()", "50"},
		{"= table.concat(trust_anchors.insecure, ' ')", "bad.boy example.com"},
		{"= trust_anchors.hold_down_time", "2592000000"},
		{"= cache.storage", "lmdb://."},
		{"= table.concat(map 'worker.id', ' ')", "0 1"},
		{"= net.list()[5].transport.port", "5353"},
	} {
		if got := r.eval(0, c.expr); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.eval(0, "= seed_rcode") == "nil" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := r.eval(0, "= seed_rcode"); got != "2" {
		t.Errorf("resolve() callback saw rcode %q, want 2 (SERVFAIL: the root hints are outside the loopback allow list)", got)
	}
}

// TestMemoryLimit: worker.memory_limit sets the Go runtime's soft limit.
func TestMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	r := newRig(t, 1, "worker.memory_limit(512 * MB)", nil)
	if got := debug.SetMemoryLimit(-1); got != 512<<20 {
		t.Errorf("memory limit %d, want 512 MB", got)
	}
	if got := r.eval(0, "= worker.memory_limit(0)"); got != "0" {
		t.Errorf("memory_limit(0) = %q", got)
	}
}

// TestUserAndEventSocket: user() hands the switch to the daemon (after the
// listeners are bound); a bad user fails with file:line; event.socket
// calls back when its descriptor is readable.
func TestUserAndEventSocket(t *testing.T) {
	if err := loadErr(t, "user('no-such-user-here')", Options{}); err == nil || !strings.Contains(err.Error(), "config:1:") {
		t.Errorf("bad user: %v", err)
	}
	r := newRig(t, 1, `
user('root')
local nb = require('dns.nbio')
sock = nb.socket('inet', 'dgram')
assert(sock:bind('127.0.0.1', 0))
got = {}
sockev = event.socket(sock.fd, function(ev)
	local msg = sock:receive()
	table.insert(got, msg)
end)
`, nil)
	if c := r.ld.current().cfg; c.User != "root" {
		t.Errorf("cfg.User = %q", c.User)
	}
	port := r.eval(0, "= select(2, sock:getsockname())")
	c, err := net.Dial("udp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	deadline := time.Now().Add(10 * time.Second)
	for r.eval(0, "= #got") != "1" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := r.eval(0, "= got[1]"); got != "ping" {
		t.Errorf("event.socket callback got %q (getsockname port %q)", got, port)
	}
	// after event.cancel the callback is not called any more
	r.eval(0, "event.cancel(sockev)")
	c.Write([]byte("pong"))
	time.Sleep(100 * time.Millisecond)
	if got := r.eval(0, "= #got"); got != "1" {
		t.Errorf("after event.cancel: %s callbacks", got)
	}
}

// testCacheLayer is the layer of the test's cache binding.
type testCacheLayer struct{}

func (testCacheLayer) Name() string { return "cache" }

// TestCacheBinding: a Go "cache" binding gives the cache global's
// functions and kres.context().cache, and its layers take the module
// place "cache" (so that 'view < cache' orders before it).
func TestCacheBinding(t *testing.T) {
	prev, hadPrev := binding("cache")
	registerModuleBinding("cache", func(L *lua.LState, env *Env) lua.LValue {
		env.AddLayer(testCacheLayer{})
		c := L.NewTable()
		c.RawSetString("count", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LNumber(42)); return 1 }))
		c.RawSetString("current_size", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LNumber(7)); return 1 }))
		c.RawSetString("current_storage", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString("lmdb://x")); return 1 }))
		ctx := L.NewTable()
		ctx.RawSetString("marker", lua.LString("go cache"))
		c.RawSetString("context", ctx)
		return c
	})
	defer func() {
		bindingsMu.Lock()
		delete(bindings, "cache")
		if hadPrev {
			bindings["cache"] = prev
		}
		bindingsMu.Unlock()
	}()
	r := newRig(t, 1, "modules.load('answer < cache')", map[string]string{"answer": answerMod})
	for _, c := range []struct{ expr, want string }{
		{"= cache.count()", "42"},
		{"= cache.current_size", "7"},
		{"= kres.context().cache.marker", "go cache"},
	} {
		if got := r.eval(0, c.expr); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	var names []string
	for _, l := range r.ld.current().cfg.Layers {
		names = append(names, l.Name())
	}
	got := strings.Join(names, " ")
	if i, j := strings.Index(got, "answer"), strings.Index(got, "cache"); i < 0 || j < 0 || i > j {
		t.Errorf("layers %q: want answer before cache", got)
	}
}

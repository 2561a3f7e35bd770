package serve

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/host"
	"ljdns/internal/testnet"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rig is a loaded configuration and a server built from it (not
// listening: queries go through Server.Exchange).
type rig struct {
	ld  *Loader
	srv *daemon.Server
	log *syncBuffer
	dir string
}

// newRig writes config (and the Lua modules in mods) to a directory and
// loads it with the given number of workers.
func newRig(t *testing.T, workers int, config string, mods map[string]string) *rig {
	return newRigTB(t, workers, config, mods)
}

func newRigTB(t testing.TB, workers int, config string, mods map[string]string) *rig {
	t.Helper()
	dir := t.TempDir()
	for name, src := range mods {
		if err := os.WriteFile(filepath.Join(dir, name+".lua"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(dir, "config")
	config = "package.path = '" + dir + "/?.lua;' .. package.path\n" + config
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	ld, err := NewLoader(Options{Config: cfgPath, ConfigExplicit: true, Workers: workers, Log: daemon.NewLogger(log), RunDir: dir,
		NewState: func() *lua.LState { return host.New(host.Options{}) }})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ld.Load()
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	srv, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ld.Attach(srv)
	t.Cleanup(func() { ld.Close() })
	return &rig{ld: ld, srv: srv, log: log, dir: dir}
}

// query sends one query through the request path of worker w.
func (r *rig) query(t *testing.T, name string, qtype uint16, w int) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, false)
	wire, _ := m.Pack()
	out, ok := r.srv.Exchange(wire, netip.MustParseAddrPort("127.0.0.1:5300"), netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, w)
	if !ok || out == nil {
		t.Fatalf("%s: no answer", name)
	}
	a := new(dns.Msg)
	if err := a.Unpack(out); err != nil {
		t.Fatal(err)
	}
	return a
}

func ede(m *dns.Msg) (uint16, string, bool) {
	if o := m.IsEdns0(); o != nil {
		for _, e := range o.Option {
			if x, ok := e.(*dns.EDNS0_EDE); ok {
				return x.InfoCode, x.ExtraText, true
			}
		}
	}
	return 0, "", false
}

const answerMod = `
local M = {layer = {}}
M.calls = {}
function M.layer.begin(state, req)
	M.calls.begin = (M.calls.begin or 0) + 1
	M.last_req, M.last_answer = req, req.answer
	local qry = req:current()
	if qry.stype ~= kres.type.A then return state end
	local answer = req:ensure_answer()
	answer:rcode(kres.rcode.NOERROR)
	answer:begin(kres.section.ANSWER)
	answer:put(qry.sname, 60, answer:qclass(), kres.type.A, kres.str2ip('192.0.2.' .. (worker.id + 1)))
	return kres.DONE
end
function M.layer.finish(state, req)
	M.calls.finish = (M.calls.finish or 0) + 1
	return state
end
return M
`

// TestLuaLayerAnswers: a Lua module's begin answers; finish runs; each
// worker answers from its own state.
func TestLuaLayerAnswers(t *testing.T) {
	r := newRig(t, 2, "modules.load('answer')", map[string]string{"answer": answerMod})
	for w := 0; w < 2; w++ {
		a := r.query(t, "www.example.", dns.TypeA, w)
		if a.Rcode != dns.RcodeSuccess || len(a.Answer) != 1 {
			t.Fatalf("worker %d: %v", w, a)
		}
		if got, want := a.Answer[0].(*dns.A).A.String(), "192.0.2."+string(rune('1'+w)); got != want {
			t.Errorf("worker %d answered %s, want %s", w, got, want)
		}
	}
	// a query the layer passes on goes to the resolver, whose root hints are
	// outside the loopback allow list of the tests -> SERVFAIL
	if a := r.query(t, "www.example.", dns.TypeMX, 0); a.Rcode != dns.RcodeServerFailure {
		t.Errorf("MX: rcode %d, want SERVFAIL", a.Rcode)
	}
	got := r.ld.current().workers[0].evalLine("= answer.calls.begin .. ' ' .. answer.calls.finish")
	if strings.TrimSpace(got) != "2 2" {
		t.Errorf("worker 0 calls: %q, want begin 2, finish 2", got)
	}
	// objects of an ended request kept by Lua raise instead of reading
	// another request's data
	for _, expr := range []string{"answer.last_req:current()", "answer.last_answer:qname()", "answer.last_req.qsource"} {
		got := r.eval(0, "= select(2, pcall(function() return "+expr+" end))")
		if !strings.Contains(got, "ended") {
			t.Errorf("%s after the request: %q, want an error", expr, got)
		}
	}
}

const sleepMod = `
local M = {layer = {}, active = 0, max = 0}
function M.layer.begin(state, req)
	M.active = M.active + 1
	if M.active > M.max then M.max = M.active end
	worker.sleep(0.05)
	M.active = M.active - 1
	local answer = req:ensure_answer()
	answer:begin(kres.section.ANSWER)
	answer:put(req:current().sname, 60, 1, kres.type.A, kres.str2ip('192.0.2.7'))
	return kres.DONE
end
return M
`

// TestLuaLayerYields: layers that sleep (yield) let the worker serve the
// other requests meanwhile: several are inside the layer at once.
func TestLuaLayerYields(t *testing.T) {
	r := newRig(t, 1, "modules.load('sleepy')", map[string]string{"sleepy": sleepMod})
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a := r.query(t, "sleep.example.", dns.TypeA, 0); len(a.Answer) != 1 {
				t.Errorf("answer %v", a)
			}
		}()
	}
	wg.Wait()
	got := strings.TrimSpace(r.ld.current().workers[0].evalLine("= sleepy.max"))
	if got == "1" || got == "" {
		t.Errorf("at most %s request(s) in the sleeping layer at once, want several", got)
	}
	t.Logf("%s requests were sleeping in the layer at once", got)
}

const badMod = `
local M = {layer = {}}
function M.layer.begin(state, req)
	local name = req:current().sname
	if name:find('error') then
		error('layer failed on purpose')
	elseif name:find('loop') then
		while true do end
	end
	local answer = req:ensure_answer()
	answer:begin(kres.section.ANSWER)
	answer:put(name, 60, 1, kres.type.A, kres.str2ip('192.0.2.9'))
	return kres.DONE
end
return M
`

// TestLuaLayerFailures: an erroring layer and an endless one answer
// SERVFAIL with an extended error; the error is logged with file:line at
// most once per second; the state keeps serving.
func TestLuaLayerFailures(t *testing.T) {
	r := newRig(t, 1, "modules.load('bad')\nworker.lua_budget(50)", map[string]string{"bad": badMod})
	for i := 0; i < 5; i++ {
		a := r.query(t, "error.example.", dns.TypeA, 0)
		if a.Rcode != dns.RcodeServerFailure {
			t.Fatalf("error: rcode %d, want SERVFAIL", a.Rcode)
		}
		if _, txt, ok := ede(a); !ok || !strings.Contains(txt, "bad") {
			t.Errorf("error: extended error %q %v, want one naming the module", txt, ok)
		}
	}
	logs := r.log.String()
	if n := strings.Count(logs, "layer failed on purpose"); n != 1 {
		t.Errorf("%d log lines for 5 errors within a second, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs, "bad.lua:6:") {
		t.Errorf("log without file:line:\n%s", logs)
	}
	a := r.query(t, "loop.example.", dns.TypeA, 0)
	if a.Rcode != dns.RcodeServerFailure {
		t.Fatalf("loop: rcode %d, want SERVFAIL", a.Rcode)
	}
	if _, txt, ok := ede(a); !ok || !strings.Contains(txt, "budget") {
		t.Errorf("loop: extended error %q %v, want the budget's", txt, ok)
	}
	for i := 0; i < 3; i++ {
		if a := r.query(t, "fine.example.", dns.TypeA, 0); a.Rcode != dns.RcodeSuccess || len(a.Answer) != 1 {
			t.Fatalf("after the failures: %v", a)
		}
	}
}

// TestLuaLayerTimeout: a layer still waiting at the request's deadline
// fails the request (SERVFAIL, extended error) and its late end is
// harmless; the worker keeps answering.
func TestLuaLayerTimeout(t *testing.T) {
	r := newRig(t, 1, "modules.load('slow')", map[string]string{"slow": `
local M = {layer = {}}
function M.layer.begin(state, req)
	if req:current().sname:find('slow') then
		worker.sleep(0.5)
		req:current() -- the request has ended by now: raises
	end
	local a = req:ensure_answer()
	a:begin(kres.section.ANSWER)
	a:put(req:current().sname, 60, 1, kres.type.A, kres.str2ip('192.0.2.5'))
	return kres.DONE
end
return M`})
	cfg := *r.srv.Config()
	cfg.RequestTimeout = 100 * time.Millisecond
	srv, err := daemon.New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	a := r.query(t, "slow.example.", dns.TypeA, 0)
	if a.Rcode != dns.RcodeServerFailure {
		t.Fatalf("slow: rcode %d, want SERVFAIL", a.Rcode)
	}
	if _, txt, _ := ede(a); !strings.Contains(txt, "timed out") {
		t.Errorf("slow: extended error %q", txt)
	}
	if a := r.query(t, "fast.example.", dns.TypeA, 0); len(a.Answer) != 1 {
		t.Errorf("fast: %v", a)
	}
	time.Sleep(600 * time.Millisecond) // the slow coroutine wakes up on a dead request
	if a := r.query(t, "fast2.example.", dns.TypeA, 0); len(a.Answer) != 1 {
		t.Errorf("fast2: %v", a)
	}
}

// TestLuaLayerAsync: layers whose dns.client queries run as goroutine work
// (nbio Sched.Async) while the worker's loop waits for events, from many
// requests at once (run with -race: the loop and the requests' goroutines
// share the state under its lock).
func TestLuaLayerAsync(t *testing.T) {
	testnet.Isolate(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m := new(dns.Msg)
			if m.Unpack(buf[:n]) != nil {
				continue
			}
			a := new(dns.Msg)
			a.SetReply(m)
			rr, _ := dns.NewRR(m.Question[0].Name + " 30 IN A 192.0.2.66")
			a.Answer = append(a.Answer, rr)
			out, _ := a.Pack()
			pc.WriteTo(out, from)
		}
	}()
	r := newRig(t, 1, "UP = '"+pc.LocalAddr().String()+"'\nmodules.load('asker')", map[string]string{"asker": `
local client = require('dns.client')
local M = {layer = {}}
function M.layer.begin(state, req)
	M.c = M.c or assert(client.dgram(UP, {timeout = 2}))
	local qry = req:current()
	local answer = assert(M.c:query(kres.dname2str(qry.sname), 'A'))
	local a = req:ensure_answer()
	a:begin(kres.section.ANSWER)
	a:put(qry.sname, 30, 1, kres.type.A, kres.str2ip('192.0.2.66'))
	return kres.DONE
end
return M`})
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if a := r.query(t, fmt.Sprintf("q%d.example.", i), dns.TypeA, 0); len(a.Answer) != 1 {
				t.Errorf("query %d: %v", i, a)
			}
		}(i)
	}
	wg.Wait()
}

package serve

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// callbackLayer is a Go layer that asks a Lua function (given in the
// configuration with luafilter(f)) for the address to answer.
type callbackLayer struct {
	fn    atomic.Pointer[LuaCallable]
	fails atomic.Int64
}

func (*callbackLayer) Name() string { return "luafilter" }

func (l *callbackLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	c := l.fn.Load()
	if c == nil {
		return s
	}
	var addr string
	err := c.Call(r, func(L *lua.LState, req lua.LValue) []lua.LValue {
		return []lua.LValue{req, lua.LNumber(r.QType())}
	}, func(L *lua.LState, rets []lua.LValue) {
		if len(rets) > 0 {
			addr = lua.LVAsString(rets[0])
		}
	})
	if err != nil {
		l.fails.Add(1)
		return daemon.Fail
	}
	if addr == "" {
		return s
	}
	var a [4]byte
	for i, p := range strings.SplitN(addr, ".", 4) {
		for _, c := range p {
			a[i] = a[i]*10 + byte(c-'0')
		}
	}
	r.Answer.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.QName()}, Type: 1, Class: 1, TTL: 5, RData: [][]byte{a[:]}}, true)
	return daemon.Done
}

func init() {
	registerModuleBinding("luafilter", func(L *lua.LState, env *Env) lua.LValue {
		l := env.Shared("luafilter", func() any { return &callbackLayer{} }).(*callbackLayer)
		env.AddLayer(l)
		return L.NewFunction(func(L *lua.LState) int {
			l.fn.Store(env.Callable("luafilter.1", L.CheckFunction(1)))
			return 0
		})
	})
}

// TestLuaCallable: a Go layer calls a Lua function of the configuration
// per request, in the state of the request's worker; the function may
// wait (worker.sleep); its errors fail the request with an extended error.
func TestLuaCallable(t *testing.T) {
	r := newRig(t, 2, `
modules.load('luafilter')
calls = 0
luafilter(function(req, qtype)
	calls = calls + 1
	local name = req:current().sname
	if name:find('boom') then error('filter failed on purpose') end
	if name:find('wait') then worker.sleep(0.01) end
	if qtype == kres.type.A then return '192.0.2.' .. (10 + worker.id) end
end)`, nil)
	for w := 0; w < 2; w++ {
		a := r.query(t, "wait.example.", dns.TypeA, w)
		if len(a.Answer) != 1 || a.Answer[0].(*dns.A).A.String() != "192.0.2.1"+string(rune('0'+w)) {
			t.Errorf("worker %d: %v", w, a)
		}
	}
	a := r.query(t, "boom.example.", dns.TypeA, 0)
	if a.Rcode != dns.RcodeServerFailure {
		t.Errorf("boom: rcode %d", a.Rcode)
	}
	if _, txt, _ := ede(a); !strings.Contains(txt, "luafilter.1 failed") {
		t.Errorf("boom: extended error %q", txt)
	}
	if got := r.eval(0, "= calls"); got != "2" {
		t.Errorf("worker 0 calls = %q, want 2", got)
	}
	if !strings.Contains(r.log.String(), "filter failed on purpose") {
		t.Errorf("no log line:\n%s", r.log.String())
	}
}

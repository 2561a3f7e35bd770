package serve

import (
	"sync"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// reqGuard keeps Lua from touching a request after the pipeline is done
// with it (its packets are pooled): accessors hold the read lock, the
// request's end takes the write lock once.
type reqGuard struct {
	mu    sync.RWMutex
	ended bool
}

func (g *reqGuard) dead() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.ended
}

func (g *reqGuard) end() {
	g.mu.Lock()
	g.ended = true
	g.mu.Unlock()
}

// kresRequestType is the registry name of request objects (kr_request).
const kresRequestType = "kres.request"

// kresRequest is what layers, policy actions and resolve() callbacks get
// as req: a daemon request (nil for an internal one of resolve()).
type kresRequest struct {
	r     *daemon.Request
	guard *reqGuard
	vars  *lua.LTable
	// internal request (resolve()): its question
	qname         []byte
	qtype, qclass uint16
	answer        lua.LValue
	query         lua.LValue
	qry           *lua.LUserData // req:current()
	sname         lua.LValue     // qry.sname, made on first use
	flags         daemon.Flags   // an internal request's flags
	zoneCut       []byte         // an internal request's zone cut (qry.zone_cut.name), nil: unknown
}

func (w *worker) internalRequest(L *lua.LState, qname []byte, qtype, qclass uint16) lua.LValue {
	return pushRequest(L, &kresRequest{qname: qname, qtype: qtype, qclass: qclass, guard: &reqGuard{}})
}

func pushRequest(L *lua.LState, k *kresRequest) lua.LValue {
	ud := L.NewUserData()
	ud.Value = k
	L.SetMetatable(ud, L.GetTypeMetatable(kresRequestType))
	return ud
}

func checkReq(L *lua.LState) *kresRequest {
	k := luabind.Check[*kresRequest](L, 1, kresRequestType)
	if k.guard.dead() && k.r != nil {
		L.RaiseError("kres.request: the request has ended")
	}
	return k
}

// question returns the request's question.
func (k *kresRequest) question() ([]byte, uint16, uint16) {
	if k.r == nil {
		return k.qname, k.qtype, k.qclass
	}
	return k.r.QName(), k.r.QType(), k.r.QClass()
}

var kresRequestMethods = map[string]lua.LGFunction{
	"current":  reqQuery,
	"initial":  reqQuery,
	"last":     reqQuery,
	"resolved": reqQuery,
	"ensure_answer": func(L *lua.LState) int {
		k := checkReq(L)
		L.Push(reqAnswer(L, k))
		return 1
	},
	"ensure_edns": func(L *lua.LState) int { L.Push(lua.LTrue); return 1 },
	"set_extended_error": func(L *lua.LState) int {
		k := checkReq(L)
		code := L.CheckInt(2)
		if k.r != nil {
			k.r.SetEDE(code, L.OptString(3, ""))
		}
		L.Push(lua.LNumber(code))
		return 1
	},
	"vars": func(L *lua.LState) int {
		k := checkReq(L)
		if k.vars == nil {
			k.vars = L.NewTable()
		}
		L.Push(k.vars)
		return 1
	},
	"push": func(L *lua.LState) int {
		L.RaiseError("kres.request: sub-queries (req:push) need the resolver, not available in ljdns serve yet")
		return 0
	},
	"pop":       func(L *lua.LState) int { return 0 },
	"trace_log": func(L *lua.LState) int { return 0 },
}

// reqAnswer returns the request's answer packet object.
func reqAnswer(L *lua.LState, k *kresRequest) lua.LValue {
	if k.answer != nil {
		return k.answer
	}
	if k.r == nil {
		return lua.LNil
	}
	k.answer = pushKresPacket(L, &kresPacket{p: k.r.Answer, guard: k.guard})
	return k.answer
}

// reqQuery is req:current() and friends: the one query of the request
// (sub-queries belong to the resolver), made once per request.
func reqQuery(L *lua.LState) int {
	k := checkReq(L)
	if k.qry == nil {
		ud := L.NewUserData()
		ud.Value = k
		ud.Metatable = L.GetTypeMetatable(kresQueryType)
		k.qry = ud
	}
	L.Push(k.qry)
	return 1
}

// kresQueryType is the registry name of query objects (kr_query).
const kresQueryType = "kres.query"

func registerQuery(L *lua.LState) {
	name := L.NewFunction(func(L *lua.LState) int {
		k := luabind.Check[*kresRequest](L, 1, kresQueryType)
		L.Push(k.snameValue())
		return 1
	})
	mt := L.NewTypeMetatable(kresQueryType)
	// __index without the Guard wrapper: it is on every layer's path, and
	// nothing in it can panic
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		ud, ok := L.Get(1).(*lua.LUserData)
		if !ok {
			return 0
		}
		k, ok := ud.Value.(*kresRequest)
		if !ok {
			return 0
		}
		if k.r != nil && k.guard.dead() {
			L.RaiseError("kres.query: the request has ended")
		}
		key, _ := L.Get(2).(lua.LString)
		switch key {
		case "sname":
			L.Push(k.snameValue())
		case "stype":
			_, qt, _ := k.question()
			L.Push(smallNumber(qt))
		case "sclass":
			_, _, qc := k.question()
			L.Push(smallNumber(qc))
		case "uid":
			L.Push(smallNumber(0))
		case "flags":
			if k.r != nil {
				r := k.r
				L.Push(pushFlagsValue(L, &flagsRef{
					get: func() daemon.Flags { return r.Options },
					set: func(f daemon.Flags) { r.Options = f }}, k.guard))
			} else {
				L.Push(pushFlagsValue(L, &flagsRef{get: func() daemon.Flags { return k.flags },
					set: func(n daemon.Flags) { k.flags = n }}, nil))
			}
		case "name":
			L.Push(name)
		case "zone_cut":
			if k.zoneCut == nil {
				return 0
			}
			t := L.NewTable()
			t.RawSetString("name", lua.LString(k.zoneCut))
			L.Push(t)
		default:
			return 0
		}
		return 1
	}))
}

// snameValue returns the query's lowercase name (made once).
func (k *kresRequest) snameValue() lua.LValue {
	if k.sname == nil {
		qn, _, _ := k.question()
		k.sname = lua.LString(dnsmsg.LowerName(qn))
	}
	return k.sname
}

// smallNumbers are boxed once: a Go interface holding a float64 allocates.
var smallNumbers = func() (t [256]lua.LValue) {
	for i := range t {
		t[i] = lua.LNumber(i)
	}
	return
}()

// smallNumber returns n as a Lua number without allocating when n < 256.
func smallNumber(n uint16) lua.LValue {
	if n < 256 {
		return smallNumbers[n]
	}
	return lua.LNumber(n)
}

// reqIndex serves req's fields and methods.
func reqIndex(methods *lua.LTable) lua.LGFunction {
	return func(L *lua.LState) int {
		k := checkReq(L)
		key := L.CheckString(2)
		if m := methods.RawGetString(key); m != lua.LNil {
			L.Push(m)
			return 1
		}
		switch key {
		case "answer":
			L.Push(reqAnswer(L, k))
		case "state":
			if k.r != nil {
				L.Push(lua.LNumber(k.r.State()))
			} else {
				L.Push(lua.LNumber(daemon.Done))
			}
		case "qsource":
			L.Push(reqSource(L, k))
		case "options":
			if k.r == nil {
				return 0
			}
			r := k.r
			L.Push(pushFlagsValue(L, &flagsRef{get: func() daemon.Flags { return r.Options },
				set: func(f daemon.Flags) { r.Options = f }}, k.guard))
		case "view":
			if k.r != nil {
				L.Push(lua.LString(k.r.View))
			} else {
				return 0
			}
		default:
			return 0
		}
		return 1
	}
}

// reqSource is req.qsource: addr, dst_addr, packet, flags.tcp/tls/http.
func reqSource(L *lua.LState, k *kresRequest) lua.LValue {
	t := L.NewTable()
	fl := L.NewTable()
	t.RawSetString("flags", fl)
	if k.r == nil {
		fl.RawSetString("tcp", lua.LFalse)
		fl.RawSetString("tls", lua.LFalse)
		fl.RawSetString("http", lua.LFalse)
		return t
	}
	r := k.r
	fl.RawSetString("tcp", lua.LBool(r.Proto.Stream()))
	fl.RawSetString("tls", lua.LBool(r.Proto == daemon.DoT || r.Proto == daemon.DoH))
	fl.RawSetString("http", lua.LBool(r.Proto == daemon.DoH))
	fl.RawSetString("xdp", lua.LFalse)
	t.RawSetString("addr", lua.LString(r.Client.String()))
	t.RawSetString("dst_addr", lua.LString(r.Local.String()))
	if k.query == nil {
		k.query = pushKresPacket(L, &kresPacket{p: r.Query, guard: k.guard, ro: true})
	}
	t.RawSetString("packet", k.query)
	t.RawSetString("size", lua.LNumber(r.Query.Size))
	return t
}

func registerRequest(L *lua.LState) {
	methods := L.NewTable()
	luabind.SetFuncs(L, methods, kresRequestType, kresRequestMethods)
	luabind.RegisterType(L, luabind.TypeSpec{Name: kresRequestType, Meta: map[string]lua.LGFunction{
		"__index": reqIndex(methods),
	}})
	// On every Lua layer's path: __index and current() without the panic
	// boundary's defer (nothing in them can panic; errors are Lua errors).
	mt := L.GetTypeMetatable(kresRequestType).(*lua.LTable)
	mt.RawSetString("__index", L.NewFunction(reqIndex(methods)))
	for _, m := range []string{"current", "initial", "last", "resolved"} {
		methods.RawSetString(m, L.NewFunction(reqQuery))
	}
	registerQuery(L)
}

// kresFlagsType is the registry name of flag sets (struct kr_qflags).
const kresFlagsType = "kres.qflags"

// flagsRef reads and writes one flag set.
type flagsRef struct {
	get   func() daemon.Flags
	set   func(daemon.Flags)
	guard *reqGuard
}

func pushFlags(L *lua.LState, f *flagsRef) { L.Push(pushFlagsValue(L, f, nil)) }

func pushFlagsValue(L *lua.LState, f *flagsRef, g *reqGuard) lua.LValue {
	f.guard = g
	ud := L.NewUserData()
	ud.Value = f
	L.SetMetatable(ud, L.GetTypeMetatable(kresFlagsType))
	return ud
}

func registerFlags(L *lua.LState) {
	check := func(L *lua.LState) *flagsRef {
		f := luabind.Check[*flagsRef](L, 1, kresFlagsType)
		if f.guard != nil && f.guard.dead() {
			L.RaiseError("kres: the request of these flags has ended")
		}
		return f
	}
	luabind.RegisterType(L, luabind.TypeSpec{Name: kresFlagsType, Meta: map[string]lua.LGFunction{
		"__index": func(L *lua.LState) int {
			f := check(L)
			x, ok := daemon.FlagByName(L.CheckString(2))
			if !ok {
				return 0
			}
			L.Push(lua.LBool(f.get().Has(x)))
			return 1
		},
		"__newindex": func(L *lua.LState) int {
			f := check(L)
			name := L.CheckString(2)
			x, ok := daemon.FlagByName(name)
			if !ok {
				L.RaiseError("kres: unknown flag '%s'", name)
			}
			if lua.LVAsBool(L.Get(3)) {
				f.set(f.get() | x)
			} else {
				f.set(f.get() &^ x)
			}
			return 0
		},
		"__tostring": func(L *lua.LState) int {
			L.Push(lua.LString(check(L).get().String()))
			return 1
		},
	}})
}

package serve

import (
	"net/netip"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/host"
	"ljdns/luamod/nbio"
)

// internalClient is the source address of resolve()'s requests (an
// internal request is the daemon's own: loopback, so it may recurse).
var internalClient = netip.MustParseAddrPort("127.0.0.1:0")

// nResolve is resolve(name, type, class, options, finish, init): the query
// goes through the request path of the running server (waiting for it to
// start when issued while the configuration executes); finish(pkt, req)
// runs on this worker's goroutine with the answer. It returns at once.
func (w *worker) nResolve(L *lua.LState) int {
	name := L.CheckString(1)
	qtype := uint16(L.CheckInt(2))
	qclass := uint16(L.CheckInt(3))
	var flags []string
	if t, ok := L.Get(4).(*lua.LTable); ok {
		t.ForEach(func(_, v lua.LValue) { flags = append(flags, lua.LVAsString(v)) })
	}
	finish, _ := L.Get(5).(*lua.LFunction)
	init, _ := L.Get(6).(*lua.LFunction)
	var qname []byte
	if n, err := dnsmsg.NameFromText(name); err == nil {
		qname = n.Wire
	} else if dnsmsg.DnameLen([]byte(name)) == len(name) {
		qname = []byte(name) // already wire
	} else {
		L.ArgError(1, "invalid domain name")
	}
	q := dnsmsg.NewPacket(512)
	if _, err := q.SetQuestion(qname, qtype, qclass); err != nil {
		L.ArgError(1, err.Error())
	}
	q.SetFlag("rd", true)
	cd := false
	for _, f := range flags {
		switch strings.ToUpper(f) {
		case "DNSSEC_CD":
			cd = true
		case "NO_RD":
			q.SetFlag("rd", false)
		}
	}
	q.SetFlag("cd", cd)
	// AD asks for the validator's verdict in the answer (RFC 6840 §5.7)
	// without its RRSIGs; finish's req:resolved().flags tell it as kresd's
	// DNSSEC_WANT / DNSSEC_INSECURE do
	q.SetFlag("ad", !cd)
	// EDNS with a large size: the internal request is never truncated.
	q.Begin(2)
	q.Put(dnsmsg.NewOPT(0, 65535), false)
	wire := append([]byte(nil), q.Bytes()...)
	if init != nil {
		// kresd calls init(req) before the resolution starts.
		if err := host.Call(L, init, lua.LNil); err != nil {
			w.gen.ld.log.Errorf("system", "resolve(): init: %s", firstLine(host.FormatError(err)))
		}
	}
	ld := w.gen.ld
	go func() {
		srv := ld.waitServer(30 * time.Second)
		var out []byte
		if srv != nil {
			out, _ = srv.Exchange(wire, internalClient, netip.AddrPort{}, daemon.UDP, w.id)
		}
		w.post(func(L *lua.LState) {
			if finish == nil {
				return
			}
			var pkt lua.LValue = lua.LNil
			if out != nil {
				p := dnsmsg.NewPacketFrom(len(out), out)
				p.Parse(false)
				pkt = pushKresPacket(L, &kresPacket{p: p})
			}
			req := w.internalRequest(L, qname, qtype, qclass)
			if k, ok := req.(*lua.LUserData).Value.(*kresRequest); ok {
				k.zoneCut = w.zoneCut(qname)
			}
			if k, ok := req.(*lua.LUserData).Value.(*kresRequest); ok && out != nil && len(out) > 3 {
				switch {
				case cd:
					k.flags |= daemon.DNSSECCD
				case out[3]&0x20 != 0:
					k.flags |= daemon.DNSSECWant
				case out[3]&0x0f == 2:
					k.flags |= daemon.DNSSECWant // failed: no verdict to tell
				default:
					k.flags |= daemon.DNSSECWant | daemon.DNSSECInsecure
				}
			}
			w.sched.Go(L, finish, []lua.LValue{pkt, req}, &nbio.TaskHooks{Done: w.logDone("resolve() callback")})
		})
	}()
	L.Push(lua.LTrue)
	return 1
}

// nMap is map(expr): expr evaluated in every worker; the results in
// worker order. In a coroutine the call yields while the others answer.
func (w *worker) nMap(L *lua.LState) int {
	expr := L.CheckString(1)
	ws := w.gen.workers
	results := make([]string, len(ws))
	own := -1
	for i, x := range ws {
		if x == w {
			own = i
		}
	}
	work := func() any {
		type res struct {
			i int
			s string
		}
		ch := make(chan res, len(ws))
		n := 0
		for i, x := range ws {
			if i == own {
				continue
			}
			n++
			x := x
			i := i
			if !x.sched.Post(func(*lua.LState) { ch <- res{i, x.evalValue(expr)} }) {
				n--
			}
		}
		for ; n > 0; n-- {
			select {
			case r := <-ch:
				results[r.i] = r.s
			case <-time.After(10 * time.Second):
				return results
			}
		}
		return results
	}
	finish := func(L *lua.LState, _ any) int {
		if own >= 0 {
			results[own] = w.evalValue(expr)
		}
		t := L.NewTable()
		for _, s := range results {
			fn, err := host.LoadString(L, "return "+s, "map")
			if err == nil {
				if err := host.Call(L, fn); err == nil && L.GetTop() > 0 {
					t.Append(L.Get(-1))
					L.Pop(1)
					continue
				}
			}
			t.Append(lua.LString(s))
		}
		L.Push(t)
		return 1
	}
	return w.sched.Async(L, work, finish, nil)
}

// evalValue evaluates expr in this state and returns its first value as
// Lua source (so that it crosses to another state), on the worker's goroutine.
func (w *worker) evalValue(expr string) string {
	L := w.L
	fn, err := host.LoadString(L, "return "+expr, "map")
	if err != nil {
		fn, err = host.LoadString(L, expr, "map")
	}
	if err != nil {
		return "nil"
	}
	top := L.GetTop()
	defer L.SetTop(top)
	if err := host.Call(L, fn); err != nil || L.GetTop() == top {
		return "nil"
	}
	return luaLiteral(L.Get(top+1), 0)
}

// luaLiteral writes v as Lua source (tables of plain values).
func luaLiteral(v lua.LValue, depth int) string {
	switch x := v.(type) {
	case lua.LString:
		return quoteLua(string(x))
	case lua.LNumber:
		return host.NumberString(float64(x))
	case lua.LBool:
		if x {
			return "true"
		}
		return "false"
	case *lua.LTable:
		if depth > 20 {
			return "nil"
		}
		var sb strings.Builder
		sb.WriteString("{")
		x.ForEach(func(k, v lua.LValue) {
			sb.WriteString("[" + luaLiteral(k, depth+1) + "]=" + luaLiteral(v, depth+1) + ",")
		})
		sb.WriteString("}")
		return sb.String()
	}
	return "nil"
}

func quoteLua(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c < 32 || c > 126:
			sb.WriteString("\\" + itoa3(int(c)))
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

// zoneCut returns the resolver's deepest known zone cut of name (kresd's
// req:resolved().zone_cut.name), nil without a resolver.
func (w *worker) zoneCut(name []byte) []byte {
	ld := w.gen.ld
	ld.mu.Lock()
	st, _ := ld.persistent["resolver"].(*resolverState)
	ld.mu.Unlock()
	if st == nil || st.r == nil {
		return nil
	}
	return st.r.ZoneCut(name)
}

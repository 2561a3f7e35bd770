package client

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"

	mdns "github.com/miekg/dns"
	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsclient"
	"ljdns/dnsmsg"
	"ljdns/luabind"
	"ljdns/luamod/dns"
	"ljdns/luamod/nbio"
)

// clientTypeName is the registry name of client objects.
const clientTypeName = "dns.client"

// Client is a client object: a transport of dnsclient and what the
// binding needs to know of the chain below it.
type Client struct {
	t        dnsclient.Transport
	desc     string // "dgram 127.0.0.1:53", for tostring
	validate bool   // a validator is in the chain: query(name, type) sets DO
	closed   atomic.Bool
}

// Transport returns the dnsclient transport of c.
func (c *Client) Transport() dnsclient.Transport { return c.t }

func registerClient(L *lua.LState) {
	luabind.RegisterType(L, luabind.TypeSpec{
		Name:    clientTypeName,
		Methods: clientMethods,
		Meta: map[string]lua.LGFunction{
			"__tostring": func(L *lua.LState) int {
				c := checkClient(L, 1)
				s := "dns.client: " + c.desc
				if c.closed.Load() {
					s += " (closed)"
				}
				L.Push(lua.LString(s))
				return 1
			},
		},
	})
}

var clientMethods = map[string]lua.LGFunction{
	"query":  clientQuery,
	"stream": clientStreamMethod,
	"close":  clientClose,
	"stats":  clientStats,
}

// c:stats() -> table | nil: the counters of a cache ({hits, misses,
// stale, prefetches, failures, evictions, entries}), the answers a dgram
// dropped ({dropped}), nil for other transports.
func clientStats(L *lua.LState) int {
	c := checkClient(L, 1)
	t := L.NewTable()
	switch tr := c.t.(type) {
	case *dnsclient.Cache:
		st := tr.Stats()
		for k, v := range map[string]uint64{"hits": st.Hits, "misses": st.Misses, "stale": st.Stale,
			"prefetches": st.Prefetches, "failures": st.Failures, "evictions": st.Evictions} {
			t.RawSetString(k, lua.LNumber(v))
		}
		t.RawSetString("entries", lua.LNumber(st.Entries))
	case *dnsclient.Dgram:
		t.RawSetString("dropped", lua.LNumber(tr.Dropped()))
	default:
		L.Push(lua.LNil)
		return 1
	}
	L.Push(t)
	return 1
}

// pushClient pushes a new client object.
func pushClient(L *lua.LState, c *Client) int {
	luabind.Push(L, clientTypeName, c)
	return 1
}

// checkClient returns argument n as a client object or raises.
func checkClient(L *lua.LState, n int) *Client {
	return luabind.Check[*Client](L, n, clientTypeName)
}

// openClient is checkClient raising on a closed client as well.
func openClient(L *lua.LState, n int) *Client {
	c := checkClient(L, n)
	if c.closed.Load() {
		L.RaiseError("dns.client: %s is closed", c.desc)
	}
	return c
}

// c:close(): idempotent.
func clientClose(L *lua.LState) int {
	c := checkClient(L, 1)
	if !c.closed.Swap(true) {
		c.t.Close()
	}
	return 0
}

// result is what a query's goroutine hands back.
type result struct {
	a   *dnsmsg.Packet
	err error
}

// c:query(name, type) or c:query(packet) -> packet | nil, err
func clientQuery(L *lua.LState) int {
	c := openClient(L, 1)
	q, qtype := queryArgs(L, c, 2)
	if q == nil {
		return 2 // nil, err pushed
	}
	if qtype == mdns.TypeAXFR || qtype == mdns.TypeIXFR {
		return luabind.Fail(L, "dns.client: %s has a multi-message answer: iterate with c:stream(query)", dnsmsg.TypeString(qtype))
	}
	ctx := luaContext(L)
	t := c.t
	return nbio.SchedOf(L).Async(L,
		func() any { a, err := t.Query(ctx, q); return result{a, err} },
		finishQuery, nil)
}

// finishQuery pushes a query's results on the VM goroutine.
func finishQuery(L *lua.LState, v any) int {
	r := v.(result)
	if r.err != nil {
		if r.a != nil && errors.Is(r.err, dnsclient.ErrBogus) {
			dns.PushPacket(L, r.a)
			L.Push(lua.LString(r.err.Error()))
			return 2
		}
		return luabind.Fail(L, "%s", errText(r.err))
	}
	dns.PushPacket(L, r.a)
	return 1
}

// errText is the message Lua sees: always starting with "dns.client".
func errText(err error) string {
	s := err.Error()
	if strings.HasPrefix(s, "dnsclient: ") {
		return "dns.client: " + strings.TrimPrefix(s, "dnsclient: ")
	}
	if errors.Is(err, context.Canceled) {
		return "dns.client: interrupted"
	}
	return "dns.client: " + s
}

// luaContext is the context of L's state (the REPL's or spec runner's
// interrupt), or Background.
func luaContext(L *lua.LState) context.Context {
	if ctx := L.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// queryArgs reads the query at argument n: a packet (copied) or name and
// type; it returns the query and its type. It returns nil with nil, err
// pushed when it cannot build one; arguments of the wrong type raise.
func queryArgs(L *lua.LState, c *Client, n int) (*dnsmsg.Packet, uint16) {
	if p, ok := luabind.Test[*dnsmsg.Packet](L, n); ok {
		if p.Size < dnsmsg.HeaderLen {
			luabind.Fail(L, "dns.client: the query packet is shorter than a DNS header")
			return nil, 0
		}
		q := dnsmsg.NewPacketFrom(p.Size, p.Bytes())
		if q.Parse(false) != 0 {
			luabind.Fail(L, "dns.client: the query packet does not parse")
			return nil, 0
		}
		_, t, _, _ := q.Question()
		return q, t
	}
	var name []byte
	switch v := L.Get(n).(type) {
	case lua.LString:
		nm, err := dnsmsg.NameFromText(string(v))
		if err != nil {
			luabind.Fail(L, "dns.client: bad name %q: %v", string(v), err)
			return nil, 0
		}
		name = nm.Wire
	default:
		nm, ok := dns.ToName(v)
		if !ok {
			L.ArgError(n, "name (string or dns.dname) or dns.packet expected, got "+luabind.TypeName(v))
		}
		name = nm.Wire
	}
	qtype := typeArg(L, n+1)
	q, err := buildQuery(name, qtype, c.validate)
	if err != nil {
		luabind.Fail(L, "dns.client: %v", err)
		return nil, 0
	}
	return q, qtype
}

// typeArg reads a type: a number, or a mnemonic ('AAAA', 'TYPE65').
// Absent means A.
func typeArg(L *lua.LState, n int) uint16 {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return dnsmsg.TypeA
	case lua.LNumber:
		if v < 0 || v > 65535 || v != lua.LNumber(int(v)) {
			L.ArgError(n, "type out of range: "+v.String())
		}
		return uint16(v)
	case lua.LString:
		s := strings.ToUpper(string(v))
		if t, ok := mdns.StringToType[s]; ok {
			return t
		}
		if rest, ok := strings.CutPrefix(s, "TYPE"); ok {
			if t, err := strconv.ParseUint(rest, 10, 16); err == nil {
				return uint16(t)
			}
		}
		L.ArgError(n, "unknown type "+strconv.Quote(string(v)))
	default:
		L.ArgError(n, "type (number or mnemonic) expected, got "+luabind.TypeName(v))
	}
	return 0
}

// buildQuery makes a query for name/qtype (class IN) with RD and AD set,
// as dig sends it, and with do an OPT record with DO set (RFC 3225) and a
// payload of 1232. It writes the wire itself: dnsmsg's writer sets up name
// compression, which a one-name message does not need.
func buildQuery(name []byte, qtype uint16, do bool) (*dnsmsg.Packet, error) {
	w := make([]byte, dnsmsg.HeaderLen, dnsmsg.HeaderLen+len(name)+4+11)
	binary.BigEndian.PutUint16(w, uint16(rand.Uint32()))
	w[2], w[3] = 0x01, 0x20 // RD; AD
	w[5] = 1                // QDCOUNT
	w = append(w, name...)
	w = binary.BigEndian.AppendUint16(w, qtype)
	w = binary.BigEndian.AppendUint16(w, dnsmsg.ClassINET)
	if do {
		w[11] = 1 // ARCOUNT
		// root owner, OPT, payload, extended RCODE 0, version 0, DO, no options
		w = append(w, 0, 0, 41, 1232>>8, 1232&0xff, 0, 0, 0x80, 0, 0, 0)
	}
	q := dnsmsg.NewPacketFrom(len(w), w)
	if q.Parse(false) != 0 {
		return nil, errors.New("cannot build the query")
	}
	return q, nil
}

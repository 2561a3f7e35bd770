package sift

// sift.go binds dns.sift: sift.zone / sift.domains drive records from a
// source through a filter into a sink. When the filter comes from
// sift.makefilter (or is absent) and the sink is a built-in one, the whole
// loop runs in Go with no Lua call per record.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
	"ljdns/luabind"
	"ljdns/luamod/dns"
)

// Registry names of the upvalue objects behind built-in filters and sinks.
const (
	filterTypeName = "sift.filter"
	sinkTypeName   = "sift.sink"
)

// Defaults of the zone parser used by sift (as rrparser.new()).
const (
	siftOrigin = "."
	siftClass  = 1
	siftTTL    = 3600
)

// siftLoader opens dns.sift.
func siftLoader(L *lua.LState) int {
	luabind.RegisterType(L, luabind.TypeSpec{Name: filterTypeName})
	luabind.RegisterType(L, luabind.TypeSpec{Name: sinkTypeName})
	L.Push(luabind.NewModule(L, "dns.sift", siftExports))
	return 1
}

var siftExports = map[string]lua.LGFunction{
	"zone":       siftZone,
	"domains":    siftDomains,
	"makefilter": siftMakeFilter,
	"printer":    siftPrinter,
	"table":      siftTable,
	"set":        siftSet,
	"nameset":    siftNameSet,
	"jsonify":    siftJSONify,
	"lmdb":       siftLMDB,
}

// recordSource yields zone records; Record's slices are valid until the
// next call to Next.
type recordSource interface {
	Next() bool
	Record() *zone.Record
	Close() error
}

// openZone opens source as zone text when it contains a newline, else as
// a file; a missing file whose name contains a blank is also read as
// (one-line) zone text.
func openZone(source string) (recordSource, error) {
	if strings.ContainsRune(source, '\n') {
		return zone.NewScanner(strings.NewReader(source), siftOrigin, siftClass, siftTTL), nil
	}
	s, err := zone.NewFileScanner(source, siftOrigin, siftClass, siftTTL)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && strings.ContainsAny(source, " \t") {
			return zone.NewScanner(strings.NewReader(source), siftOrigin, siftClass, siftTTL), nil
		}
		return nil, err
	}
	return s, nil
}

// sift.zone(source [, sink [, filter [, limit]]]) -> sink(nil) results | false[, err]
func siftZone(L *lua.LState) int {
	if L.Get(1) == lua.LNil {
		L.Push(lua.LFalse)
		return 1
	}
	src, err := openZone(L.CheckString(1))
	if err != nil {
		L.Push(lua.LFalse)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	defer src.Close()
	return runSift(L, src)
}

// domainSource reads one domain per line (the last character of each
// line, the trailing dot, is dropped) as type A, TTL 0, RDATA 0.0.0.0.
type domainSource struct {
	sc  *bufio.Scanner
	c   io.Closer
	rec zone.Record
	buf []byte
}

var zeroA = []byte{0, 0, 0, 0}

func (d *domainSource) Next() bool {
	for d.sc.Scan() {
		line := d.sc.Bytes()
		if len(line) == 0 {
			continue
		}
		line = line[:len(line)-1]
		n, err := dnsmsg.NameFromText(string(line))
		if err != nil || n == nil {
			continue
		}
		d.buf = append(d.buf[:0], n.Wire...)
		d.rec = zone.Record{Owner: d.buf, Type: dnsmsg.TypeA, Class: dnsmsg.ClassINET, RData: zeroA}
		return true
	}
	return false
}

func (d *domainSource) Record() *zone.Record { return &d.rec }

func (d *domainSource) Close() error {
	if d.c != nil {
		return d.c.Close()
	}
	return nil
}

// sift.domains(source [, sink [, filter [, limit]]]): source is a file of
// names, one per line (or such text when it contains a newline).
func siftDomains(L *lua.LState) int {
	if L.Get(1) == lua.LNil {
		L.Push(lua.LFalse)
		return 1
	}
	source := L.CheckString(1)
	d := &domainSource{}
	if strings.ContainsRune(source, '\n') {
		d.sc = bufio.NewScanner(strings.NewReader(source))
	} else {
		f, err := os.Open(source)
		if err != nil {
			L.Push(lua.LFalse)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		d.sc, d.c = bufio.NewScanner(f), f
	}
	defer d.Close()
	return runSift(L, d)
}

// goFilterOf returns the compiled filter behind a function made by makefilter.
func goFilterOf(v lua.LValue) (*Filter, bool) {
	return upvalueOf[*Filter](v)
}

// goSinkOf returns the Go sink behind a built-in sink function.
func goSinkOf(v lua.LValue) (*sinkBox, bool) {
	return upvalueOf[*sinkBox](v)
}

func upvalueOf[T any](v lua.LValue) (T, bool) {
	var zero T
	fn, ok := v.(*lua.LFunction)
	if !ok || !fn.IsG || len(fn.Upvalues) != 1 {
		return zero, false
	}
	return luabind.As[T](fn.Upvalues[0].Value())
}

// runSift streams src through the filter (argument 3) into the sink
// (argument 2), honouring limit (argument 4), and returns what the sink's
// finalisation returns.
func runSift(L *lua.LState, src recordSource) int {
	sinkV := L.Get(2)
	if sinkV == lua.LNil {
		sinkV = newSink(L, &printerSink{})
	}
	filterV := L.Get(3)
	limit := luabind.OptInt(L, 4, 0)
	box, goSink := goSinkOf(sinkV)
	if !goSink && !isCallable(sinkV) {
		L.ArgError(2, "sink must be a function")
	}
	gf, goFilter := goFilterOf(filterV)
	if filterV != lua.LNil && !goFilter && !isCallable(filterV) {
		L.ArgError(3, "filter must be a function")
	}
	if filterV == lua.LNil {
		goFilter = true
	}
	if goSink && box.done {
		L.RaiseError("sink already finalised")
	}
	if goSink {
		if p, ok := box.s.(*printerSink); ok {
			p.eager = !goFilter // a Lua filter may write output of its own
		}
	}
	if goSink && goFilter {
		// Whole loop in Go: parse (and filter, when no limit needs to see
		// every owner) on a second goroutine.
		var pf *Filter
		if limit <= 0 {
			pf, gf = gf, nil
		}
		ps := newPipedSource(src, pf)
		defer ps.Close()
		src = ps
	}
	lc := &luaCaller{L: L}
	matched := 0
	var limitOwner []byte
	limiting := false
	for src.Next() {
		r := src.Record()
		if limiting && !bytes.Equal(r.Owner, limitOwner) {
			break
		}
		if goFilter {
			if gf != nil && !gf.Match(r) {
				continue
			}
		} else if !lua.LVAsBool(lc.call(filterV, r)) {
			continue
		}
		matched++
		var more bool
		if goSink {
			more = box.s.put(L, r)
		} else {
			more = lua.LVAsBool(lc.call(sinkV, r))
		}
		if limit > 0 && matched == limit && !limiting {
			limiting = true
			limitOwner = append([]byte(nil), r.Owner...)
		}
		if !more {
			break
		}
	}
	if goSink {
		box.done = true
		return box.s.finish(L)
	}
	top := L.GetTop()
	L.Push(sinkV)
	L.Push(lua.LNil)
	L.Call(1, lua.MultRet)
	return L.GetTop() - top
}

func isCallable(v lua.LValue) bool {
	switch x := v.(type) {
	case *lua.LFunction:
		return true
	case *lua.LTable:
		if mt, ok := x.Metatable.(*lua.LTable); ok {
			return mt.RawGetString("__call") != lua.LNil
		}
	case *lua.LUserData:
		if mt, ok := x.Metatable.(*lua.LTable); ok {
			return mt.RawGetString("__call") != lua.LNil
		}
	}
	return false
}

// luaCaller calls Lua filters and sinks with (owner, type, ttl, rdata),
// reusing the owner dname while consecutive records share it.
type luaCaller struct {
	L     *lua.LState
	owner lua.LValue
	wire  []byte
}

func (c *luaCaller) call(fn lua.LValue, r *zone.Record) lua.LValue {
	L := c.L
	if c.owner == nil || !bytes.Equal(c.wire, r.Owner) {
		c.wire = append(c.wire[:0], r.Owner...)
		dns.PushName(L, &dnsmsg.Name{Wire: append([]byte(nil), r.Owner...)})
		c.owner = L.Get(-1)
		L.Pop(1)
	}
	L.Push(fn)
	L.Push(c.owner)
	L.Push(lua.LNumber(r.Type))
	L.Push(lua.LNumber(r.TTL))
	L.Push(lua.LString(r.RData))
	L.Call(4, 1)
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// sift.makefilter(query) -> filter | nil, err. query is a term or an
// array of terms (ANDed). A bad typed rdata value raises.
func siftMakeFilter(L *lua.LState) int {
	var terms []string
	switch q := L.Get(1).(type) {
	case lua.LString:
		terms = []string{string(q)}
	case *lua.LTable:
		for i := 1; i <= q.Len(); i++ {
			s, ok := q.RawGetInt(i).(lua.LString)
			if !ok {
				return luabind.Fail(L, "unknown filter %q", lua.LVAsString(q.RawGetInt(i)))
			}
			terms = append(terms, string(s))
		}
	case *lua.LNilType:
	default:
		L.ArgError(1, "string or table expected")
	}
	f, err := CompileFilter(terms)
	if err != nil {
		var ire *InvalidRDataError
		if errors.As(err, &ire) {
			L.RaiseError("%s", ire.Error())
		}
		return luabind.Fail(L, "%s", err.Error())
	}
	ud := luabind.NewUserData(L, filterTypeName, f)
	L.Push(L.NewClosure(luabind.Guard("dns.sift.filter", filterCall), ud))
	return 1
}

// filterCall is the Lua-visible compiled filter: filter(owner, type, ttl, rdata).
func filterCall(L *lua.LState) int {
	f := luabind.Check[*Filter](L, lua.UpvalueIndex(1), filterTypeName)
	r := recordFromArgs(L)
	return luabind.Bool(L, f.Match(&r))
}

// recordFromArgs reads (owner, type, ttl, rdata) call arguments.
func recordFromArgs(L *lua.LState) zone.Record {
	owner, ok := dns.ToName(L.Get(1))
	if !ok {
		L.ArgError(1, dns.NameTypeName+" expected, got "+luabind.TypeName(L.Get(1)))
	}
	r := zone.Record{Owner: owner.Wire, Class: dnsmsg.ClassINET}
	r.Type = uint16(luabind.OptInt(L, 2, 0))
	r.TTL = uint32(luabind.OptInt(L, 3, 0))
	if L.Get(4) != lua.LNil {
		r.RData = luabind.CheckBytes(L, 4, 0)
	}
	return r
}

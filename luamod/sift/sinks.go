package sift

// sinks.go holds the built-in sinks of dns.sift. Each is a Go object
// behind a Lua closure (the sink protocol: sink(owner, type, ttl, rdata)
// -> continue?, sink(nil) -> capture), so runSift can feed it directly.

import (
	"bytes"
	"encoding/binary"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
	"ljdns/luabind"
	"ljdns/luamod/dns"
)

// goSink is a built-in sink.
type goSink interface {
	put(L *lua.LState, r *zone.Record) bool // store r (slices valid only during the call); false stops
	finish(L *lua.LState) int               // push the capture, return the number of values
}

// sinkBox is the upvalue of a built-in sink closure.
type sinkBox struct {
	s    goSink
	done bool
}

// newSink returns the Lua closure for s.
func newSink(L *lua.LState, s goSink) *lua.LFunction {
	ud := luabind.NewUserData(L, sinkTypeName, &sinkBox{s: s})
	return L.NewClosure(luabind.Guard("dns.sift.sink", sinkCall), ud)
}

func pushSink(L *lua.LState, s goSink) int {
	L.Push(newSink(L, s))
	return 1
}

// sinkCall: sink(owner, type, ttl, rdata) -> true | false; sink(nil) -> capture.
func sinkCall(L *lua.LState) int {
	box := luabind.Check[*sinkBox](L, lua.UpvalueIndex(1), sinkTypeName)
	if L.Get(1) == lua.LNil {
		if box.done {
			L.RaiseError("sink already finalised")
		}
		box.done = true
		return box.s.finish(L)
	}
	if box.done {
		L.RaiseError("sink already finalised")
	}
	r := recordFromArgs(L)
	more := box.s.put(L, &r)
	if p, ok := box.s.(*printerSink); ok {
		p.flush(L) // called from Lua: keep output in order with the caller's
	}
	return luabind.Bool(L, more)
}

// ---- printer ----

// printerSink writes RR lines, or one JSON array, through Lua's io.write,
// batched.
type printerSink struct {
	eager bool // flush every record (a Lua filter may print too)
	json  bool // one JSON array instead of RR lines
	buf   []byte
	count int
	owner []byte // owner text cache (JSON: quoted)
	wire  []byte
}

const printerFlush = 64 << 10

// sift.printer(['json']) -> sink
func siftPrinter(L *lua.LState) int {
	format := L.OptString(1, "text")
	if format != "text" && format != "json" {
		L.ArgError(1, `"text" or "json" expected`)
	}
	return pushSink(L, &printerSink{json: format == "json"})
}

func (p *printerSink) put(L *lua.LState, r *zone.Record) bool {
	if p.owner == nil || !bytes.Equal(p.wire, r.Owner) {
		p.wire = append(p.wire[:0], r.Owner...)
		p.owner = []byte((&dnsmsg.Name{Wire: r.Owner}).String())
		if p.json {
			p.owner = appendJSONString(nil, p.owner)
		}
	}
	if p.json {
		p.buf = p.appendJSON(p.buf, r)
	} else {
		p.buf = appendRRLine(p.buf, p.owner, r.Type, r.TTL, r.RData)
	}
	p.count++
	if p.eager || len(p.buf) >= printerFlush {
		p.flush(L)
	}
	return true
}

func (p *printerSink) flush(L *lua.LState) {
	if len(p.buf) == 0 {
		return
	}
	io, ok := L.GetGlobal("io").(*lua.LTable)
	if !ok {
		L.RaiseError("sift.printer: io library not available")
	}
	L.Push(io.RawGetString("write"))
	L.Push(lua.LString(p.buf))
	L.Call(1, 0)
	p.buf = p.buf[:0]
}

func (p *printerSink) finish(L *lua.LState) int {
	if p.json {
		if p.count == 0 {
			p.buf = append(p.buf, '[')
		}
		p.buf = append(p.buf, ']')
	}
	p.flush(L)
	L.Push(lua.LNumber(p.count))
	return 1
}

// appendJSON appends `[` or `,` and the object
// `{ "name": ..., "type": n, "TTL": n, "data": "..." }`: unlike jsonify's,
// data is always a JSON string (TXT with several strings stays valid).
func (p *printerSink) appendJSON(b []byte, r *zone.Record) []byte {
	if p.count == 0 {
		b = append(b, '[')
	} else {
		b = append(b, ',')
	}
	b = append(b, `{ "name": `...)
	b = append(b, p.owner...)
	b = append(b, `, "type": `...)
	b = strconv.AppendUint(b, uint64(r.Type), 10)
	b = append(b, `, "TTL": `...)
	b = strconv.AppendUint(b, uint64(r.TTL), 10)
	b = append(b, `, "data": `...)
	b = appendJSONString(b, []byte(dnsmsg.RDataText(r.Type, r.RData)))
	return append(b, " }"...)
}

// appendJSONString appends s as a JSON string: `"` and `\` escaped,
// control bytes as \u00XX, other bytes as they are (presentation text is
// ASCII: other bytes are written \DDD).
func appendJSONString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendRRLine appends the RR line of API.md §1.7.
func appendRRLine(b, owner []byte, t uint16, ttl uint32, rd []byte) []byte {
	b = append(b, owner...)
	for i := len(owner); i < 20; i++ {
		b = append(b, ' ')
	}
	if len(owner) < 32 {
		b = append(b, '\t')
	} else {
		b = append(b, ' ')
	}
	b = strconv.AppendUint(b, uint64(ttl), 10)
	b = append(b, '\t')
	b = append(b, dnsmsg.TypeString(t)...)
	b = append(b, '\t')
	b = append(b, dnsmsg.RDataText(t, rd)...)
	return append(b, '\n')
}

// ---- table ----

// tableSink collects single-RDATA rrsets into a 1-based Lua table.
type tableSink struct {
	t  *lua.LTable
	ar rrArena
}

func siftTable(L *lua.LState) int { return pushSink(L, &tableSink{t: L.NewTable()}) }

func (s *tableSink) put(L *lua.LState, r *zone.Record) bool {
	dns.PushRRSet(L, s.ar.rrset(r))
	s.t.Append(L.Get(-1))
	L.Pop(1)
	return true
}

func (s *tableSink) finish(L *lua.LState) int {
	L.Push(s.t)
	return 1
}

// rrArena makes single-RDATA rrsets with few allocations: structures come
// from chunks, bytes from a slab, and consecutive records share the owner.
type rrArena struct {
	sets  []dnsmsg.RRSet
	names []dnsmsg.Name
	rds   [][]byte
	slab  []byte
	last  *dnsmsg.Name
}

const arenaChunk = 4096

func (a *rrArena) bytes(b []byte) []byte {
	if len(b) > cap(a.slab)-len(a.slab) {
		a.slab = make([]byte, 0, max(256<<10, len(b)))
	}
	n := len(a.slab)
	a.slab = append(a.slab, b...)
	return a.slab[n:len(a.slab):len(a.slab)]
}

// name returns an owner name for wire w, shared with the previous call
// when equal.
func (a *rrArena) name(w []byte) *dnsmsg.Name {
	if a.last != nil && bytes.Equal(a.last.Wire, w) {
		return a.last
	}
	if len(a.names) == cap(a.names) {
		a.names = make([]dnsmsg.Name, 0, arenaChunk)
	}
	a.names = append(a.names, dnsmsg.Name{Wire: a.bytes(w)})
	a.last = &a.names[len(a.names)-1]
	return a.last
}

// rrset returns a new rrset holding a copy of r.
func (a *rrArena) rrset(r *zone.Record) *dnsmsg.RRSet {
	if len(a.sets) == cap(a.sets) {
		a.sets = make([]dnsmsg.RRSet, 0, arenaChunk)
	}
	if len(a.rds) == cap(a.rds) {
		a.rds = make([][]byte, 0, arenaChunk)
	}
	a.rds = append(a.rds, a.bytes(r.RData))
	rd := a.rds[len(a.rds)-1 : len(a.rds) : len(a.rds)]
	a.sets = append(a.sets, dnsmsg.RRSet{Owner: a.name(r.Owner), Type: r.Type, Class: r.Class, TTL: r.TTL, RData: rd})
	return &a.sets[len(a.sets)-1]
}

// ---- jsonify ----

// jsonSink builds `[{ "name": ..., "type": n, "TTL": n, "data": ... },...]`.
type jsonSink struct {
	buf   []byte
	n     int
	owner []byte
	wire  []byte
}

func siftJSONify(L *lua.LState) int { return pushSink(L, &jsonSink{buf: []byte{'['}}) }

func (s *jsonSink) put(L *lua.LState, r *zone.Record) bool {
	if s.owner == nil || !bytes.Equal(s.wire, r.Owner) {
		s.wire = append(s.wire[:0], r.Owner...)
		s.owner = []byte((&dnsmsg.Name{Wire: r.Owner}).String())
	}
	if s.n > 0 {
		s.buf = append(s.buf, ',')
	}
	s.n++
	s.buf = append(s.buf, `{ "name": "`...)
	s.buf = append(s.buf, s.owner...)
	s.buf = append(s.buf, `", "type": `...)
	s.buf = strconv.AppendUint(s.buf, uint64(r.Type), 10)
	s.buf = append(s.buf, `, "TTL": `...)
	s.buf = strconv.AppendUint(s.buf, uint64(r.TTL), 10)
	s.buf = append(s.buf, `, "data": `...)
	text := dnsmsg.RDataText(r.Type, r.RData)
	if len(text) > 0 && text[0] == '"' {
		s.buf = append(s.buf, text...)
	} else {
		s.buf = append(s.buf, '"')
		s.buf = append(s.buf, text...)
		s.buf = append(s.buf, '"')
	}
	s.buf = append(s.buf, " }"...)
	return true
}

func (s *jsonSink) finish(L *lua.LState) int {
	s.buf = append(s.buf, ']')
	L.Push(lua.LString(s.buf))
	return 1
}

// ---- lmdb ----

// lmdbSink collects (searchkey, ttl+rdata) pairs in one slab, then sorts
// them and stores them in key order in one write transaction: bbolt
// inserts in order are several times faster than in zone order.
type lmdbSink struct {
	env      *Env
	envV     lua.LValue
	txn      *Txn
	txnV     lua.LValue
	ownTxn   bool     // the sink began txn itself (no txn argument)
	slab     []byte   // current chunk
	chunks   [][]byte // all chunks, slab last
	idx      []kvRef
	inserted int
}

// kvRef locates one pair: key then value, adjacent in one chunk.
type kvRef struct {
	chunk uint32
	off   uint32
	klen  uint16
	vlen  uint32
}

const slabChunk = 4 << 20

// bulkGCPercent is the GC percentage (GOGC) in force during a bulk load.
// The load makes about 400 bytes of short-lived garbage a pair while the
// rest of the heap (the sink's pairs, and whatever the script holds, such
// as bench.lua's sorted set of the same zone) stays put, so at the default
// of 100 the heap grows to twice all that between collections: bench.lua
// peaked there, at 2 x 170 MB for its 1M-record zone. At 50 it grows by
// half instead. Each extra collection has little to trace (the big live
// arrays hold no pointers) and runs mostly on the core the load, a single
// goroutine, leaves idle.
const bulkGCPercent = 50

// lowerGCPercent sets the GC percentage to p unless it is already lower
// or off, and returns the function that restores it.
func lowerGCPercent(p int) (restore func()) {
	m := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(m)
	if m[0].Value.Kind() != metrics.KindUint64 {
		return func() {}
	}
	if cur := int64(m[0].Value.Uint64()); cur < 0 || cur <= int64(p) {
		return func() {} // off (-1) or already as low
	}
	old := debug.SetGCPercent(p)
	return func() { debug.SetGCPercent(old) }
}

// releaseAfter is the number of records from which finishing a load
// returns freed memory to the OS (bbolt leaves about 400 bytes of garbage
// per pair, our slab about 60 more).
const releaseAfter = 1 << 18

// sift.lmdb(env [, db [, txn]]) -> sink | nil, err
func siftLMDB(L *lua.LState) int {
	env := luabind.Check[*Env](L, 1, envTypeName)
	s := &lmdbSink{env: env, envV: L.Get(1)}
	if ud, ok := L.Get(3).(*lua.LUserData); ok {
		s.txn = luabind.Check[*Txn](L, 3, txnTypeName)
		if !s.txn.Valid() {
			L.RaiseError("operation on aborted transaction")
		}
		s.txnV = ud
	} else {
		t, err := env.Begin(luabind.OptInt(L, 2, 0), false)
		if err != nil {
			return luabind.FailErr(L, "", err)
		}
		s.txn, s.ownTxn = t, true
		pushTxn(L, t)
		s.txnV = L.Get(-1)
		L.Pop(1)
	}
	return pushSink(L, s)
}

func (s *lmdbSink) put(L *lua.LState, r *zone.Record) bool {
	need := len(r.Owner) + 2 + 4 + len(r.RData)
	if need > cap(s.slab)-len(s.slab) {
		s.slab = make([]byte, 0, max(slabChunk, need))
		s.chunks = append(s.chunks, nil)
	}
	off := len(s.slab)
	s.slab = dnsmsg.AppendSearchKey(s.slab, r.Owner, r.Type)
	klen := len(s.slab) - off
	s.slab = binary.LittleEndian.AppendUint32(s.slab, r.TTL)
	s.slab = append(s.slab, r.RData...)
	s.chunks[len(s.chunks)-1] = s.slab
	ref := kvRef{chunk: uint32(len(s.chunks) - 1), off: uint32(off), klen: uint16(klen),
		vlen: uint32(len(s.slab) - off - klen)}
	s.inserted++
	if n := len(s.idx); n > 0 && bytes.Equal(s.key(n-1), s.slab[off:off+klen]) {
		// The same key as the previous record (the RRs of one RR set):
		// only the last value of a key is stored, so this pair replaces
		// that one, and takes its place at the slab's end when it is there.
		p := &s.idx[n-1]
		if p.chunk == ref.chunk && int(p.off)+int(p.klen)+int(p.vlen) == off {
			s.slab = append(s.slab[:p.off], s.slab[off:]...)
			s.chunks[len(s.chunks)-1] = s.slab
			ref.off = p.off
		}
		*p = ref
		return true
	}
	s.idx = append(s.idx, ref)
	return true
}

func (s *lmdbSink) key(i int) []byte { return s.keyOf(&s.idx[i]) }

func (s *lmdbSink) keyOf(r *kvRef) []byte {
	c := s.chunks[r.chunk]
	return c[r.off : r.off+uint32(r.klen)]
}

func (s *lmdbSink) valOf(r *kvRef) []byte {
	c := s.chunks[r.chunk]
	k := r.off + uint32(r.klen)
	return c[k : k+r.vlen : k+r.vlen]
}

// sortDedupe sorts the pairs by key, equal keys in arrival order, and
// keeps the last of each run.
func (s *lmdbSink) sortDedupe() {
	slices.SortStableFunc(s.idx, func(a, b kvRef) int {
		return bytes.Compare(s.keyOf(&a), s.keyOf(&b))
	})
	w := 0
	for i := range s.idx {
		if w > 0 && bytes.Equal(s.key(w-1), s.key(i)) {
			s.idx[w-1] = s.idx[i]
			continue
		}
		s.idx[w] = s.idx[i]
		w++
	}
	s.idx = s.idx[:w]
}

// store puts the sorted pairs into the transaction.
func (s *lmdbSink) store() error {
	return s.txn.PutSorted(len(s.idx), func(i int) ([]byte, []byte) {
		r := &s.idx[i]
		return s.keyOf(r), s.valOf(r)
	})
}

// bulk reports whether finish may use Env.BulkLoad: many pairs, the sink's
// own transaction, an empty database and no other transaction open.
func (s *lmdbSink) bulk() bool {
	t := s.txn
	if !s.ownTxn || len(s.idx) < 2*bulkBatch || t.env != s.env || t.env.readers > 0 || t.bucket == nil {
		return false
	}
	k, _ := t.bucket.Cursor().First()
	return k == nil
}

func (s *lmdbSink) finish(L *lua.LState) int {
	if !s.txn.Valid() {
		L.RaiseError("operation on aborted transaction")
	}
	s.sortDedupe()
	var err error
	if s.bulk() {
		// A large load into an empty database the sink owns: commit in
		// batches (bounded memory), moved into place atomically.
		s.txn.Abort()
		restore := lowerGCPercent(bulkGCPercent)
		err = s.env.BulkLoad(s.txn.DBI(), len(s.idx), func(i int) ([]byte, []byte) {
			r := &s.idx[i]
			return s.keyOf(r), s.valOf(r)
		})
		restore()
	} else if err = s.store(); err == nil {
		s.idx = nil
		err = s.txn.Commit()
	} else {
		s.txn.Abort()
	}
	big := s.inserted
	s.idx = nil
	if ud, ok := s.txnV.(*lua.LUserData); ok {
		setTxnFields(ud, s.txn)
	}
	s.slab, s.chunks = nil, nil
	if big >= releaseAfter {
		// A large load leaves a heap of garbage (our slab, bbolt's node
		// and page buffers): hand it back to the OS now, before the
		// store's memory map fills with the pages readers touch.
		debug.FreeOSMemory()
	}
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	L.Push(s.envV)
	L.Push(lua.LNumber(s.inserted))
	L.Push(lua.LNumber(s.txn.DBI()))
	return 3
}

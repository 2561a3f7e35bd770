package dns

// dns.rrparser (API.md §2.3): a streaming zone parser object over the
// zone package's scanner, rrparser.file, and the constructors of the
// sorted RR-set array (sortedset.go) and the name set (nameset.go).
//
// Lua:
//
//	p = rrparser.new([origin [, class [, ttl]]])  -- origin '.', class IN, TTL 3600
//	p:open(path)        -> true | false, err
//	p:parse([text])     -> true (record) | false (end) | false, err (syntax error, ends the stream)
//	p:reset()           -- drop the input
//	p:current_rr()      -> {owner=<wire>, ttl, class, type, rdata=<wire>} | nil
//	p:strerr()          -> message of the last error ("no error")
//	p.r_owner, p.r_data -- live byte views into the parser, rewritten by each parse()
//	p.r_owner_length, p.r_data_length, p.r_type, p.r_class, p.r_ttl
//	p.state             -- rrparser.state.{NONE,DATA,ERROR,INCLUDE,EOF,STOP}
//	p.error.code, p.error.counter, p.error.fatal, p.line_counter
//	rrparser.file(path [, origin]) / rrparser.parse_file -> 1-based array of current_rr() tables (R if unreadable)
//	rrparser.set(), rrparser.nameset()

import (
	"errors"
	"runtime"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
	"ljdns/luabind"
)

// rrparserModule is dns.rrparser (API.md §2.3): the streaming zone parser,
// rrparser.file, the sorted RR-set array and the name set.
var rrparserModule = luabind.Module{Name: "dns.rrparser", Load: rrparserLoader}

// ParserTypeName is the registry name of rrparser.new() objects.
const ParserTypeName = "dns.rrparser"

// Parser states (rrparser.state), as knot's zscanner numbers them.
const (
	ParserNone    = 0
	ParserData    = 1
	ParserError   = 2
	ParserInclude = 3
	ParserEOF     = 4
	ParserStop    = 5
)

// errCodeSyntax is error.code after a failure (knot's codes are negative).
const errCodeSyntax = -1

// Parser is the state of one rrparser.new() object. OwnerMem and DataMem
// hold the owner and RDATA of the current record, so views taken from
// r_owner/r_data follow the current record. Reading a file (Open), they
// point at the scanner's own copy of the record, which stays unchanged
// until the next parse() (no copy per record); reading text (SetText), the
// record is copied into fixed 256- and 65536-byte buffers, as a failed
// parse may overwrite the scanner's.
type Parser struct {
	sc       *zone.Scanner
	OwnerMem *luabind.Memory // current owner: the scanner's bytes, or ownerBuf
	DataMem  *luabind.Memory // current RDATA: the scanner's bytes, or dataBuf
	OwnerLen int
	DataLen  int
	Type     uint16
	Class    uint16
	TTL      uint32
	State    int
	ErrCode  int
	ErrCount int
	ErrFatal bool
	ErrMsg   string
	Line     int
	have     bool // a record was produced
	fromFile bool // the input is a file parsed ahead (Open)

	ownerBuf, dataBuf []byte // 256 and 65536 bytes: the record of text input

	ownerUD, dataUD *lua.LUserData // cached live views
}

// NewParser returns a parser with no input.
func NewParser(origin string, class uint16, ttl uint32) (*Parser, error) {
	sc := zone.NewScanner(strings.NewReader(""), origin, class, ttl)
	if err := sc.Err(); err != nil {
		return nil, err
	}
	p := &Parser{sc: sc, ownerBuf: make([]byte, 256), dataBuf: make([]byte, 65536)}
	p.OwnerMem, p.DataMem = &luabind.Memory{B: p.ownerBuf}, &luabind.Memory{B: p.dataBuf}
	// a parser dropped mid-file must not leak its file and parse-ahead
	// goroutine (gopher-lua has no __gc)
	runtime.SetFinalizer(p, func(p *Parser) { p.sc.Close() })
	return p, nil
}

// Open makes the parser read the zone file at path, parsing ahead in a
// second goroutine; the origin and default TTL restart from new()'s.
func (p *Parser) Open(path string) error {
	p.sc.SetAsync(false)
	if err := p.sc.ResetFile(path); err != nil {
		return err
	}
	p.sc.SetAsync(true)
	p.clearError()
	p.have, p.fromFile = false, true
	return nil
}

// SetText makes the parser read text (synchronously), keeping the origin,
// $TTL and previous owner.
func (p *Parser) SetText(text string) {
	p.sc.SetAsync(false)
	p.sc.Reset(strings.NewReader(text))
	p.clearError()
	p.fromFile = false
}

// Next parses the next record: true with the fields updated, false at the
// end of input or on error (State tells which, ErrMsg the message).
func (p *Parser) Next() bool {
	if p.sc.Next() {
		r := p.sc.Record()
		if p.fromFile {
			p.OwnerMem.B, p.DataMem.B = r.Owner, r.RData
			p.OwnerLen, p.DataLen = len(r.Owner), len(r.RData)
		} else {
			p.OwnerMem.B, p.DataMem.B = p.ownerBuf, p.dataBuf
			p.OwnerLen, p.DataLen = copy(p.ownerBuf, r.Owner), copy(p.dataBuf, r.RData)
		}
		p.Type, p.Class, p.TTL, p.Line = r.Type, r.Class, r.TTL, r.Line
		p.State, p.have = ParserData, true
		return true
	}
	if err := p.sc.Err(); err != nil {
		if p.State != ParserError {
			p.ErrCount++
		}
		p.State, p.ErrCode, p.ErrFatal, p.ErrMsg = ParserError, errCodeSyntax, true, err.Error()
		var pe *zone.ParseError
		if errors.As(err, &pe) {
			p.Line = pe.Line
		}
		return false
	}
	p.State = ParserEOF
	p.Line = p.sc.Line()
	return false
}

func (p *Parser) clearError() {
	p.State, p.ErrCode, p.ErrFatal, p.ErrMsg = ParserNone, 0, false, ""
}

func rrparserLoader(L *lua.LState) int {
	registerParser(L)
	mod := luabind.NewModule(L, "dns.rrparser", map[string]lua.LGFunction{
		"new":        rpNew,
		"file":       rpFile,
		"parse_file": rpFile,
		"set":        func(L *lua.LState) int { PushSortedSet(L, dnsmsg.NewSortedSet()); return 1 },
		"nameset":    func(L *lua.LState) int { PushNameSet(L, dnsmsg.NewNameSet()); return 1 },
	})
	st := L.NewTable()
	for k, v := range map[string]int{"NONE": ParserNone, "DATA": ParserData, "ERROR": ParserError,
		"INCLUDE": ParserInclude, "EOF": ParserEOF, "STOP": ParserStop} {
		st.RawSetString(k, lua.LNumber(v))
	}
	mod.RawSetString("state", st)
	L.Push(mod)
	return 1
}

func registerParser(L *lua.LState) {
	if _, ok := L.GetTypeMetatable(ParserTypeName).(*lua.LTable); ok {
		return
	}
	sortedSetKind.register(L)
	nameSetKind.register(L)
	luabind.RegisterType(L, luabind.TypeSpec{Name: ParserTypeName, Methods: parserMethods, Meta: map[string]lua.LGFunction{
		"__tostring": func(L *lua.LState) int { L.Push(lua.LString("rrparser")); return 1 },
	}})
}

// parserMetatable returns the metatable of one parser object: the type's
// metatable, except that __index is a table of the methods, so that
// looking up p:parse costs no Go call (half the cost of a parse-only loop
// before), and only a miss (a field such as p.r_type) calls rpField
// through that table's own __index, a closure over p.
func parserMetatable(L *lua.LState, p *Parser, ud *lua.LUserData) *lua.LTable {
	mt, idx := L.NewTable(), L.NewTable()
	L.GetTypeMetatable(ParserTypeName).(*lua.LTable).ForEach(func(k, v lua.LValue) { mt.RawSet(k, v) })
	luabind.Methods(L, ParserTypeName).ForEach(func(k, v lua.LValue) { idx.RawSet(k, v) })
	// parse is a closure over p and its userdata: the object is checked
	// by identity instead of a type assertion on every record
	idx.RawSetString("parse", L.NewFunction(luabind.Guard(ParserTypeName+".parse", func(L *lua.LState) int {
		if L.Get(1) != ud {
			return rpParse(L)
		}
		return parseWith(L, p)
	})))
	fields := L.NewTable()
	fields.RawSetString("__index", L.NewFunction(luabind.Guard(ParserTypeName+".__index", func(L *lua.LState) int {
		return rpField(L, p, L.Get(2))
	})))
	L.SetMetatable(idx, fields)
	mt.RawSetString("__index", idx)
	return mt
}

var parserMethods = map[string]lua.LGFunction{
	"open":       rpOpen,
	"parse":      rpParse,
	"reset":      rpReset,
	"current_rr": rpCurrentRR,
	"strerr":     rpStrerr,
}

func checkParser(L *lua.LState) *Parser {
	return luabind.Check[*Parser](L, 1, ParserTypeName)
}

// optOrigin returns argument n as origin text: nil → ".", a string is
// text, a dname object is converted.
func optOrigin(L *lua.LState, n int) string {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return "."
	case lua.LString:
		return string(v)
	}
	return CheckName(L, n).String()
}

// rpNew is rrparser.new([origin [, class [, ttl]]]).
func rpNew(L *lua.LState) int {
	origin := optOrigin(L, 1)
	class := uint16(luabind.OptInt(L, 2, int(dnsmsg.ClassINET)))
	ttl := uint32(luabind.OptNumber(L, 3, zone.DefaultTTL))
	p, err := NewParser(origin, class, ttl)
	if err != nil {
		return luabind.FailErr(L, "rrparser.new", err)
	}
	registerParser(L)
	ud := luabind.NewUserData(L, ParserTypeName, p)
	ud.Metatable = parserMetatable(L, p, ud)
	L.Push(ud)
	return 1
}

func rpOpen(L *lua.LState) int {
	p := checkParser(L)
	if err := p.Open(L.CheckString(2)); err != nil {
		p.clearError()
		L.Push(lua.LFalse)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	return luabind.Bool(L, true)
}

func rpParse(L *lua.LState) int { return parseWith(L, checkParser(L)) }

// parseWith is p:parse([text]) on the parser p (argument 1).
func parseWith(L *lua.LState, p *Parser) int {
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		if str, ok := L.Get(2).(lua.LString); ok {
			p.SetText(string(str)) // no copy
		} else {
			p.SetText(string(luabind.CheckBytes(L, 2, 0)))
		}
	}
	if p.Next() {
		L.Push(lua.LTrue)
		return 1
	}
	L.Push(lua.LFalse)
	if p.State == ParserError {
		L.Push(lua.LString(p.ErrMsg))
		return 2
	}
	return 1
}

func rpReset(L *lua.LState) int {
	checkParser(L).SetText("")
	return 0
}

func rpStrerr(L *lua.LState) int {
	p := checkParser(L)
	if p.ErrCode == 0 {
		L.Push(lua.LString("no error"))
	} else {
		L.Push(lua.LString(p.ErrMsg))
	}
	return 1
}

// pushRecordTable pushes {owner=, ttl=, class=, type=, rdata=}.
func pushRecordTable(L *lua.LState, owner []byte, ttl uint32, class, typ uint16, rdata []byte) {
	t := L.CreateTable(0, 5)
	t.RawSetString("owner", lua.LString(owner))
	t.RawSetString("ttl", lua.LNumber(ttl))
	t.RawSetString("class", lua.LNumber(class))
	t.RawSetString("type", lua.LNumber(typ))
	t.RawSetString("rdata", lua.LString(rdata))
	L.Push(t)
}

func rpCurrentRR(L *lua.LState) int {
	p := checkParser(L)
	if !p.have {
		L.Push(lua.LNil)
		return 1
	}
	pushRecordTable(L, p.OwnerMem.B[:p.OwnerLen], p.TTL, p.Class, p.Type, p.DataMem.B[:p.DataLen])
	return 1
}

// liveView returns (creating once) the userdata of a byte view over mem.
func liveView(L *lua.LState, cache **lua.LUserData, mem *luabind.Memory) lua.LValue {
	if *cache == nil {
		luabind.PushView(L, luabind.ViewOf(mem, 0))
		*cache = L.Get(-1).(*lua.LUserData)
		L.Pop(1)
	}
	return *cache
}

// rpField pushes field key of p (nil for unknown keys).
func rpField(L *lua.LState, p *Parser, key lua.LValue) int {
	k, _ := key.(lua.LString)
	switch k {
	case "r_owner":
		L.Push(liveView(L, &p.ownerUD, p.OwnerMem))
	case "r_owner_length":
		L.Push(lua.LNumber(p.OwnerLen))
	case "r_data":
		L.Push(liveView(L, &p.dataUD, p.DataMem))
	case "r_data_length":
		L.Push(lua.LNumber(p.DataLen))
	case "r_type":
		L.Push(lua.LNumber(p.Type))
	case "r_class":
		L.Push(lua.LNumber(p.Class))
	case "r_ttl":
		L.Push(lua.LNumber(p.TTL))
	case "state":
		L.Push(lua.LNumber(p.State))
	case "line_counter":
		L.Push(lua.LNumber(p.Line))
	case "error":
		t := L.CreateTable(0, 3)
		t.RawSetString("code", lua.LNumber(p.ErrCode))
		t.RawSetString("counter", lua.LNumber(p.ErrCount))
		t.RawSetString("fatal", lua.LBool(p.ErrFatal))
		L.Push(t)
	default:
		L.Push(lua.LNil)
	}
	return 1
}

// rpFile is rrparser.file(path [, origin]): every record of the file as a
// 1-based array; raises if the file cannot be opened. A syntax error ends
// the array; its message is the second result.
func rpFile(L *lua.LState) int {
	path := L.CheckString(1)
	sc, err := zone.NewFileScanner(path, optOrigin(L, 2), dnsmsg.ClassINET, zone.DefaultTTL)
	if err != nil {
		L.RaiseError("rrparser.file: %v", err)
	}
	defer sc.Close()
	sc.SetAsync(true)
	out := L.NewTable()
	n := 0
	for sc.Next() {
		r := sc.Record()
		pushRecordTable(L, r.Owner, r.TTL, r.Class, r.Type, r.RData)
		n++
		out.RawSetInt(n, L.Get(-1))
		L.Pop(1)
	}
	L.Push(out)
	if err := sc.Err(); err != nil {
		L.Push(lua.LString(err.Error()))
		return 2
	}
	return 1
}

package host

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Runtime errors in Lua 5.1 and LuaJIT name what went wrong:
// "attempt to index global 'x' (a nil value)". gopher-lua says "attempt
// to index a non-table object(nil) with key 'y'". nameError rewrites
// gopher-lua's messages into Lua's, finding the name the way Lua's
// getobjname does: from the instruction that failed and the one that
// loaded its operand.

// gopher-lua's texts of the runtime errors nameError rewrites.
const (
	gopherIndex    = "attempt to index a non-table object("
	gopherCall     = "attempt to call a non-function object"
	gopherArith    = "cannot perform "
	gopherCompare  = "attempt to compare "
	gopherLen      = "__len undefined"
	gopherUnm      = "__unm undefined"
	gopherFor      = "for statement "
	gopherOverflow = "lua callstack overflow"
)

// instruction fields of gopher-lua's Lua 5.1 bytecode (opcode.go)
func opOf(i uint32) int   { return int(i >> 26) }
func argA(i uint32) int   { return int(i>>18) & 0xff }
func argB(i uint32) int   { return int(i & 0x1ff) }
func argC(i uint32) int   { return int(i>>9) & 0x1ff }
func argBx(i uint32) int  { return int(i & 0x3ffff) }
func argSBx(i uint32) int { return argBx(i) - 0x3ffff>>1 }

const rkConstant = 1 << 8 // an RK operand naming a constant

// nameError returns the Lua 5.1 text of a runtime error raised by the
// frame at level of L (0 when called from L's Panic), or msg unchanged.
func nameError(L *lua.LState, level int, msg string) string {
	kind, at := -1, 0
	for k, p := range []string{gopherIndex, gopherCall, gopherArith, gopherCompare, gopherLen, gopherUnm, gopherFor} {
		if i := strings.Index(msg, p); i >= 0 {
			kind, at = k, i
			break
		}
	}
	if kind < 0 {
		return msg
	}
	prefix, body := msg[:at], msg[at:]
	switch kind {
	case 3: // comparison: no names in Lua either
		a, b, ok := strings.Cut(strings.TrimPrefix(body, gopherCompare), " with ")
		if !ok {
			return msg
		}
		if a == b {
			return prefix + "attempt to compare two " + a + " values"
		}
		return prefix + "attempt to compare " + a + " with " + b
	case 6:
		switch strings.TrimPrefix(body, gopherFor) {
		case "init must be a number":
			return prefix + "'for' initial value must be a number"
		case "limit must be a number":
			return prefix + "'for' limit must be a number"
		case "step must be a number":
			return prefix + "'for' step must be a number"
		}
		return msg
	}
	dbg, ok := L.GetStack(level)
	if !ok {
		return msg
	}
	fn, pc, ok := framePC(dbg)
	if !ok {
		return msg
	}
	p := fn.Proto
	if p.SourceName == preludeName {
		prefix = "" // pcall and xpcall are C functions in LuaJIT: no position
	}
	inst := p.Code[pc]
	// value of register r of the failing frame (only when it is L's current frame)
	reg := func(r int) lua.LValue {
		if level != 0 {
			return nil
		}
		return L.Get(r + 1)
	}
	rk := func(x int) (lua.LValue, int) {
		if x&rkConstant != 0 {
			if k := x &^ rkConstant; k < len(p.Constants) {
				return p.Constants[k], -1
			}
			return nil, -1
		}
		return reg(x), x
	}
	named := func(verb string, r int, typ string) string {
		if typ == "" {
			if v := reg(r); v != nil {
				typ = v.Type().String()
			} else {
				typ = "nil"
			}
		}
		if r >= 0 && p.SourceName != preludeName {
			if desc := objectName(fn, pc, r); desc != "" {
				return prefix + "attempt to " + verb + " " + desc + " (a " + typ + " value)"
			}
		}
		return prefix + "attempt to " + verb + " a " + typ + " value"
	}
	switch op := opOf(inst); kind {
	case 0: // index: "attempt to index a non-table object(nil) with key 'y'"
		typ, _, _ := strings.Cut(strings.TrimPrefix(body, gopherIndex), ")")
		switch op {
		case lua.OP_GETTABLE, lua.OP_GETTABLEKS, lua.OP_SELF:
			return named("index", argB(inst), typ)
		case lua.OP_SETTABLE, lua.OP_SETTABLEKS:
			return named("index", argA(inst), typ)
		}
		return prefix + "attempt to index a " + typ + " value"
	case 1: // call
		switch op {
		case lua.OP_CALL, lua.OP_TAILCALL:
			return named("call", argA(inst), "")
		case lua.OP_TFORLOOP:
			return named("call", -1, typeOf(reg(argA(inst))))
		}
		return msg
	case 2: // arithmetic or concatenation: "cannot perform add operation between nil and number"
		rest := strings.TrimPrefix(body, gopherArith)
		opname, types, ok := strings.Cut(rest, " operation between ")
		if !ok {
			return msg
		}
		t1, t2, _ := strings.Cut(types, " and ")
		if opname == "concat" && op == lua.OP_CONCAT {
			return named("concatenate", concatCulprit(inst, reg), "")
		}
		if op < lua.OP_ADD || op > lua.OP_POW {
			return prefix + "attempt to perform arithmetic on a " + t1 + " value"
		}
		// Lua blames the first operand unless it converts to a number
		v, r := rk(argB(inst))
		typ := t1
		if t1 == "number" || (v != nil && convertsToNumber(v)) {
			v, r = rk(argC(inst))
			typ = t2
		}
		if v != nil {
			typ = v.Type().String()
		}
		return named("perform arithmetic on", r, typ)
	case 4: // length
		if op == lua.OP_LEN {
			return named("get length of", argB(inst), "")
		}
	case 5: // unary minus
		if op == lua.OP_UNM {
			return named("perform arithmetic on", argB(inst), "")
		}
	}
	return msg
}

func typeOf(v lua.LValue) string {
	if v == nil {
		return "nil"
	}
	return v.Type().String()
}

func convertsToNumber(v lua.LValue) bool {
	switch x := v.(type) {
	case lua.LNumber:
		return true
	case lua.LString:
		_, ok := ParseNumber(string(x))
		return ok
	}
	return false
}

// concatCulprit is the register Lua blames in a failed R(B) .. ... .. R(C):
// concatenation goes right to left two at a time, and of the failing pair
// the left operand is blamed unless it is a string or number.
func concatCulprit(inst uint32, reg func(int) lua.LValue) int {
	b, c := argB(inst), argC(inst)
	if reg(c) == nil {
		return -1
	}
	stringy := func(v lua.LValue) bool {
		switch v.(type) {
		case lua.LString, lua.LNumber:
			return true
		}
		return false
	}
	for r := c; r > b; r-- {
		if !stringy(reg(r)) {
			if r == c && !stringy(reg(r-1)) {
				return r - 1
			}
			return r
		}
	}
	return b
}

// objectName describes what register r held at instruction pc of fn, as
// Lua's getobjname: "local 'x'", "global 'x'", "field 'x'", "upvalue 'x'",
// "method 'x'", or "" when it has no name.
func objectName(fn *lua.LFunction, pc, r int) string {
	p := fn.Proto
	if name := localName(p, r, pc); name != "" && !strings.HasPrefix(name, "(") {
		return "local '" + name + "'"
	}
	last := lastSetter(p, pc, r)
	if last < 0 {
		return ""
	}
	inst := p.Code[last]
	constString := func(x int) (string, bool) {
		if x&rkConstant == 0 {
			return "", false
		}
		k := x &^ rkConstant
		if k >= len(p.Constants) {
			return "", false
		}
		s, ok := p.Constants[k].(lua.LString)
		return string(s), ok
	}
	switch opOf(inst) {
	case lua.OP_GETGLOBAL:
		if bx := argBx(inst); bx < len(p.Constants) {
			if s, ok := p.Constants[bx].(lua.LString); ok {
				return "global '" + string(s) + "'"
			}
		}
	case lua.OP_MOVE, lua.OP_MOVEN:
		if b := argB(inst); b < argA(inst) {
			return objectName(fn, pc, b)
		}
	case lua.OP_GETTABLE, lua.OP_GETTABLEKS:
		if s, ok := constString(argC(inst)); ok {
			return "field '" + s + "'"
		}
	case lua.OP_SELF:
		if s, ok := constString(argC(inst)); ok {
			return "method '" + s + "'"
		}
	case lua.OP_GETUPVAL:
		if b := argB(inst); b < len(p.DbgUpvalues) {
			return "upvalue '" + p.DbgUpvalues[b] + "'"
		}
	}
	return ""
}

// lastSetter finds the instruction before lastpc that last wrote register
// r, following forward jumps as Lua's symbexec does; -1 if none.
func lastSetter(p *lua.FunctionProto, lastpc, r int) int {
	last := -1
	for pc := 0; pc < lastpc; pc++ {
		inst := p.Code[pc]
		a := argA(inst)
		switch op := opOf(inst); op {
		case lua.OP_LOADNIL:
			if a <= r && r <= argB(inst) {
				last = pc
			}
		case lua.OP_TFORLOOP:
			if r >= a+2 {
				last = pc
			}
		case lua.OP_CALL, lua.OP_TAILCALL, lua.OP_VARARG:
			if r >= a {
				last = pc
			}
		case lua.OP_SELF:
			if r == a || r == a+1 {
				last = pc
			}
		case lua.OP_JMP:
			if dest := pc + 1 + argSBx(inst); pc < dest && dest <= lastpc {
				pc = dest - 1
			}
		case lua.OP_CLOSURE:
			if r == a {
				last = pc
			}
			// the upvalue pseudo-instructions that follow are not code
			if bx := argBx(inst); bx < len(p.FunctionPrototypes) {
				pc += int(p.FunctionPrototypes[bx].NumUpvalues)
			}
		case lua.OP_MOVE, lua.OP_MOVEN, lua.OP_LOADK, lua.OP_LOADBOOL, lua.OP_GETUPVAL,
			lua.OP_GETGLOBAL, lua.OP_GETTABLE, lua.OP_GETTABLEKS, lua.OP_NEWTABLE,
			lua.OP_ADD, lua.OP_SUB, lua.OP_MUL, lua.OP_DIV, lua.OP_MOD, lua.OP_POW,
			lua.OP_UNM, lua.OP_NOT, lua.OP_LEN, lua.OP_CONCAT, lua.OP_TESTSET,
			lua.OP_FORLOOP, lua.OP_FORPREP:
			if r == a {
				last = pc
			}
		}
	}
	return last
}

// localName is the name of the local variable in register r at
// instruction pc, as Lua's luaF_getlocalname: the r-th variable active
// there (gopher-lua's LocalName skips one that becomes active at pc).
func localName(p *lua.FunctionProto, r, pc int) string {
	for _, l := range p.DbgLocals {
		if l.StartPc > pc {
			break
		}
		if pc < l.EndPc {
			if r == 0 {
				return l.Name
			}
			r--
		}
	}
	return ""
}

// operandName describes argument i (from 1) of the Go function running
// at level 0 of L as its caller's code named it (Lua's getobjname on the
// call's argument registers), or "".
func operandName(L *lua.LState, i int) string {
	dbg, ok := L.GetStack(1)
	if !ok {
		return ""
	}
	fn, pc, ok := framePC(dbg)
	if !ok {
		return ""
	}
	if inst := fn.Proto.Code[pc]; opOf(inst) == lua.OP_CALL || opOf(inst) == lua.OP_TAILCALL {
		return objectName(fn, pc, argA(inst)+i)
	}
	return ""
}

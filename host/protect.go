package host

import (
	"reflect"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Errors as LuaJIT reports them. gopher-lua raises every Lua error
// through the Panic function of the thread that raised it, while the
// failing frame is still on the stack. The host sets its own Panic on
// three kinds of thread:
//
//   - the main thread while Call runs a chunk (mainPanic): the error is
//     named and its traceback taken, as luajit(1)'s message handler does;
//   - the helper coroutines of the prelude's pcall/xpcall (helperPanic):
//     the error is named and an xpcall message handler runs right there,
//     so debug.traceback shows the failing function;
//   - coroutines made by coroutine.create/wrap (threadPanic): named.
//
// The helpers stay out of sight: a traceback, error's level,
// debug.getinfo's levels and coroutine.running see through them, with a
// "[C]: in function 'pcall'" frame where LuaJIT shows pcall's C frame.

// preludeName is the chunk name of the pcall/xpcall prelude.
const preludeName = "prelude"

// threadChunkName is the chunk name of the coroutine.create trampoline.
const threadChunkName = "[coroutine]"

var (
	helperPanicPC = reflect.ValueOf(helperPanic).Pointer()
	threadPanicPC = reflect.ValueOf(threadPanic).Pointer()
)

// isHelper reports whether th is one of the prelude's pcall helpers: its
// outermost function comes from the prelude. The Panic function an armed
// thread carries answers first (a Go PCall replaces it for a while).
func isHelper(th *lua.LState) bool {
	if th == th.G.MainThread {
		return false
	}
	if th.Panic != nil {
		switch reflect.ValueOf(th.Panic).Pointer() {
		case helperPanicPC:
			return true
		case threadPanicPC:
			return false
		}
	}
	dbg, ok := th.GetStack(0)
	if !ok {
		return false
	}
	for {
		up, ok := callerOf(dbg)
		if !ok {
			break
		}
		dbg = up
	}
	fv, err := th.GetInfo("f", dbg, lua.LNil)
	fn, _ := fv.(*lua.LFunction)
	return err == nil && fn != nil && !fn.IsG && fn.Proto.SourceName == preludeName
}

// machinery reports whether fn belongs to the host's pcall/coroutine
// plumbing, which tracebacks do not show.
func machinery(fn *lua.LFunction) bool {
	return !fn.IsG && fn.Proto != nil && (fn.Proto.SourceName == preludeName || fn.Proto.SourceName == threadChunkName)
}

// raised is the error value L's Panic was called with, named.
func raised(L *lua.LState) lua.LValue {
	v := L.Get(-1)
	if s, ok := v.(lua.LString); ok {
		// gopher-lua gives a Go function's error the position of the
		// nearest Lua caller; the prelude's frames are C frames in LuaJIT
		for _, chunk := range []string{preludeName + ":", threadChunkName + ":"} {
			if strings.HasPrefix(string(s), chunk) {
				if _, rest, ok := strings.Cut(string(s)[len(chunk):], ": "); ok {
					s = lua.LString(rest)
					v = s
				}
			}
		}
		safely(func() {
			if named := nameError(L, 0, string(s)); named != string(s) {
				v = lua.LString(named)
			}
		})
	}
	return v
}

// safely runs f, which only improves a report: a Go panic in it (a
// gopher-lua internal it did not expect) leaves the report as it was.
func safely(f func()) {
	defer func() {
		if r := recover(); r != nil {
			if ae, ok := r.(*lua.ApiError); ok {
				panic(ae)
			}
		}
	}()
	f()
}

// helperPanic is the Panic function of a pcall helper coroutine.
func helperPanic(L *lua.LState) {
	v := raised(L)
	if h := handlerOf(L); h != lua.LNil {
		if t, ok := L.G.Registry.RawGetString(handledKey).(*lua.LTable); ok {
			t.RawSet(L, lua.LTrue)
		}
		L.Push(h)
		L.Push(v)
		if err := L.PCall(1, 1, nil); err != nil {
			v = lua.LString("error in error handling")
		} else {
			v = L.Get(-1)
			L.Pop(1)
		}
	}
	panic(&lua.ApiError{Type: lua.ApiErrorRun, Object: v})
}

// handledKey names the registry table of helpers whose xpcall handler
// helperPanic ran (the prelude's `handled`).
const handledKey = "ljdns.handled"

// handlerOf returns the message handler of the xpcall that resumed helper
// L (nil for pcall): the local "handler" of the prelude frame that called
// coroutine.resume.
func handlerOf(L *lua.LState) lua.LValue {
	parent := L.Parent
	if parent == nil {
		return lua.LNil
	}
	for dbg, ok := parent.GetStack(0); ok; dbg, ok = callerOf(dbg) {
		fv, err := parent.GetInfo("f", dbg, lua.LNil)
		fn, _ := fv.(*lua.LFunction)
		if err != nil || fn == nil {
			return lua.LNil
		}
		if fn.IsG {
			continue
		}
		if fn.Proto.SourceName != preludeName {
			return lua.LNil
		}
		for n := 1; ; n++ {
			name, v := parent.GetLocal(dbg, n)
			if name == "" {
				return lua.LNil
			}
			if name == "handler" {
				return v
			}
		}
	}
	return lua.LNil
}

// threadPanic is the Panic function of coroutines the script creates.
func threadPanic(L *lua.LState) {
	panic(&lua.ApiError{Type: lua.ApiErrorRun, Object: raised(L)})
}

// mainPanic is the Panic function of the main thread while Call runs.
func mainPanic(L *lua.LState) {
	v := raised(L)
	ae := &lua.ApiError{Type: lua.ApiErrorRun, Object: v}
	text, trace := reportText(L, v)
	if trace {
		safely(func() { ae.StackTrace = traceback(L, 0) })
	}
	if _, isString := v.(lua.LString); !isString {
		ae.Cause = reportError{text, trace}
	}
	panic(ae)
}

// reportError carries what luajit(1) prints for a non-string error value
// (see FormatError): its text, and whether a traceback follows.
type reportError struct {
	text  string
	trace bool
}

func (e reportError) Error() string { return e.text }

// reportText is what luajit(1) prints for an uncaught error value: a
// string or number; the __tostring of an object that has one; otherwise
// "(error object is not a string)" without a traceback.
func reportText(L *lua.LState, v lua.LValue) (string, bool) {
	switch x := v.(type) {
	case lua.LString:
		return string(x), true
	case lua.LNumber:
		return NumberString(float64(x)), true
	case *lua.LNilType:
		return "nil", false
	}
	if mm := L.GetMetaField(v, "__tostring"); mm != lua.LNil {
		L.Push(mm)
		L.Push(v)
		if L.PCall(1, 1, nil) == nil {
			r := L.Get(-1)
			L.Pop(1)
			if s, ok := r.(lua.LString); ok {
				return string(s), true
			}
		}
	}
	return "(error object is not a " + "string)", false
}

// armMain is the first function Call runs: the main thread's errors go
// through mainPanic until the protected call returns (PCall restores the
// Panic function it found).
func armMain(L *lua.LState) int {
	L.Panic = mainPanic
	L.Call(L.GetTop()-1, lua.MultRet)
	return L.GetTop()
}

// arm functions the prelude and the coroutine trampoline call from the
// thread they run on.
func armHelper(L *lua.LState) int { L.Panic = helperPanic; return 0 }
func armThread(L *lua.LState) int { L.Panic = threadPanic; return 0 }

// overflowMessage turns gopher-lua's Go panic for a full call stack into
// Lua's "stack overflow" error at position where ("file:line:").
func overflowMessage(where string) lua.LString {
	if where == "" {
		return "stack overflow"
	}
	return lua.LString(where + " stack overflow")
}

// logicalThread is the coroutine L stands for: L itself, or for a pcall
// helper the coroutine that called pcall.
func logicalThread(L *lua.LState) *lua.LState {
	th := L
	for isHelper(th) && th.Parent != nil {
		th = th.Parent
	}
	return th
}

// coRunning is coroutine.running: nil in the main thread (LuaJIT), and
// never a pcall helper.
func coRunning(L *lua.LState) int {
	th := logicalThread(L)
	if th == L.G.MainThread {
		L.Push(lua.LNil)
	} else {
		L.Push(th)
	}
	return 1
}

// coStatus is coroutine.status, with the pcall helpers seen through.
func coStatus(L *lua.LState) int {
	co := L.CheckThread(1)
	status := "suspended"
	switch cur := logicalThread(L); {
	case co.Dead:
		status = "dead"
	case co == cur:
		status = "running"
	default:
		for p := cur.Parent; p != nil; p = logicalThread(p).Parent {
			if logicalThread(p) == co {
				status = "normal"
				break
			}
		}
	}
	L.Push(lua.LString(status))
	return 1
}

// vframe is one level of the stack as LuaJIT would show it.
type vframe struct {
	th  *lua.LState
	dbg *lua.Debug // nil: the C frame of pcall/xpcall, named name
	fn  *lua.LFunction
	// name is the function's name at its call site ("" when unknown)
	name string
}

// virtualStack lists up to limit levels of th's stack from the innermost,
// continuing from a pcall helper into the coroutine that called pcall.
// The host's plumbing is left out, and each pcall helper crossed becomes
// one C frame, as pcall's own frame in LuaJIT.
func virtualStack(th *lua.LState, limit int) []vframe {
	var out []vframe
	pcalls := 0 // helpers crossed since the last frame shown
	for entered := false; th != nil && len(out) < limit; entered = true {
		skipGo := entered // the parent's innermost frames: the resume call
		for dbg, ok := th.GetStack(0); ok && len(out) < limit; dbg, ok = callerOf(dbg) {
			fv, err := th.GetInfo("f", dbg, lua.LNil)
			fn, _ := fv.(*lua.LFunction)
			if err != nil || fn == nil {
				break
			}
			if fn.IsG && skipGo || machinery(fn) {
				continue
			}
			skipGo = false
			if n := len(out); n > 0 && out[n-1].dbg != nil && out[n-1].fn.IsG && !fn.IsG && fn.Proto.LineDefined > 0 && tailCalling(dbg) {
				// gone in LuaJIT: it tail-called the Go function above (a
				// chunk is kept: the REPL runs a line as "return <line>")
				continue
			}
			for ; pcalls > 0 && len(out) < limit; pcalls-- {
				name := ""
				if pcalls == 1 {
					name = callName(dbg)
				}
				out = append(out, vframe{name: name})
			}
			if len(out) < limit {
				out = append(out, vframe{th: th, dbg: dbg, fn: fn})
			}
		}
		if !isHelper(th) {
			break
		}
		th = th.Parent
		pcalls++
	}
	for i := range out {
		if out[i].dbg != nil && i+1 < len(out) && out[i+1].dbg != nil && !out[i+1].fn.IsG {
			out[i].name = callName(out[i+1].dbg)
		}
	}
	return out
}

// tailCalling reports whether the Lua frame dbg is executing a tail call.
func tailCalling(dbg *lua.Debug) bool {
	fn, pc, ok := framePC(dbg)
	return ok && opOf(fn.Proto.Code[pc]) == lua.OP_TAILCALL
}

// callName is the name of the function the Lua frame dbg is calling, from
// the compiler's call-site records.
func callName(dbg *lua.Debug) string {
	fn, pc, ok := framePC(dbg)
	if !ok {
		return ""
	}
	for _, c := range fn.Proto.DbgCalls {
		if c.Pc == pc {
			if c.Name == "?" {
				return ""
			}
			return c.Name
		}
	}
	return ""
}

// frameLine is the traceback line of one level.
func frameLine(f vframe) string {
	if f.dbg == nil || f.fn.IsG {
		if f.name != "" {
			return "[C]: in function '" + f.name + "'"
		}
		return "[C]: ?"
	}
	p := f.fn.Proto
	where := p.SourceName + ":"
	if _, err := f.th.GetInfo("l", f.dbg, lua.LNil); err == nil && f.dbg.CurrentLine > 0 {
		where += itoa(f.dbg.CurrentLine) + ":"
	}
	switch {
	case p.LineDefined == 0:
		return where + " in main chunk"
	case f.name != "":
		return where + " in function '" + f.name + "'"
	}
	return where + " in function <" + p.SourceName + ":" + itoa(p.LineDefined) + ">"
}

func itoa(n int) string { return NumberString(float64(n)) }

// traceback is "stack traceback:" and th's levels from level on, the
// middle elided as LuaJIT does for deep stacks.
func traceback(th *lua.LState, level int) string {
	frames := virtualStack(th, 1<<20)
	if level < len(frames) {
		frames = frames[level:]
	} else {
		frames = nil
	}
	var sb strings.Builder
	sb.WriteString("stack traceback:")
	for i, f := range frames {
		if len(frames) > 22 && i >= 11 && i < len(frames)-10 {
			if i == 11 {
				sb.WriteString("\n\t...")
			}
			continue
		}
		sb.WriteString("\n\t")
		sb.WriteString(frameLine(f))
	}
	return sb.String()
}

// debugTraceback is debug.traceback([thread,] [msg [, level]]): a message
// that is neither a string nor a number is returned as it is.
func debugTraceback(L *lua.LState) int {
	th, arg := L, 1
	if t, ok := L.Get(1).(*lua.LState); ok {
		th, arg = t, 2
	}
	msg := ""
	switch v := L.Get(arg).(type) {
	case lua.LString:
		msg = string(v) + "\n"
	case lua.LNumber:
		msg = NumberString(float64(v)) + "\n"
	case *lua.LNilType:
		if L.GetTop() >= arg {
			L.Push(lua.LNil)
			return 1
		}
	default:
		L.Push(v)
		return 1
	}
	level := 0
	if th == L {
		level = 1
	}
	level = L.OptInt(arg+1, level)
	L.Push(lua.LString(msg + traceback(th, level)))
	return 1
}

// where is luaL_where: "file:line: " of the function at level, or ""
// for a Go function (and for pcall's plumbing, a C function in LuaJIT).
func where(L *lua.LState, level int) string {
	frames := virtualStack(L, level+1)
	if level >= len(frames) {
		return ""
	}
	f := frames[level]
	if f.dbg == nil || f.fn.IsG {
		return ""
	}
	if _, err := f.th.GetInfo("l", f.dbg, lua.LNil); err != nil || f.dbg.CurrentLine <= 0 {
		return ""
	}
	return f.fn.Proto.SourceName + ":" + itoa(f.dbg.CurrentLine) + ": "
}

// baseError is error(v [, level]): a string or number gets the position
// of the function at level (1, the caller of error, by default).
func baseError(L *lua.LState) int {
	v := L.Get(1)
	level := L.OptInt(2, 1)
	if level > 0 {
		switch x := v.(type) {
		case lua.LString:
			v = lua.LString(where(L, level) + string(x))
		case lua.LNumber:
			v = lua.LString(where(L, level) + NumberString(float64(x)))
		}
	}
	L.Error(v, 0)
	return 0
}

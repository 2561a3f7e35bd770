package host

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// LoadString compiles Lua source through the one ljdns chunk loader:
// LuaJIT escapes are rewritten, `==`/`~=` get cross-type __eq semantics,
// and a leading UTF-8 byte order mark and #! line are skipped. name is the chunk name used in errors.
//
// A chunk that does not compile gives a *SyntaxError worded as LuaJIT
// words it ("name:line: message near 'token'").
func LoadString(L *lua.LState, src, name string) (*lua.LFunction, error) {
	orig := strings.TrimPrefix(src, "\xef\xbb\xbf") // a UTF-8 BOM, skipped by LuaJIT's lexer
	src = orig
	if strings.HasPrefix(src, "#") {
		if i := strings.IndexByte(src, '\n'); i >= 0 {
			src = "--" + src[i:]
		} else {
			src = ""
		}
	}
	src, valid := rewriteEscapesChecked(src)
	if !valid {
		if se := checkSyntax(orig, name); se != nil {
			return nil, se
		}
	}
	chunk, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil, syntaxError(orig, name, err)
	}
	chunk, _ = rewriteEquality(chunk)
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		return nil, syntaxError(orig, name, err)
	}
	return L.NewFunctionFromProto(proto), nil
}

// syntaxError words a parse or compile error of gopher-lua as LuaJIT:
// the host's checker finds LuaJIT's message; if it finds none (gopher-lua
// refused something LuaJIT takes), gopher-lua's message is put in
// LuaJIT's form.
func syntaxError(src, name string, err error) error {
	if se := checkSyntax(src, name); se != nil {
		return se
	}
	lastLine := 1 + strings.Count(src, "\n")
	switch e := err.(type) {
	case *parse.Error:
		if e.Pos.Line == parse.EOF {
			return &SyntaxError{Chunk: name, Line: lastLine, Msg: e.Message + " near '<eof>'", AtEOF: true}
		}
		return &SyntaxError{Chunk: name, Line: e.Pos.Line, Msg: e.Message + " near '" + e.Token + "'"}
	case *lua.CompileError:
		return &SyntaxError{Chunk: name, Line: e.Line, Msg: e.Message}
	}
	return err
}

// chunkID is the name a chunk shows in messages for the chunkname given
// to load or loadstring, as LuaJIT shortens it (LUA_IDSIZE 60): "=name"
// and "@file" lose their mark, other text becomes [string "first line"].
func chunkID(chunkname string) string {
	const idsize = 60
	switch {
	case strings.HasPrefix(chunkname, "="):
		s := chunkname[1:]
		if len(s) > idsize-1 {
			s = s[:idsize-1]
		}
		return s
	case strings.HasPrefix(chunkname, "@"):
		s := chunkname[1:]
		if len(s) > idsize-1 {
			s = "..." + s[len(s)-(idsize-4):]
		}
		return s
	}
	line, _, multi := strings.Cut(chunkname, "\n")
	if multi || len(line) > idsize-15 {
		if len(line) > idsize-15 {
			line = line[:idsize-15]
		}
		return `[string "` + line + `..."]`
	}
	return `[string "` + line + `"]`
}

// loadChunk compiles src under a Lua chunkname (load, loadstring).
func loadChunk(L *lua.LState, src, chunkname string) (*lua.LFunction, error) {
	name := chunkID(chunkname)
	setChunkSource(L, name, chunkname)
	return LoadString(L, src, name)
}

// LoadFile loads a Lua file ("-" or "" reads standard input).
func LoadFile(L *lua.LState, path string) (*lua.LFunction, error) {
	var data []byte
	var err error
	name := path
	if path == "" || path == "-" {
		data, err = io.ReadAll(bufio.NewReader(os.Stdin))
		name = "stdin"
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %v", path, unwrapPathErr(err))
	}
	if name == "stdin" {
		setChunkSource(L, name, "=stdin")
	} else {
		markFileChunk(L, name)
	}
	return LoadString(L, string(data), name)
}

// chunkSourcesKey names the registry table mapping the chunk names that
// messages show to the source names debug.getinfo reports ("@file").
const chunkSourcesKey = "ljdns.chunksources"

// setChunkSource records the Lua source name of the chunk shown as name.
func setChunkSource(L *lua.LState, name, source string) {
	if name == source {
		return
	}
	reg := L.G.Registry
	set, ok := reg.RawGetString(chunkSourcesKey).(*lua.LTable)
	if !ok {
		set = L.NewTable()
		reg.RawSetString(chunkSourcesKey, set)
	}
	set.RawSetString(name, lua.LString(source))
}

// markFileChunk records that the chunk name is a file's path, so that
// debug.getinfo reports its source as "@path", as Lua does.
func markFileChunk(L *lua.LState, name string) { setChunkSource(L, name, "@"+name) }

// chunkSource is the Lua source name of a chunk shown as name: "@name"
// for a file, the chunkname given to load, or name itself.
func chunkSource(L *lua.LState, name string) string {
	if set, ok := L.G.Registry.RawGetString(chunkSourcesKey).(*lua.LTable); ok {
		if s, ok := set.RawGetString(name).(lua.LString); ok {
			return string(s)
		}
	}
	return name
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// installLoader replaces every way of compiling code with the host loader;
// require finds modules on package.path, then in scripts (may be nil).
func installLoader(L *lua.LState, scripts fs.FS) {
	L.SetGlobal(eqHelperGlobal, L.NewFunction(hostEq))
	L.SetGlobal(catHelperGlobal, L.NewFunction(hostConcat))
	L.SetGlobal("loadstring", L.NewFunction(baseLoadString))
	L.SetGlobal("load", L.NewFunction(baseLoad))
	L.SetGlobal("loadfile", L.NewFunction(baseLoadFile))
	L.SetGlobal("dofile", L.NewFunction(baseDoFile))
	pkg := L.GetGlobal("package").(*lua.LTable)
	loaders := L.GetField(pkg, "loaders").(*lua.LTable)
	loaders.RawSetInt(2, L.NewFunction(func(L *lua.LState) int { return searchLua(L, scripts) }))
}

// hostEq is `a == b` with LuaJIT semantics: when exactly one operand is a
// userdata with __eq and the other a string, __eq(a, b) decides.
func hostEq(L *lua.LState) int {
	a, b := L.Get(1), L.Get(2)
	at, bt := a.Type(), b.Type()
	if at == bt {
		if at == lua.LTString || at == lua.LTNumber {
			L.Push(lua.LBool(a == b))
			return 1
		}
		L.Push(lua.LBool(L.Equal(a, b)))
		return 1
	}
	var mt lua.LValue = lua.LNil
	if at == lua.LTUserData && bt == lua.LTString {
		mt = L.GetMetaField(a, "__eq")
	} else if bt == lua.LTUserData && at == lua.LTString {
		mt = L.GetMetaField(b, "__eq")
	}
	if fn, ok := mt.(*lua.LFunction); ok {
		L.Push(fn)
		L.Push(a)
		L.Push(b)
		L.Call(2, 1)
		L.Push(lua.LBool(lua.LVAsBool(L.Get(-1))))
		return 1
	}
	L.Push(lua.LFalse)
	return 1
}

// hostConcat is `a .. b .. c` (the chunk loader's rewrite of a chain whose
// operands may be numbers): numbers are written as tostring writes them,
// __concat applies from the right as in the VM, and an operand that
// cannot be concatenated is named in the error as Lua names it.
func hostConcat(L *lua.LState) int {
	n := L.GetTop()
	size := 0
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			size += len(v)
		case lua.LNumber:
			size += 8
		default:
			return concatMeta(L, n)
		}
	}
	var sb strings.Builder
	sb.Grow(size)
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			sb.WriteString(string(v))
		case lua.LNumber:
			sb.WriteString(NumberString(float64(v)))
		}
	}
	L.Push(lua.LString(sb.String()))
	return 1
}

func concatable(v lua.LValue) bool {
	switch v.(type) {
	case lua.LString, lua.LNumber:
		return true
	}
	return false
}

// concatMeta concatenates the n arguments right to left, two at a time,
// calling __concat where an operand is neither a string nor a number.
func concatMeta(L *lua.LState, n int) int {
	acc, accArg := L.Get(n), n // accArg: the argument acc still is, or 0
	for i := n - 1; i >= 1; i-- {
		v := L.Get(i)
		if concatable(v) && concatable(acc) {
			acc = lua.LString(ToString(L, v) + ToString(L, acc))
			accArg = 0
			continue
		}
		mm := L.GetMetaField(v, "__concat")
		if mm == lua.LNil {
			mm = L.GetMetaField(acc, "__concat")
		}
		if mm == lua.LNil {
			// Lua blames the left operand unless it is a string or number
			bad, arg := v, i
			if concatable(v) {
				bad, arg = acc, accArg
			}
			msg := "attempt to concatenate a " + bad.Type().String() + " value"
			if desc := operandName(L, arg); arg > 0 && desc != "" {
				msg = "attempt to concatenate " + desc + " (a " + bad.Type().String() + " value)"
			}
			L.RaiseError("%s", msg)
		}
		L.Push(mm)
		L.Push(v)
		L.Push(acc)
		L.Call(2, 1)
		acc, accArg = L.Get(-1), 0
		L.Pop(1)
	}
	L.Push(acc)
	return 1
}

func pushLoadResult(L *lua.LState, fn *lua.LFunction, err error) int {
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(fn)
	return 1
}

func baseLoadString(L *lua.LState) int {
	src := L.CheckString(1)
	fn, err := loadChunk(L, src, L.OptString(2, src))
	return pushLoadResult(L, fn, err)
}

func baseLoad(L *lua.LState) int {
	if s, ok := L.Get(1).(lua.LString); ok {
		fn, err := loadChunk(L, string(s), L.OptString(2, string(s)))
		return pushLoadResult(L, fn, err)
	}
	f := L.CheckFunction(1)
	var buf bytes.Buffer
	for {
		L.Push(f)
		L.Call(0, 1)
		piece := L.Get(-1)
		L.Pop(1)
		s, ok := piece.(lua.LString)
		if !ok || s == "" {
			break
		}
		buf.WriteString(string(s))
	}
	fn, err := loadChunk(L, buf.String(), L.OptString(2, "=(load)"))
	return pushLoadResult(L, fn, err)
}

func baseLoadFile(L *lua.LState) int {
	fn, err := LoadFile(L, L.OptString(1, "-"))
	return pushLoadResult(L, fn, err)
}

func baseDoFile(L *lua.LState) int {
	fn, err := LoadFile(L, L.OptString(1, "-"))
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	top := L.GetTop()
	L.Push(fn)
	L.Call(0, lua.MultRet)
	return L.GetTop() - top
}

// searchLua is package.loaders[2]: package.path on disk, then the
// embedded scripts (name.lua or name/init.lua, dots as slashes).
func searchLua(L *lua.LState, scripts fs.FS) int {
	name := L.CheckString(1)
	path := L.GetField(L.GetGlobal("package"), "path").String()
	file := strings.ReplaceAll(name, ".", "/")
	var tried []string
	for _, pat := range strings.Split(path, ";") {
		if pat == "" {
			continue
		}
		cand := strings.ReplaceAll(pat, "?", file)
		if st, err := os.Stat(cand); err == nil && !st.IsDir() {
			fn, err := LoadFile(L, cand)
			if err != nil {
				L.RaiseError("error loading module '%s' from file '%s':\n\t%v", name, cand, err)
			}
			L.Push(fn)
			return 1
		}
		tried = append(tried, "\n\tno file '"+cand+"'")
	}
	if scripts != nil {
		for _, cand := range []string{file + ".lua", file + "/init.lua"} {
			if data, err := fs.ReadFile(scripts, cand); err == nil {
				markFileChunk(L, "scripts/"+cand)
				fn, err := LoadString(L, string(data), "scripts/"+cand)
				if err != nil {
					L.RaiseError("error loading embedded module '%s':\n\t%v", name, err)
				}
				L.Push(fn)
				return 1
			}
		}
	}
	L.Push(lua.LString(strings.Join(tried, "")))
	return 1
}

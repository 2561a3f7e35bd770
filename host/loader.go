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
func LoadString(L *lua.LState, src, name string) (*lua.LFunction, error) {
	src = strings.TrimPrefix(src, "\xef\xbb\xbf") // a UTF-8 BOM, skipped by LuaJIT's lexer
	if strings.HasPrefix(src, "#") {
		if i := strings.IndexByte(src, '\n'); i >= 0 {
			src = "--" + src[i:]
		} else {
			src = ""
		}
	}
	src = rewriteEscapes(src)
	chunk, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil, err
	}
	chunk, _ = rewriteEquality(chunk)
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		return nil, err
	}
	return L.NewFunctionFromProto(proto), nil
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
	if name != "stdin" {
		markFileChunk(L, name)
	}
	return LoadString(L, string(data), name)
}

// fileChunksKey names the registry table of chunk names that are files.
const fileChunksKey = "ljdns.filechunks"

// markFileChunk records that the chunk name is a file's path, so that
// debug.getinfo reports its source as "@path", as Lua does.
func markFileChunk(L *lua.LState, name string) {
	reg := L.G.Registry
	set, ok := reg.RawGetString(fileChunksKey).(*lua.LTable)
	if !ok {
		set = L.NewTable()
		reg.RawSetString(fileChunksKey, set)
	}
	set.RawSetString(name, lua.LTrue)
}

// chunkSource is the Lua source name of a chunk shown as name: "@name"
// for a file, name itself otherwise.
func chunkSource(L *lua.LState, name string) string {
	if set, ok := L.G.Registry.RawGetString(fileChunksKey).(*lua.LTable); ok && set.RawGetString(name) != lua.LNil {
		return "@" + name
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
	name := L.OptString(2, src)
	if len(name) > 60 || strings.ContainsAny(name, "\n") {
		name = "[string \"" + firstLine(name) + "...\"]"
	}
	fn, err := LoadString(L, src, name)
	return pushLoadResult(L, fn, err)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

func baseLoad(L *lua.LState) int {
	if s, ok := L.Get(1).(lua.LString); ok {
		fn, err := LoadString(L, string(s), L.OptString(2, "=(load)"))
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
	fn, err := LoadString(L, buf.String(), L.OptString(2, "=(load)"))
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

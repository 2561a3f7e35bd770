package host

import (
	"os"

	lua "github.com/yuin/gopher-lua"
)

// FlushStdout flushes Lua's io.stdout and io.stderr buffers.
func FlushStdout(L *lua.LState) {
	io := L.GetGlobal("io")
	for _, name := range []string{"stdout", "stderr"} {
		f := L.GetField(io, name)
		if fl := L.GetField(f, "flush"); fl != lua.LNil {
			L.Push(fl)
			L.Push(f)
			_ = L.PCall(1, 0, nil)
		}
	}
}

// osExit is os.exit that flushes Lua's buffered output first.
func osExit(L *lua.LState) int {
	code := 0
	switch v := L.Get(1).(type) {
	case lua.LBool:
		if !v {
			code = 1
		}
	case lua.LNumber:
		code = int(v)
	}
	FlushStdout(L)
	os.Exit(code)
	return 0
}

package main

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// scriptIndex returns the index in args (the command line after the
// program name) of the script to run, a file name or "-", or len(args)
// when there is none. Options are skipped as luajit skips them: -e, -l and
// -j take a value, attached or as the next argument; "--" ends them.
func scriptIndex(args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return i + 1
		case a == "-" || !strings.HasPrefix(a, "-"):
			return i
		case a == "-e" || a == "-l" || a == "-j":
			i++
		}
	}
	return len(args)
}

// setArgTable sets the global arg as luajit does before it runs anything
// (its createargtable): argv[i] at index i - script, so the script is
// arg[0], its arguments arg[1..], the program and the options before it
// negative; with no script (-e, the REPL) every entry is negative and arg
// is still a table.
func setArgTable(L *lua.LState, argv []string, script int) {
	t := L.CreateTable(max(len(argv)-script-1, 0), script)
	for i, a := range argv {
		t.RawSetInt(i-script, lua.LString(a))
	}
	L.SetGlobal("arg", t)
}

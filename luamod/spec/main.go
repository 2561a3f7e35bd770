package spec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	lua "github.com/yuin/gopher-lua"
)

// Main runs `ljdns test ARGS...` (also `ljdns busted ARGS...`) with a state
// made by newState and returns the exit status: 0 when every test passed,
// the number of failures and errors (at most 255) otherwise, 1 for a bad
// command line or configuration (one line on stderr).
func Main(args []string, newState func() *lua.LState) int {
	L := newState()
	defer L.Close()
	opts, err := Configure(L, args)
	if errors.Is(err, ErrHelp) {
		fmt.Print(Usage)
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ljdns test: "+err.Error())
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts.Context = ctx
	rep, err := Run(L, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ljdns test: "+err.Error())
		if rep == nil {
			return 1
		}
	}
	if rep.Interrupted {
		return 130
	}
	if st := rep.ExitStatus(); st != 0 {
		return st
	}
	if err != nil {
		return 1
	}
	return 0
}

// standalone implements busted.runner() called from a script that is not
// running under `ljdns test`: run the script's own file (arg[0]) as a spec
// with the options in arg[1..], then end the program through os.exit with
// the run's status, so the rest of the calling chunk does not run again.
func standalone(L *lua.LState) int {
	var args []string
	script := ""
	if argt, ok := L.GetGlobal("arg").(*lua.LTable); ok {
		if s, ok := argt.RawGet(lua.LNumber(0)).(lua.LString); ok {
			script = string(s)
		}
		for i := 1; ; i++ {
			v := argt.RawGetInt(i)
			if v == lua.LNil {
				break
			}
			args = append(args, lua.LVAsString(v))
		}
	}
	status := 0
	opts, err := Configure(L, args)
	switch {
	case errors.Is(err, ErrHelp):
		fmt.Print(Usage)
	case err != nil:
		fmt.Fprintln(os.Stderr, "busted.runner: "+err.Error())
		status = 1
	default:
		// the calling file is the suite unless roots were given
		_, roots, _ := parseArgs(args)
		if len(roots) == 0 {
			if script == "" || script == "-" {
				L.RaiseError("busted.runner: cannot tell which file to run (no arg[0])")
			}
			opts.Roots = []string{script}
		}
		rep, err := Run(L, opts)
		if err != nil {
			fmt.Fprintln(os.Stderr, "busted.runner: "+err.Error())
			status = 1
		}
		if rep != nil && rep.ExitStatus() != 0 {
			status = rep.ExitStatus()
		}
	}
	flushLua(L)
	exit := L.GetField(L.GetGlobal("os"), "exit")
	L.Push(exit)
	L.Push(lua.LNumber(status))
	L.Call(1, 0)
	return 0
}

// Command ljdns runs Lua DNS programs: scripts, a REPL, the embedded tools
// (ldig, zq, namepile) and busted-compatible spec suites (`ljdns test`).
package main

import (
	"fmt"
	"io/fs"
	"os"
	"runtime/pprof"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/host"
	"ljdns/luamod/spec"
	"ljdns/scripts"
)

// version is the ljdns release string printed by `ljdns version`.
const version = "ljdns 0.1.0 (Lua 5.1 / gopher-lua, LuaJIT-compatible)"

const usage = `usage: ljdns [options] [script [args...]]
       ljdns test [busted options] [PATH...]
       ljdns ldig|zq|namepile [args...]
       ljdns serve [-a ADDR[@PORT]]... [-t ADDR[@PORT]]... [-c CONFIG] [-f N] [-n] [-v] [RUNDIR]
       ljdns zone push|get|edit|list|delete ... (zones in etcd; ljdns zone -h)
       ljdns replay [-v] FILE.rpl...
       ljdns host [-vdh46D] [-c class] [-t type] [-C confstr] [-f keyfile] hostname
       ljdns query [-t TYPE] [-c CLASS] [-C CONFIG] NAME SCRIPT
       ljdns version

Options:
  -e CODE   execute the string CODE
  -l MOD    require module MOD (also -lMOD)
  -v        print the version, then go on
  -j CMD, -O[opt]  LuaJIT's JIT options: accepted and ignored
  -i        enter the interactive REPL after running the script
  -         run the script read from standard input
  -h, --help  show this help
With no script and a terminal on standard input, ljdns starts a REPL.
`

func main() {
	stop := startProfile(os.Getenv("LJDNS_CPUPROFILE"))
	code := run(os.Args[1:])
	stop()
	os.Exit(code)
}

// startProfile writes a CPU profile of the whole run to path (the
// LJDNS_CPUPROFILE environment variable; "" profiles nothing), for
// `go tool pprof ljdns PATH`. The returned function ends it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ljdns: LJDNS_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "ljdns: LJDNS_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version":
			fmt.Println(version)
			return 0
		case "-h", "--help", "help":
			fmt.Print(usage)
			return 0
		case "test", "busted":
			return spec.Main(args[1:], newState)
		case "serve":
			return runServe(args[1:])
		case "replay":
			return runReplay(args[1:])
		case "host":
			return runHost(args[1:])
		case "query":
			return runQuery(args[1:])
		case "zone":
			return runZone(args[1:], os.Stdin, os.Stdout, os.Stderr)
		}
		if isTool(args[0]) {
			return runScript(newState(), "scripts/"+args[0]+".lua", args[1:], true)
		}
	}
	L := newState()
	defer L.Close()
	setArgTable(L, append([]string{os.Args[0]}, args...), 1+scriptIndex(args))
	interactive := false
	ran := false
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "-e" || a == "-l" || a == "-j":
			if len(args) < 2 {
				fmt.Fprintf(os.Stderr, "ljdns: '%s' needs an argument\n", a)
				return 1
			}
			if !option(L, a[1], args[1]) {
				return 1
			}
			ran = ran || a == "-e"
			args = args[2:]
		case len(a) > 2 && (a[:2] == "-e" || a[:2] == "-l" || a[:2] == "-j"):
			// the value attached, as in lua(1) and luajit: -lmod, -joff
			if !option(L, a[1], a[2:]) {
				return 1
			}
			ran = ran || a[1] == 'e'
			args = args[1:]
		case a == "-v":
			// luajit prints its version and goes on with the other options
			fmt.Println(version)
			ran = true
			args = args[1:]
		case strings.HasPrefix(a, "-O"):
			// luajit's optimisation flags: accepted, nothing to tune here
			args = args[1:]
		case a == "-i":
			interactive = true
			args = args[1:]
		case a == "--":
			args = args[1:]
			if len(args) == 0 {
				goto done
			}
			return finish(L, runScript(L, args[0], args[1:], false), interactive)
		case a == "-":
			return finish(L, runScript(L, "-", args[1:], false), interactive)
		case strings.HasPrefix(a, "-") && a != "-":
			fmt.Fprintf(os.Stderr, "ljdns: unrecognized option '%s'\n%s", a, usage)
			return 1
		default:
			return finish(L, runScript(L, a, args[1:], false), interactive)
		}
	}
done:
	if interactive || !ran {
		if interactive || isTerminal(os.Stdin) {
			return repl(L)
		}
		return runScript(L, "-", nil, false)
	}
	return 0
}

// option runs -e CODE or -l MOD (-j CMD, a luajit JIT command, is
// accepted and ignored). It reports false after printing an error.
func option(L *lua.LState, opt byte, val string) bool {
	var err error
	switch opt {
	case 'e':
		err = doString(L, val, "(command line)")
	case 'l':
		err = doString(L, "require(...)", "(command line)", lua.LString(val))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ljdns: "+host.FormatError(err))
		return false
	}
	return true
}

func finish(L *lua.LState, status int, interactive bool) int {
	if status == 0 && interactive {
		return repl(L)
	}
	return status
}

// newState makes the Lua state for a run (a variable so tests can extend it).
var newState = func() *lua.LState {
	return host.New(host.Options{Scripts: scripts.FS})
}

func isTool(name string) bool {
	if name == "" || strings.ContainsAny(name, "./") {
		return false
	}
	_, err := fs.Stat(scripts.FS, name+".lua")
	return err == nil
}

func doString(L *lua.LState, src, name string, args ...lua.LValue) error {
	fn, err := host.LoadString(L, src, name)
	if err != nil {
		return err
	}
	return host.Call(L, fn, args...)
}

// runScript runs a script file (or an embedded tool) with args as its
// ... and returns the exit status. A script's arg table is set beforehand
// (setArgTable); an embedded tool gets arg[0] = its path, arg[1..] = args.
func runScript(L *lua.LState, path string, args []string, embedded bool) int {
	vals := make([]lua.LValue, len(args))
	for i, a := range args {
		vals[i] = lua.LString(a)
	}
	if embedded {
		setArgTable(L, append([]string{os.Args[0], path}, args...), 1)
	}
	var fn *lua.LFunction
	var err error
	if embedded {
		data, rerr := fs.ReadFile(scripts.FS, strings.TrimPrefix(path, "scripts/"))
		if rerr != nil {
			fmt.Fprintf(os.Stderr, "ljdns: cannot open %s\n", path)
			return 1
		}
		fn, err = host.LoadString(L, string(data), path)
	} else {
		fn, err = host.LoadFile(L, path)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ljdns: "+err.Error())
		return 1
	}
	if err := host.Call(L, fn, vals...); err != nil {
		host.FlushStdout(L)
		fmt.Fprintln(os.Stderr, "ljdns: "+host.FormatError(err))
		return 1
	}
	host.FlushStdout(L)
	return 0
}

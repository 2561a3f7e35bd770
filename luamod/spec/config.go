package spec

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// ErrHelp is returned by Configure for -h/--help.
var ErrHelp = errors.New("help requested")

// Usage is the `ljdns test` help text.
const Usage = `usage: ljdns test [options] [ROOT...]
       ljdns busted [options] [ROOT...]

Runs busted-style spec files: ROOT files as given, ROOT directories searched
recursively for *.lua files whose name matches the pattern (default: ROOT
from .busted, else "spec"; pattern "_spec"), in sorted order.

  -o, --output=NAME        plain (default), TAP, junit, json or gtest
      --output-file=FILE   write the junit or json document to FILE (and the
                           plain report to stdout); also -Xoutput FILE
      --timeout=SECONDS    fail a test, hook or describe body that runs longer
                           (default: no limit, as busted)
  -p, --pattern=PATTERN    Lua pattern for spec file names (repeatable)
      --exclude-pattern=P  skip spec files whose name matches P
      --filter=PATTERN     run only tests whose full name matches (repeatable)
      --filter-out=PATTERN skip tests whose full name matches
  -t, --tags=TAGS          run only tests tagged #TAG (comma separated)
      --exclude-tags=TAGS  skip tests tagged #TAG
  -m, --lpath=PATH         prepend PATH to package.path
      --helper=FILE        run FILE before the spec files
  -f, --config-file=FILE   read FILE instead of ./.busted
  -r, --run=TASK           use the TASK entry of .busted (default "default")
  -C, --directory=DIR      change to DIR first
  -l, --list               list the selected tests without running them
      --[no-]auto-insulate run each file insulated (default on, .busted may turn it off)
  -v, --verbose            print tracebacks of errors
  -c, --coverage, --no-coverage, --lua=PATH, --cpath=PATH, -R, --recursive,
      --shuffle, --sort, -s, --defer-print, --suppress-pending: accepted, ignored
  -h, --help               this text

The last line of the output is always "N passed, N failed, N errors, N pending";
the exit status is 0 when nothing failed or errored, otherwise their number
(at most 255).
`

type optKind int

const (
	optValue optKind = iota
	optBool
	optIgnoredValue
	optIgnoredBool
)

// flags maps every accepted option name to its canonical key and kind.
var flags = map[string]struct {
	key  string
	kind optKind
}{
	"o": {"output", optValue}, "output": {"output", optValue},
	"output-file": {"output-file", optValue}, "Xoutput": {"output-file", optValue},
	"p": {"pattern", optValue}, "pattern": {"pattern", optValue},
	"exclude-pattern": {"exclude-pattern", optValue},
	"filter":          {"filter", optValue}, "filter-out": {"filter-out", optValue},
	"t": {"tags", optValue}, "tags": {"tags", optValue},
	"exclude-tags": {"exclude-tags", optValue},
	"timeout":      {"timeout", optValue},
	"m":            {"lpath", optValue}, "lpath": {"lpath", optValue},
	"cpath": {"cpath", optValue}, "helper": {"helper", optValue},
	"f": {"config-file", optValue}, "config-file": {"config-file", optValue},
	"r": {"run", optValue}, "run": {"run", optValue},
	"C": {"directory", optValue}, "directory": {"directory", optValue},
	"l": {"list", optBool}, "list": {"list", optBool},
	"v": {"verbose", optBool}, "verbose": {"verbose", optBool}, "no-verbose": {"no-verbose", optBool},
	"auto-insulate": {"auto-insulate", optBool}, "no-auto-insulate": {"no-auto-insulate", optBool},
	"h": {"help", optBool}, "help": {"help", optBool},
	"lua": {"", optIgnoredValue}, "loaders": {"", optIgnoredValue}, "lang": {"", optIgnoredValue},
	"seed": {"", optIgnoredValue}, "repeat": {"", optIgnoredValue}, "e": {"", optIgnoredValue},
	"c": {"", optIgnoredBool}, "coverage": {"", optIgnoredBool}, "no-coverage": {"", optIgnoredBool},
	"R": {"", optIgnoredBool}, "recursive": {"", optIgnoredBool}, "no-recursive": {"", optIgnoredBool},
	"s": {"", optIgnoredBool}, "defer-print": {"", optIgnoredBool}, "sort": {"", optIgnoredBool},
	"shuffle": {"", optIgnoredBool}, "sort-files": {"", optIgnoredBool}, "shuffle-files": {"", optIgnoredBool},
	"sort-tests": {"", optIgnoredBool}, "shuffle-tests": {"", optIgnoredBool},
	"suppress-pending": {"", optIgnoredBool}, "keep-going": {"", optIgnoredBool},
	"no-keep-going": {"", optIgnoredBool}, "lazy": {"", optIgnoredBool}, "no-lazy": {"", optIgnoredBool},
	"ignore-lua": {"", optIgnoredBool}, "enable-sound": {"", optIgnoredBool}, "no-enable-sound": {"", optIgnoredBool},
}

// cliArg is one parsed option occurrence.
type cliArg struct{ key, value string }

// parseArgs splits a busted command line into options and roots.
func parseArgs(args []string) (opts []cliArg, roots []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			roots = append(roots, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			roots = append(roots, a)
			continue
		}
		var name, value string
		hasValue := false
		switch {
		case strings.HasPrefix(a, "--"):
			name = a[2:]
			if k, v, ok := strings.Cut(name, "="); ok {
				name, value, hasValue = k, v, true
			}
		case strings.HasPrefix(a, "-Xoutput"):
			name = "Xoutput"
			if len(a) > len("-Xoutput") {
				value, hasValue = strings.TrimPrefix(a[len("-Xoutput"):], "="), true
			}
		default:
			name = a[1:2]
			if len(a) > 2 {
				value, hasValue = strings.TrimPrefix(a[2:], "="), true
			}
		}
		f, ok := flags[name]
		if !ok {
			return nil, nil, fmt.Errorf("unknown option %s (see ljdns test --help)", a)
		}
		switch f.kind {
		case optValue, optIgnoredValue:
			if !hasValue {
				if i+1 >= len(args) {
					return nil, nil, fmt.Errorf("option %s needs a value", a)
				}
				i++
				value = args[i]
			}
		default:
			if hasValue {
				return nil, nil, fmt.Errorf("option %s takes no value", a)
			}
		}
		if f.key == "timeout" {
			if secs, err := strconv.ParseFloat(value, 64); err != nil || secs < 0 || secs != secs {
				return nil, nil, fmt.Errorf("option %s needs a number of seconds, got %q", a, value)
			}
		}
		if f.key != "" {
			opts = append(opts, cliArg{f.key, value})
		}
	}
	return opts, roots, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Configure builds the options of a run from busted command-line arguments
// and the .busted file: the `_all` task, then the `default` task (or the
// one named with --run), then the command line, each overriding the one
// before. -C/--directory changes the process's working directory. It
// returns ErrHelp for -h/--help.
func Configure(L *lua.LState, args []string) (Options, error) {
	var o Options
	cli, roots, err := parseArgs(args)
	if err != nil {
		return o, err
	}
	configFile, task := "", ""
	for _, a := range cli {
		switch a.key {
		case "help":
			return o, ErrHelp
		case "directory":
			if err := os.Chdir(a.value); err != nil {
				return o, fmt.Errorf("cannot change to directory %s: %v", a.value, unwrapPath(err))
			}
		case "config-file":
			configFile = a.value
		case "run":
			task = a.value
		}
	}
	if err := applyConfigFile(L, &o, configFile, task); err != nil {
		return o, err
	}
	cliSet := map[string]bool{}
	for _, a := range cli {
		// a list option given on the command line replaces the .busted list
		if !cliSet[a.key] {
			cliSet[a.key] = true
			switch a.key {
			case "pattern":
				o.Patterns = nil
			case "exclude-pattern":
				o.ExcludePatterns = nil
			case "filter":
				o.Filters = nil
			case "filter-out":
				o.FilterOut = nil
			case "tags":
				o.Tags = nil
			case "exclude-tags":
				o.ExcludeTags = nil
			}
		}
		setOption(&o, a.key, a.value)
	}
	if len(roots) > 0 {
		o.Roots = roots
	}
	return o, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// setOption applies one option (command line or .busted, canonical key).
func setOption(o *Options, key, value string) {
	switch key {
	case "output":
		o.Output = value
	case "output-file":
		o.OutputFile = value
	case "pattern":
		o.Patterns = append(o.Patterns, value)
	case "exclude-pattern":
		o.ExcludePatterns = append(o.ExcludePatterns, value)
	case "filter":
		o.Filters = append(o.Filters, value)
	case "filter-out":
		o.FilterOut = append(o.FilterOut, value)
	case "tags":
		o.Tags = append(o.Tags, splitList(value)...)
	case "exclude-tags":
		o.ExcludeTags = append(o.ExcludeTags, splitList(value)...)
	case "timeout":
		secs, _ := strconv.ParseFloat(value, 64)
		o.Timeout = time.Duration(secs * float64(time.Second))
	case "lpath":
		o.Lpath = value
	case "cpath":
		o.Cpath = value
	case "helper":
		o.Helper = value
	case "list":
		o.List = true
	case "verbose":
		o.Verbose = true
	case "no-verbose":
		o.Verbose = false
	case "auto-insulate":
		o.NoAutoInsulate = false
	case "no-auto-insulate":
		o.NoAutoInsulate = true
	case "ROOT":
		o.Roots = append(o.Roots, value)
	}
}

// applyConfigFile reads .busted (a Lua chunk returning a table of tasks)
// and applies `_all` and then the chosen task. A missing ./.busted is
// fine; a missing -f FILE or --run TASK is an error.
func applyConfigFile(L *lua.LState, o *Options, file, task string) error {
	explicit := file != ""
	if file == "" {
		file = ".busted"
	}
	if _, err := os.Stat(file); err != nil {
		if explicit {
			return fmt.Errorf("cannot read config file %s: %v", file, unwrapPath(err))
		}
		if task != "" {
			return fmt.Errorf("task %q given but there is no .busted file", task)
		}
		return nil
	}
	loadfile := L.GetGlobal("loadfile")
	if err := L.CallByParam(lua.P{Fn: loadfile, NRet: 2, Protect: true}, lua.LString(file)); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	fn, msg := L.Get(-2), L.Get(-1)
	L.Pop(2)
	if fn == lua.LNil {
		return fmt.Errorf("%s: %s", file, lua.LVAsString(msg))
	}
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	ret := L.Get(-1)
	L.Pop(1)
	tasks, ok := ret.(*lua.LTable)
	if !ok {
		return fmt.Errorf("%s: must return a table of tasks, got %s", file, ret.Type())
	}
	if all, ok := tasks.RawGetString("_all").(*lua.LTable); ok {
		applyTask(o, all)
	}
	name := task
	if name == "" {
		name = "default"
	}
	t, ok := tasks.RawGetString(name).(*lua.LTable)
	if !ok {
		if task != "" {
			return fmt.Errorf("%s: no task %q", file, task)
		}
		return nil
	}
	applyTask(o, t)
	return nil
}

// taskKeys maps .busted keys to option keys; others (coverage, lua,
// recursive, ...) are accepted and ignored.
var taskKeys = map[string]string{
	"ROOT": "ROOT", "pattern": "pattern", "exclude-pattern": "exclude-pattern",
	"filter": "filter", "filter-out": "filter-out", "tags": "tags", "t": "tags",
	"exclude-tags": "exclude-tags", "lpath": "lpath", "m": "lpath", "cpath": "cpath",
	"helper": "helper", "output": "output", "o": "output", "Xoutput": "output-file",
	"output-file": "output-file", "p": "pattern", "list": "list", "timeout": "timeout",
}

func applyTask(o *Options, t *lua.LTable) {
	t.ForEach(func(k, v lua.LValue) {
		ks, ok := k.(lua.LString)
		if !ok {
			return
		}
		key := string(ks)
		switch key {
		case "verbose", "v":
			o.Verbose = lua.LVAsBool(v)
			return
		case "auto-insulate":
			o.NoAutoInsulate = !lua.LVAsBool(v)
			return
		}
		opt, ok := taskKeys[key]
		if !ok {
			return
		}
		var values []string
		switch v := v.(type) {
		case lua.LString, lua.LNumber:
			values = []string{v.String()}
		case lua.LBool:
			if v {
				values = []string{""}
			}
		case *lua.LTable:
			v.ForEach(func(_, x lua.LValue) {
				if s, ok := x.(lua.LString); ok {
					values = append(values, string(s))
				}
			})
		}
		// a task's list replaces what _all gave
		switch opt {
		case "ROOT":
			o.Roots = nil
		case "pattern":
			o.Patterns = nil
		case "exclude-pattern":
			o.ExcludePatterns = nil
		case "filter":
			o.Filters = nil
		case "filter-out":
			o.FilterOut = nil
		case "tags":
			o.Tags = nil
		case "exclude-tags":
			o.ExcludeTags = nil
		}
		for _, s := range values {
			setOption(o, opt, s)
		}
	})
}

package spec

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/pm"

	"ljdns/luabind"
)

// Status is the outcome of one test.
type Status string

// Test outcomes, as busted names them.
const (
	StatusSuccess Status = "success" // the test ran and every assertion held
	StatusFailure Status = "failure" // an assertion failed
	StatusError   Status = "error"   // any other error: test, hook, file load, empty file
	StatusPending Status = "pending" // pending(...) or it(name) without a body
)

// Result is the outcome of one test, or of one error not tied to a test
// (a spec file that fails to load or defines no test, a failing teardown).
type Result struct {
	Name     string        // full name: describe names and the it name joined by spaces; the file for file errors
	Short    string        // the test's own name (the it's first argument)
	Test     bool          // the result of a test, not an error of a file, helper or hook
	File     string        // spec file
	Line     int           // line of the it (0 when unknown)
	Status   Status        // outcome
	Message  string        // failure or error message ("file:line: ..."), empty on success
	Trace    string        // Lua stack traceback of an error, when known
	Duration time.Duration // time spent running the test and its hooks
}

// Report is the outcome of a whole run.
type Report struct {
	Results     []Result      // in the order the tests ran
	Files       []string      // spec files run, in order
	Duration    time.Duration // wall time of the run
	Interrupted bool          // Options.Context was cancelled; later files did not run
}

// Counts returns the number of results of each status.
func (r *Report) Counts() (passed, failed, errors, pending int) {
	for _, res := range r.Results {
		switch res.Status {
		case StatusSuccess:
			passed++
		case StatusFailure:
			failed++
		case StatusError:
			errors++
		case StatusPending:
			pending++
		}
	}
	return
}

// Summary is the last line of every output: "N passed, N failed, N errors, N pending".
func (r *Report) Summary() string {
	p, f, e, n := r.Counts()
	return fmt.Sprintf("%d passed, %d failed, %d errors, %d pending", p, f, e, n)
}

// OK reports whether the run had no failure and no error.
func (r *Report) OK() bool {
	_, f, e, _ := r.Counts()
	return f == 0 && e == 0
}

// ExitStatus is the command's exit status: 0 when OK, otherwise the number
// of failures and errors, capped at 255.
func (r *Report) ExitStatus() int {
	_, f, e, _ := r.Counts()
	return min(f+e, 255)
}

// Options configures one run. Configure builds it from a command line and
// .busted; the zero value plus Roots is a valid configuration too.
type Options struct {
	Roots           []string        // files or directories; default "spec"
	Patterns        []string        // Lua patterns a file's base name must match; default "_spec"
	ExcludePatterns []string        // Lua patterns of base names to skip
	Filters         []string        // Lua patterns: run only tests whose full name matches one
	FilterOut       []string        // Lua patterns: skip tests whose full name matches one
	Tags            []string        // run only tests with one of these #tags in their full name
	ExcludeTags     []string        // skip tests with one of these #tags
	Lpath           string          // prepended to package.path
	Cpath           string          // accepted and ignored (no C modules)
	Helper          string          // Lua file run once before the spec files; skipped with a note if missing
	NoAutoInsulate  bool            // when false (busted's default) every file runs insulated
	Output          string          // plain (default), TAP or junit
	OutputFile      string          // JUnit XML file; default report.xml
	Verbose         bool            // plain output: print tracebacks of errors
	List            bool            // list the selected tests instead of running them
	Stdout          io.Writer       // report output; default os.Stdout
	Stderr          io.Writer       // notes; default os.Stderr
	OnResult        func(Result)    // called with each result as it happens
	Context         context.Context // when cancelled (Ctrl-C) the running test errors and the run stops
	Timeout         time.Duration   // limit for each piece of spec code run (test, hook, describe body, file chunk); 0: none
}

func (o *Options) defaults() {
	if len(o.Roots) == 0 {
		o.Roots = []string{"spec"}
	}
	if len(o.Patterns) == 0 {
		o.Patterns = []string{"_spec"}
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
}

// Run runs the spec files selected by opts in L, writes the report in the
// chosen output format and returns the results. L should come from
// host.New so that spec files get the ljdns loader; the globals it ends
// with (describe, it, assert...) are left installed. The error is for
// failures of the runner itself (an unwritable JUnit file, a bad option
// value); test failures are in the Report.
func Run(L *lua.LState, opts Options) (*Report, error) {
	opts.defaults()
	out, err := newOutput(L, &opts)
	if err != nil {
		return nil, err
	}
	r := stateRunner(L)
	rep := &Report{}
	start := time.Now()
	var listed []Result
	add := func(res Result) {
		if opts.List {
			listed = append(listed, res)
			return
		}
		rep.Results = append(rep.Results, res)
		out.result(res)
		if opts.OnResult != nil {
			opts.OnResult(res)
		}
	}
	emit := L.NewFunction(func(L *lua.LState) int {
		add(toResult(L.CheckTable(1)))
		return 0
	})
	var current Result // the test running now (named in an interruption)
	started := L.NewFunction(func(L *lua.LState) int {
		current = Result{Name: L.CheckString(1), File: L.OptString(2, ""), Line: L.OptInt(3, 0)}
		out.testStart(current)
		return 0
	})
	t := &timer{test: luabind.NewInterrupt(), limit: opts.Timeout}
	if opts.Context != nil {
		stop := context.AfterFunc(opts.Context, t.interrupt)
		defer stop()
	}
	core := r.core
	L.SetField(core, "emit", emit)
	L.SetField(core, "started", started)
	L.SetField(core, "timed", L.NewFunction(t.call))
	L.SetField(core, "options", optionsTable(L, &opts))
	L.SetField(core, "active", lua.LTrue)
	defer L.SetField(core, "active", lua.LFalse)
	if err := callCore(L, core, "install"); err != nil {
		return nil, err
	}
	if opts.Lpath != "" {
		pkg := L.GetGlobal("package")
		L.SetField(pkg, "path", lua.LString(opts.Lpath+";"+L.GetField(pkg, "path").String()))
	}
	if opts.List {
		// list mode: every selected test "passes" without running
		L.SetField(core, "list", lua.LTrue)
	}

	if opts.Helper != "" {
		if st, err := os.Stat(opts.Helper); err == nil && !st.IsDir() {
			if err := callCore(L, core, "run_helper", lua.LString(opts.Helper)); err != nil {
				reportError(L, core, "helper "+opts.Helper, opts.Helper, err.Error())
			}
		} else {
			fmt.Fprintf(opts.Stderr, "ljdns test: helper %s not found, skipped\n", opts.Helper)
		}
	}

	files, problems := findFiles(opts.Roots, opts.Patterns, opts.ExcludePatterns)
	for _, p := range problems {
		reportError(L, core, p.root, p.root, p.msg)
	}
	if len(files) == 0 && len(problems) == 0 {
		reportError(L, core, strings.Join(opts.Roots, " "), "",
			fmt.Sprintf("no spec files found in %s (pattern %s)", strings.Join(opts.Roots, ", "), strings.Join(opts.Patterns, ", ")))
	}
	for _, f := range files {
		if opts.Context != nil && opts.Context.Err() != nil {
			break
		}
		rep.Files = append(rep.Files, f)
		if !opts.List {
			out.fileStart(f)
		}
		fstart := time.Now()
		if err := callCore(L, core, "run_file", lua.LString(f)); err != nil {
			if opts.Context != nil && opts.Context.Err() != nil {
				break
			}
			reportError(L, core, f, f, "runner error: "+err.Error())
		}
		if !opts.List {
			out.fileEnd(f, time.Since(fstart))
		}
	}
	if opts.Context != nil {
		if err := opts.Context.Err(); err != nil {
			rep.Interrupted = true
			n := len(rep.Results)
			if current.Name != "" && (n == 0 || rep.Results[n-1].Name != current.Name) {
				current.Status, current.Message = StatusError, "interrupted while running"
				add(current)
			}
			add(Result{Name: "(interrupted)", Status: StatusError, Message: "run interrupted: " + err.Error()})
		}
	}
	flushLua(L)
	rep.Duration = time.Since(start)
	if opts.List {
		for _, res := range listed {
			fmt.Fprintf(opts.Stdout, "%s:%d: %s\n", res.File, res.Line, res.Name)
		}
		rep.Results = nil
		for _, res := range listed {
			if res.Status == StatusError {
				rep.Results = append(rep.Results, res)
			}
		}
		fmt.Fprintln(opts.Stdout, rep.Summary())
		return rep, nil
	}
	return rep, out.finish(rep)
}

func callCore(L *lua.LState, core *lua.LTable, name string, args ...lua.LValue) error {
	return L.CallByParam(lua.P{Fn: L.GetField(core, name), NRet: 0, Protect: true}, args...)
}

func reportError(L *lua.LState, core *lua.LTable, name, file, msg string) {
	_ = callCore(L, core, "report_error", lua.LString(name), lua.LString(file), lua.LString(msg))
}

func toResult(t *lua.LTable) Result {
	str := func(k string) string {
		if v := t.RawGetString(k); v != lua.LNil {
			return lua.LVAsString(v)
		}
		return ""
	}
	num := func(k string) float64 {
		if v, ok := t.RawGetString(k).(lua.LNumber); ok {
			return float64(v)
		}
		return 0
	}
	return Result{
		Name:     str("name"),
		Short:    str("short"),
		Test:     t.RawGetString("short") != lua.LNil,
		File:     str("file"),
		Line:     int(num("line")),
		Status:   Status(str("status")),
		Message:  str("message"),
		Trace:    strings.TrimSpace(str("trace")),
		Duration: time.Duration(num("duration") * float64(time.Second)),
	}
}

func optionsTable(L *lua.LState, o *Options) *lua.LTable {
	list := func(xs []string) *lua.LTable {
		t := L.NewTable()
		for _, x := range xs {
			t.Append(lua.LString(x))
		}
		return t
	}
	t := L.NewTable()
	t.RawSetString("tags", list(o.Tags))
	t.RawSetString("exclude_tags", list(o.ExcludeTags))
	t.RawSetString("filter", list(o.Filters))
	t.RawSetString("filter_out", list(o.FilterOut))
	t.RawSetString("auto_insulate", lua.LBool(!o.NoAutoInsulate))
	return t
}

// flushLua flushes Lua's buffered io.stdout/io.stderr so test output and
// the report appear in order.
func flushLua(L *lua.LState) {
	io := L.GetGlobal("io")
	if io == lua.LNil {
		return
	}
	for _, name := range []string{"stdout", "stderr"} {
		f := L.GetField(io, name)
		if f == lua.LNil {
			continue
		}
		if fl := L.GetField(f, "flush"); fl != lua.LNil {
			_ = L.CallByParam(lua.P{Fn: fl, NRet: 0, Protect: true}, f)
		}
	}
}

type rootProblem struct{ root, msg string }

// luaFind reports whether the Lua pattern pat matches somewhere in s.
func luaFind(pat, s string) bool {
	m, err := pm.Find(pat, []byte(s), 0, 1)
	return err == nil && len(m) > 0
}

// findFiles lists the spec files under roots: a root that is a file is
// taken as is; directories are walked recursively (hidden entries
// skipped) for *.lua files whose base name matches one of patterns and
// none of excludes. Each root's files are sorted; duplicates are dropped.
func findFiles(roots, patterns, excludes []string) ([]string, []rootProblem) {
	var files []string
	var problems []rootProblem
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, root := range roots {
		st, err := os.Stat(root)
		if err != nil {
			problems = append(problems, rootProblem{root, "cannot find spec file or directory " + root})
			continue
		}
		if !st.IsDir() {
			add(root)
			continue
		}
		var found []string
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				problems = append(problems, rootProblem{p, "cannot read " + p + ": " + err.Error()})
				return nil
			}
			name := d.Name()
			if p != root && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !strings.HasSuffix(name, ".lua") {
				return nil
			}
			if matchAny(patterns, name) && !matchAny(excludes, name) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			problems = append(problems, rootProblem{root, "cannot read " + root + ": " + err.Error()})
		}
		sort.Strings(found)
		for _, f := range found {
			add(f)
		}
	}
	return files, problems
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if luaFind(p, s) {
			return true
		}
	}
	return false
}

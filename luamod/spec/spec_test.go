package spec_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/host"
	"ljdns/internal/etcdtest"
	"ljdns/luamod/spec"
	"ljdns/scripts"
)

// fixtures holds the runner's own test files. They are named *.fixture.lua
// so that the default run (pattern "_spec") never picks them up.
const fixtures = "spec/runner_selftest/"

func newState(t *testing.T) *lua.LState {
	t.Helper()
	L := host.New(host.Options{Scripts: scripts.FS})
	t.Cleanup(L.Close)
	return L
}

// atRoot makes the repository root the working directory, as `ljdns test`
// is run there (.busted, spec/helper.lua and ./?.lua resolve).
func atRoot(t *testing.T) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
}

// run runs the named fixtures (or opts.Roots) and returns the report and
// everything written to stdout.
func run(t *testing.T, L *lua.LState, opts spec.Options, files ...string) (*spec.Report, string) {
	t.Helper()
	var out bytes.Buffer
	opts.Stdout = &out
	opts.Stderr = &out
	for _, f := range files {
		opts.Roots = append(opts.Roots, fixtures+f+".fixture.lua")
	}
	rep, err := spec.Run(L, opts)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	return rep, out.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func counts(rep *spec.Report) [4]int {
	p, f, e, n := rep.Counts()
	return [4]int{p, f, e, n}
}

func find(t *testing.T, rep *spec.Report, name string) spec.Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no result named %q in %+v", name, rep.Results)
	return spec.Result{}
}

// TestSpecs runs every Lua spec of the repository (spec/*_spec.lua, with
// .busted and spec/helper.lua) and maps each test to a subtest.
func TestSpecs(t *testing.T) {
	atRoot(t)
	L := newState(t)
	opts, err := spec.Configure(L, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute // a hanging spec fails instead of hanging go test
	}
	rep, out := run(t, L, opts)
	if len(rep.Results) == 0 {
		t.Fatalf("no results:\n%s", out)
	}
	if got, want := lastLine(out), rep.Summary(); got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	for _, r := range rep.Results {
		name := strings.TrimSuffix(filepath.Base(r.File), ".lua") + "/" + r.Name
		t.Run(name, func(t *testing.T) {
			switch r.Status {
			case spec.StatusFailure, spec.StatusError:
				msg := r.Message
				if r.Trace != "" {
					msg += "\n" + r.Trace
				}
				t.Errorf("%s %s:%d: %s", r.Status, r.File, r.Line, msg)
			case spec.StatusPending:
				t.Skip("pending")
			}
		})
	}
}

func TestPassingFile(t *testing.T) {
	atRoot(t)
	rep, out := run(t, newState(t), spec.Options{}, "pass")
	if got, want := counts(rep), [4]int{3, 0, 0, 0}; got != want {
		t.Fatalf("counts %v, want %v\n%s", got, want, out)
	}
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Name)
	}
	want := []string{"arith adds", "arith nested compares tables deeply", "top level test"}
	if !slices.Equal(names, want) {
		t.Errorf("names %q, want %q (full names, definition order)", names, want)
	}
	if got, want := lastLine(out), "3 passed, 0 failed, 0 errors, 0 pending"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	if !strings.HasPrefix(out, "+++\n") {
		t.Errorf("plain output should start with one + per test:\n%s", out)
	}
	if rep.ExitStatus() != 0 || !rep.OK() {
		t.Errorf("exit status %d, want 0", rep.ExitStatus())
	}
}

func TestFailureReport(t *testing.T) {
	atRoot(t)
	rep, out := run(t, newState(t), spec.Options{}, "fail")
	if got, want := counts(rep), [4]int{1, 1, 1, 0}; got != want {
		t.Fatalf("counts %v, want %v\n%s", got, want, out)
	}
	f := find(t, rep, "failing fails an assertion")
	if f.Status != spec.StatusFailure || f.Line != 3 || f.File != fixtures+"fail.fixture.lua" {
		t.Errorf("failure result %+v", f)
	}
	for _, want := range []string{
		fixtures + "fail.fixture.lua:4: Expected objects to be the same.",
		"Passed in:\n(number) 2",
		"Expected:\n(number) 1",
	} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("failure message lacks %q:\n%s", want, f.Message)
		}
		if !strings.Contains(out, want) {
			t.Errorf("plain output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "Failure -> "+fixtures+"fail.fixture.lua @ 3\nfailing fails an assertion\n") {
		t.Errorf("plain output lacks the failure header:\n%s", out)
	}
	e := find(t, rep, "failing raises an error")
	if e.Status != spec.StatusError || !strings.Contains(e.Message, "fail.fixture.lua:7: boom") {
		t.Errorf("error result %+v", e)
	}
	if s := find(t, rep, "failing still runs after a failure"); s.Status != spec.StatusSuccess {
		t.Errorf("a failure must not stop the file: %+v", s)
	}
	if got, want := lastLine(out), "1 passed, 1 failed, 1 errors, 0 pending"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	if rep.ExitStatus() != 2 {
		t.Errorf("exit status %d, want 2", rep.ExitStatus())
	}
}

func TestFilesThatCannotRun(t *testing.T) {
	atRoot(t)
	for _, tc := range []struct {
		name, file, msg string
	}{
		{"load error", fixtures + "loaderror.fixture.lua", "cannot load spec file"},
		{"no it", fixtures + "empty.fixture.lua", "no tests found"},
		{"missing root", fixtures + "missing_spec.lua", "cannot find"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, out := run(t, newState(t), spec.Options{Roots: []string{tc.file}})
			if got, want := counts(rep), [4]int{0, 0, 1, 0}; got != want {
				t.Fatalf("counts %v, want %v\n%s", got, want, out)
			}
			r := rep.Results[0]
			if r.Status != spec.StatusError || r.File != tc.file || !strings.Contains(r.Message, tc.msg) {
				t.Errorf("result %+v, want an error for %s mentioning %q", r, tc.file, tc.msg)
			}
			if rep.ExitStatus() == 0 {
				t.Error("exit status 0")
			}
		})
	}
	t.Run("no spec files", func(t *testing.T) {
		rep, _ := run(t, newState(t), spec.Options{Roots: []string{"spec/runner_selftest"}})
		if got, want := counts(rep), [4]int{0, 0, 1, 0}; got != want {
			t.Errorf("a directory without *_spec files: counts %v, want %v", got, want)
		}
	})
}

func TestDirectoryPattern(t *testing.T) {
	atRoot(t)
	rep, out := run(t, newState(t), spec.Options{
		Roots: []string{"spec/runner_selftest"}, Patterns: []string{"^[pf]a[si][sl]%.fixture"},
	})
	if got, want := rep.Files, []string{fixtures + "fail.fixture.lua", fixtures + "pass.fixture.lua"}; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q (sorted, matching the pattern)\n%s", got, want, out)
	}
}

var tapLine = regexp.MustCompile(`^(ok|not ok) (\d+) - (.+)$`)

func TestTAP(t *testing.T) {
	atRoot(t)
	rep, out := run(t, newState(t), spec.Options{Output: "TAP"}, "pass", "fail")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if lines[0] != "1..6" {
		t.Fatalf("plan %q, want 1..6\n%s", lines[0], out)
	}
	if got, want := lines[len(lines)-1], rep.Summary(); got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	next, seenNotOK := 1, false
	for i := 1; i < len(lines)-1; i++ {
		l := lines[i]
		if strings.HasPrefix(l, "# ") {
			continue
		}
		m := tapLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %d %q is not a TAP test line\n%s", i, l, out)
		}
		if m[2] != strconv.Itoa(next) {
			t.Errorf("line %q: test number %s, want %d", l, m[2], next)
		}
		next++
		if m[1] == "ok" && seenNotOK {
			t.Errorf("busted 2.0 layout lists successes first: %q after a not ok", l)
		}
		if m[1] == "not ok" {
			seenNotOK = true
			if !strings.HasPrefix(lines[i+1], "# "+fixtures+"fail.fixture.lua @ ") ||
				!strings.HasPrefix(lines[i+2], "# Failure message: ") {
				t.Errorf("not ok must be followed by '# file @ line' and '# Failure message:'\n%s", out)
			}
		}
	}
	if !strings.Contains(out, "not ok 5 - failing fails an assertion\n# "+fixtures+"fail.fixture.lua @ 3\n"+
		"# Failure message: "+fixtures+"fail.fixture.lua:4: Expected objects to be the same.\n# Passed in:\n# (number) 2\n") {
		t.Errorf("failure block not in busted layout:\n%s", out)
	}
}

// junitDoc is the part of busted's JUnit document the tests read.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skip     int `xml:"skip,attr"`
	Suites   []struct {
		Name   string   `xml:"name,attr"`
		Tests  int      `xml:"tests,attr"`
		Errors []string `xml:"error"`
		Cases  []struct {
			Classname string  `xml:"classname,attr"`
			Name      string  `xml:"name,attr"`
			Failure   *string `xml:"failure"`
			Error     *string `xml:"error"`
			Skipped   *string `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestJUnit checks -o junit as busted writes it: the document alone on
// stdout (the summary line goes to stderr), one testsuite "Run 1 of 1",
// testcases with classname file:line; errors not tied to a test sit in the
// suite.
func TestJUnit(t *testing.T) {
	atRoot(t)
	var stdout, stderr bytes.Buffer
	opts := spec.Options{Output: "junit", Stdout: &stdout, Stderr: &stderr,
		Roots: []string{fixtures + "pass.fixture.lua", fixtures + "fail.fixture.lua", fixtures + "misc.fixture.lua"}}
	rep, err := spec.Run(newState(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	data := stdout.Bytes()
	if !bytes.HasPrefix(data, []byte("<testsuites ")) {
		t.Fatalf("stdout must hold only the XML document:\n%s", data)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, data)
		}
	}
	if got, want := strings.TrimSpace(stderr.String()), rep.Summary(); got != want {
		t.Errorf("stderr %q, want the summary %q", got, want)
	}
	var doc junitDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	p, f, e, n := rep.Counts()
	// misc has two errors that are not tests (a describe body, a teardown)
	if doc.Tests != p+f+e+n-2 || doc.Failures != f || doc.Errors != e || doc.Skip != n {
		t.Errorf("testsuites counts %+v, report %d/%d/%d/%d", doc, p, f, e, n)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Name != "Run 1 of 1" || len(doc.Suites[0].Errors) != 2 {
		t.Fatalf("want one testsuite \"Run 1 of 1\" with the two errors of misc, got %+v", doc.Suites)
	}
	c := doc.Suites[0].Cases[3]
	if c.Name != "failing fails an assertion" || c.Classname != fixtures+"fail.fixture.lua:3" ||
		c.Failure == nil || !strings.Contains(*c.Failure, "Passed in:\n(number) 2") {
		t.Errorf("failure case %+v", c)
	}
	if c := doc.Suites[0].Cases[4]; c.Error == nil || !strings.Contains(*c.Error, "boom") {
		t.Errorf("error case %+v", c)
	}
	if c := doc.Suites[0].Cases[6]; c.Skipped == nil {
		t.Errorf("pending case %+v", c)
	}

	// with --output-file the document goes to the file, the plain report to stdout
	file := filepath.Join(t.TempDir(), "junit.xml")
	rep, out := run(t, newState(t), spec.Options{Output: "junit", OutputFile: file}, "pass", "fail")
	if got, want := lastLine(out), rep.Summary(); got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	data, err = os.ReadFile(file)
	if err != nil || xml.Unmarshal(data, &doc) != nil || doc.Tests != 6 {
		t.Errorf("JUnit file: %v\n%s", err, data)
	}
}

// TestJSON checks -o json: busted's object of pendings, successes,
// failures and errors on one line of stdout.
func TestJSON(t *testing.T) {
	atRoot(t)
	var stdout, stderr bytes.Buffer
	rep, err := spec.Run(newState(t), spec.Options{Output: "json", Stdout: &stdout, Stderr: &stderr,
		Roots: []string{fixtures + "pass.fixture.lua", fixtures + "fail.fixture.lua", fixtures + "misc.fixture.lua"}})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Pendings, Successes, Failures, Errors []struct {
			Name    string
			Message *string
			IsError bool
			Trace   struct {
				ShortSrc    string `json:"short_src"`
				CurrentLine int    `json:"currentline"`
			}
			Element struct{ Name, Descriptor string }
		}
		Duration float64
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	p, f, e, n := rep.Counts()
	if len(doc.Successes) != p || len(doc.Failures) != f || len(doc.Errors) != e || len(doc.Pendings) != n {
		t.Errorf("lists %d/%d/%d/%d, report %d/%d/%d/%d", len(doc.Successes), len(doc.Failures),
			len(doc.Errors), len(doc.Pendings), p, f, e, n)
	}
	fail := doc.Failures[0]
	if fail.Name != "failing fails an assertion" || fail.Element.Name != "fails an assertion" ||
		fail.Element.Descriptor != "it" || fail.Trace.ShortSrc != fixtures+"fail.fixture.lua" ||
		fail.Trace.CurrentLine != 3 || fail.Message == nil || !strings.Contains(*fail.Message, "Expected objects to be the same.") {
		t.Errorf("failure entry %+v", fail)
	}
	if !doc.Errors[0].IsError || doc.Successes[0].Message != nil {
		t.Errorf("errors carry isError, successes no message: %+v %+v", doc.Errors[0], doc.Successes[0])
	}
	if got, want := strings.TrimSpace(stderr.String()), rep.Summary(); got != want {
		t.Errorf("stderr %q, want the summary %q", got, want)
	}
}

// TestGTest checks -o gtest: busted's Google Test layout, written as the
// tests run.
func TestGTest(t *testing.T) {
	atRoot(t)
	rep, out := run(t, newState(t), spec.Options{Output: "gtest"}, "fail")
	want := "[==========] Running tests from scanned files.\n" +
		"[----------] Global test environment setup.\n" +
		"[----------] Running tests from " + fixtures + "fail.fixture.lua\n" +
		"[ RUN      ] " + fixtures + "fail.fixture.lua:3: failing fails an assertion\n" +
		fixtures + "fail.fixture.lua:4: Expected objects to be the same.\nPassed in:\n(number) 2\nExpected:\n(number) 1\n" +
		"[  FAILED  ] " + fixtures + "fail.fixture.lua:3: failing fails an assertion ("
	if !strings.HasPrefix(out, want) {
		t.Errorf("output does not start with\n%s\ngot\n%s", want, out)
	}
	for _, want := range []string{
		"[  ERROR   ] " + fixtures + "fail.fixture.lua:6: failing raises an error (",
		"[       OK ] " + fixtures + "fail.fixture.lua:9: failing still runs after a failure (",
		"[----------] 3 tests from " + fixtures + "fail.fixture.lua (",
		"[==========] 3 tests from 1 test file ran. (",
		"[  PASSED  ] 1 test.\n[  FAILED  ] 1 test, listed below:\n[  FAILED  ] " + fixtures + "fail.fixture.lua:3: failing fails an assertion\n",
		"[  ERROR   ] 1 error, listed below:\n",
		"\n 1 FAILED TEST\n 1 ERROR\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got, want := lastLine(out), rep.Summary(); got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

// TestEachFailureItsOwn is issue 11's report: after a failing test, the
// next failing test was reported as "Error: prelude:28: context canceled",
// and pcall, has_error and earlier coroutines were broken the same way.
func TestEachFailureItsOwn(t *testing.T) {
	atRoot(t)
	// a live context, as `ljdns test` gives for Ctrl-C: gopher-lua gave each
	// coroutine a child of it, which died with the first failing test
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep, out := run(t, newState(t), spec.Options{Context: ctx}, "twofail")
	if got, want := lastLine(out), "0 passed, 2 failed, 0 errors, 0 pending"; got != want {
		t.Fatalf("last line %q, want %q\n%s", got, want, out)
	}
	for _, r := range rep.Results {
		if !strings.Contains(r.Message, "Expected objects to be equal.") {
			t.Errorf("%s: %q", r.Name, r.Message)
		}
	}
	rep, out = run(t, newState(t), spec.Options{Context: ctx}, "afterfail")
	if got, want := counts(rep), [4]int{4, 1, 1, 0}; got != want {
		t.Errorf("counts %v, want %v\n%s", got, want, out)
	}
	if strings.Contains(out, "context canceled") {
		t.Errorf("a test saw the previous test's context:\n%s", out)
	}
}

// TestMessages checks failures and errors as busted and luassert print them.
func TestMessages(t *testing.T) {
	atRoot(t)
	rep, out := run(t, newState(t), spec.Options{}, "messages")
	if got, want := counts(rep), [4]int{0, 6, 2, 0}; got != want {
		t.Errorf("counts %v, want %v (assert(false, msg) is a failure)\n%s", got, want, out)
	}
	file := fixtures + "messages.fixture.lua"
	for name, want := range map[string]string{
		"messages assert false":       file + ":4: plain assert",
		"messages assert false table": "{\n  code = 7\n}",
		"messages is_true":            file + ":6: Expected objects to be the same.\nPassed in:\n(boolean) false\nExpected:\n(boolean) true",
		"messages is_nil":             file + ":7: Expected objects to be the same.\nPassed in:\n(number) 1\nExpected:\ntype nil",
		"messages same tables": file + ":8: Expected objects to be the same.\nPassed in:\n(table) {\n  [1] = 1\n *[2] = {\n   *[a] = 'y'\n" +
			"    [b] = 2 } }\nExpected:\n(table) {\n  [1] = 1\n *[2] = {\n   *[a] = 'x'\n    [b] = 2 } }",
		"messages number":      file + ":9: Expected objects to be equal.\nPassed in:\n(number) 2\nExpected:\n(number) 0.5",
		"messages error table": "{\n  code = 42,\n  list = {\n    1,\n    2\n  },\n  msg = \"boom\"\n}",
		"messages error nil":   "Nil error",
	} {
		if got := find(t, rep, name).Message; got != want {
			t.Errorf("%s: message\n%s\nwant\n%s", name, got, want)
		}
	}
}

// TestTimeout runs spec code that never ends with a timeout: each piece
// errors once the limit has passed, and the tests after it run.
func TestTimeout(t *testing.T) {
	atRoot(t)
	rep, out := run(t, newState(t), spec.Options{Timeout: 200 * time.Millisecond}, "hang")
	if got, want := counts(rep), [4]int{1, 0, 5, 0}; got != want {
		t.Fatalf("counts %v, want %v\n%s", got, want, out)
	}
	for _, r := range rep.Results[:5] {
		if !strings.Contains(r.Message, "timed out after 200ms") {
			t.Errorf("%s: %q", r.Name, r.Message)
		}
	}
	if o, err := spec.Configure(newState(t), []string{"--timeout=1.5"}); err != nil || o.Timeout != 1500*time.Millisecond {
		t.Errorf("--timeout=1.5: %v %v", o.Timeout, err)
	}
	if _, err := spec.Configure(newState(t), []string{"--timeout", "soon"}); err == nil {
		t.Error("--timeout soon should be refused")
	}
}

func TestSelection(t *testing.T) {
	atRoot(t)
	for _, tc := range []struct {
		name string
		opts spec.Options
		want []string
	}{
		{"all", spec.Options{}, []string{"tagged #fast first #slow", "tagged #fast second", "plain third"}},
		{"tags", spec.Options{Tags: []string{"fast"}}, []string{"tagged #fast first #slow", "tagged #fast second"}},
		{"exclude tags", spec.Options{ExcludeTags: []string{"slow"}}, []string{"tagged #fast second", "plain third"}},
		{"tags and exclude", spec.Options{Tags: []string{"fast"}, ExcludeTags: []string{"slow"}}, []string{"tagged #fast second"}},
		{"filter", spec.Options{Filters: []string{"^plain"}}, []string{"plain third"}},
		{"filter out", spec.Options{FilterOut: []string{"second", "third"}}, []string{"tagged #fast first #slow"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, out := run(t, newState(t), tc.opts, "tags")
			var got []string
			for _, r := range rep.Results {
				got = append(got, r.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ran %q, want %q\n%s", got, tc.want, out)
			}
		})
	}
}

func luaStrings(t *testing.T, L *lua.LState, global string) []string {
	t.Helper()
	tbl, ok := L.GetGlobal(global).(*lua.LTable)
	if !ok {
		t.Fatalf("global %s is %s", global, L.GetGlobal(global).Type())
	}
	var out []string
	for i := 1; i <= tbl.Len(); i++ {
		out = append(out, tbl.RawGetInt(i).String())
	}
	return out
}

func TestHookOrder(t *testing.T) {
	atRoot(t)
	L := newState(t)
	rep, out := run(t, L, spec.Options{NoAutoInsulate: true}, "hooks")
	want := []string{
		"collect outer", "collect inner",
		"setup",
		"before outer", "one", "after outer",
		"lazy_setup inner",
		"before outer", "before inner", "two", "finally two", "after inner", "after outer",
		"strict_teardown inner",
		"teardown",
		"after_each still runs",
	}
	if got := luaStrings(t, L, "hook_log"); !slices.Equal(got, want) {
		t.Errorf("hook order\n got %q\nwant %q", got, want)
	}
	if got, want := counts(rep), [4]int{2, 0, 1, 1}; got != want {
		t.Errorf("counts %v, want %v\n%s", got, want, out)
	}
	if r := find(t, rep, "failing before_each is an error"); r.Status != spec.StatusError ||
		!strings.Contains(r.Message, "before_each broke") {
		t.Errorf("a failing before_each makes the test an error: %+v", r)
	}
}

func TestInsulation(t *testing.T) {
	atRoot(t)
	L := newState(t)
	rep, out := run(t, L, spec.Options{}, "insulate")
	if got, want := counts(rep), [4]int{4, 0, 0, 0}; got != want {
		t.Fatalf("counts %v, want %v\n%s", got, want, out)
	}
	// auto-insulate (busted's default) restores the globals of the file,
	// except what an expose block exported
	for global, want := range map[string]lua.LValue{
		"file_global":      lua.LNil,
		"insulated_global": lua.LNil,
		"exposed_global":   lua.LString("exposed"),
	} {
		if got := L.GetGlobal(global); got != want {
			t.Errorf("after the file %s = %v, want %v", global, got, want)
		}
	}
	L = newState(t)
	run(t, L, spec.Options{NoAutoInsulate: true}, "insulate")
	if got := L.GetGlobal("file_global"); got != lua.LString("set by the file") {
		t.Errorf("without auto-insulate file globals persist: file_global = %v", got)
	}
}

func TestAssertionsAndSpies(t *testing.T) {
	atRoot(t)
	for _, f := range []string{"assertions", "spies"} {
		t.Run(f, func(t *testing.T) {
			rep, out := run(t, newState(t), spec.Options{}, f)
			if !rep.OK() || len(rep.Results) < 10 {
				t.Errorf("%s fixture should pass entirely:\n%s", f, out)
			}
		})
	}
}

func TestPendingAndBrokenBlocks(t *testing.T) {
	atRoot(t)
	rep, out := run(t, newState(t), spec.Options{}, "misc")
	if got, want := counts(rep), [4]int{2, 1, 3, 3}; got != want {
		t.Fatalf("counts %v, want %v\n%s", got, want, out)
	}
	for name, want := range map[string]spec.Status{
		"pending ones not written yet":               spec.StatusPending,
		"pending ones has no body":                   spec.StatusPending,
		"pending ones calls pending inside":          spec.StatusPending,
		"broken describe":                            spec.StatusError,
		"broken describe collected before the error": spec.StatusSuccess,
		"teardown breaks passes itself":              spec.StatusSuccess,
		"teardown breaks teardown":                   spec.StatusError,
		"messages custom message":                    spec.StatusFailure,
		"messages table error object":                spec.StatusError,
	} {
		if got := find(t, rep, name).Status; got != want {
			t.Errorf("%q: %s, want %s", name, got, want)
		}
	}
	msg := find(t, rep, "messages custom message").Message
	if !strings.Contains(msg, "one is not two") || !strings.Contains(msg, "Expected objects to be equal.") {
		t.Errorf("custom message and the default text should both show:\n%s", msg)
	}
	if got, want := lastLine(out), "2 passed, 1 failed, 3 errors, 3 pending"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

// TestCrossTypeEquality checks that assert.same/equal use the host's
// equality: a userdata whose __eq accepts a string equals that string.
func TestCrossTypeEquality(t *testing.T) {
	atRoot(t)
	L := newState(t)
	ud := L.NewUserData()
	ud.Value = "abc"
	mt := L.NewTable()
	L.SetField(mt, "__eq", L.NewFunction(func(L *lua.LState) int {
		s := func(v lua.LValue) string {
			if u, ok := v.(*lua.LUserData); ok {
				return u.Value.(string)
			}
			return v.String()
		}
		L.Push(lua.LBool(s(L.Get(1)) == s(L.Get(2))))
		return 1
	}))
	L.SetMetatable(ud, mt)
	L.SetGlobal("wire", ud)
	file := filepath.Join(t.TempDir(), "eq_spec.lua")
	src := `describe('cross-type', function()
  it('same', function() assert.same('abc', wire); assert.same({ wire }, { 'abc' }) end)
  it('equal', function() assert.equal(wire, 'abc'); assert.are_not.equal('abd', wire) end)
  it('plain ==', function() assert.is_true(wire == 'abc') end)
end)
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, out := run(t, L, spec.Options{Roots: []string{file}})
	if got, want := counts(rep), [4]int{3, 0, 0, 0}; got != want {
		t.Errorf("counts %v, want %v\n%s", got, want, out)
	}
}

// captureStdout runs fn with os.Stdout redirected and returns what it wrote.
func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() { os.Stdout = old }()
	fn()
	w.Close()
	os.Stdout = old
	return <-done
}

// TestStandalone runs a spec file as a script: require('busted.runner')()
// runs the file's tests and ends the program with os.exit(status).
func TestStandalone(t *testing.T) {
	atRoot(t)
	L := newState(t)
	path := fixtures + "standalone.fixture.lua"
	argt := L.NewTable()
	argt.RawSet(lua.LNumber(0), lua.LString(path))
	L.SetGlobal("arg", argt)
	exitCode := -1
	L.SetField(L.GetGlobal("os"), "exit", L.NewFunction(func(L *lua.LState) int {
		exitCode = L.OptInt(1, 0)
		L.RaiseError("os.exit called")
		return 0
	}))
	var runErr error
	out := captureStdout(t, func() {
		fn, err := host.LoadFile(L, path)
		if err != nil {
			t.Fatal(err)
		}
		runErr = host.Call(L, fn)
	})
	if runErr == nil || !strings.Contains(runErr.Error(), "os.exit called") {
		t.Fatalf("busted.runner() should end the script through os.exit, got %v\n%s", runErr, out)
	}
	if exitCode != 0 {
		t.Errorf("exit code %d, want 0\n%s", exitCode, out)
	}
	if got, want := lastLine(out), "1 passed, 0 failed, 0 errors, 0 pending"; got != want {
		t.Errorf("last line %q, want %q\n%s", got, want, out)
	}
	if got := L.GetGlobal("standalone_loads"); got != lua.LNumber(1) {
		t.Errorf("the outer chunk must not continue after busted.runner(): standalone_loads = %v", got)
	}
}

func TestMainCommandLine(t *testing.T) {
	atRoot(t)
	newState := func() *lua.LState { return host.New(host.Options{Scripts: scripts.FS}) }
	var status int
	out := captureStdout(t, func() {
		status = spec.Main([]string{"-o", "TAP", fixtures + "pass.fixture.lua"}, newState)
	})
	if status != 0 || !strings.HasPrefix(out, "1..3\nok 1 - arith adds\n") || lastLine(out) != "3 passed, 0 failed, 0 errors, 0 pending" {
		t.Errorf("status %d, output:\n%s", status, out)
	}
	out = captureStdout(t, func() {
		status = spec.Main([]string{"--output=TAP", fixtures + "fail.fixture.lua"}, newState)
	})
	if status != 2 || lastLine(out) != "1 passed, 1 failed, 1 errors, 0 pending" {
		t.Errorf("failing run: status %d, output:\n%s", status, out)
	}
	for _, args := range [][]string{{"--bogus"}, {"-o"}, {"-o", "nosuch", fixtures + "pass.fixture.lua"}, {"--run=nosuch"}} {
		captureStdout(t, func() { status = spec.Main(args, newState) })
		if status != 1 {
			t.Errorf("Main(%q) = %d, want 1", args, status)
		}
	}
}

func TestConfigure(t *testing.T) {
	t.Chdir(t.TempDir())
	busted := `return {
  _all = { coverage = true, verbose = true },
  default = { ROOT = { 'tests' }, pattern = '_test', lpath = './lib/?.lua', helper = 'tests/helper.lua',
    ['auto-insulate'] = false, tags = 'a,b', output = 'TAP' },
  other = { ROOT = 'other', ['exclude-tags'] = { 'slow' }, Xoutput = 'out.xml' },
}`
	if err := os.WriteFile(".busted", []byte(busted), 0o644); err != nil {
		t.Fatal(err)
	}
	L := newState(t)
	o, err := spec.Configure(L, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Roots, []string{"tests"}) || !slices.Equal(o.Patterns, []string{"_test"}) ||
		o.Lpath != "./lib/?.lua" || o.Helper != "tests/helper.lua" || !o.NoAutoInsulate ||
		!slices.Equal(o.Tags, []string{"a", "b"}) || o.Output != "TAP" || !o.Verbose {
		t.Errorf("default task: %+v", o)
	}
	o, err = spec.Configure(L, []string{"--run=other", "-t", "x", "--exclude-tags=y,z", "-p", "p1", "--pattern=p2",
		"--lua=luajit", "--no-coverage", "-c", "-o", "junit", "dir1", "dir2"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Roots, []string{"dir1", "dir2"}) || !slices.Equal(o.Tags, []string{"x"}) ||
		!slices.Equal(o.ExcludeTags, []string{"y", "z"}) || !slices.Equal(o.Patterns, []string{"p1", "p2"}) ||
		o.Output != "junit" || o.OutputFile != "out.xml" || o.NoAutoInsulate {
		t.Errorf("task other + command line: %+v", o)
	}
	for _, args := range [][]string{{"--nope"}, {"--filter"}, {"--run", "missing"}, {"-f", "nofile"}, {"-v=1"}} {
		if _, err := spec.Configure(L, args); err == nil {
			t.Errorf("Configure(%q) should fail", args)
		}
	}
	if _, err := spec.Configure(L, []string{"-h"}); err != spec.ErrHelp {
		t.Errorf("-h: %v, want ErrHelp", err)
	}
}

func TestHelperAndLpath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	files := map[string]string{
		"helper.lua":     "helper_value = 42\n",
		"bad_helper.lua": "error('helper broke')\n",
		"lib/mymod.lua":  "return { answer = helper_value }\n",
		"tests/use_spec.lua": "it('sees the helper and lpath', function()\n" +
			"  assert.equal(42, helper_value)\n  assert.equal(42, require('mymod').answer)\nend)\n",
	}
	for name, src := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, out := run(t, newState(t), spec.Options{Roots: []string{"tests"}, Helper: "helper.lua", Lpath: "./lib/?.lua"})
	if got, want := counts(rep), [4]int{1, 0, 0, 0}; got != want {
		t.Errorf("helper + lpath: counts %v, want %v\n%s", got, want, out)
	}
	rep, out = run(t, newState(t), spec.Options{Roots: []string{"tests"}, Helper: "missing.lua"})
	if !strings.Contains(out, "helper missing.lua not found") || counts(rep)[1]+counts(rep)[2] != 1 {
		t.Errorf("a missing helper is skipped with a note (and the spec then fails):\n%s", out)
	}
	rep, out = run(t, newState(t), spec.Options{Roots: []string{"tests"}, Helper: "bad_helper.lua"})
	if r := rep.Results[0]; r.Status != spec.StatusError || !strings.Contains(r.Message, "helper broke") {
		t.Errorf("a helper that raises counts as an error: %+v\n%s", r, out)
	}
}

func TestList(t *testing.T) {
	atRoot(t)
	rep, out := run(t, newState(t), spec.Options{List: true, Tags: []string{"fast"}}, "tags")
	want := fixtures + "tags.fixture.lua:3: tagged #fast first #slow\n" +
		fixtures + "tags.fixture.lua:4: tagged #fast second\n" +
		"0 passed, 0 failed, 0 errors, 0 pending\n"
	if out != want || !rep.OK() {
		t.Errorf("--list output\n%s\nwant\n%s", out, want)
	}
}

// TestInterrupt cancels a run whose test never ends (what Ctrl-C does).
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile("a_spec.lua", []byte("it('quick', function() end)\nit('spins', function() while true do end end)\n"), 0o644)
	os.WriteFile("b_spec.lua", []byte("it('never runs', function() end)\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	L := newState(t)
	opts := spec.Options{Roots: []string{"."}, Context: ctx, OnResult: func(r spec.Result) {
		if r.Name == "quick" {
			go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		}
	}}
	rep, out := run(t, L, opts)
	if !rep.Interrupted {
		t.Fatalf("not interrupted:\n%s", out)
	}
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Name+":"+string(r.Status))
	}
	if want := []string{"quick:success", "spins:error", "(interrupted):error"}; !slices.Equal(names, want) {
		t.Errorf("results %q, want %q", names, want)
	}
	if got, want := lastLine(out), "1 passed, 0 failed, 2 errors, 0 pending"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

// TestSpecLMDBEtcd runs spec/lmdb_spec.lua against the etcd backend of
// dns.lmdb (lmdb.open('etcd://...')) on an in-process etcd: the same specs
// as the bbolt store's, less those the README lists as differences, plus
// the etcd-only ones.
func TestSpecLMDBEtcd(t *testing.T) {
	c := etcdtest.Start(t, 1)
	t.Setenv("LJDNS_LMDB_ETCD", c.Endpoints()[0])
	atRoot(t)
	L := newState(t)
	rep, out := run(t, L, spec.Options{Roots: []string{"spec/lmdb_spec.lua"}, Timeout: 2 * time.Minute})
	p, f, e, n := rep.Counts()
	if f+e > 0 || p < 10 {
		t.Fatalf("%d passed, %d failed, %d errors, %d pending:\n%s", p, f, e, n, out)
	}
	t.Logf("%d passed, %d pending (bbolt only)", p, n)
}

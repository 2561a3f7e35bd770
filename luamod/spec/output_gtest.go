package spec

import (
	"fmt"
	"io"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// gtestOutput writes busted's gtest layout (Google Test's console format)
// as the run goes: a RUN line when a test starts, OK / FAILED / ERROR /
// SKIPPED with the time when it ends (the message of a failure or error
// just before), a line per file, and the summary listing the tests that
// did not pass. No colours.
type gtestOutput struct {
	L         *lua.LState
	w         io.Writer
	verbose   bool
	started   bool
	files     int
	fileTests int
	tests     int
	running   string // full name of the test started and not ended
}

func (g *gtestOutput) header() {
	if !g.started {
		g.started = true
		fmt.Fprint(g.w, "[==========] Running tests from scanned files.\n[----------] Global test environment setup.\n")
	}
}

func gtestName(r Result) string {
	if r.File == "" {
		return r.Name
	}
	return fmt.Sprintf("%s:%d: %s", r.File, r.Line, r.Name)
}

func (g *gtestOutput) fileStart(file string) {
	g.header()
	g.fileTests = 0
	fmt.Fprintf(g.w, "[----------] Running tests from %s\n", file)
}

func (g *gtestOutput) testStart(r Result) {
	flushLua(g.L)
	g.running = r.Name
	fmt.Fprintf(g.w, "[ RUN      ] %s\n", gtestName(r))
}

func (g *gtestOutput) description(r Result) {
	msg := r.Message
	if msg == "" && r.Status != StatusPending {
		msg = "Nil error"
	}
	if r.Status == StatusPending {
		if msg != "" {
			fmt.Fprintln(g.w, msg)
		}
		return
	}
	fmt.Fprintln(g.w, msg)
	if g.verbose && r.Trace != "" {
		fmt.Fprintln(g.w, r.Trace)
	}
}

func (g *gtestOutput) result(r Result) {
	flushLua(g.L)
	g.header()
	if !r.Test {
		g.description(r)
		return
	}
	if g.running != r.Name {
		fmt.Fprintf(g.w, "[ RUN      ] %s\n", gtestName(r))
	}
	g.running = ""
	g.fileTests++
	g.tests++
	label := map[Status]string{StatusSuccess: "[       OK ]", StatusFailure: "[  FAILED  ]",
		StatusError: "[  ERROR   ]", StatusPending: "[ SKIPPED  ]"}[r.Status]
	if r.Status == StatusFailure || r.Status == StatusError {
		g.description(r)
	}
	fmt.Fprintf(g.w, "%s %s (%.2f ms)\n", label, gtestName(r), float64(r.Duration)/float64(time.Millisecond))
}

func (g *gtestOutput) fileEnd(file string, d time.Duration) {
	g.files++
	fmt.Fprintf(g.w, "[----------] %d %s from %s (%.2f ms total)\n\n", g.fileTests, plural(g.fileTests, "test", "tests"),
		file, float64(d)/float64(time.Millisecond))
}

func (g *gtestOutput) finish(rep *Report) error {
	flushLua(g.L)
	g.header()
	var b strings.Builder
	b.WriteString("[----------] Global test environment teardown.\n")
	fmt.Fprintf(&b, "[==========] %d %s from %d test %s ran. (%.2f ms total)\n", g.tests, plural(g.tests, "test", "tests"),
		g.files, plural(g.files, "file", "files"), float64(rep.Duration)/float64(time.Millisecond))
	pass, fail, errs, pend := rep.Counts()
	fmt.Fprintf(&b, "[  PASSED  ] %d %s.\n", pass, plural(pass, "test", "tests"))
	list := func(st Status, label string, n int, noun, nouns string) {
		if n == 0 {
			return
		}
		fmt.Fprintf(&b, "%s %d %s, listed below:\n", label, n, plural(n, noun, nouns))
		for _, r := range rep.Results {
			if r.Status == st {
				fmt.Fprintf(&b, "%s %s\n", label, gtestName(r))
			}
		}
	}
	list(StatusPending, "[ SKIPPED  ]", pend, "test", "tests")
	list(StatusFailure, "[  FAILED  ]", fail, "test", "tests")
	list(StatusError, "[  ERROR   ]", errs, "error", "errors")
	if pend+fail+errs > 0 {
		b.WriteString("\n")
	}
	if pend > 0 {
		fmt.Fprintf(&b, " %d SKIPPED %s\n", pend, plural(pend, "TEST", "TESTS"))
	}
	if fail > 0 {
		fmt.Fprintf(&b, " %d FAILED %s\n", fail, plural(fail, "TEST", "TESTS"))
	}
	if errs > 0 {
		fmt.Fprintf(&b, " %d %s\n", errs, plural(errs, "ERROR", "ERRORS"))
	}
	b.WriteString(rep.Summary() + "\n")
	_, err := io.WriteString(g.w, b.String())
	return err
}

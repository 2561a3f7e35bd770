package spec

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// output receives results as they come and writes the report at the end.
// Every output ends with Report.Summary on a line of its own, on stdout, or
// on stderr when stdout carries a JUnit or JSON document.
type output interface {
	fileStart(file string)                // a spec file is about to run
	testStart(r Result)                   // a test begins (Name, File, Line set)
	result(r Result)                      // a test ended, or an error not tied to a test
	fileEnd(file string, d time.Duration) // the spec file has run
	finish(rep *Report) error
}

// quiet gives an output the events it ignores.
type quiet struct{}

func (quiet) fileStart(string)              {}
func (quiet) testStart(Result)              {}
func (quiet) fileEnd(string, time.Duration) {}

func newOutput(L *lua.LState, o *Options) (output, error) {
	plain := plainOutput{L: L, w: o.Stdout, verbose: o.Verbose}
	switch strings.ToLower(o.Output) {
	case "", "plain", "plainterminal", "utfterminal", "terminal":
		return &plain, nil
	case "tap":
		return &tapOutput{w: o.Stdout, verbose: o.Verbose}, nil
	case "junit":
		return &docOutput{plain: plain, file: o.OutputFile, stdout: o.Stdout, stderr: o.Stderr,
			kind: "JUnit", render: junitXML}, nil
	case "json":
		return &docOutput{plain: plain, file: o.OutputFile, stdout: o.Stdout, stderr: o.Stderr,
			kind: "JSON", render: jsonReport}, nil
	case "gtest":
		return &gtestOutput{L: L, w: o.Stdout, verbose: o.Verbose}, nil
	}
	return nil, fmt.Errorf("unknown output %q (plain, TAP, junit, json or gtest)", o.Output)
}

// plainOutput prints one character per test (+ success, - failure,
// * error, . pending), then the details of every pending test, failure and
// error, busted's count line and the summary line.
type plainOutput struct {
	quiet
	L       *lua.LState
	w       io.Writer
	verbose bool
	col     int
	note    string // printed before the count lines (JUnit file)
}

func (p *plainOutput) result(r Result) {
	flushLua(p.L)
	c := map[Status]string{StatusSuccess: "+", StatusFailure: "-", StatusError: "*", StatusPending: "."}[r.Status]
	fmt.Fprint(p.w, c)
	if p.col++; p.col%80 == 0 {
		fmt.Fprintln(p.w)
	}
}

func where(r Result) string {
	if r.File == "" {
		return "(runner)"
	}
	if r.Line > 0 {
		return fmt.Sprintf("%s @ %d", r.File, r.Line)
	}
	return r.File
}

func (p *plainOutput) finish(rep *Report) error {
	flushLua(p.L)
	w := bufio.NewWriter(p.w)
	fmt.Fprintln(w)
	pass, fail, errs, pend := rep.Counts()
	for _, st := range []Status{StatusPending, StatusFailure, StatusError} {
		label := map[Status]string{StatusPending: "Pending", StatusFailure: "Failure", StatusError: "Error"}[st]
		for _, r := range rep.Results {
			if r.Status != st {
				continue
			}
			fmt.Fprintf(w, "\n%s -> %s\n%s\n", label, where(r), r.Name)
			if r.Message != "" {
				fmt.Fprintln(w, r.Message)
			}
			if p.verbose && r.Trace != "" {
				fmt.Fprintln(w, r.Trace)
			}
		}
	}
	if p.note != "" {
		fmt.Fprintf(w, "\n%s\n", p.note)
	}
	fmt.Fprintf(w, "\n%d %s / %d %s / %d %s / %d pending : %.6f seconds\n",
		pass, plural(pass, "success", "successes"), fail, plural(fail, "failure", "failures"),
		errs, plural(errs, "error", "errors"), pend, rep.Duration.Seconds())
	fmt.Fprintln(w, rep.Summary())
	return w.Flush()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// tapOutput writes busted 2.0's TAP layout at the end of the run: the plan,
// the successes, then failures and errors with their location and message
// as comments, then pending tests as skipped.
type tapOutput struct {
	quiet
	w       io.Writer
	verbose bool
}

func (t *tapOutput) result(Result) {}

func (t *tapOutput) finish(rep *Report) error {
	w := bufio.NewWriter(t.w)
	fmt.Fprintf(w, "1..%d\n", len(rep.Results))
	k := 0
	for _, r := range rep.Results {
		if r.Status == StatusSuccess {
			k++
			fmt.Fprintf(w, "ok %d - %s\n", k, oneLine(r.Name))
		}
	}
	for _, st := range []Status{StatusFailure, StatusError} {
		for _, r := range rep.Results {
			if r.Status != st {
				continue
			}
			k++
			fmt.Fprintf(w, "not ok %d - %s\n", k, oneLine(r.Name))
			fmt.Fprintf(w, "# %s\n", where(r))
			msg := strings.ReplaceAll(strings.TrimRight(r.Message, "\n"), "\n", "\n# ")
			fmt.Fprintf(w, "# Failure message: %s\n", msg)
			if t.verbose && r.Trace != "" {
				fmt.Fprintf(w, "# %s\n", strings.ReplaceAll(r.Trace, "\n", "\n# "))
			}
		}
	}
	for _, r := range rep.Results {
		if r.Status == StatusPending {
			k++
			fmt.Fprintf(w, "ok %d - %s # SKIP %s\n", k, oneLine(r.Name), oneLine(r.Message))
		}
	}
	fmt.Fprintln(w, rep.Summary())
	return w.Flush()
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// docOutput is -o junit and -o json: as busted, the document goes to
// stdout (the summary line then to stderr); with --output-file (-Xoutput)
// it goes to that file and stdout gets the plain report.
type docOutput struct {
	plain          plainOutput
	file           string
	stdout, stderr io.Writer
	kind           string // JUnit or JSON, for messages
	render         func(*Report) ([]byte, error)
}

func (d *docOutput) fileStart(string)              {}
func (d *docOutput) testStart(Result)              {}
func (d *docOutput) fileEnd(string, time.Duration) {}

func (d *docOutput) result(r Result) {
	if d.file != "" {
		d.plain.result(r)
	}
}

func (d *docOutput) finish(rep *Report) error {
	data, err := d.render(rep)
	if d.file == "" {
		flushLua(d.plain.L)
		if err == nil {
			_, err = d.stdout.Write(data)
		}
		fmt.Fprintln(d.stderr, rep.Summary())
		return err
	}
	if err == nil {
		err = os.WriteFile(d.file, data, 0o644)
	}
	if err != nil {
		err = fmt.Errorf("cannot write %s report: %w", d.kind, err)
		d.plain.note = "ljdns test: " + err.Error()
	} else {
		d.plain.note = d.kind + " report written to " + d.file
	}
	if ferr := d.plain.finish(rep); err == nil {
		err = ferr
	}
	return err
}

package spec

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// output receives results as they come and writes the report at the end.
// Every output ends with Report.Summary on a line of its own.
type output interface {
	result(r Result)
	finish(rep *Report) error
}

// defaultJUnitFile is where -o junit writes its XML without --output-file.
const defaultJUnitFile = "report.xml"

func newOutput(L *lua.LState, o *Options) (output, error) {
	switch strings.ToLower(o.Output) {
	case "", "plain", "plainterminal", "utfterminal", "terminal":
		return &plainOutput{L: L, w: o.Stdout, verbose: o.Verbose}, nil
	case "tap":
		return &tapOutput{w: o.Stdout, verbose: o.Verbose}, nil
	case "junit":
		file := o.OutputFile
		if file == "" {
			file = defaultJUnitFile
		}
		return &junitOutput{plain: plainOutput{L: L, w: o.Stdout, verbose: o.Verbose}, file: file}, nil
	}
	return nil, fmt.Errorf("unknown output %q (plain, TAP or junit)", o.Output)
}

// plainOutput prints one character per test (+ success, - failure,
// * error, . pending), then the details of every pending test, failure and
// error, busted's count line and the summary line.
type plainOutput struct {
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

// junitOutput prints the plain report and writes JUnit XML (one testsuite
// per spec file) to its file.
type junitOutput struct {
	plain plainOutput
	file  string
}

func (j *junitOutput) result(r Result) { j.plain.result(r) }

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

func secs(d float64) string { return fmt.Sprintf("%.6f", d) }

// junitXML renders rep as a JUnit document.
func junitXML(rep *Report) ([]byte, error) {
	doc := junitSuites{Name: "ljdns test", Time: secs(rep.Duration.Seconds())}
	index := map[string]int{}
	for _, r := range rep.Results {
		file := r.File
		if file == "" {
			file = "(runner)"
		}
		i, ok := index[file]
		if !ok {
			i = len(doc.Suites)
			index[file] = i
			doc.Suites = append(doc.Suites, junitSuite{Name: file})
		}
		s := &doc.Suites[i]
		c := junitCase{Classname: file, Name: r.Name, File: r.File, Line: r.Line, Time: secs(r.Duration.Seconds())}
		first := r.Message
		if n := strings.IndexByte(first, '\n'); n >= 0 {
			first = first[:n]
		}
		body := r.Message
		if r.Trace != "" {
			body += "\n" + r.Trace
		}
		switch r.Status {
		case StatusFailure:
			c.Failure = &junitProblem{Message: first, Type: "failure", Body: body}
			s.Failures++
			doc.Failures++
		case StatusError:
			c.Error = &junitProblem{Message: first, Type: "error", Body: body}
			s.Errors++
			doc.Errors++
		case StatusPending:
			c.Skipped = &junitProblem{Message: r.Message}
			s.Skipped++
			doc.Skipped++
		}
		s.Tests++
		doc.Tests++
		s.Cases = append(s.Cases, c)
	}
	for i := range doc.Suites {
		var t float64
		for _, c := range doc.Suites[i].Cases {
			var f float64
			fmt.Sscan(c.Time, &f)
			t += f
		}
		doc.Suites[i].Time = secs(t)
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

func (j *junitOutput) finish(rep *Report) error {
	data, err := junitXML(rep)
	if err == nil {
		err = os.WriteFile(j.file, data, 0o644)
	}
	if err != nil {
		err = fmt.Errorf("cannot write JUnit report: %w", err)
		j.plain.note = "ljdns test: " + err.Error()
	} else {
		j.plain.note = "JUnit report written to " + j.file
	}
	if ferr := j.plain.finish(rep); err == nil {
		err = ferr
	}
	return err
}

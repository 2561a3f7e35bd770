package spec

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// junitXML renders rep as busted's JUnit handler does: one <testsuites>
// holding one <testsuite name="Run 1 of 1">, a <testcase> per test with
// classname "file:line" and the full name, <failure>, <error> or <skipped>
// holding the message (and traceback), and an <error> directly in the
// suite for each error not tied to a test. Tab indentation, no XML
// declaration, times in seconds with two decimals.
func junitXML(rep *Report) ([]byte, error) {
	var tests, failures, errors, skipped int
	var cases bytes.Buffer
	for _, r := range rep.Results {
		body := r.Message
		if r.Trace != "" {
			body += "\n" + r.Trace
		}
		if !r.Test {
			// not a test: a file that cannot load, a failing teardown, ...
			errors++
			fmt.Fprintf(&cases, "\t\t<error>%s</error>\n", xmlText(r.Name+": "+body))
			continue
		}
		tests++
		fmt.Fprintf(&cases, "\t\t<testcase classname=\"%s\" name=\"%s\" time=\"%s\"",
			xmlAttr(fmt.Sprintf("%s:%d", r.File, r.Line)), xmlAttr(r.Name), twoDecimals(r.Duration))
		tag := ""
		switch r.Status {
		case StatusFailure:
			tag = "failure"
			failures++
		case StatusError:
			tag = "error"
			errors++
		case StatusPending:
			tag = "skipped"
			skipped++
		}
		if tag == "" {
			cases.WriteString("/>\n")
			continue
		}
		fmt.Fprintf(&cases, ">\n\t\t\t<%s>%s</%s>\n\t\t</testcase>\n", tag, xmlText(body), tag)
	}
	var b bytes.Buffer
	counts := fmt.Sprintf(`tests="%d" errors="%d" failures="%d" skip="%d"`, tests, errors, failures, skipped)
	fmt.Fprintf(&b, "<testsuites %s time=\"%s\">\n", counts, twoDecimals(rep.Duration))
	fmt.Fprintf(&b, "\t<testsuite name=\"Run 1 of 1\" %s timestamp=\"%s\" time=\"%s\">\n", counts,
		time.Now().Add(-rep.Duration).UTC().Format("2006-01-02T15:04:05"), twoDecimals(rep.Duration))
	b.Write(cases.Bytes())
	b.WriteString("\t</testsuite>\n</testsuites>\n")
	return b.Bytes(), nil
}

func twoDecimals(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

// xmlText escapes s for element text: markup characters become entities,
// and what XML 1.0 cannot carry (control characters, invalid UTF-8, as in
// messages quoting wire data) becomes U+FFFD.
func xmlText(s string) string { return xmlEscape(s, false) }

// xmlAttr escapes s for a double-quoted attribute value.
func xmlAttr(s string) string { return xmlEscape(s, true) }

func xmlEscape(s string, attr bool) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case (r == '\n' || r == '\r' || r == '\t') && attr:
			fmt.Fprintf(&b, "&#x%X;", r)
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

package scripts

// zq_test.go: zq's JSON output streams; filters know every type and
// ignore the case of owner names; a filter that begins with a type name
// is an error; the help's examples survive the shell (issue 11 item 15).

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestZqJSONStreams: with -f json, records come out while the zone is
// still being read (the old sink built the whole array in memory first,
// which was also quadratic), and the array is complete valid JSON.
func TestZqJSONStreams(t *testing.T) {
	dir := t.TempDir()
	zone, err := os.ReadFile(genZone(t, dir, 20000, "stream.example."))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), safetyTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ljdnsBin, "zq", "-f", "json", "-")
	cmd.Dir = repoRoot
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	// Send the whole zone but keep standard input open: a streaming zq
	// prints (most of) it before it sees the end of its input. (Without
	// streaming, the read below waits until the safety timeout.)
	written := make(chan error, 1)
	go func() {
		_, err := stdin.Write(zone)
		written <- err
	}()
	out := bufio.NewReader(stdout)
	head := make([]byte, 64<<10)
	if _, err := io.ReadFull(out, head); err != nil {
		t.Fatalf("no output while standard input is open: %v", err)
	}
	var rest []byte
	read := make(chan error, 1)
	go func() {
		var err error
		rest, err = io.ReadAll(out)
		read <- err
	}()
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		Name string `json:"name"`
		Type int    `json:"type"`
		TTL  int    `json:"TTL"`
		Data string `json:"data"`
	}
	if err := json.Unmarshal(append(head, rest...), &recs); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if len(recs) != 20000 || recs[0].Type != 6 || recs[0].Name != "stream.example." {
		t.Errorf("%d records, first %+v", len(recs), recs[0])
	}
}

// TestZqTypesAndCase: every type miekg/dns knows and TYPEnnn filter by
// type, in JSON as in text; owner filters ignore case.
func TestZqTypesAndCase(t *testing.T) {
	zone := typesZone()
	count := func(args ...string) int {
		t.Helper()
		r := ljdns(t, append(append([]string{"zq"}, args...), zone)...)
		mustOK(t, r, strings.Join(args, " "))
		return strings.Count(r.stdout, "\n")
	}
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"CAA"}, 2},
		{[]string{"TYPE257"}, 2},
		{[]string{"type=HTTPS"}, 1},
		{[]string{"SVCB"}, 1},
		{[]string{"TLSA"}, 1},
		{[]string{"URI"}, 1},
		{[]string{"TYPE65534"}, 1},
		{[]string{"type>=TYPE257"}, 3}, // CAA (257) x2, TYPE65534
		{[]string{`CAA(0 issue "ca.example.net")`}, 1},
		{[]string{"TYPES.Example"}, 10},
		{[]string{"owner=NS1.types.EXAMPLE", "A"}, 1},
		{[]string{"owner~=TYPES.EXAMPLE"}, 4},
		{[]string{"*.TYPES.example", "type=DS"}, 1},
	}
	for _, c := range cases {
		if got := count(c.args...); got != c.want {
			t.Errorf("zq %v: %d records, want %d", c.args, got, c.want)
		}
		r := ljdns(t, append(append([]string{"zq", "-f", "json"}, c.args...), zone)...)
		var recs []map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil || len(recs) != c.want {
			t.Errorf("zq -f json %v: %d records (%v)\n%s", c.args, len(recs), err, r.stdout)
		}
	}
}

// TestZqTypeNameFilters: a filter that begins with a type name but is no
// type filter, or a type name in lowercase, is an error naming the fix.
func TestZqTypeNameFilters(t *testing.T) {
	zone := filepath.Join(zonesDir(), "example.com.zone")
	for _, f := range []string{"MX.example.com", "A.b", "soa", "caa", "NS.x(1)"} {
		r := ljdns(t, "zq", f, zone)
		oneLine(t, r, "zq: ")
		if r.code != 1 || !strings.Contains(r.stderr, "owner="+f) {
			t.Errorf("zq %s: exit %d, %q", f, r.code, r.stderr)
		}
	}
	// The forms the message suggests work.
	for _, f := range []string{"owner=MX.example.com", "owner=soa", "MX", "MX(10 mail.example.com)", "type=MX"} {
		mustOK(t, ljdns(t, "zq", f, zone), "zq "+f)
	}
}

// TestZqHelpQuoted: the filters and command lines the help shows reach zq
// unchanged through sh, even where a file matches a glob pattern.
func TestZqHelpQuoted(t *testing.T) {
	needBins(t, "sh")
	r := ljdns(t, "zq", "--help")
	mustOK(t, r, "zq --help")
	dir := t.TempDir()
	for _, f := range []string{"x.cz", "x.example.com", "=300", "=3600"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	section := ""
	checked := 0
	word := regexp.MustCompile(`^  ('[^']*'|\S+)`)
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " ") {
			section = line
			continue
		}
		var text string
		switch {
		case section == "Example filters:":
			m := word.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			text = m[1]
		case section == "Examples:" && strings.HasPrefix(line, "  zq "):
			text = strings.TrimPrefix(line, "  zq ")
		default:
			continue
		}
		// What the shell passes, against the words as written.
		cmd := exec.Command("sh", "-c", `for a in `+text+`; do printf '%s\n' "$a"; done`)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sh: %q: %v", text, err)
		}
		var want []string
		for _, w := range regexp.MustCompile(`'[^']*'|\S+`).FindAllString(text, -1) {
			want = append(want, strings.Trim(w, "'"))
		}
		if got := strings.TrimSuffix(string(out), "\n"); got != strings.Join(want, "\n") {
			t.Errorf("help line %q: the shell passes\n%s", line, got)
		}
		checked++
	}
	if checked < 10 {
		t.Errorf("only %d example lines found:\n%s", checked, r.stdout)
	}
}

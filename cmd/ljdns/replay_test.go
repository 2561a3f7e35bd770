package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ljdns/resolver/replay"
)

const replayScenario = `stub-addr: 192.0.2.1
query-minimization: off
CONFIG_END
SCENARIO_BEGIN the root answers
RANGE_BEGIN 0 100
	ADDRESS 192.0.2.1
ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id
REPLY QR AA NOERROR
SECTION QUESTION
. IN NS
SECTION ANSWER
. IN NS k.root-servers.net.
SECTION ADDITIONAL
k.root-servers.net. IN A 192.0.2.1
ENTRY_END
ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id
REPLY QR AA NOERROR
SECTION QUESTION
www.example. IN A
SECTION ANSWER
www.example. IN A 10.0.0.1
ENTRY_END
RANGE_END
STEP 1 QUERY
ENTRY_BEGIN
REPLY RD
SECTION QUESTION
www.example. IN A
ENTRY_END
STEP 2 CHECK_ANSWER
ENTRY_BEGIN
MATCH all
REPLY QR RD RA NOERROR
SECTION QUESTION
www.example. IN A
SECTION ANSWER
www.example. IN A 10.0.0.1
ENTRY_END
SCENARIO_END
`

// TestReplayCommand runs `ljdns replay` on a passing, a failing, a
// malformed and a skip-listed scenario.
func TestReplayCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.rpl", replayScenario)
	bad := write("bad.rpl", strings.Replace(replayScenario, "www.example. IN A 10.0.0.1\nENTRY_END\nSCENARIO_END", "www.example. IN A 10.0.0.2\nENTRY_END\nSCENARIO_END", 1))
	broken := write("broken.rpl", "stub-addr: 192.0.2.1\nCONFIG_END\nSCENARIO_BEGIN x\nSTEP 1 BOGUS\n")
	// a skipped scenario: the first of skip.txt's names or, with the list
	// empty, a scenario of an unsupported feature
	skipName, skipWhy := "unsupported.rpl", "unsupported: features no_such_feature"
	skipText := strings.Replace(replayScenario, "query-minimization: off", "query-minimization: off\nfeatures: no_such_feature = 1", 1)
	if list := replay.SkipList(); len(list) > 0 {
		names := slices.Sorted(maps.Keys(list))
		skipName, skipWhy, skipText = names[0], list[names[0]], replayScenario
	}
	skipped := write(skipName, skipText)

	var out, errb bytes.Buffer
	if rc := replayMain([]string{good, skipped}, &out, &errb); rc != 0 {
		t.Fatalf("exit %d\n%s%s", rc, out.String(), errb.String())
	}
	want := "PASS " + good + "\nSKIP " + skipped + ": " + skipWhy + "\n"
	if !strings.HasPrefix(out.String(), want) || !strings.HasSuffix(out.String(), "\n1 passed, 0 failed, 1 skipped\n") {
		t.Errorf("got\n%s\nwant %q... and the counts", out.String(), want)
	}
	out.Reset()
	if rc := replayMain([]string{good, bad, broken}, &out, &errb); rc != 1 {
		t.Errorf("exit %d with failures, want 1", rc)
	}
	for _, w := range []string{
		"FAIL " + bad + ": step 2 (line 34): answer: expected [www.example. 3600 A 10.0.0.2], got [www.example. 3600 A 10.0.0.1]",
		"FAIL " + broken + ": " + broken + ":4: unknown STEP type \"BOGUS\"",
		"1 passed, 2 failed, 0 skipped\n",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	if rc := replayMain(nil, &out, &errb); rc != 2 || !strings.Contains(errb.String(), "usage: ljdns replay") {
		t.Errorf("no file: exit %d, %q", rc, errb.String())
	}
}

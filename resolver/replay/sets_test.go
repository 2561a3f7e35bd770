package replay

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// knownFailures reads known_failures.txt: the scenarios our resolver fails
// today ("file.rpl finding" a line), each a finding sent to the resolver's
// owner.
func knownFailures(t *testing.T) map[string]string {
	f, err := os.Open("known_failures.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, why, _ := strings.Cut(line, " ")
		m[name] = why
	}
	return m
}

// TestDeckardSets plays every shared Deckard scenario against ljdns's
// resolver and logs the pass count. The set is held at its current level:
// a scenario failing that is neither in skip.txt nor in
// known_failures.txt fails the test (a regression), and one of
// known_failures.txt passing is reported so the list is shortened. The
// scenarios run in memory (no sockets) in about a second.
func TestDeckardSets(t *testing.T) {
	files := deckardSets(t)
	known := knownFailures(t)
	r := &Runner{New: NewResolver, Skip: SkipList()}
	var passed, failed, skipped int
	for _, f := range files {
		res := r.RunFile(f)
		name := filepath.Base(f)
		switch res.Status {
		case Pass:
			passed++
			if _, ok := known[name]; ok {
				t.Logf("%s passes now: remove it from known_failures.txt", name)
			}
		case Fail:
			failed++
			if _, ok := known[name]; !ok {
				t.Errorf("%v", res)
			}
		case Skip:
			skipped++
		}
	}
	t.Logf("Deckard scenarios: %d passed, %d failed (known), %d skipped", passed, failed, skipped)
}

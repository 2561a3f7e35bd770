package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"ljdns/resolver/replay"
)

const replayUsage = `usage: ljdns replay [-v] [-noskip] [-timeout D] FILE.rpl...
Runs Deckard scenarios against ljdns's resolver, without sockets: one line per
scenario (PASS, FAIL or SKIP with the reason), then "N passed, N failed, N skipped".
The exit status is 1 when a scenario failed.
`

// runReplay is `ljdns replay`.
func runReplay(args []string) int {
	return replayMain(args, os.Stdout, os.Stderr)
}

func replayMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, replayUsage); fs.PrintDefaults() }
	verbose := fs.Bool("v", false, "trace every upstream query and the entry that answered it")
	noskip := fs.Bool("noskip", false, "run the scenarios of the skip list too")
	timeout := fs.Duration("timeout", 30*time.Second, "real time allowed to one query")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	r := &replay.Runner{New: replay.NewResolver, Skip: replay.SkipList(), Timeout: *timeout}
	if *noskip {
		r.Skip = nil
	}
	if *verbose {
		r.Trace = stdout
	}
	var passed, failed, skipped int
	for _, f := range fs.Args() {
		res := r.RunFile(f)
		fmt.Fprintln(stdout, res)
		switch res.Status {
		case replay.Pass:
			passed++
		case replay.Fail:
			failed++
		default:
			skipped++
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 {
		return 1
	}
	return 0
}

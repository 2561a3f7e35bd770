package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chzyer/readline"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
	"golang.org/x/sys/unix"

	"ljdns/host"
	"ljdns/luabind"
)

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// errInterrupted is the error Lua code sees when Ctrl-C ends a REPL line.
var errInterrupted = errors.New("interrupted")

// origStdin keeps the file object of descriptor 0 alive (its finalizer
// would close descriptor 0) while os.Stdin points at another open of the
// terminal (interruptibleStdin).
var origStdin os.File

// interruptibleStdin makes the terminal Lua reads with io.read() one that
// a read deadline can interrupt, and returns it (nil when standard input
// is not a terminal); restore undoes it.
//
// gopher-lua's io library holds the *os.File os.Stdin pointed to at
// program start; a read on it is a blocking system call on descriptor 0,
// which nothing but input ends. So the object itself is given the file of
// a second, non-blocking open of the same terminal, which Go's poller
// serves. Descriptor 0 is left as it was for readline's terminal modes.
// (os.execute passes os.Stdin to the child, which makes it blocking
// again: after that, Ctrl-C ends an io.read() wait only once a line is in.)
func interruptibleStdin() (tty *os.File, restore func()) {
	if !isTerminal(os.Stdin) {
		return nil, func() {}
	}
	fd, err := unix.Open("/proc/self/fd/0", unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, func() {}
	}
	f := os.NewFile(uintptr(fd), "/dev/stdin")
	origStdin = *os.Stdin
	*os.Stdin = *f
	return os.Stdin, func() { *os.Stdin = origStdin }
}

// repl runs the interactive loop: line editing and history, multi-line
// chunks (an incomplete chunk prompts ">> "), bare expressions and
// "= expr" print their values, Ctrl-C ends the running line (also a wait
// in nb.run() or io.read()), Ctrl-D exits.
func repl(L *lua.LState) int { return replWith(L, func(f func()) { f() }, false) }

// replWith is repl where every use of L runs through exec: `ljdns serve`
// runs them on the goroutine that owns worker 0's state, between the
// requests it serves, while this goroutine waits for input.
// quiet (`ljdns serve -q`) drops the banner and the prompts.
func replWith(L *lua.LState, exec func(func()), quiet bool) int {
	prompt, more := "> ", ">> "
	if quiet {
		prompt, more = "", ""
	}
	home, _ := os.UserHomeDir()
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          prompt,
		HistoryFile:     filepath.Join(home, ".ljdns_history"),
		InterruptPrompt: "^C",
		EOFPrompt:       "",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ljdns: "+err.Error())
		return 1
	}
	defer rl.Close()
	restoreTerm := keepTypeAhead()
	tty, restoreStdin := interruptibleStdin()
	cleanup := func() { restoreStdin(); restoreTerm() }
	defer cleanup()
	var e *evaluator
	exec(func() {
		beforeExit(L, cleanup)
		e = newEvaluator(L, tty)
	})
	defer exec(e.close)
	if !quiet {
		fmt.Println(version)
	}
	var chunk []string
	for {
		if len(chunk) == 0 {
			rl.SetPrompt(prompt)
		} else {
			rl.SetPrompt(more)
		}
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			chunk = nil
			continue
		}
		if errors.Is(err, io.EOF) {
			fmt.Println()
			return 0
		}
		if err != nil {
			return 1
		}
		chunk = append(chunk, line)
		src := strings.Join(chunk, "\n")
		var incomplete bool
		exec(func() {
			var fn *lua.LFunction
			var err error
			fn, incomplete, err = compileREPL(L, src)
			if incomplete {
				return
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err.Error())
				return
			}
			e.eval(fn)
		})
		if incomplete {
			continue
		}
		chunk = nil
	}
}

// beforeExit makes os.exit, which ends the process at once, run cleanup
// (the terminal's settings) first.
func beforeExit(L *lua.LState, cleanup func()) {
	osTable, ok := L.GetGlobal("os").(*lua.LTable)
	if !ok {
		return
	}
	orig, ok := osTable.RawGetString("exit").(*lua.LFunction)
	if !ok {
		return
	}
	osTable.RawSetString("exit", L.NewFunction(func(L *lua.LState) int {
		cleanup()
		L.Insert(orig, 1)
		L.Call(L.GetTop()-1, lua.MultRet)
		return L.GetTop()
	}))
}

// keepTypeAhead sets NOFLSH on the terminal for the REPL's life, so that a
// Ctrl-C does not throw away the lines typed while a chunk runs (readline
// reads them next); it returns the function restoring the terminal.
func keepTypeAhead() func() {
	old, err := unix.IoctlGetTermios(0, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	t := *old
	t.Lflag |= unix.NOFLSH
	unix.IoctlSetTermios(0, unix.TCSETS, &t)
	return func() {
		if cur, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
			cur.Lflag = cur.Lflag&^unix.NOFLSH | old.Lflag&unix.NOFLSH
			unix.IoctlSetTermios(0, unix.TCSETS, cur)
		}
	}
}

// evaluator runs REPL chunks under one luabind.Interrupt, the state's
// context for the whole session: Ctrl-C fires it while a chunk runs, and
// it is reset before the next, so coroutines made on one line keep working
// on the next.
type evaluator struct {
	L       *lua.LState
	tty     *os.File // what io.read() reads, nil when not a terminal
	intr    *luabind.Interrupt
	running atomic.Bool
	sig     chan os.Signal
	done    chan struct{}
}

func newEvaluator(L *lua.LState, tty *os.File) *evaluator {
	e := &evaluator{L: L, tty: tty, intr: luabind.NewInterrupt(), sig: make(chan os.Signal, 1), done: make(chan struct{})}
	L.SetContext(e.intr)
	signal.Notify(e.sig, os.Interrupt)
	go e.watch()
	return e
}

// watch turns SIGINT into an interruption of the running chunk. (While
// readline edits a line the terminal is raw and Ctrl-C is a key instead.)
func (e *evaluator) watch() {
	for {
		select {
		case <-e.sig:
			if e.running.Load() {
				e.intr.Fire(errInterrupted)
				if e.tty != nil {
					e.tty.SetReadDeadline(time.Now()) // ends an io.read() wait
				}
			}
		case <-e.done:
			return
		}
	}
}

func (e *evaluator) close() {
	signal.Stop(e.sig)
	close(e.done)
	e.L.RemoveContext()
}

// eval runs fn and prints its results, its error, or "interrupted".
func (e *evaluator) eval(fn *lua.LFunction) {
	L := e.L
	top := L.GetTop()
	e.running.Store(true)
	err := host.Call(L, fn)
	e.running.Store(false)
	interrupted := e.intr.Err() != nil
	e.intr.Reset()
	if e.tty != nil {
		e.tty.SetReadDeadline(time.Time{})
	}
	host.FlushStdout(L)
	switch {
	case interrupted:
		L.SetTop(top)
		fmt.Fprintln(os.Stderr, "interrupted")
		return
	case err != nil:
		L.SetTop(top)
		fmt.Fprintln(os.Stderr, host.FormatError(err))
		return
	}
	n := L.GetTop() - top
	if n > 0 {
		parts := make([]string, n)
		for i := 0; i < n; i++ {
			parts[i] = host.ToString(L, L.Get(top+1+i))
		}
		fmt.Println(strings.Join(parts, "\t"))
	}
	L.SetTop(top)
}

// compileREPL compiles a REPL chunk: "= expr" and bare expressions are
// tried as "return ...". incomplete reports a chunk that ends too early.
func compileREPL(L *lua.LState, src string) (*lua.LFunction, bool, error) {
	if strings.HasPrefix(src, "=") {
		src = "return " + src[1:]
	}
	if fn, err := host.LoadString(L, "return "+src, "stdin"); err == nil {
		return fn, false, nil
	}
	fn, err := host.LoadString(L, src, "stdin")
	if err != nil {
		if incomplete(src) {
			return nil, true, nil
		}
		return nil, false, err
	}
	return fn, false, nil
}

// incomplete reports whether src fails to parse only because it ends too
// early (an open block, call, table or long string), which is when the
// REPL reads another line. The parser's position says so, never the text
// of its message: a message may quote a token that reads "EOF".
func incomplete(src string) bool {
	_, err := parse.Parse(strings.NewReader(src), "stdin")
	var pe *parse.Error
	if !errors.As(err, &pe) || pe.Pos.Line != parse.EOF {
		return false
	}
	// a short string cannot continue on the next line
	return pe.Message != "unterminated string"
}

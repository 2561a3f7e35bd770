package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/chzyer/readline"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"

	"ljdns/host"
)

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// repl runs the interactive loop: line editing and history, multi-line
// chunks (an incomplete chunk prompts ">> "), bare expressions and
// "= expr" print their values, Ctrl-C cancels the running chunk, Ctrl-D exits.
func repl(L *lua.LState) int {
	home, _ := os.UserHomeDir()
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          "> ",
		HistoryFile:     filepath.Join(home, ".ljdns_history"),
		InterruptPrompt: "^C",
		EOFPrompt:       "",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ljdns: "+err.Error())
		return 1
	}
	defer rl.Close()
	fmt.Println(version)
	var chunk []string
	for {
		if len(chunk) == 0 {
			rl.SetPrompt("> ")
		} else {
			rl.SetPrompt(">> ")
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
		fn, incomplete, err := compileREPL(L, src)
		if incomplete {
			continue
		}
		chunk = nil
		if err != nil {
			fmt.Fprintln(os.Stderr, err.Error())
			continue
		}
		evalREPL(L, fn)
	}
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
		msg := err.Error()
		if strings.Contains(msg, "EOF") || strings.Contains(msg, "<eof>") {
			return nil, true, nil
		}
		return nil, false, err
	}
	return fn, false, nil
}

// evalREPL runs fn under a cancellable context and prints its results.
func evalREPL(L *lua.LState, fn *lua.LFunction) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			cancel()
		case <-done:
		}
	}()
	L.SetContext(ctx)
	top := L.GetTop()
	err := host.Call(L, fn)
	close(done)
	signal.Stop(sig)
	L.RemoveContext()
	cancel()
	host.FlushStdout(L)
	if err != nil {
		L.SetTop(top)
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "interrupted")
			return
		}
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

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"ljdns/daemon"
)

// oneShot runs the daemon the way kresd-query.lua runs kresd: the
// configuration text executed by the Lua configuration environment, no
// listener, no RUNDIR lock, no control socket, no cache snapshot. run is
// called once the server is up; it returns the exit status, or -1 to wait
// for the configuration's quit(code) instead (at most limit). The temporary
// directory holding the generated configuration is removed at the end.
func oneShot(name, config string, verbose bool, limit time.Duration, run func(s *daemon.Server) int) int {
	dir, err := os.MkdirTemp("", "ljdns-"+name+"-*")
	if err != nil {
		fmt.Fprintf(os.Stderr, "ljdns %s: %v\n", name, err)
		return 1
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, name+".conf")
	// hints loaded first: -C may give hints.root{} / hints.root_file()
	if err := os.WriteFile(path, []byte("modules.load('hints > iterate')\n"+config), 0o600); err != nil {
		fmt.Fprintf(os.Stderr, "ljdns %s: %v\n", name, err)
		return 1
	}
	log := daemon.StderrLogger()
	if verbose {
		log.SetLevel(daemon.LevelDebug)
	} else {
		log.SetLevel(daemon.LevelWarning)
	}
	var srv *daemon.Server
	var mu sync.Mutex
	quit := make(chan int, 1)
	o := &serveOptions{Config: path, ConfigExplicit: true, NonInteractive: true, NoRunDir: true, Quiet: true, Verbose: verbose, Workers: 1, Log: log}
	o.Quit = func(code int) {
		select {
		case quit <- code:
		default:
		}
	}
	o.Server = func() *daemon.Server {
		mu.Lock()
		defer mu.Unlock()
		return srv
	}
	o.NewState = newState
	o.Reload = func() error { return errNotRunning }
	if newConfigLoader == nil {
		fmt.Fprintf(os.Stderr, "ljdns %s: this build has no Lua configuration environment\n", name)
		return 1
	}
	loader, err := newConfigLoader(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ljdns %s: %v\n", name, err)
		return 1
	}
	defer loader.Close()
	cfg, err := loader.Load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ljdns %s: %v\n", name, err)
		return 1
	}
	cfg.Listen = nil // an internal resolver: nothing listens
	cfg.Workers = 1
	if cfg.Log == nil {
		cfg.Log = log
	}
	cfg.Verbose = verbose
	s, err := daemon.New(cfg)
	if err == nil {
		err = s.Start()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ljdns %s: %v\n", name, err)
		return 1
	}
	mu.Lock()
	srv = s
	mu.Unlock()
	loader.Attach(s)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	}()
	code := -1
	if run != nil {
		code = run(s)
	}
	if code < 0 {
		select {
		case code = <-quit:
		case <-time.After(limit):
			fmt.Fprintf(os.Stderr, "ljdns %s: no answer within %v\n", name, limit)
			code = 1
		}
	}
	return code
}

// luaQuote returns s as a Lua string literal.
func luaQuote(s string) string {
	b := []byte{'"'}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 32 || c > 126:
			b = append(b, fmt.Sprintf("\\%03d", c)...)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}

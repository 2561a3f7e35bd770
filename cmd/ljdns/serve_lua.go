package main

import (
	"errors"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/luamod/serve"
)

// The Lua configuration environment (luamod/serve) behind `ljdns serve`.
func init() {
	newConfigLoader = func(o *serveOptions) (ConfigLoader, error) {
		rundir := "." // serveMain runs in RUNDIR
		if o.NoRunDir {
			rundir = ""
		}
		return serve.NewLoader(serve.Options{
			Config:         o.Config,
			ConfigExplicit: o.ConfigExplicit,
			Workers:        o.Workers,
			KeyFile:        o.KeyFile,
			CheckConfig:    o.CheckConfig,
			NonInteractive: o.NonInteractive,
			Quiet:          o.Quiet,
			Verbose:        o.Verbose,
			Version:        version,
			RunDir:         rundir,
			Log:            o.Log,
			NewState:       o.NewState,
			REPL:           func(L *lua.LState, exec func(func())) int { return replWith(L, exec, o.Quiet) },
			Reload: func() error {
				if o.Reload == nil {
					return errNotRunning
				}
				return o.Reload()
			},
			Quit:   func(code int) { o.Quit(code) },
			Server: func() *daemon.Server { return o.Server() },
		})
	}
}

// errNotRunning is reload()'s error before the daemon runs.
var errNotRunning = errors.New("the daemon is not running yet")

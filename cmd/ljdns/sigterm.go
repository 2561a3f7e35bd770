package main

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

var termOnce sync.Once

// exitOnTerm makes SIGTERM end the process with status 143 (128+15), as
// the default action ends an ordinary process. The default action does
// nothing to the first process of a PID namespace (a container's PID 1),
// so a server started as that process (`docker run ... ljdns
// examples/server.lua`) would ignore SIGTERM (`docker stop`) until
// SIGKILL; with a handler it exits there too. Output the script has
// buffered is not flushed, as with the default action: the VM belongs to
// another goroutine.
func exitOnTerm() {
	termOnce.Do(func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		go func() {
			<-c
			os.Exit(128 + int(syscall.SIGTERM))
		}()
	})
}

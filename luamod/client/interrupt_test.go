package client_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/host"
	"ljdns/luabind"
)

// A query waiting on an upstream that never answers ends when the state's
// interrupt fires (Ctrl-C in the REPL, ljdns test --timeout), long before
// its own timeout, from the main chunk as from a scheduler coroutine.
func TestQueryInterrupted(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for name, src := range map[string]string{
		"main": `local c = assert(require('dns.client').dgram(addr, {timeout = 60, retries = 0}))
			c:query('www.example.test', 'A')
			error('the query returned')`,
		"coroutine": `local nb = require('dns.nbio')
			local c = assert(require('dns.client').dgram(addr, {timeout = 60, retries = 0}))
			nb.go(function() c:query('www.example.test', 'A') end)
			assert(nb.run())
			error('the query returned')`,
	} {
		t.Run(name, func(t *testing.T) {
			L := host.New(host.Options{})
			defer L.Close()
			i := luabind.NewInterrupt()
			L.SetContext(i)
			L.SetGlobal("addr", lua.LString(pc.LocalAddr().String()))
			fn, err := host.LoadString(L, src, "interrupt")
			if err != nil {
				t.Fatal(err)
			}
			time.AfterFunc(200*time.Millisecond, func() { i.Fire(errors.New("interrupted by the test")) })
			start := time.Now()
			err = host.Call(L, fn)
			if err == nil || !strings.Contains(host.FormatError(err), "interrupted by the test") {
				t.Fatalf("error %v, want the interruption", err)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("the query waited %v: its 60 s timeout, not the interruption", d)
			}
		})
	}
}

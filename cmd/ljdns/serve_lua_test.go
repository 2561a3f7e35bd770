package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// upstreamLayer is a Lua module whose begin asks a loopback UDP server
// with dns.nbio (yielding while it waits) and answers with what it got.
const upstreamLayer = `
local nb = require('dns.nbio')
local dns = require('dns')
local M = {layer = {}, active = 0, max = 0}
function M.layer.begin(state, req)
	local qry = req:current()
	if qry.stype ~= kres.type.A then return state end
	M.active = M.active + 1
	if M.active > M.max then M.max = M.active end
	local s = nb.socket('inet', 'dgram')
	s:settimeout(2000)
	s:connect(UPSTREAM_HOST, UPSTREAM_PORT)
	s:send('ping')
	local got = s:receive()
	s:close()
	M.active = M.active - 1
	local answer = req:ensure_answer()
	answer:rcode(kres.rcode.NOERROR)
	answer:begin(kres.section.ANSWER)
	answer:put(qry.sname, 30, answer:qclass(), kres.type.A, kres.str2ip(got))
	return kres.DONE
end
return M
`

// slowEcho answers each datagram with addr after delay.
func slowEcho(t *testing.T, addr, reply string, delay time.Duration) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			go func() {
				time.Sleep(delay)
				pc.WriteTo([]byte(reply), from)
			}()
		}
	}()
}

// writeConfig writes a configuration and Lua modules into dir.
func writeConfig(t *testing.T, dir, config string, mods map[string]string) {
	t.Helper()
	for n, src := range mods {
		if err := os.WriteFile(filepath.Join(dir, n+".lua"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config = "package.path = '" + dir + "/?.lua;' .. package.path\n" + config
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestServeLuaLayerLive: a Lua layer that waits for a UDP exchange with
// dns.nbio answers over UDP and TCP (kdig); concurrent queries overlap in
// the layer (the worker serves others while one waits); the control
// socket evaluates Lua in worker 0 and returns what it printed.
func TestServeLuaLayerLive(t *testing.T) {
	testnet.Isolate(t)
	dir := t.TempDir()
	slowEcho(t, "127.0.0.9:5300", "192.0.2.44", 100*time.Millisecond)
	writeConfig(t, dir, `
UPSTREAM_HOST, UPSTREAM_PORT = '127.0.0.9', 5300
net.listen('127.0.0.3', 53)
modules.load('fetch')
`, map[string]string{"fetch": upstreamLayer})
	p := startDaemon(t, dir, nil, "-c", "config")
	waitDNS(t, "127.0.0.3:53")
	// the first call waited for I/O on the socket reader: the module's
	// requests move to goroutines of their own (a reload of the layers)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.stderr.String(), "now run on goroutines of their own") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := exec.LookPath("kdig"); err == nil {
		for _, proto := range []string{"+notcp", "+tcp"} {
			out, err := exec.Command("kdig", "@127.0.0.3", proto, "+short", "+timeout=5", "a.example.", "A").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "192.0.2.44" {
				t.Errorf("kdig %s: %q %v", proto, out, err)
			}
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			m := new(dns.Msg)
			m.SetQuestion(fmt.Sprintf("n%d.example.", i), dns.TypeA)
			c := &dns.Client{Timeout: 5 * time.Second}
			r, _, err := c.Exchange(m, "127.0.0.3:53")
			if err != nil || len(r.Answer) != 1 {
				t.Errorf("query %d: %v %v", i, r, err)
			}
		}(i)
	}
	wg.Wait()
	ctl := func(line string) string {
		r := ljdns(t, line+"\n", "serve", "--control", dir)
		return strings.TrimSpace(r.stdout)
	}
	if got := ctl("= fetch.max"); got == "1" || got == "" {
		t.Errorf("at most %q requests in the layer at once, want several (the worker must serve others while one waits)", got)
	}
	if got := ctl("print('hello', worker.id) return 1 + 1"); got != "hello\t0\n2" {
		t.Errorf("control: %q", got)
	}
	if got := ctl("= modules.list()"); !strings.Contains(got, "'fetch'") {
		t.Errorf("modules.list() over the control socket: %q", got)
	}
	if got := ctl("nosuchfunction()"); !strings.HasPrefix(got, "error:") {
		t.Errorf("an error over the control socket: %q", got)
	}
	if !strings.Contains(p.stderr.String(), "now run on goroutines of their own") {
		t.Errorf("the module never switched to goroutines:\n%s", p.stderr.String())
	}
}

// TestServeREPL: on a terminal without -n the REPL evaluates in worker 0
// (script(1) gives the daemon a pty) while the daemon answers; -q drops the
// banner and the prompt.
func TestServeREPL(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "script")
	for _, quiet := range []bool{false, true} {
		dir := t.TempDir()
		writeConfig(t, dir, "net.listen('127.0.0.4', 53)\nrepl_marker = 'cfg-' .. worker.id\n", nil)
		args := binary + " serve -c config ."
		if quiet {
			args = binary + " serve -q -c config ."
		}
		cmd := exec.Command("script", "-qfec", args, "/dev/null")
		cmd.Dir = dir
		stdin, _ := cmd.StdinPipe()
		var out lockedBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitDNS(t, "127.0.0.4:53")
		fmt.Fprintf(stdin, "= repl_marker .. '/' .. worker.count\n")
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), "cfg-0/1") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(out.String(), "cfg-0/1") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("REPL output:\n%s", out.String())
		}
		if banner := strings.Contains(out.String(), version); banner == quiet {
			t.Errorf("quiet %v: banner shown %v:\n%s", quiet, banner, out.String())
		}
		// the daemon answers while the REPL waits for input
		waitDNS(t, "127.0.0.4:53")
		fmt.Fprintf(stdin, "quit()\n")
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("quit() did not stop the daemon:\n%s", out.String())
		}
	}
}

// loopLayer loops forever for names starting with "loop".
const loopLayer = `
local M = {layer = {}}
function M.layer.begin(state, req)
	local qry = req:current()
	if qry.sname:sub(2, 5) == 'loop' then while true do end end
	local answer = req:ensure_answer()
	answer:begin(kres.section.ANSWER)
	answer:put(qry.sname, 30, 1, kres.type.A, kres.str2ip('192.0.2.1'))
	return kres.DONE
end
return M
`

// TestServeLuaLayerLoops: a layer that loops is stopped by the Lua CPU
// budget (SERVFAIL with an extended error) while other queries flow, over
// UDP and TCP, and the daemon keeps answering afterwards.
func TestServeLuaLayerLoops(t *testing.T) {
	testnet.Isolate(t)
	dir := t.TempDir()
	writeConfig(t, dir, "net.listen('127.0.0.5', 53)\nworker.lua_budget(50)\nmodules.load('spin')\n", map[string]string{"spin": loopLayer})
	startDaemon(t, dir, nil, "-c", "config")
	waitDNS(t, "127.0.0.5:53")
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		for _, proto := range []string{"udp", "tcp"} {
			wg.Add(1)
			go func(i int, proto string) {
				defer wg.Done()
				name := fmt.Sprintf("ok%d.example.", i)
				if i%3 == 0 {
					name = fmt.Sprintf("loop%d.example.", i)
				}
				m := new(dns.Msg)
				m.SetQuestion(name, dns.TypeA)
				m.SetEdns0(1232, false)
				c := &dns.Client{Net: proto, Timeout: 5 * time.Second}
				r, _, err := c.Exchange(m, "127.0.0.5:53")
				if err != nil {
					t.Errorf("%s over %s: %v", name, proto, err)
					return
				}
				if strings.HasPrefix(name, "loop") {
					if r.Rcode != dns.RcodeServerFailure {
						t.Errorf("%s over %s: rcode %d, want SERVFAIL", name, proto, r.Rcode)
					}
				} else if len(r.Answer) != 1 {
					t.Errorf("%s over %s: %v", name, proto, r)
				}
			}(i, proto)
		}
	}
	wg.Wait()
	if r := waitDNS(t, "127.0.0.5:53"); len(r.Answer) != 1 {
		t.Errorf("after the loops: %v", r)
	}
}

// phasesLayer records every layer function's call; consume rewrites the
// TTL check into a TXT of what it saw.
const phasesLayer = `
local M = {layer = {}, seen = {}}
local function note(name) M.seen[name] = (M.seen[name] or 0) + 1 end
function M.layer.begin(state, req) note('begin') return state end
function M.layer.produce(state, req, pkt) note('produce') M.qname = kres.dname2str(pkt:qname()) return state end
function M.layer.checkout(state, req, pkt, dst, tcp) note('checkout') M.dst = dst return state end
function M.layer.consume(state, req, pkt)
	note('consume')
	M.upstream_rcode = pkt:rcode()
	M.upstream_answers = pkt:ancount()
	return state
end
function M.layer.finish(state, req) note('finish') return state end
function M.layer.answer_finalize(state, req) note('answer_finalize') return state end
return M
`

// TestServeLuaLayerPhases: with policy.FORWARD, a Lua module's produce,
// checkout and consume see the upstream query and answer; every phase
// runs once per query.
func TestServeLuaLayerPhases(t *testing.T) {
	testnet.Isolate(t)
	up := &dns.Server{Addr: "127.0.0.9:5301", Net: "udp", Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN A 192.0.2.77")
		m.Answer = append(m.Answer, rr)
		w.WriteMsg(m)
	})}
	ready := make(chan struct{})
	up.NotifyStartedFunc = func() { close(ready) }
	go up.ListenAndServe()
	<-ready
	defer up.Shutdown()
	dir := t.TempDir()
	writeConfig(t, dir, `
net.listen('127.0.0.6', 53)
option('ALLOW_LOCAL', true)
modules.load('phases')
policy.add(policy.all(policy.FORWARD('127.0.0.9@5301')))
`, map[string]string{"phases": phasesLayer})
	startDaemon(t, dir, nil, "-c", "config")
	m := new(dns.Msg)
	m.SetQuestion("fwd.example.", dns.TypeA)
	c := &dns.Client{Timeout: 5 * time.Second}
	var r *dns.Msg
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, _, err = c.Exchange(m, "127.0.0.6:53")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || len(r.Answer) != 1 {
		t.Fatalf("forwarded answer: %v %v", r, err)
	}
	ctl := func(line string) string {
		return strings.TrimSpace(ljdns(t, line+"\n", "serve", "--control", dir).stdout)
	}
	for expr, want := range map[string]string{
		"= phases.qname":                "fwd.example.",
		"= phases.dst":                  "127.0.0.9:5301",
		"= phases.upstream_rcode":       "0",
		"= phases.upstream_answers":     "1",
		"= phases.seen.produce":         "1",
		"= phases.seen.consume":         "1",
		"= phases.seen.answer_finalize": "1",
	} {
		if got := ctl(expr); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
}

// TestServeReloadAfterUser: after user() dropped privileges, a reload
// keeps the privileged port it already has (the configuration's
// net.listen of it does not fail on the address being taken).
func TestServeReloadAfterUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop privileges")
	}
	testnet.Isolate(t)
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	writeConfig(t, dir, "net.listen('127.0.0.7', 53)\nuser('nobody')\n", nil)
	os.Chmod(filepath.Join(dir, "config"), 0o644)
	os.Mkdir(filepath.Join(dir, "control"), 0o777)
	p := startDaemon(t, dir, nil, "-c", "config")
	waitDNS(t, "127.0.0.7:53")
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.stderr.String(), "configuration reloaded") && !strings.Contains(p.stderr.String(), "reload failed") &&
		time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(p.stderr.String(), "configuration reloaded") {
		t.Fatalf("reload after user():\n%s", p.stderr.String())
	}
	waitDNS(t, "127.0.0.7:53")
}

// TestServeWorkersMap: -f 2 runs two states; map() over the control
// socket (worker 0) evaluates in both.
func TestServeWorkersMap(t *testing.T) {
	testnet.Isolate(t)
	dir := t.TempDir()
	writeConfig(t, dir, "net.listen('127.0.0.8', 53)\nborn = 'w' .. worker.id\n", nil)
	startDaemon(t, dir, nil, "-c", "config", "-f", "2")
	waitDNS(t, "127.0.0.8:53")
	r := ljdns(t, "= table.concat(map('born'), ',') .. ' ' .. worker.count\n", "serve", "--control", dir)
	if got := strings.TrimSpace(r.stdout); got != "w0,w1 2" {
		t.Errorf("map over two workers: %q", got)
	}
}

// TestServeExampleConfig runs examples/serve (a configuration with a Lua
// module that waits on dns.client) against a loopback upstream.
func TestServeExampleConfig(t *testing.T) {
	testnet.Isolate(t)
	up := &dns.Server{Addr: "127.0.0.9:5302", Net: "udp", Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN A 192.0.2.55")
		if q.Question[0].Qtype == dns.TypeSOA {
			rr, _ = dns.NewRR(". 60 IN SOA a. b. 7 1 1 1 1")
		}
		m.Answer = append(m.Answer, rr)
		w.WriteMsg(m)
	})}
	ready := make(chan struct{})
	up.NotifyStartedFunc = func() { close(ready) }
	go up.ListenAndServe()
	<-ready
	defer up.Shutdown()
	ex, _ := filepath.Abs("../../examples/serve")
	dir := t.TempDir()
	startDaemon(t, dir, []string{"UPSTREAM=127.0.0.9@5302", "RUNDIR=" + ex}, "-c", filepath.Join(ex, "config"))
	waitDNS(t, "127.0.0.1:5353")
	c := &dns.Client{Timeout: 5 * time.Second}
	for name, want := range map[string]string{"whoami.example.": "via worker 0", "time.example.": "upstream rcode 0"} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeTXT)
		r, _, err := c.Exchange(m, "127.0.0.1:5353")
		if err != nil || len(r.Answer) != 1 || !strings.Contains(r.Answer[0].String(), want) {
			t.Errorf("%s: %v %v, want %q", name, r, err, want)
		}
	}
	m := new(dns.Msg)
	m.SetQuestion("www.example.", dns.TypeA)
	if r, _, err := c.Exchange(m, "127.0.0.1:5353"); err != nil || len(r.Answer) != 1 {
		t.Errorf("forwarded: %v %v", r, err)
	}
	m.SetQuestion("x.blocked.example.", dns.TypeA)
	if r, _, err := c.Exchange(m, "127.0.0.1:5353"); err != nil || r.Rcode != dns.RcodeNameError {
		t.Errorf("blocked: %v %v", r, err)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// TestServeStatusPageChromium loads the http module's status page of a
// running `ljdns serve` (a caching forwarder under a steady trickle of
// queries) in headless Chromium from Debian: the page's script fetched the
// counters (its status line counts answers), and a screenshot is taken
// (LJDNS_SCREENSHOT=<file.png> keeps it). Behind LJDNS_CHROMIUM=1 (a
// browser is heavy on a shared machine); skipped without chromium:
//
//	LJDNS_SCREENSHOT=/tmp/status.png go test -count=1 -run StatusPageChromium -v ./cmd/ljdns/
func TestServeStatusPageChromium(t *testing.T) {
	if os.Getenv("LJDNS_SCREENSHOT") == "" && os.Getenv("LJDNS_CHROMIUM") == "" {
		t.Skip("set LJDNS_CHROMIUM=1 (or LJDNS_SCREENSHOT=<file.png>) to check the status page in headless Chromium")
	}
	testnet.Isolate(t)
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (Debian package chromium)")
	}
	pc, err := net.ListenPacket("udp", "127.0.0.9:53")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() { // the upstream: answers after 2 ms (an RTT to chart)
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil || len(q.Question) != 1 {
				continue
			}
			a := new(dns.Msg)
			a.SetReply(q)
			rr, _ := dns.NewRR(q.Question[0].Name + " 2 IN A 192.0.2.44")
			a.Answer = append(a.Answer, rr)
			out, _ := a.Pack()
			time.Sleep(2 * time.Millisecond)
			pc.WriteTo(out, from)
		}
	}()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config"), []byte(`net.listen('127.0.0.6', 53)
net.listen('127.0.0.6', 8453, {kind = 'webmgmt'})
modules = {'stats', 'http'}
http.config({tls = false})
policy.add(policy.all(policy.FORWARD('127.0.0.9')))
`), 0o644)
	startDaemon(t, dir, []string{"LJDNS_OUTGOING_ALLOW=" + testnet.OutgoingAllow}, "-c", "config")
	waitDNS(t, "127.0.0.6:53")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // a trickle of queries: some cached, some new
		c := &dns.Client{Timeout: time.Second}
		for i := 0; ctx.Err() == nil; i++ {
			m := new(dns.Msg)
			m.SetQuestion(fmt.Sprintf("n%d.example.", i%40), dns.TypeA)
			c.Exchange(m, "127.0.0.6:53")
			time.Sleep(5 * time.Millisecond)
		}
	}()
	time.Sleep(2 * time.Second)
	shot := os.Getenv("LJDNS_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "status.png")
	}
	home := t.TempDir()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + filepath.Join(home, "profile"), "--window-size=1280,900", "--virtual-time-budget=6000"}
	run := func(extra ...string) []byte {
		cctx, ccancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer ccancel()
		cmd := exec.CommandContext(cctx, chromium, append(append(args, extra...), "http://127.0.0.6:8453/")...)
		cmd.Env = append(os.Environ(), "HOME="+home)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
		}
		return out
	}
	dom := string(run("--dump-dom"))
	if !strings.Contains(dom, "<canvas id=\"qps\"") || !strings.Contains(dom, " answers</span>") {
		t.Fatalf("the status page in Chromium did not show the counters:\n%.2000s", dom)
	}
	run("--screenshot=" + shot)
	st, err := os.Stat(shot)
	if err != nil || st.Size() < 10000 {
		t.Fatalf("screenshot %s: %v (size %d)", shot, err, st.Size())
	}
	b, _ := os.ReadFile(shot)
	if !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatal("screenshot is not a PNG")
	}
	t.Logf("status page screenshot: %s (%d bytes)", shot, st.Size())
}

package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// TestServeCacheSurvivesSIGKILL: a forwarded answer is in the RR cache;
// after cache.sync() (over the control socket) and a SIGKILL, a new daemon
// on the same RUNDIR answers it from the snapshot RUNDIR/cache.bolt
// without asking the upstream again.
func TestServeCacheSurvivesSIGKILL(t *testing.T) {
	testnet.Isolate(t)
	pc, err := net.ListenPacket("udp", "127.0.0.9:53")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var asked atomic.Int64
	go func() {
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
			asked.Add(1)
			a := new(dns.Msg)
			a.SetReply(q)
			rr, _ := dns.NewRR(q.Question[0].Name + " 3600 IN A 192.0.2.44")
			a.Answer = append(a.Answer, rr)
			out, _ := a.Pack()
			pc.WriteTo(out, from)
		}
	}()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config"), []byte("net.listen('127.0.0.6', 53)\npolicy.add(policy.all(policy.FORWARD('127.0.0.9')))\n"), 0o644)
	env := []string{"LJDNS_OUTGOING_ALLOW=" + testnet.OutgoingAllow}
	ask := func() *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("kept.example.", dns.TypeA)
		c := &dns.Client{Timeout: 2 * time.Second}
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, _, err := c.Exchange(m, "127.0.0.6:53")
			if err == nil {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("no answer: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	a := startDaemon(t, dir, env, "-c", "config")
	if r := ask(); len(r.Answer) != 1 || asked.Load() != 1 {
		t.Fatalf("first answer %v, upstream asked %d times", r, asked.Load())
	}
	if out := strings.TrimSpace(ljdns(t, "= cache.sync()\n", "serve", "--control", dir).stdout); !strings.Contains(out, "true") {
		t.Fatalf("cache.sync() over the control socket: %q", out)
	}
	a.cmd.Process.Kill()
	<-a.done
	if _, err := os.Stat(filepath.Join(dir, "cache.bolt")); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, dir, env, "-c", "config")
	r := ask()
	if len(r.Answer) != 1 || asked.Load() != 1 {
		t.Fatalf("after SIGKILL and restart: %v, upstream asked %d times (want 1: answered from the snapshot)", r, asked.Load())
	}
	if ttl := r.Answer[0].Header().Ttl; ttl > 3600 || ttl < 3500 {
		t.Errorf("TTL after restart %d: the expiry is absolute, want just under 3600", ttl)
	}
}

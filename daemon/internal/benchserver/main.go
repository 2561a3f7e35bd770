// Command benchserver runs the daemon with a Go-only configuration for the
// performance figures (daemon/figures_test.go): no Lua anywhere.
//
//	benchserver -a 127.0.0.31:53 -f 1 -mode mem                  # a Go layer answering A from memory
//	benchserver -a 127.0.0.33:53 -mode fwd -upstream 127.0.0.2@53   # policy.FORWARD, no cache
//	benchserver -a 127.0.0.34:53 -mode cache -upstream 127.0.0.2@53 # policy.FORWARD behind the RR cache
//
// It prints "ready" once listening and stops on SIGTERM. With -cpuprofile
// it writes a CPU profile of its whole run.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"ljdns/daemon"
	"ljdns/daemon/cache"
	"ljdns/daemon/mod/policy"
	"ljdns/dnsmsg"
)

// memLayer answers every A query with 192.0.2.1 (authoritative).
type memLayer struct{}

func (memLayer) Name() string { return "mem" }

func (memLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if r.QType() != dnsmsg.TypeA {
		return s
	}
	r.Answer.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.QName()}, Type: dnsmsg.TypeA, Class: dnsmsg.ClassINET,
		TTL: 3600, RData: [][]byte{{192, 0, 2, 1}}}, true)
	r.Answer.Buf[2] |= 0x04
	return daemon.Done
}

func main() { os.Exit(run()) }

func run() int {
	addr := flag.String("a", "127.0.0.1:5353", "listen address")
	workers := flag.Int("f", 1, "workers")
	mode := flag.String("mode", "mem", "mem, fwd or cache")
	upstream := flag.String("upstream", "", "upstream for fwd and cache (kresd's ADDR@PORT)")
	prof := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	ap, err := netip.ParseAddrPort(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg := &daemon.Config{Listen: []daemon.Listen{{Addr: ap}}, Workers: *workers}
	switch *mode {
	case "mem":
		cfg.Layers = []daemon.Layer{memLayer{}}
	case "fwd", "cache":
		act, tr, err := policy.Forward([]string{*upstream}, false)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer tr.Close()
		p := policy.New()
		p.Add(policy.All(act), false)
		if *mode == "cache" {
			// kresd's order: policy decides, the cache answers before forwarding
			cfg.Layers = []daemon.Layer{p, &cache.RRLayer{C: cache.New(cache.Options{})}}
		} else {
			cfg.Layers = []daemon.Layer{p}
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", *mode)
		return 2
	}
	s, err := daemon.New(cfg)
	if err == nil {
		err = s.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *prof != "" {
		f, err := os.Create(*prof)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer func() {
				pprof.StopCPUProfile()
				f.Close()
			}()
		}
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	s.Shutdown(context.Background())
	return 0
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
)

const serveUsage = `usage: ljdns serve [options] [RUNDIR]

Options (kresd's, plus -f and -k):
 -a, --addr=ADDR[@PORT]   plain DNS listener (UDP and TCP, port 53 by default); repeatable
 -t, --tls=ADDR[@PORT]    DNS-over-TLS listener (port 853 by default); repeatable
 -S, --fd=FD[:KIND]       serve on an inherited socket (KIND dns, tls, doh2, webmgmt)
 -c, --config=PATH        configuration file, relative to RUNDIR (default: config, if present)
 -f, --forks=N            N workers, each with its own SO_REUSEPORT sockets (default 1)
 -k, --keyfile=PATH       trust anchor file (managed, RFC 5011)
 -n, --noninteractive     no REPL on the terminal
 -q, --quiet              no prompt in the REPL
 -v, --verbose            log at debug level
 -V, --version            print the version
 -h, --help               this help
     --check-config       load the configuration, report its errors, exit
     --control RUNDIR     talk to the control socket of the daemon owning RUNDIR
     --pdns-config=PATH   serve as a pdns.conf with launch=lua2 says (lua2-filename,
                          lua2-api=2, lua2-query-logging, local-address, local-port)
RUNDIR is the working directory (default .). Without listeners from the
command line or the configuration, kresd 5's defaults apply: 127.0.0.1 and
::1 on port 53 (plain) and 853 (TLS). Queries nothing answers get REFUSED.
`

// serveOptions are the parsed `ljdns serve` command line, handed to the
// configuration loader.
type serveOptions struct {
	Listen         []daemon.Listen // -a, -t, -S, in order
	Config         string          // -c (relative to RunDir); "" none
	ConfigExplicit bool            // -c was given: a missing file is an error
	Workers        int             // -f (0: the configuration's, else 1)
	KeyFile        string          // -k
	NonInteractive bool            // -n
	Quiet          bool            // -q
	Verbose        bool            // -v
	CheckConfig    bool            // --check-config
	Control        string          // --control RUNDIR
	RunDir         string          // positional (default ".")
	NoRunDir       bool            // one-shot tools (host, query): no RUNDIR, so no cache snapshot

	// Set by runServe for the loader:
	Log      *daemon.Logger
	NewState func() *lua.LState      // a fresh ljdns Lua state (host.New with the embedded scripts)
	REPL     func(L *lua.LState) int // ljdns's REPL on the terminal, for worker 0's state
	Reload   func() error            // what SIGHUP does (Lua's reload())
	Quit     func(code int)          // stop the daemon and exit with code (Lua's quit())
	Server   func() *daemon.Server   // the running server (nil before Start)
}

// ConfigLoader turns the configuration file into daemon configurations,
// once at start and again at each reload. luamod/serve implements it
// (wired in by newConfigLoader); daemon/ never sees Lua.
type ConfigLoader interface {
	// Load executes the configuration into fresh worker states and returns
	// what to serve; errors carry file:line. On reload the previous
	// configuration keeps serving until the new one is in.
	Load() (*daemon.Config, error)
	// Attach hands the loader the running server, once, after Start.
	Attach(s *daemon.Server)
	// Close releases the states of the loader at exit.
	Close() error
}

// replRunner is implemented by loaders that give the REPL of worker 0 on
// the terminal; RunREPL returns at EOF or quit().
type replRunner interface {
	RunREPL() int
}

// newConfigLoader makes the Lua configuration loader; nil until
// luamod/serve is wired in, so only a configuration-less start works.
var newConfigLoader func(o *serveOptions) (ConfigLoader, error)

// parseServeArgs parses kresd's command line (getopt_long style: -a X,
// -aX, --addr=X, --addr X).
func parseServeArgs(args []string) (*serveOptions, error) {
	o := &serveOptions{RunDir: "."}
	positional := []string{}
	pdnsConf := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name, val, hasVal := a, "", false
		if strings.HasPrefix(a, "--") {
			if k := strings.IndexByte(a, '='); k >= 0 {
				name, val, hasVal = a[:k], a[k+1:], true
			}
		} else if len(a) > 2 {
			name, val, hasVal = a[:2], a[2:], true
		}
		needs := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %s needs an argument", name)
			}
			i++
			return args[i], nil
		}
		switch name {
		case "-a", "--addr", "-t", "--tls":
			v, err := needs()
			if err != nil {
				return nil, err
			}
			kind, port := daemon.KindDNS, uint16(53)
			if name == "-t" || name == "--tls" {
				kind, port = daemon.KindTLS, 853
			}
			ap, err := parseListenAddr(v, port)
			if err != nil {
				return nil, err
			}
			o.Listen = append(o.Listen, daemon.Listen{Addr: ap, Kind: kind})
		case "-S", "--fd":
			v, err := needs()
			if err != nil {
				return nil, err
			}
			fdStr, kind, _ := strings.Cut(v, ":")
			fd, err := strconv.Atoi(fdStr)
			if err != nil || fd < 0 {
				return nil, fmt.Errorf("bad file descriptor %q", v)
			}
			if kind == "" {
				kind = string(daemon.KindDNS)
			}
			o.Listen = append(o.Listen, daemon.Listen{FD: fd, Kind: daemon.Kind(kind)})
		case "-c", "--config":
			v, err := needs()
			if err != nil {
				return nil, err
			}
			o.Config, o.ConfigExplicit = v, true
		case "-f", "--forks":
			v, err := needs()
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("bad number of workers %q", v)
			}
			o.Workers = n
		case "-k", "--keyfile":
			v, err := needs()
			if err != nil {
				return nil, err
			}
			o.KeyFile = v
		case "--control":
			v, err := needs()
			if err != nil {
				return nil, err
			}
			o.Control = v
		case "-n", "--noninteractive":
			o.NonInteractive = true
		case "-q", "--quiet":
			o.Quiet = true
		case "-v", "--verbose":
			o.Verbose = true
		case "--check-config":
			o.CheckConfig = true
		case "--pdns-config":
			v, err := needs()
			if err != nil {
				return nil, err
			}
			pdnsConf = v
		case "-V", "--version", "-h", "--help":
			return nil, errHelp(name)
		default:
			return nil, fmt.Errorf("unrecognized option '%s'", a)
		}
	}
	if len(positional) > 1 {
		return nil, fmt.Errorf("one RUNDIR only (got %s)", strings.Join(positional, " "))
	}
	if len(positional) == 1 {
		o.RunDir = positional[0]
	}
	if pdnsConf != "" {
		if o.ConfigExplicit {
			return nil, errors.New("-c and --pdns-config exclude each other")
		}
		if _, err := applyPDNSConfig(o, pdnsConf); err != nil {
			return nil, fmt.Errorf("--pdns-config: %v", err)
		}
	}
	if !o.ConfigExplicit {
		o.Config = "config"
	}
	return o, nil
}

type errHelp string

func (e errHelp) Error() string { return string(e) }

// parseListenAddr parses kresd's ADDR[@PORT] (also ADDR#PORT and [v6]:PORT).
func parseListenAddr(s string, defPort uint16) (netip.AddrPort, error) {
	host, portStr := s, ""
	if k := strings.LastIndexAny(s, "@#"); k >= 0 {
		host, portStr = s[:k], s[k+1:]
	} else if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	port := defPort
	if portStr != "" {
		p, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("bad port in %q", s)
		}
		port = uint16(p)
	}
	return netip.AddrPortFrom(a, port), nil
}

// runServe is `ljdns serve`.
func runServe(args []string) int {
	o, err := parseServeArgs(args)
	var h errHelp
	if errors.As(err, &h) {
		if h == "-V" || h == "--version" {
			fmt.Println(version + " serve (Knot Resolver 5 compatible)")
		} else {
			fmt.Print(serveUsage)
		}
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ljdns serve: %v\n%s", err, serveUsage)
		return 1
	}
	if o.Control != "" {
		return controlClient(o.Control, os.Stdin, os.Stdout)
	}
	log := daemon.StderrLogger()
	if o.Verbose {
		log.SetLevel(daemon.LevelDebug)
	}
	o.Log = log
	return serveMain(o)
}

// serveMain runs the daemon until SIGTERM/SIGINT, quit() or the REPL's end.
func serveMain(o *serveOptions) int {
	log := o.Log
	if err := os.Chdir(o.RunDir); err != nil {
		log.Errorf("system", "rundir '%s': %v", o.RunDir, err)
		return 1
	}
	var lock *daemon.RundirLock
	if !o.CheckConfig {
		var err error
		if lock, err = daemon.LockRundir("."); err != nil {
			log.Errorf("system", "%v", err)
			return 1
		}
		defer lock.Unlock()
	}
	var srv *daemon.Server
	var srvMu sync.Mutex
	quit := make(chan int, 1)
	o.Quit = func(code int) {
		select {
		case quit <- code:
		default:
		}
	}
	o.Server = func() *daemon.Server {
		srvMu.Lock()
		defer srvMu.Unlock()
		return srv
	}
	o.NewState = newState
	o.REPL = repl
	var loader ConfigLoader
	if newConfigLoader != nil {
		var err error
		if loader, err = newConfigLoader(o); err != nil {
			log.Errorf("system", "%v", err)
			return 1
		}
		defer loader.Close()
	} else if _, err := os.Stat(o.Config); o.ConfigExplicit || err == nil {
		log.Errorf("system", "cannot execute configuration '%s': this build has no Lua configuration environment", o.Config)
		return 1
	}
	load := func() (*daemon.Config, error) {
		cfg := &daemon.Config{}
		if loader != nil {
			c, err := loader.Load()
			if err != nil {
				return nil, err
			}
			cfg = c
		}
		cfg.Listen = append(append([]daemon.Listen(nil), cfg.Listen...), o.Listen...)
		if len(cfg.Listen) == 0 && os.Getenv("KRESD_NO_LISTEN") == "" {
			cfg.Listen = daemon.DefaultListen()
		}
		if o.Workers > 0 {
			cfg.Workers = o.Workers
		}
		if cfg.Log == nil {
			cfg.Log = log
		}
		if o.Verbose {
			cfg.Verbose = true
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		log.Errorf("system", "%v", err)
		return 1
	}
	if o.CheckConfig {
		if err := cfg.Validate(); err != nil {
			log.Errorf("system", "%v", err)
			return 1
		}
		return 0
	}
	s, err := daemon.New(cfg)
	if err == nil {
		err = s.Start()
	}
	if err != nil {
		log.Errorf("system", "%v", err)
		return 1
	}
	srvMu.Lock()
	srv = s
	srvMu.Unlock()
	if _, err := s.ListenControl("."); err != nil {
		log.Warnf("system", "%v", err)
	}
	var reloadMu sync.Mutex
	o.Reload = func() error {
		reloadMu.Lock()
		defer reloadMu.Unlock()
		daemon.Notify("RELOADING=1")
		defer daemon.Notify("READY=1")
		cfg, err := load()
		if err == nil {
			err = s.Reload(cfg)
		}
		if err != nil {
			log.Errorf("system", "reload failed, keeping the running configuration: %v", err)
			return err
		}
		log.Noticef("system", "configuration reloaded")
		return nil
	}
	if loader != nil {
		loader.Attach(s)
	}
	for _, k := range []daemon.Kind{daemon.KindDNS, daemon.KindTLS, daemon.KindDoH2, daemon.KindWebmgmt} {
		for _, a := range s.Addrs(k) {
			log.Infof("net", "listening on %s@%d (%s)", a.Addr(), a.Port(), k)
		}
	}
	daemon.Notify("READY=1")
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	if rr, ok := loader.(replRunner); ok && !o.NonInteractive && isTerminal(os.Stdin) {
		go func() { o.Quit(rr.RunREPL()) }()
	}
	code := 0
wait:
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				go o.Reload()
				continue
			}
			log.Noticef("system", "%v: stopping", sig)
			break wait
		case code = <-quit:
			break wait
		}
	}
	daemon.Notify("STOPPING=1")
	ctx, cancel := context.WithTimeout(context.Background(), s.Config().DrainTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		log.Warnf("system", "shutdown: %v", err)
	}
	return code
}

// controlClient is `ljdns serve --control RUNDIR`: it copies in to the
// control socket and the socket's output to out until both ends are done.
func controlClient(rundir string, in io.Reader, out io.Writer) int {
	c, err := daemon.DialControl(rundir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ljdns serve: %v\n", err)
		return 1
	}
	defer c.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(out, c)
		close(done)
	}()
	io.Copy(c, in)
	if uc, ok := c.(*net.UnixConn); ok {
		uc.CloseWrite()
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	return 0
}

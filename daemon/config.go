package daemon

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/netip"
	"time"
)

// Kind is a listener kind, with kresd 5's names (net.listen's kind option).
type Kind string

// Listener kinds.
const (
	KindDNS     Kind = "dns"     // plain DNS, UDP and TCP on the same address
	KindTLS     Kind = "tls"     // DNS over TLS (RFC 7858)
	KindDoH2    Kind = "doh2"    // DNS over HTTPS, HTTP/2 over TLS (RFC 8484)
	KindWebmgmt Kind = "webmgmt" // the http module's web interface (Config.Web), TLS unless Plain
)

// Listen is one listening address of a configuration.
type Listen struct {
	Addr     netip.AddrPort // address and port
	Kind     Kind           // default KindDNS
	Freebind bool           // IP_FREEBIND: bind an address not (yet) on the host
	NoUDP    bool           // KindDNS: TCP only (kresd's `-t`-less TCP-only sockets)
	NoTCP    bool           // KindDNS: UDP only
	Plain    bool           // KindWebmgmt without TLS (kresd's http module `tls = false`)
	FD       int            // > 0: an inherited socket (-S fd) instead of binding Addr; its type decides UDP/TCP
}

// String returns "addr@port kind" as kresd's net.list shows the pair.
func (l Listen) String() string {
	k := l.Kind
	if k == "" {
		k = KindDNS
	}
	if l.FD > 0 {
		return fmt.Sprintf("fd %d %s", l.FD, k)
	}
	return fmt.Sprintf("%s@%d %s", l.Addr.Addr(), l.Addr.Port(), k)
}

// Limits bounds what clients and requests may use (SERVE.md §3 hard point 8).
// Zero fields take the defaults below; negative disables a limit.
type Limits struct {
	Conns              int // open TCP/DoT/DoH connections, all clients (default 10000)
	ConnsPerClient     int // open connections per client address (default 200)
	InflightPerClient  int // queries being processed per client address, all transports (default 1000)
	H2Streams          int // concurrent HTTP/2 streams per DoH connection (default 100)
	H2ResetsPerSec     int // HTTP/2 stream resets a connection may cause per second before it is closed (default 200)
	OutgoingPerRequest int // upstream queries one request may make (default 100, the resolver's budget for one request, as kresd's; forwarding makes one)
	OutgoingInflight   int // upstream queries in flight, whole server (default 5000)
	CNAMEChain         int // CNAME/DNAME links followed for one answer (default 13, as kresd)
}

// Limit defaults.
const (
	defaultConns              = 10000
	defaultConnsPerClient     = 200
	defaultInflightPerClient  = 1000
	defaultH2Streams          = 100
	defaultH2ResetsPerSec     = 200
	defaultOutgoingPerRequest = 100 // resolver.DefaultMaxQueries: a cold iteration with validation takes more than 10
	defaultOutgoingInflight   = 5000
	defaultCNAMEChain         = 13
)

// withDefaults returns l with zero fields set to their defaults.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.Conns, defaultConns)
	def(&l.ConnsPerClient, defaultConnsPerClient)
	def(&l.InflightPerClient, defaultInflightPerClient)
	def(&l.H2Streams, defaultH2Streams)
	def(&l.H2ResetsPerSec, defaultH2ResetsPerSec)
	def(&l.OutgoingPerRequest, defaultOutgoingPerRequest)
	def(&l.OutgoingInflight, defaultOutgoingInflight)
	def(&l.CNAMEChain, defaultCNAMEChain)
	return l
}

// Config is one generation of the daemon's configuration, built in Go (by
// the Lua configuration environment, luamod/serve, or by a Go program).
// Server.Reload swaps it; sockets that stay in Listen, the cookie secret,
// TLS session ticket keys and whatever the layers share (caches, counters)
// survive.
type Config struct {
	Listen  []Listen // what to listen on (empty: nowhere; `ljdns serve` applies DefaultListen when nothing binds)
	Workers int      // worker goroutines, each with its own SO_REUSEPORT sockets (default 1; fixed at Start)

	BufSize        int           // net.bufsize: EDNS UDP payload we advertise and answer up to (default 1232)
	TCPPipeline    int           // net.tcp_pipeline: queries in flight per TCP/TLS connection (default 100)
	TCPIdle        time.Duration // net.tcp_in_idle: an idle connection is closed after it (default 10 s)
	TLSHandshake   time.Duration // net.tls_handshake_timeout (default 6 s)
	RequestTimeout time.Duration // a request's deadline (default 10 s)
	DrainTimeout   time.Duration // Reload/Shutdown wait this long for old requests (default 5 s)

	// TLS: the certificate of tls, doh2 and webmgmt listeners (net.tls); nil:
	// an ephemeral self-signed one, made once per server and kept across reloads.
	Certificates []tls.Certificate
	// TicketSecret seeds the TLS session ticket keys (net.tls_sticket_secret);
	// empty: random keys made once per server, kept across reloads.
	TicketSecret string

	Limits        Limits
	RecursionACL  []netip.Prefix // who may recurse (SERVE.md §3.7); nil: loopback only
	OutgoingAllow []netip.Prefix // net.outgoing_allow; nil: LJDNS_OUTGOING_ALLOW or everything
	Options       Flags          // request flags every request starts with (option('ALLOW_LOCAL', true) ...)
	NoCookies     bool           // do not answer DNS cookies (RFC 7873)
	// StrictCookies requires valid server cookies over UDP: a query whose
	// server cookie is not valid (another server's, stale, damaged) gets
	// BADCOOKIE with a fresh one (RFC 7873 §5.2.4); a query with a client
	// cookie only is answered normally, with a server cookie (§5.2.3).
	StrictCookies bool

	Layers   []Layer      // modules in order
	Resolver Resolver     // answers what no layer or upstream did; nil: REFUSED
	Web      http.Handler // served by webmgmt listeners (the http and stats modules register here)

	// Control handles one line of the control socket and returns what to
	// print back (the Lua prompt of worker 0); nil: the socket echoes an error.
	Control func(line string) string

	User, Group string // user(): switch to them after the first listeners are bound (Start only)
	MemoryLimit int64  // GOMEMLIMIT in bytes (runtime/debug.SetMemoryLimit); 0: unchanged

	Log     *Logger // nil: the server's logger (stderr)
	Verbose bool    // trace every request (verbose(true))
}

// Config defaults.
const (
	DefaultBufSize     = 1232
	DefaultTCPPipeline = 100
	defaultTCPIdle     = 10 * time.Second
	defaultTLSHS       = 6 * time.Second
	defaultReqTimeout  = 10 * time.Second
	defaultDrain       = 5 * time.Second
)

// DefaultListen returns kresd 5's listeners when the configuration binds
// nothing: 127.0.0.1 and ::1 on port 53 (plain) and 853 (TLS).
func DefaultListen() []Listen {
	return []Listen{
		{Addr: netip.MustParseAddrPort("127.0.0.1:53"), Kind: KindDNS},
		{Addr: netip.MustParseAddrPort("[::1]:53"), Kind: KindDNS},
		{Addr: netip.MustParseAddrPort("127.0.0.1:853"), Kind: KindTLS},
		{Addr: netip.MustParseAddrPort("[::1]:853"), Kind: KindTLS},
	}
}

// LoopbackACL is the default recursion ACL: 127.0.0.0/8 and ::1.
var LoopbackACL = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// PrivateACL lists the private ranges a configuration may add to the
// recursion ACL (RFC 1918, RFC 4193, link-local).
var PrivateACL = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("fe80::/10")}

// normalized returns a copy of c with defaults filled in.
func (c *Config) normalized() *Config {
	n := *c
	if n.Workers <= 0 {
		n.Workers = 1
	}
	if n.BufSize <= 0 {
		n.BufSize = DefaultBufSize
	}
	if n.BufSize < 512 {
		n.BufSize = 512
	}
	if n.BufSize > 65535 {
		n.BufSize = 65535
	}
	if n.TCPPipeline <= 0 {
		n.TCPPipeline = DefaultTCPPipeline
	}
	if n.TCPIdle <= 0 {
		n.TCPIdle = defaultTCPIdle
	}
	if n.TLSHandshake <= 0 {
		n.TLSHandshake = defaultTLSHS
	}
	if n.RequestTimeout <= 0 {
		n.RequestTimeout = defaultReqTimeout
	}
	if n.DrainTimeout <= 0 {
		n.DrainTimeout = defaultDrain
	}
	if n.RecursionACL == nil {
		n.RecursionACL = LoopbackACL
	}
	for i := range n.Listen {
		if n.Listen[i].Kind == "" {
			n.Listen[i].Kind = KindDNS
		}
	}
	n.Limits = n.Limits.withDefaults()
	return &n
}

// Validate reports the first configuration error (bad listener kind,
// duplicate listener, bad numbers).
func (c *Config) Validate() error {
	seen := map[string]bool{}
	for _, l := range c.Listen {
		switch l.Kind {
		case "", KindDNS, KindTLS, KindDoH2, KindWebmgmt:
		default:
			return fmt.Errorf("daemon: unknown listener kind %q (dns, tls, doh2, webmgmt)", l.Kind)
		}
		if l.FD <= 0 && !l.Addr.IsValid() {
			return fmt.Errorf("daemon: bad listen address %v", l.Addr)
		}
		k := l.String()
		if seen[k] {
			return fmt.Errorf("daemon: %s listed twice", k)
		}
		seen[k] = true
	}
	if c.TicketSecret != "" && len(c.TicketSecret) < 32 {
		return fmt.Errorf("daemon: tls_sticket_secret must be at least 32 bytes long")
	}
	if c.BufSize != 0 && (c.BufSize < 512 || c.BufSize > 65535) {
		return fmt.Errorf("daemon: bufsize %d outside 512..65535", c.BufSize)
	}
	return nil
}

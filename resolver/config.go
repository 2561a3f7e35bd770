package resolver

import (
	"context"
	"net/netip"
	"time"

	"ljdns/clock"
	"ljdns/daemon/cache"
	"ljdns/dnsmsg"
)

// Exchanger sends one query to one name server and returns its answer,
// already matched (ID, question). nil in Config means real sockets: UDP
// from a random source port with a random ID, TCP when tcp is set, only to
// addresses the outgoing allow list permits (dnsclient.Allowed).
type Exchanger func(ctx context.Context, server netip.AddrPort, q *dnsmsg.Packet, tcp bool) (*dnsmsg.Packet, error)

// Config configures a Resolver. Zero values take the defaults.
type Config struct {
	Roots         []Hint      // root hints; nil: the built-in IANA set
	Exchange      Exchanger   // nil: real sockets
	Clock         clock.Clock // nil: clock.Real
	Anchors       []string    // trust anchors, zone-file lines (DS or DNSKEY); none and no AnchorSource: no validation
	AnchorSource  AnchorSource
	NTA           []string // negative trust anchors (names)
	Mode          Mode     // glue acceptance, as kresd's mode()
	NoMinimize    bool     // option('NO_MINIMIZE')
	AllowLocal    bool     // option('ALLOW_LOCAL'): learnt NS addresses in 127/8, ::1, 0/8, :: may be used
	IterationsCap int      // NSEC3 iterations cap (RFC 9276); 0: the validator's default
	NoAggressive  bool     // no aggressive use of validated NSEC records (RFC 8198)
	NoPriming     bool     // kresd's modules.unload('priming'): iterate from the root hints without asking them for the root NS set
	NoIPv4        bool     // net.ipv4 = false: no IPv4 name server address is used (root hints included)
	NoIPv6        bool     // net.ipv6 = false: no IPv6 name server address is used (root hints included)

	MaxQueriesPerRequest    int // upstream queries per Resolve call; DefaultMaxQueries
	MaxDepth                int // nested resolutions (NS addresses, CNAME targets); DefaultMaxDepth
	MaxNSNamesPerDelegation int // NS names without glue resolved per delegation (NXNSAttack); DefaultMaxNSNames
	MaxCNAME                int // CNAME/DNAME links followed; DefaultMaxCNAME

	// NSTimeout is kresd's cache.ns_tout: how long a name server address
	// that timed out is left aside; DefaultNSTimeout.
	NSTimeout time.Duration
	// QueryTimeout bounds the wait for one UDP answer; DefaultQueryTimeout.
	QueryTimeout time.Duration

	// Cache is the daemon's shared RR cache: answers that need no AD bit
	// are stored there too (its RRLayer then answers them first). nil: none.
	Cache Cache
	// MaxBytes bounds the resolver's own cache (RR sets, negative and
	// final answers) in live bytes, counted as daemon/cache counts them;
	// DefaultMaxBytes.
	MaxBytes int64
	// MinTTL and MaxTTL clamp the TTLs the resolver caches and answers
	// with (kresd's cache.min_ttl, cache.max_ttl); 0: DefaultMinTTL,
	// DefaultMaxTTL; a negative MinTTL: no lower bound.
	MinTTL, MaxTTL time.Duration
	// Limits, when set, gives the size limit and the TTL bounds at run
	// time instead of MaxBytes, MinTTL and MaxTTL (the daemon's shared RR
	// cache, daemon/cache.RRCache, implements it: one cache.size and one
	// pair of cache.min_ttl/max_ttl for both caches).
	Limits CacheLimits
}

// CacheLimits gives a cache's bounds at run time.
type CacheLimits interface {
	TTLBounds() (min, max time.Duration) // cache.min_ttl, cache.max_ttl
	MaxBytes() int64                     // cache.size
}

// Defaults of Config.
const (
	DefaultMaxQueries   = 100
	DefaultMaxDepth     = 8
	DefaultMaxNSNames   = 4
	DefaultMaxCNAME     = 12
	DefaultNSTimeout    = 1000 * time.Millisecond
	DefaultQueryTimeout = 1200 * time.Millisecond
	DefaultMaxBytes     = cache.DefaultMaxBytes // 100 MiB, as the shared RR cache
	DefaultMinTTL       = cache.DefaultMinTTL   // 5 s, kresd's
	DefaultMaxTTL       = cache.DefaultMaxTTL   // 1 day, kresd 5's
	EDNSPayload         = 1232                  // DNS Flag Day 2020, no fallback
)

// Cache is the daemon's shared RR cache (daemon/cache.RRCache implements it).
type Cache interface {
	Lookup(qname []byte, qtype, qclass uint16, do, stale bool) (*cache.Answer, bool)
	Store(a *dnsmsg.Packet, qname []byte, qtype, qclass uint16, do bool)
}

// Hint is one root server: its name and addresses.
type Hint struct {
	Name  string
	Addrs []netip.Addr
}

// Mode is kresd's mode(): which glue a referral may carry.
type Mode int

// The modes: Normal accepts glue within the zone of the server (in
// bailiwick), Strict only glue below the delegated zone (mandatory glue),
// Permissive any glue.
const (
	Normal Mode = iota
	Strict
	Permissive
)

// String returns "normal", "strict" or "permissive".
func (m Mode) String() string {
	switch m {
	case Strict:
		return "strict"
	case Permissive:
		return "permissive"
	}
	return "normal"
}

// ParseMode parses a mode name; ok is false for an unknown one.
func ParseMode(s string) (m Mode, ok bool) {
	switch s {
	case "normal":
		return Normal, true
	case "strict":
		return Strict, true
	case "permissive":
		return Permissive, true
	}
	return Normal, false
}

// AnchorSource gives the current trust anchors (DS/DNSKEY text) and is told
// about every DNSKEY set fetched for an anchored zone (RFC 5011 tracking).
type AnchorSource interface {
	Anchors() []string
	Observe(zone []byte, dnskey *dnsmsg.RRSet, rrsigs *dnsmsg.RRSet, now time.Time)
}

// QueryFlags are the client's DNSSEC bits: DO (wants DNSSEC records), CD
// (checking disabled), AD (wants the AD bit).
type QueryFlags struct {
	DO, CD, AD bool
	// Refresh resolves again what the caches hold for the question (the
	// predict module's prefetch); the new answer replaces the cached one.
	Refresh bool
}

// Result describes one resolution.
type Result struct {
	Security Security // the validator's verdict (Indeterminate without validation)
	EDE      int      // RFC 8914 code, -1 none
	EDEText  string
	Queries  int  // upstream queries sent
	Cached   bool // answered from the resolver's answer cache
	// Expiring: a cached answer close to its end (kresd's EXPIRING: less
	// than 1% of its TTL plus 5 s left), worth a prefetch
	Expiring bool
}

// BuiltinRoots returns the IANA root hints (root-servers.net, a to m).
func BuiltinRoots() []Hint {
	raw := []struct{ n, v4, v6 string }{
		{"a", "198.41.0.4", "2001:503:ba3e::2:30"},
		{"b", "170.247.170.2", "2801:1b8:10::b"},
		{"c", "192.33.4.12", "2001:500:2::c"},
		{"d", "199.7.91.13", "2001:500:2d::d"},
		{"e", "192.203.230.10", "2001:500:a8::e"},
		{"f", "192.5.5.241", "2001:500:2f::f"},
		{"g", "192.112.36.4", "2001:500:12::d0d"},
		{"h", "198.97.190.53", "2001:500:1::53"},
		{"i", "192.36.148.17", "2001:7fe::53"},
		{"j", "192.58.128.30", "2001:503:c27::2:30"},
		{"k", "193.0.14.129", "2001:7fd::1"},
		{"l", "199.7.83.42", "2001:500:9f::42"},
		{"m", "202.12.27.33", "2001:dc3::35"},
	}
	out := make([]Hint, len(raw))
	for i, r := range raw {
		out[i] = Hint{Name: r.n + ".root-servers.net.", Addrs: []netip.Addr{netip.MustParseAddr(r.v4), netip.MustParseAddr(r.v6)}}
	}
	return out
}

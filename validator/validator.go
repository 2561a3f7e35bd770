package validator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/clock"
	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
	"ljdns/dnssec"
)

// Security is a validation verdict (RFC 4033 §5, RFC 4035 §4.3).
type Security int

// The verdicts, from "nothing known" to "proved wrong".
const (
	Indeterminate Security = iota // no trust anchor covers the name, or nothing to validate
	Secure                        // a chain of signatures from a trust anchor proves the answer
	Insecure                      // a chain of signatures proves the name unsigned (or not checkable)
	Bogus                         // the answer should be signed and is not, or its proof fails
)

// String returns the lower-case word: "indeterminate", "secure", "insecure", "bogus".
func (s Security) String() string {
	switch s {
	case Secure:
		return "secure"
	case Insecure:
		return "insecure"
	case Bogus:
		return "bogus"
	}
	return "indeterminate"
}

// Extended DNS error codes (RFC 8914 §4) the validator gives.
const (
	EDENone                  = -1 // no extended error
	EDEOther                 = 0
	EDEUnsupportedAlgorithm  = 1  // no DS or key of a supported algorithm: insecure
	EDEUnsupportedDigest     = 2  // no DS of a supported digest type: insecure
	EDEDNSSECBogus           = 6  // a signature or proof fails
	EDESignatureExpired      = 7  // every RRSIG has expired
	EDESignatureNotYetValid  = 8  // no RRSIG is valid yet
	EDEDNSKEYMissing         = 9  // no DNSKEY matches the DS set, or none signed the data
	EDERRSIGsMissing         = 10 // signed zone, unsigned data
	EDENoZoneKeyBitSet       = 11 // the matching DNSKEY is not a zone key
	EDENSECMissing           = 12 // a negative or wildcard answer without its proof
	EDENoReachableAuthority  = 22 // the chain could not be fetched
	EDESignatureExpiredFirst = 25 // RRSIG expires before its inception
	EDENSEC3Iterations       = 27 // NSEC3 iterations above the cap: insecure (RFC 9276 §3.2)
)

// Result is the outcome of one validation.
type Result struct {
	Security Security
	Reason   string // why, for Bogus, Insecure and Indeterminate ("RRSIG expired", ...)
	EDE      int    // RFC 8914 code for the reason, EDENone (-1) if none
}

// String formats r as "secure" or "bogus: <reason>".
func (r Result) String() string {
	if r.Reason == "" {
		return r.Security.String()
	}
	return r.Security.String() + ": " + r.Reason
}

// Fetcher asks for name/qtype with DO and CD set, through whatever transport
// the caller has, and returns the response (parsed or not).
type Fetcher func(ctx context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error)

// Defaults of Config.
const (
	// DefaultIterationsCap is the NSEC3 iteration count above which proofs
	// are not checked and the answer is insecure with EDE 27. RFC 9276 §3.2
	// leaves the value to validators; 150 is what Unbound, Knot Resolver 5
	// and BIND 9.18 use.
	DefaultIterationsCap = 150
	// DefaultMaxSigChecks bounds the signature verifications one Validate
	// call may do, chain included (KeyTrap, CVE-2023-50387).
	DefaultMaxSigChecks = 64
	// DefaultMaxKeyTagCollisions bounds the DNSKEYs tried for one RRSIG:
	// keys sharing its key tag and algorithm beyond this are not tried.
	DefaultMaxKeyTagCollisions = 4
	// DefaultMaxSigsPerSet bounds the RRSIGs tried for one RR set.
	DefaultMaxSigsPerSet = 8
	// DefaultCacheEntries bounds the key cache (zones and delegation probes).
	DefaultCacheEntries = 10000
	// bogusTTL is how long a failed zone stays failed in the key cache.
	bogusTTL = 60 * time.Second
	// maxCacheTTL caps the life of any key cache entry.
	maxCacheTTL = 24 * time.Hour
	// maxChain bounds the CNAME/DNAME links followed in one answer.
	maxChain = 16
)

// Config configures a Validator. Zero values take the defaults.
type Config struct {
	Anchors             []string    // trust anchors: zone-file lines of DS or DNSKEY records
	AnchorFiles         []string    // files of such lines
	NTA                 []string    // negative trust anchors: names below which nothing is validated
	IterationsCap       int         // NSEC3 iterations above which the answer is insecure; DefaultIterationsCap
	Clock               clock.Clock // time source for RRSIG windows and cache TTLs; clock.Real
	MaxSigChecks        int         // KeyTrap: signature verifications per response; DefaultMaxSigChecks
	MaxKeyTagCollisions int         // KeyTrap: DNSKEYs tried per RRSIG; DefaultMaxKeyTagCollisions
	MaxSigsPerSet       int         // KeyTrap: RRSIGs tried per RR set; DefaultMaxSigsPerSet
	CacheEntries        int         // key cache size; DefaultCacheEntries
}

// Validator validates answers against its trust anchors. It caches the
// validated DNSKEY sets (and what it learnt about delegations) by TTL, and
// is safe for concurrent use.
type Validator struct {
	anchors map[string]*anchor // by lower-case wire name
	nta     [][]byte           // lower-case wire names
	cfg     Config
	clk     clock.Clock

	mu        sync.Mutex
	cache     map[string]*entry // by lower-case wire name
	sigChecks atomic.Uint64     // signature verifications done, all calls
}

// anchor is the trust anchor of one zone: DS RDATA and/or DNSKEY RDATA.
type anchor struct {
	name    []byte
	ds      [][]byte
	dnskeys [][]byte
}

// Sentinel errors of New.
var (
	ErrNoAnchor = errors.New("validator: no trust anchor")
	ErrAnchor   = errors.New("validator: bad trust anchor")
)

// New returns a validator for c. It needs at least one anchor.
func New(c Config) (*Validator, error) {
	v := &Validator{anchors: map[string]*anchor{}, cfg: c, clk: c.Clock, cache: map[string]*entry{}}
	if v.clk == nil {
		v.clk = clock.Real
	}
	if v.cfg.IterationsCap <= 0 {
		v.cfg.IterationsCap = DefaultIterationsCap
	}
	if v.cfg.MaxSigChecks <= 0 {
		v.cfg.MaxSigChecks = DefaultMaxSigChecks
	}
	if v.cfg.MaxKeyTagCollisions <= 0 {
		v.cfg.MaxKeyTagCollisions = DefaultMaxKeyTagCollisions
	}
	if v.cfg.MaxSigsPerSet <= 0 {
		v.cfg.MaxSigsPerSet = DefaultMaxSigsPerSet
	}
	if v.cfg.CacheEntries <= 0 {
		v.cfg.CacheEntries = DefaultCacheEntries
	}
	for i, s := range c.Anchors {
		if err := v.addAnchors(strings.NewReader(s), fmt.Sprintf("anchor %d", i+1)); err != nil {
			return nil, err
		}
	}
	for _, f := range c.AnchorFiles {
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrAnchor, err)
		}
		err = v.addAnchors(fh, f)
		fh.Close()
		if err != nil {
			return nil, err
		}
	}
	if len(v.anchors) == 0 {
		return nil, ErrNoAnchor
	}
	for _, n := range c.NTA {
		w, err := dnsmsg.NameFromText(n)
		if err != nil {
			return nil, fmt.Errorf("validator: negative trust anchor %q: %w", n, err)
		}
		v.nta = append(v.nta, dnsmsg.LowerName(w.Wire))
	}
	return v, nil
}

// addAnchors reads DS and DNSKEY records in zone-file form from r (other
// types are an error; comments and directives are allowed).
func (v *Validator) addAnchors(r io.Reader, file string) error {
	s := zone.NewScanner(r, ".", dnsmsg.ClassINET, 3600)
	s.SetFile(file)
	s.AllowInclude = false
	for s.Next() {
		rec := s.Record()
		if rec.Class != dnsmsg.ClassINET {
			return fmt.Errorf("%w: %s: class %s, want IN", ErrAnchor, file, dnsmsg.ClassString(rec.Class))
		}
		owner := dnsmsg.LowerName(rec.Owner)
		a := v.anchors[string(owner)]
		if a == nil {
			a = &anchor{name: owner}
		}
		switch rec.Type {
		case dnssec.TypeDS:
			if len(rec.RData) < 5 {
				return fmt.Errorf("%w: %s: short DS", ErrAnchor, file)
			}
			a.ds = append(a.ds, append([]byte(nil), rec.RData...))
		case dnssec.TypeDNSKEY:
			k := dnssec.NewKey()
			if err := k.SetRData(rec.RData); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrAnchor, file, err)
			}
			a.dnskeys = append(a.dnskeys, append([]byte(nil), rec.RData...))
		default:
			return fmt.Errorf("%w: %s: %s record, want DS or DNSKEY", ErrAnchor, file, dnsmsg.TypeString(rec.Type))
		}
		v.anchors[string(owner)] = a
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrAnchor, err)
	}
	return nil
}

// FlushCache forgets every cached key set and delegation.
func (v *Validator) FlushCache() {
	v.mu.Lock()
	clear(v.cache)
	v.mu.Unlock()
}

// CacheLen returns the number of entries in the key cache.
func (v *Validator) CacheLen() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.cache)
}

// SigChecks returns the number of signature verifications done so far.
func (v *Validator) SigChecks() uint64 { return v.sigChecks.Load() }

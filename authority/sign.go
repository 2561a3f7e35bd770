package authority

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/clock"
	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// Denial is how a zone signed on line proves that a name or a type does
// not exist.
type Denial int

const (
	// WhiteLies (the default) answers NXDOMAIN and NODATA as RFC 4470
	// does: NSEC records made for the question that cover only names that
	// do not exist (the next closer name's subtree and the wildcard at the
	// closest encloser) or that match the name asked for, so no name of the
	// zone is revealed.
	WhiteLies Denial = iota
	// Compact answers as RFC 9824: a name that does not exist gets NOERROR
	// and one NSEC owned by the name itself, next name its immediate
	// successor, types NSEC, RRSIG and NXNAME; NODATA one NSEC at the name;
	// a wildcard answer is signed as if the name existed, so it needs no
	// proof either. Queries without DO still get NXDOMAIN.
	Compact
)

// typeNXNAME is the RFC 9824 pseudo-type marking a name that does not
// exist in a compact denial.
const typeNXNAME uint16 = 128

// ParseDenial reads a configuration word: "" or "whitelies" (also
// "white-lies", "nsec"), or "compact".
func ParseDenial(s string) (Denial, error) {
	switch strings.ToLower(s) {
	case "", "whitelies", "white-lies", "white_lies", "nsec":
		return WhiteLies, nil
	case "compact":
		return Compact, nil
	}
	return 0, fmt.Errorf("denial %q: want 'whitelies' or 'compact'", s)
}

// String returns the configuration word of d.
func (d Denial) String() string {
	if d == Compact {
		return "compact"
	}
	return "whitelies"
}

// Defaults of SignOptions.
const (
	// DefaultSigLifetime is how long a signature made on line is valid:
	// knotd's default rrsig-lifetime, 14 days.
	DefaultSigLifetime = 14 * 24 * time.Hour
	// DefaultSigBackdate is how far before now the validity starts, for
	// clients whose clock is behind (BIND signs an hour back too).
	DefaultSigBackdate = time.Hour
	// DefaultSigCacheEntries is the signature cache's size in RR sets.
	DefaultSigCacheEntries = 100000
)

// SignOptions tune a Signer. Zero values take the defaults.
type SignOptions struct {
	Denial Denial
	// Lifetime is the validity of a signature (DefaultSigLifetime).
	Lifetime time.Duration
	// Refresh: a cached signature is made again once less than Refresh
	// plus the set's TTL of its validity is left, so no resolver holds it
	// past its expiration. Default: a tenth of Lifetime (knotd's
	// rrsig-refresh before its propagation and TTL terms), 1.4 days.
	Refresh time.Duration
	// Backdate moves the inception before now (DefaultSigBackdate).
	Backdate time.Duration
	// CacheEntries is how many signed RR sets the cache keeps
	// (DefaultSigCacheEntries); negative turns the cache off.
	CacheEntries int
	// Clock is the time source (clock.Real).
	Clock clock.Clock
}

// Signer signs RR sets of one zone on line with its keys: the DNSKEY set
// at the apex with the key signing keys (SEP flag), everything else with
// the zone signing keys; a single key, or keys all of one kind, sign
// everything (a CSK). Signatures are cached per RR set and the keys that
// sign it, and made again before they expire. A Signer is safe for
// concurrent use; the lua2 profile uses it for live signing too.
type Signer struct {
	origin   []byte // lowercased wire
	keys     []*dnssec.Key
	ksk, zsk []*dnssec.Key
	opt      SignOptions
	cache    sigCache
	made     atomic.Uint64 // RR sets signed (cache misses and refreshes)
	hits     atomic.Uint64
	errs     atomic.Uint64
}

// NewSigner returns a signer for the zone origin with keys, each of which
// must hold a private key of a supported algorithm. A key's Flags say its
// role (257: KSK, 256: ZSK); its Owner is set to origin when nil and must
// be origin otherwise.
func NewSigner(origin string, keys []*dnssec.Key, opt SignOptions) (*Signer, error) {
	on, err := dnsmsg.NameFromText(origin)
	if err != nil {
		return nil, fmt.Errorf("signer: bad origin %q: %v", origin, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("signer %s: no keys", origin)
	}
	s := &Signer{origin: dnsmsg.LowerName(on.Wire), opt: opt}
	for _, k := range keys {
		if k == nil || !k.CanSign() {
			return nil, fmt.Errorf("signer %s: a key without private key", origin)
		}
		if !dnssec.Supported(k.Algo) {
			return nil, fmt.Errorf("signer %s: key %d: algorithm %s cannot sign", origin, k.Tag(), dnssec.AlgorithmName(k.Algo))
		}
		if k.Owner == nil {
			k.Owner = s.origin
		} else if !foldEqual(k.Owner, s.origin) {
			return nil, fmt.Errorf("signer %s: key %d belongs to %s", origin, k.Tag(), nameText(k.Owner))
		}
		if k.Flags&0x100 == 0 {
			return nil, fmt.Errorf("signer %s: key %d: flags %d lack the zone key bit", origin, k.Tag(), k.Flags)
		}
		s.keys = append(s.keys, k)
		if k.Flags&1 != 0 {
			s.ksk = append(s.ksk, k)
		} else {
			s.zsk = append(s.zsk, k)
		}
	}
	if len(s.zsk) == 0 {
		s.zsk = s.ksk
	}
	if len(s.ksk) == 0 {
		s.ksk = s.zsk
	}
	if s.opt.Lifetime <= 0 {
		s.opt.Lifetime = DefaultSigLifetime
	}
	if s.opt.Refresh <= 0 {
		s.opt.Refresh = s.opt.Lifetime / 10
	}
	if s.opt.Backdate <= 0 {
		s.opt.Backdate = DefaultSigBackdate
	}
	if s.opt.Clock == nil {
		s.opt.Clock = clock.Real
	}
	n := s.opt.CacheEntries
	if n == 0 {
		n = DefaultSigCacheEntries
	}
	s.cache.init(max(n, 0))
	return s, nil
}

// Origin returns the zone's apex (lowercased wire form).
func (s *Signer) Origin() []byte { return s.origin }

// Keys returns the signing keys.
func (s *Signer) Keys() []*dnssec.Key { return s.keys }

// Options returns the options in use, defaults filled in.
func (s *Signer) Options() SignOptions { return s.opt }

// SignerStats counts a Signer's work.
type SignerStats struct {
	Signed uint64 // RR sets signed (cache misses and refreshes)
	Hits   uint64 // RR sets answered from the cache
	Errors uint64 // signing failures (the set went out unsigned)
	Cached int    // RR sets in the cache now
}

// Stats returns the counters.
func (s *Signer) Stats() SignerStats {
	return SignerStats{Signed: s.made.Load(), Hits: s.hits.Load(), Errors: s.errs.Load(), Cached: s.cache.len()}
}

// FlushCache empties the signature cache.
func (s *Signer) FlushCache() { s.cache.flush() }

// Sign returns the RRSIG set over rr (one RRSIG per signing key), from the
// cache when a signature of the same set by the same keys is there and not
// due for refresh. rr is signed as it is: an owner starting with the label
// * makes a wildcard signature (RFC 4035 §5.3.2), which a wildcard answer
// serves under the question's name. The RRSIG set has rr's owner and TTL.
func (s *Signer) Sign(rr *dnsmsg.RRSet) (*dnsmsg.RRSet, error) {
	return s.sign(rr, false)
}

// SignAllKeys is Sign with every key of the Signer, KSKs and ZSKs (pdns
// signs CDS and CDNSKEY so); cached apart from Sign's signatures.
func (s *Signer) SignAllKeys(rr *dnsmsg.RRSet) (*dnsmsg.RRSet, error) {
	return s.sign(rr, true)
}

func (s *Signer) sign(rr *dnsmsg.RRSet, all bool) (*dnsmsg.RRSet, error) {
	if rr == nil || rr.Owner == nil || len(rr.RData) == 0 {
		return nil, errors.New("signer: nothing to sign")
	}
	if rr.Type == typeRRSIG {
		return nil, errors.New("signer: RRSIGs are not signed")
	}
	now := s.opt.Clock.Now().Unix()
	var kb [512]byte
	key := kb[:0]
	if all {
		key = append(key, 0xff) // no owner name starts so
	}
	key = appendSetKey(key, rr)
	if e, ok := s.cache.get(key); ok && now < e.refresh {
		s.hits.Add(1)
		if !bytes.Equal(e.sig.Owner.Wire, rr.Owner.Wire) {
			c := *e.sig
			c.Owner = rr.Owner
			return &c, nil
		}
		return e.sig, nil
	}
	keys := s.zsk
	if all {
		keys = s.keys
	} else if rr.Type == dnssec.TypeDNSKEY && foldEqual(rr.Owner.Wire, s.origin) {
		keys = s.ksk
	}
	inception := now - int64(s.opt.Backdate/time.Second)
	expiration := now + int64(s.opt.Lifetime/time.Second)
	sig := &dnsmsg.RRSet{Owner: rr.Owner, Type: typeRRSIG, Class: classIN, TTL: rr.TTL,
		RData: make([][]byte, 0, len(keys))}
	for _, k := range keys {
		rd, err := k.SignRRSet(rr, uint32(inception), uint32(expiration), s.origin)
		if err != nil {
			s.errs.Add(1)
			return nil, fmt.Errorf("signer %s: %s/%s with key %d: %w", nameText(s.origin),
				nameText(rr.Owner.Wire), dnsmsg.TypeString(rr.Type), k.Tag(), err)
		}
		sig.RData = append(sig.RData, rd)
	}
	s.made.Add(1)
	refresh := expiration - int64(s.opt.Refresh/time.Second) - int64(rr.TTL)
	if refresh <= now { // a lifetime shorter than refresh and TTL: cache nothing
		return sig, nil
	}
	s.cache.put(key, sigEntry{sig: sig, refresh: refresh})
	return sig, nil
}

// CoverNSEC returns an RFC 4470 white lie: an NSEC owned by the immediate
// predecessor of name whose next name follows name and every name below
// it, bitmap NSEC and RRSIG. It proves that name and its subtree do not
// exist; name must be the next closer name (one label below the closest
// encloser) for a validator to find the closest encloser from it. nil
// for the root.
func (s *Signer) CoverNSEC(name []byte, ttl uint32) *dnsmsg.RRSet {
	prev := dnssec.Predecessor(name)
	if prev == nil {
		return nil
	}
	return dnssec.NSEC(prev, subtreeEnd(name), ttl, []uint16{typeRRSIG, typeNSEC})
}

// MatchNSEC returns the NSEC owned by name that lists types (NSEC and
// RRSIG added) with the immediate successor of name as next name: the
// NODATA proof of a name that exists, and with typeNXNAME among types
// (NXNameNSEC) RFC 9824's proof of a name that does not.
func (s *Signer) MatchNSEC(name []byte, types []uint16, ttl uint32) *dnsmsg.RRSet {
	ts := append(slices.Clone(types), typeNSEC, typeRRSIG)
	return dnssec.NSEC(name, dnssec.Successor(name), ttl, ts)
}

// NXNameNSEC returns RFC 9824's compact denial for a name that does not
// exist: an NSEC owned by it, next name its successor, types NSEC, RRSIG
// and NXNAME.
func (s *Signer) NXNameNSEC(name []byte, ttl uint32) *dnsmsg.RRSet {
	return s.MatchNSEC(name, []uint16{typeNXNAME}, ttl)
}

// subtreeEnd returns the first name in canonical order after w and all of
// its descendants: w's first label with \000 appended; when that does not
// fit, the label's last octet below 0xff incremented (the rest cut); the
// immediate successor of w as a last resort.
func subtreeEnd(w []byte) []byte {
	if len(w) <= 1 {
		return []byte{0}
	}
	w = dnsmsg.LowerName(w)
	l := int(w[0])
	label, rest := w[1:1+l], w[1+l:]
	if l < 63 && len(w) < 255 {
		out := append([]byte{byte(l + 1)}, label...)
		out = append(out, 0)
		return append(out, rest...)
	}
	for i := len(label) - 1; i >= 0; i-- {
		if label[i] == 0xff {
			continue
		}
		c := label[i] + 1
		if c >= 'A' && c <= 'Z' { // would sort as lowercase
			c = 'Z' + 1
		}
		out := append([]byte{byte(i + 1)}, label[:i]...)
		out = append(out, c)
		return append(out, rest...)
	}
	return dnssec.Successor(w)
}

// appendSetKey appends the cache key of rr: owner lowercased, type, TTL,
// and each RDATA with its length.
func appendSetKey(b []byte, rr *dnsmsg.RRSet) []byte {
	start := len(b)
	b = append(b, rr.Owner.Wire...)
	for i := start; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	b = binary.BigEndian.AppendUint16(b, rr.Type)
	b = binary.BigEndian.AppendUint32(b, rr.TTL)
	for _, rd := range rr.RData {
		b = binary.BigEndian.AppendUint16(b, uint16(len(rd)))
		b = append(b, rd...)
	}
	return b
}

// sigCache holds RRSIG sets by the signed set's key, in shards under their
// own lock; a full shard drops an entry picked at random (Go's map order).
type sigCache struct {
	seed   maphash.Seed
	per    int // entries per shard; 0: no cache
	shards [16]sigShard
}

type sigShard struct {
	mu sync.Mutex
	m  map[string]sigEntry
}

type sigEntry struct {
	sig     *dnsmsg.RRSet
	refresh int64 // unix seconds from which the signature is made again
}

func (c *sigCache) init(n int) {
	c.seed = maphash.MakeSeed()
	if n > 0 {
		c.per = max(1, (n+len(c.shards)-1)/len(c.shards))
	}
}

func (c *sigCache) shard(key []byte) *sigShard {
	return &c.shards[maphash.Bytes(c.seed, key)%uint64(len(c.shards))]
}

func (c *sigCache) get(key []byte) (sigEntry, bool) {
	if c.per == 0 {
		return sigEntry{}, false
	}
	sh := c.shard(key)
	sh.mu.Lock()
	e, ok := sh.m[string(key)]
	sh.mu.Unlock()
	return e, ok
}

func (c *sigCache) put(key []byte, e sigEntry) {
	if c.per == 0 {
		return
	}
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		sh.m = make(map[string]sigEntry)
	}
	if _, ok := sh.m[string(key)]; !ok && len(sh.m) >= c.per {
		for k := range sh.m {
			delete(sh.m, k)
			break
		}
	}
	sh.m[string(key)] = e
}

func (c *sigCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

func (c *sigCache) flush() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.m = nil
		sh.mu.Unlock()
	}
}

// LoadKeys reads the private keys of zone origin for signing on line:
// each path of files (BIND K*.private files, ".private" may be left off)
// and every K<origin>+*.private file in dir (when dir is not empty). A
// key's flags (KSK or ZSK) come from the K*.key file beside it, else from
// the key's record in dnskey (the zone's DNSKEY set, may be nil); a key
// found in neither is an error.
func LoadKeys(origin string, files []string, dir string, dnskey *dnsmsg.RRSet) ([]*dnssec.Key, error) {
	on, err := dnsmsg.NameFromText(origin)
	if err != nil {
		return nil, fmt.Errorf("keys: bad origin %q: %v", origin, err)
	}
	owner := dnsmsg.LowerName(on.Wire)
	paths := slices.Clone(files)
	if dir != "" {
		text := strings.ToLower(strings.TrimSuffix(nameText(owner), ".")) + "."
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("key_dir: %v", err)
		}
		for _, e := range ents {
			n := e.Name()
			if strings.HasSuffix(n, ".private") && strings.HasPrefix(strings.ToLower(n), "k"+text+"+") {
				paths = append(paths, filepath.Join(dir, n))
			}
		}
	}
	var keys []*dnssec.Key
	for _, p := range paths {
		if !strings.HasSuffix(p, ".private") {
			p += ".private"
		}
		k, err := loadKey(p, owner, dnskey)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(keys, func(o *dnssec.Key) bool {
			return o.Algo == k.Algo && bytes.Equal(o.PublicKey(), k.PublicKey())
		}) {
			continue // the same key named twice (a file and key_dir)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("zone %s: no private keys found", nameText(owner))
	}
	return keys, nil
}

func loadKey(path string, owner []byte, dnskey *dnsmsg.RRSet) (*dnssec.Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k := dnssec.NewKey()
	if err := k.SetPrivateKey(data); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	k.Owner = owner
	pub := path[:len(path)-len(".private")] + ".key"
	if flags, ok, err := keyFileFlags(pub, k); err != nil {
		return nil, err
	} else if ok {
		k.Flags = flags
		return k, nil
	}
	if dnskey != nil {
		for _, rd := range dnskey.RData {
			if len(rd) > 4 && rd[3] == k.Algo && bytes.Equal(rd[4:], k.PublicKey()) {
				k.Flags = binary.BigEndian.Uint16(rd)
				return k, nil
			}
		}
	}
	return nil, fmt.Errorf("%s: no %s beside it and no DNSKEY of this key in the zone: its flags (KSK or ZSK) are unknown",
		path, filepath.Base(pub))
}

// keyFileFlags reads the DNSKEY flags from a BIND K*.key file, checking
// that its key is k's public half; ok is false when the file is missing.
func keyFileFlags(path string, k *dnssec.Key) (flags uint16, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		i := slices.IndexFunc(f, func(s string) bool { return strings.EqualFold(s, "DNSKEY") })
		if i < 0 || len(f) < i+5 {
			continue
		}
		fl, err1 := strconv.ParseUint(f[i+1], 10, 16)
		alg, err2 := strconv.ParseUint(f[i+3], 10, 8)
		raw, err3 := base64.StdEncoding.DecodeString(strings.Join(f[i+4:], ""))
		if err1 != nil || err2 != nil || err3 != nil {
			return 0, false, fmt.Errorf("%s: bad DNSKEY record", path)
		}
		if uint8(alg) != k.Algo || !bytes.Equal(raw, k.PublicKey()) {
			return 0, false, fmt.Errorf("%s: its DNSKEY is not the public half of the private key beside it", path)
		}
		return uint16(fl), true, nil
	}
	return 0, false, fmt.Errorf("%s: no DNSKEY record", path)
}

// SignConfig says how a zone read from a file is signed on line: its
// private key files, a directory of them, and the Signer's options (see
// LoadKeys and NewSigner).
type SignConfig struct {
	Keys    []string // K*.private files (".private" may be left off)
	KeyDir  string   // every K<zone>+*.private file in it
	Options SignOptions
}

// LoadSigned reads the zone origin from path and serves it in place of
// any zone of that origin, signed on line as c says (keys read now, flags
// from the .key files or the zone's DNSKEYs), or static when c is nil.
// Reload keeps the Signer it makes. On error the zone served before, if
// any, stays.
func (e *Engine) LoadSigned(origin, path string, c *SignConfig) (*Signer, error) {
	st := stamp(path)
	z, err := LoadZone(origin, path)
	if err != nil {
		return nil, err
	}
	var s *Signer
	if c != nil {
		keys, err := LoadKeys(origin, c.Keys, c.KeyDir, z.DNSKEY())
		if err != nil {
			return nil, err
		}
		if s, err = NewSigner(origin, keys, c.Options); err != nil {
			return nil, err
		}
		if err := z.Sign(s); err != nil {
			return nil, err
		}
	}
	z.stamp = st
	e.Add(z)
	return s, nil
}

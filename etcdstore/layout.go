// Package etcdstore keeps DNS zones in etcd (issue 17): a documented key
// layout, pushes that switch a zone whole, edits as one transaction, dumps
// as a zone file, and a Follower that loads every zone and follows etcd's
// watch so a server answers from memory. Plain Go: no Lua.
//
// # Layout
//
// Under a prefix P (DefaultPrefix "/dns/"):
//
//	P zone/<origin>                        -> <generation>    (the zone's pointer key)
//	P data/<origin>/<generation>/<owner> <TYPE> -> RRset text (one key per RRset)
//
// <origin> and <owner> are absolute names in presentation form, lowercased
// (example.com.); <TYPE> is the mnemonic or TYPEnnn (RFC 3597); <generation>
// is 16 hex digits of the push time in nanoseconds, '-', 8 random hex digits.
// The value of a data key is the RRset as master-file lines, one record a
// line, absolute owner in its original case, TTL, class IN, type and
// RDATA in the presentation form of dnsmsg.RDataText (the RFC 3597 generic
// form "\# len hex" for any RDATA whose text would not read back to the
// same wire bytes):
//
//	www.example.com. 3600 IN A 192.0.2.1
//	www.example.com. 3600 IN A 192.0.2.2
//
// Why text and not wire: the keys and values are readable and writable with
// etcdctl and by tools in any language (a value is a valid zone-file
// fragment, the concatenation of a zone's values is its zone file), the
// format does not depend on ljdns's internals, and parsing costs nothing on
// the query path (a server parses a zone when it loads or changes, with the
// same scanner that reads zone files, so the answers equal those from the
// zone file). Wire form would save parsing at load time only.
//
// A push writes a new generation under its own prefix in batches within
// etcd's request limits (MaxOps operations, MaxBytes bytes), then switches
// the pointer in one transaction that compares the pointer's revision (a
// concurrent push or edit makes it fail), then deletes every other
// generation of the zone in key ranges of at most 1000 keys. Readers go
// through the pointer, so a half-written generation is never visible: a
// push killed before the switch leaves the old zone served and some
// unreferenced keys, which the next push of the zone removes.
package etcdstore

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"ljdns/dnsmsg"
)

// DefaultPrefix is the key prefix of the zones when none is configured.
const DefaultPrefix = "/dns/"

// etcd's default request limits (--max-txn-ops, --max-request-bytes).
const (
	DefaultMaxOps   = 128
	DefaultMaxBytes = 1 << 20 // under etcd's 1.5 MiB, leaving room for the request's framing
)

// Key kinds returned by ParseKey.
const (
	KeyPointer = 1 + iota // P zone/<origin>
	KeyData               // P data/<origin>/<gen>/<owner> <TYPE>
)

// Key is a key of the layout, split.
type Key struct {
	Kind   int
	Origin string // lowercased absolute name text
	Gen    string // KeyData only
	Set    string // KeyData only: "<owner> <TYPE>"
}

// CanonOrigin returns the layout's form of a zone name: absolute,
// lowercased presentation text. A name with '/' is refused: '/' separates
// the parts of a key.
func CanonOrigin(name string) (string, error) {
	n, err := dnsmsg.NameFromText(name)
	if err != nil {
		return "", fmt.Errorf("bad zone name %q: %v", name, err)
	}
	s := (&dnsmsg.Name{Wire: dnsmsg.LowerName(n.Wire)}).String()
	if strings.Contains(s, "/") {
		return "", fmt.Errorf("zone name %q: '/' is not allowed in the etcd layout", name)
	}
	return s, nil
}

// SetKey returns the data key suffix of the RRset of owner (wire) and type t.
func SetKey(owner []byte, t uint16) string {
	return (&dnsmsg.Name{Wire: dnsmsg.LowerName(owner)}).String() + " " + dnsmsg.TypeString(t)
}

// PointerKey is the key holding the current generation of origin.
func (s *Store) PointerKey(origin string) string { return s.Prefix + "zone/" + origin }

func (s *Store) zonesPrefix() string { return s.Prefix + "zone/" }

func (s *Store) dataRoot(origin string) string { return s.Prefix + "data/" + origin + "/" }

// DataPrefix is the prefix of every RRset key of one generation of origin.
func (s *Store) DataPrefix(origin, gen string) string { return s.dataRoot(origin) + gen + "/" }

// ParseKey splits a key of the layout; ok is false for any other key.
func (s *Store) ParseKey(k string) (Key, bool) {
	rest, ok := strings.CutPrefix(k, s.Prefix)
	if !ok {
		return Key{}, false
	}
	if o, ok := strings.CutPrefix(rest, "zone/"); ok && o != "" {
		return Key{Kind: KeyPointer, Origin: o}, true
	}
	rest, ok = strings.CutPrefix(rest, "data/")
	if !ok {
		return Key{}, false
	}
	origin, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return Key{}, false
	}
	gen, set, ok := strings.Cut(rest, "/")
	if !ok || gen == "" || set == "" {
		return Key{}, false
	}
	return Key{Kind: KeyData, Origin: origin, Gen: gen, Set: set}, true
}

// newGen returns a fresh generation name.
func newGen() string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%016x-%s", time.Now().UnixNano(), hex.EncodeToString(b[:]))
}

// prefixEnd is the end of the key range of every key starting with p.
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\x00"
}

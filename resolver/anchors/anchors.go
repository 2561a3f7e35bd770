// Package anchors keeps a resolver's DNSSEC trust anchors: the built-in
// root anchors, anchors added from text, key files in kresd's format, and
// their RFC 5011 maintenance (automated updates of trust anchors) on an
// injectable clock. It is pure Go (no Lua); luamod/serve's trust_anchors
// table and `ljdns serve -k` drive it, and the resolver reads it through
// the AnchorSource interface.
//
// A key file is a zone file of DS or DNSKEY records of one zone. As kresd
// writes it, each record carries its RFC 5011 state and timer in a comment,
// and the records that are not trust anchors (states Start, AddPend,
// Revoked, Removed) are commented out, so older readers see only the
// trusted ones:
//
//	. 172800 DNSKEY 257 3 8 AwEAAa... ; Valid: ; KeyTag:20326
//	; . 172800 DNSKEY 257 3 8 AwEAAb... ; AddPend:1767225600 ; KeyTag:38696
//
// The timer is a Unix time: the end of the add hold-down (AddPend), of the
// remove hold-down (Revoked), or the time a Missing key is given up.
// A record without a state comment is Valid.
//
// No anchor is ever fetched over the internet: a key file that does not
// exist is an error unless anchors for its zone were added from text
// (trust_anchors.add), which then seed the new file.
package anchors

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"ljdns/clock"
	"ljdns/dnsmsg"
)

// Source is what the resolver reads the anchors through (the resolver
// package's AnchorSource): the current trust anchors as zone-file lines,
// and every DNSKEY set fetched for an anchored zone (RFC 5011 tracking).
type Source interface {
	Anchors() []string
	Observe(zone []byte, dnskey *dnsmsg.RRSet, rrsigs *dnsmsg.RRSet, now time.Time)
}

// State is the RFC 5011 state of a key (RFC 5011 §4), named as kresd
// names it in key files.
type State string

// The states of RFC 5011 §4.
const (
	Start   State = "Start"
	AddPend State = "AddPend"
	Valid   State = "Valid"
	Missing State = "Missing"
	Revoked State = "Revoked"
	Removed State = "Removed"
)

// Trusted reports whether a key in state s is a trust anchor (RFC 5011
// §4.2: Valid and Missing keys are).
func (s State) Trusted() bool { return s == Valid || s == Missing }

func parseState(s string) (State, bool) {
	for _, st := range []State{Start, AddPend, Valid, Missing, Revoked, Removed} {
		if string(st) == s {
			return st, true
		}
	}
	return "", false
}

// Defaults of the RFC 5011 timers (kresd's).
const (
	DefaultHoldDown = 30 * 24 * time.Hour // trust_anchors.hold_down_time
	minRefresh      = time.Hour           // RFC 5011 §2.3 bounds of the active refresh
	maxRefresh      = 15 * 24 * time.Hour
)

// Key is one DS or DNSKEY record of a keyset with its RFC 5011 state.
type Key struct {
	Type  uint16 // dnsmsg.TypeDS (43) or DNSKEY (48)
	TTL   uint32
	RData []byte
	Tag   uint16 // key tag (of the DNSKEY, or the DS's)
	State State
	Timer int64 // Unix seconds, 0: none
}

// Keyset is the anchors of one zone.
type Keyset struct {
	Owner    []byte // zone, lower-case wire form
	File     string // key file ("" for anchors added from text: not maintained)
	ReadOnly bool   // the file is read, never written
	Keys     []*Key

	nextRefresh time.Time
}

// Managed reports whether RFC 5011 maintains the keyset (it came from a
// writable key file).
func (ks *Keyset) Managed() bool { return ks.File != "" }

// Store is the set of trust anchors of a resolver. Its methods are safe
// for concurrent use.
type Store struct {
	mu          sync.Mutex
	clk         clock.Clock
	holdDown    time.Duration
	refreshTime time.Duration // 0: RFC 5011 §2.3's timing
	keepRemoved int
	sets        map[string]*Keyset // by lower-case owner wire
	builtin     bool               // the root keyset is the built-in one
	insecure    []string           // negative trust anchors
	pending     map[string]string  // key files that did not exist, by owner
	logf        func(format string, args ...any)
	anchors     []string // Anchors' result until a change (nil: to compute)
}

// New returns a store holding the built-in root anchors (replaced by any
// anchor added for the root) on clock c (nil: clock.Real).
func New(c clock.Clock) *Store {
	if c == nil {
		c = clock.Real
	}
	s := &Store{clk: c, holdDown: DefaultHoldDown, sets: map[string]*Keyset{}, pending: map[string]string{},
		logf: func(string, ...any) {}}
	ks, err := parseKeys(strings.Join(BuiltinRoot(), "\n"), false)
	if err != nil {
		panic("anchors: built-in root anchors: " + err.Error())
	}
	s.sets[string(ks.Owner)] = ks
	s.builtin = true
	return s
}

// SetLogger makes the store report state changes through logf.
func (s *Store) SetLogger(logf func(format string, args ...any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s.logf = logf
}

// SetHoldDown sets the RFC 5011 add and remove hold-down time
// (trust_anchors.hold_down_time; 30 days by default).
func (s *Store) SetHoldDown(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d < 0 {
		d = 0
	}
	s.holdDown = d
}

// HoldDown returns the hold-down time.
func (s *Store) HoldDown() time.Duration { s.mu.Lock(); defer s.mu.Unlock(); return s.holdDown }

// SetRefreshTime makes the anchors be refreshed every d instead of on
// RFC 5011 §2.3's timing (trust_anchors.refresh_time); 0 restores that.
func (s *Store) SetRefreshTime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d < 0 {
		d = 0
	}
	s.refreshTime = d
	for _, ks := range s.sets {
		ks.nextRefresh = time.Time{}
	}
}

// RefreshTime returns the forced refresh interval (0: none).
func (s *Store) RefreshTime() time.Duration { s.mu.Lock(); defer s.mu.Unlock(); return s.refreshTime }

// SetKeepRemoved sets how many Removed keys a keyset keeps in its history
// and key file (trust_anchors.keep_removed; 0 by default).
func (s *Store) SetKeepRemoved(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 0 {
		n = 0
	}
	s.keepRemoved = n
}

// KeepRemoved returns the number of Removed keys kept.
func (s *Store) KeepRemoved() int { s.mu.Lock(); defer s.mu.Unlock(); return s.keepRemoved }

// AddFile loads the key file at path for RFC 5011 maintenance (written
// back on every change unless readOnly). It replaces the zone's anchors. A
// file that does not exist is remembered: Check fails unless anchors of
// the root were added from text, which then seed it (there is no bootstrap
// over the internet). A read-only file must exist.
func (s *Store) AddFile(path string, readOnly bool) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !readOnly {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, p := range s.pending {
			if p == path {
				return nil
			}
		}
		s.pending["\x00"] = path // a file to create can only hold the root's keys
		return nil
	}
	if err != nil {
		return fmt.Errorf("trust anchors: key file %q: %w", path, err)
	}
	ks, err := parseKeys(string(data), true)
	if err != nil {
		return fmt.Errorf("trust anchors: key file %q: %v", path, err)
	}
	ks.File, ks.ReadOnly = path, readOnly
	// as in kresd, the history of Removed keys does not survive a restart
	kept := ks.Keys[:0]
	for _, k := range ks.Keys {
		if k.State != Removed {
			kept = append(kept, k)
		}
	}
	ks.Keys = kept
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, string(ks.Owner))
	s.install(ks)
	return nil
}

// install makes ks the keyset of its zone (s.mu held).
func (s *Store) install(ks *Keyset) {
	s.anchors = nil
	if string(ks.Owner) == "\x00" {
		s.builtin = false
	}
	s.sets[string(ks.Owner)] = ks
}

// Add adds DS or DNSKEY records (zone-file text, one or more lines) as
// trust anchors of their zone, kept as they are (no RFC 5011 maintenance),
// as trust_anchors.add does. The first anchor added for the root replaces
// the built-in ones.
func (s *Store) Add(text string) error {
	ks, err := parseKeys(text, false)
	if err != nil {
		return fmt.Errorf("trust anchors: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.sets[string(ks.Owner)]
	if cur == nil || string(ks.Owner) == "\x00" && s.builtin {
		s.install(ks)
		return nil
	}
	for _, k := range ks.Keys {
		if cur.find(k.Type, k.RData) == nil {
			cur.Keys = append(cur.Keys, k)
			s.anchors = nil
		}
	}
	return nil
}

// Remove drops every anchor of zone (text form); it reports whether there
// were any.
func (s *Store) Remove(zone string) bool {
	n, err := dnsmsg.NameFromText(zone)
	if err != nil {
		return false
	}
	owner := string(dnsmsg.LowerName(n.Wire))
	s.mu.Lock()
	defer s.mu.Unlock()
	_, had := s.sets[owner]
	delete(s.sets, owner)
	s.anchors = nil
	delete(s.pending, owner)
	if owner == "\x00" {
		s.builtin = false
	}
	return had
}

// SetInsecure replaces the negative trust anchors (RFC 7646): names at and
// below which nothing is validated (trust_anchors.set_insecure).
func (s *Store) SetInsecure(names []string) error {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if _, err := dnsmsg.NameFromText(n); err != nil {
			return fmt.Errorf("trust anchors: negative trust anchor %q: %v", n, err)
		}
		out = append(out, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insecure = out
	return nil
}

// Insecure returns the negative trust anchors.
func (s *Store) Insecure() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.insecure...)
}

// Check ends the configuration: a key file that did not exist is created
// from the anchors added for its zone from text, or is an error when there
// are none (no bootstrap over the internet).
func (s *Store) Check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for owner, path := range s.pending {
		ks := s.sets[owner]
		if ks == nil || owner == "\x00" && s.builtin || len(ks.Keys) == 0 {
			return fmt.Errorf("trust anchors: key file %q does not exist, and ljdns does not fetch anchors over "+
				"the internet: put the zone's DS or DNSKEY records in it (for the root, IANA's root-anchors), "+
				"or add them with trust_anchors.add() in the configuration", path)
		}
		ks.File, ks.ReadOnly = path, false
		if err := s.write(ks); err != nil {
			return err
		}
		delete(s.pending, owner)
	}
	return nil
}

// Anchors returns the trust anchors (keys in state Valid or Missing) as
// zone-file lines, for the validator; it implements Source. The slice is
// shared until the anchors change: do not modify it.
func (s *Store) Anchors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.anchors != nil {
		return s.anchors
	}
	out := []string{}
	for _, owner := range s.owners() {
		ks := s.sets[owner]
		for _, k := range ks.Keys {
			if k.State.Trusted() {
				out = append(out, rrText(ks.Owner, k))
			}
		}
	}
	s.anchors = out
	return out
}

// Keysets returns a copy of every keyset, ordered by zone.
func (s *Store) Keysets() []Keyset {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Keyset
	for _, owner := range s.owners() {
		ks := *s.sets[owner]
		keys := make([]*Key, len(ks.Keys))
		for i, k := range ks.Keys {
			c := *k
			keys[i] = &c
		}
		ks.Keys = keys
		out = append(out, ks)
	}
	return out
}

// owners returns the zones in canonical order (s.mu held).
func (s *Store) owners() []string {
	out := make([]string, 0, len(s.sets))
	for o := range s.sets {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return dnsmsg.CompareNames([]byte(out[i]), []byte(out[j])) < 0 })
	return out
}

// Summary describes the anchors as trust_anchors.summary() does: each
// zone's keys as key-file lines (states included), the key file, and the
// negative trust anchors.
func (s *Store) Summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, owner := range s.owners() {
		ks := s.sets[owner]
		name := nameText(ks.Owner)
		for _, n := range s.insecure {
			if strings.EqualFold(strings.TrimSuffix(n, ".")+".", name) || n == name {
				fmt.Fprintf(&b, "%s is negative trust anchor\nWARNING! negative trust anchor also has an explicit TA\n", name)
			}
		}
		switch {
		case owner == "\x00" && s.builtin:
			b.WriteString("; built-in root anchors (IANA's KSK-2017 and KSK-2024)\n")
		case ks.File != "":
			ro := ""
			if ks.ReadOnly {
				ro = " (read-only)"
			}
			fmt.Fprintf(&b, "; file %s%s\n", ks.File, ro)
		}
		for _, k := range ks.Keys {
			b.WriteString(keyLine(ks.Owner, k))
		}
	}
	for _, n := range s.insecure {
		fmt.Fprintf(&b, "; negative trust anchor %s\n", n)
	}
	for _, p := range s.pending {
		fmt.Fprintf(&b, "; file %s does not exist yet\n", p)
	}
	return b.String()
}

func (ks *Keyset) find(t uint16, rdata []byte) *Key {
	for _, k := range ks.Keys {
		if k.Type == t && string(k.RData) == string(rdata) {
			return k
		}
	}
	return nil
}

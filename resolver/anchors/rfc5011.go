package anchors

import (
	"context"
	"time"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// DNSKEY flags of RFC 5011 (RFC 4034 §2.1.1, RFC 5011 §3).
const (
	flagSEP    = 0x0001
	flagRevoke = 0x0080
)

// observed is one key of a fetched DNSKEY set.
type observed struct {
	rdata   []byte // as published
	base    []byte // with the REVOKE bit cleared: the key's identity
	flags   uint16
	key     *dnssec.Key
	signed  bool // an RRSIG over the set made by this key verifies
	revoked bool
}

// Observe applies RFC 5011 to a DNSKEY set fetched for zone with its
// RRSIGs: when the set is signed by a key that is a trust anchor now, new
// SEP keys become AddPend and Valid after the hold-down, revoked keys that
// sign the set become Revoked and Removed after the hold-down, keys gone
// from the set become Missing, and the key file is rewritten. Sets of
// zones without a maintained key file, and sets that do not validate, are
// ignored. It implements Source.
func (s *Store) Observe(zoneName []byte, dnskey *dnsmsg.RRSet, rrsigs *dnsmsg.RRSet, now time.Time) {
	if dnskey == nil || dnskey.Type != typeDNSKEY {
		return
	}
	owner := dnsmsg.LowerName(zoneName)
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := s.sets[string(owner)]
	if ks == nil || !ks.Managed() || ks.ReadOnly {
		return
	}
	obs := observe(owner, dnskey, rrsigs, now)
	validated := false
	for _, o := range obs {
		if o.signed && !o.revoked {
			if e := ks.match(owner, o.base); e != nil && e.State.Trusted() {
				validated = true
			}
		}
	}
	if !validated {
		s.logf("trust anchors: DNSKEY set of %s does not validate with the current anchors: ignored", nameText(owner))
		return
	}
	if s.apply(ks, owner, dnskey.TTL, obs, now) {
		s.anchors = nil
		if err := s.write(ks); err != nil {
			s.logf("%v", err)
		}
	}
	ks.nextRefresh = now.Add(s.refreshInterval(dnskey, rrsigs, now))
}

// observe decodes the keys of a DNSKEY set and checks which ones sign it.
func observe(owner []byte, dnskey, rrsigs *dnsmsg.RRSet, now time.Time) []*observed {
	var obs []*observed
	for _, rd := range dnskey.RData {
		k := dnssec.NewKey()
		if k.SetRData(rd) != nil {
			continue
		}
		k.Owner = owner
		o := &observed{rdata: rd, flags: k.Flags, key: k, revoked: k.Flags&flagRevoke != 0}
		o.base = append([]byte(nil), rd...)
		o.base[1] &^= flagRevoke
		obs = append(obs, o)
	}
	if rrsigs == nil {
		return obs
	}
	t := uint32(now.Unix())
	for _, sig := range rrsigs.RData {
		rs, err := dnssec.ParseRRSIG(sig)
		if err != nil || rs.TypeCovered != typeDNSKEY || string(dnsmsg.LowerName(rs.SignerName)) != string(owner) {
			continue
		}
		for _, o := range obs {
			if !o.signed && o.key.Tag() == rs.KeyTag && o.key.Algo == rs.Algorithm && o.key.VerifyRRSet(dnskey, sig, t) == nil {
				o.signed = true
			}
		}
	}
	return obs
}

// match returns the keyset's entry for the key whose RDATA (REVOKE bit
// cleared) is base: a DNSKEY entry with that key, or a DS entry of it.
func (ks *Keyset) match(owner, base []byte) *Key {
	for _, e := range ks.Keys {
		switch e.Type {
		case typeDNSKEY:
			if len(e.RData) == len(base) && e.RData[0] == base[0] && e.RData[1]&^flagRevoke == base[1] && string(e.RData[2:]) == string(base[2:]) {
				return e
			}
		case typeDS:
			k := dnssec.NewKey()
			if k.SetRData(base) != nil {
				continue
			}
			k.Owner = owner
			if ds, err := k.DS(e.RData[3]); err == nil && string(ds) == string(e.RData) {
				return e
			}
		}
	}
	return nil
}

// apply moves the keys of ks through RFC 5011's states for a validated
// DNSKEY set; it reports whether anything changed (s.mu held).
func (s *Store) apply(ks *Keyset, owner []byte, ttl uint32, obs []*observed, now time.Time) bool {
	changed := false
	set := func(e *Key, st State, timer int64) {
		if e.State != st || e.Timer != timer {
			e.State, e.Timer = st, timer
			changed = true
			s.logf("trust anchors: %s key %d: %s", nameText(owner), e.Tag, st)
		}
	}
	hold := now.Add(s.holdDown).Unix()
	seen := map[*Key]bool{}
	for _, o := range obs {
		if o.flags&flagSEP == 0 {
			continue // RFC 5011 tracks the SEP keys
		}
		e := ks.match(owner, o.base)
		if o.revoked {
			// RFC 5011 §2.1: a revocation counts when the revoked key
			// signs the set itself
			if e == nil {
				continue
			}
			seen[e] = true // published, even if the revocation does not count
			if !o.signed {
				continue
			}
			if e.State == Valid || e.State == Missing || e.State == AddPend {
				set(e, Revoked, hold)
			}
			continue
		}
		if e == nil {
			k := &Key{Type: typeDNSKEY, TTL: ttl, RData: append([]byte(nil), o.base...), State: AddPend, Timer: hold}
			k.setTag()
			ks.Keys = append(ks.Keys, k)
			seen[k] = true
			changed = true
			s.logf("trust anchors: %s key %d: %s", nameText(owner), k.Tag, AddPend)
			continue
		}
		seen[e] = true
		if e.Type == typeDS {
			// the anchor's key is known now: keep the DNSKEY (its
			// revocation is recognised without the digest)
			e.Type, e.RData, e.TTL = typeDNSKEY, append([]byte(nil), o.base...), ttl
			e.setTag()
			changed = true
		}
		switch e.State {
		case Start:
			set(e, AddPend, hold)
		case AddPend:
			if now.Unix() >= e.Timer {
				set(e, Valid, 0)
			}
		case Missing:
			set(e, Valid, 0)
		}
	}
	kept := ks.Keys[:0]
	for _, e := range ks.Keys {
		switch {
		case e.State == Revoked && now.Unix() >= e.Timer:
			set(e, Removed, now.Unix())
		case seen[e]:
		case e.State == Valid:
			// kresd gives a missing key up after four hold-down times
			set(e, Missing, now.Add(4*s.holdDown).Unix())
		case e.State == Missing && now.Unix() >= e.Timer:
			set(e, Removed, now.Unix())
		case e.State == AddPend || e.State == Start:
			// RFC 5011 §4.2: a pending key that disappears is forgotten
			changed = true
			s.logf("trust anchors: %s key %d: gone before its hold-down ended", nameText(owner), e.Tag)
			continue
		}
		kept = append(kept, e)
	}
	ks.Keys = kept
	if s.purgeRemoved(ks) {
		changed = true
	}
	trusted := 0
	for _, e := range ks.Keys {
		if e.State.Trusted() {
			trusted++
		}
	}
	if trusted == 0 {
		s.logf("trust anchors: ERROR: no anchors are trusted for %s", nameText(owner))
	}
	return changed
}

// purgeRemoved keeps the keepRemoved most recently removed keys of ks.
func (s *Store) purgeRemoved(ks *Keyset) bool {
	n := 0
	for _, e := range ks.Keys {
		if e.State == Removed {
			n++
		}
	}
	if n <= s.keepRemoved {
		return false
	}
	for drop := n - s.keepRemoved; drop > 0; drop-- {
		// the oldest removal goes first
		oldest := -1
		for i, e := range ks.Keys {
			if e.State == Removed && (oldest < 0 || e.Timer < ks.Keys[oldest].Timer) {
				oldest = i
			}
		}
		ks.Keys = append(ks.Keys[:oldest], ks.Keys[oldest+1:]...)
	}
	return true
}

// refreshInterval is the time to the next active refresh of a keyset:
// refresh_time if set, else RFC 5011 §2.3's MAX(1 hour, MIN(15 days,
// 1/2*OrigTTL, 1/2*RRSigExpirationInterval)).
func (s *Store) refreshInterval(dnskey, rrsigs *dnsmsg.RRSet, now time.Time) time.Duration {
	if s.refreshTime > 0 {
		return s.refreshTime
	}
	d := maxRefresh
	if dnskey != nil {
		d = min(d, time.Duration(dnskey.TTL)*time.Second/2)
	}
	if rrsigs != nil {
		for _, sig := range rrsigs.RData {
			if rs, err := dnssec.ParseRRSIG(sig); err == nil && rs.TypeCovered == typeDNSKEY {
				left := time.Duration(int64(rs.Expiration)-now.Unix()) * time.Second
				d = min(d, left/2)
				if rs.OrigTTL > 0 {
					d = min(d, time.Duration(rs.OrigTTL)*time.Second/2)
				}
			}
		}
	}
	return max(d, minRefresh)
}

// Fetcher fetches the DNSKEY set of zone and its RRSIGs (the resolver's
// query for an active refresh).
type Fetcher func(ctx context.Context, zone []byte) (dnskey, rrsigs *dnsmsg.RRSet, err error)

// Due returns the maintained zones whose active refresh is due at now (a
// zone not fetched yet is due).
func (s *Store) Due(now time.Time) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, owner := range s.owners() {
		ks := s.sets[owner]
		if ks.Managed() && !ks.ReadOnly && !now.Before(ks.nextRefresh) {
			out = append(out, ks.Owner)
		}
	}
	return out
}

// Refresh fetches the DNSKEY set of every zone due now and observes it
// (RFC 5011 §2.3's active refresh). A failed fetch is retried after an
// hour (or refresh_time when shorter). It returns the time of the next
// refresh due (zero when no zone is maintained).
func (s *Store) Refresh(ctx context.Context, fetch Fetcher) time.Time {
	now := s.clk.Now()
	for _, z := range s.Due(now) {
		dnskey, rrsigs, err := fetch(ctx, z)
		if err == nil {
			s.Observe(z, dnskey, rrsigs, now)
		}
		s.mu.Lock()
		if ks := s.sets[string(z)]; ks != nil && !ks.nextRefresh.After(now) {
			retry := minRefresh
			if s.refreshTime > 0 && s.refreshTime < retry {
				retry = s.refreshTime
			}
			if err != nil {
				s.logf("trust anchors: refresh of %s failed: %v", nameText(z), err)
			}
			ks.nextRefresh = now.Add(retry)
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	for _, ks := range s.sets {
		if ks.Managed() && !ks.ReadOnly && (next.IsZero() || ks.nextRefresh.Before(next)) {
			next = ks.nextRefresh
		}
	}
	return next
}

// Run refreshes the maintained anchors on the store's clock until ctx
// ends (the daemon runs it with the resolver's fetcher).
func (s *Store) Run(ctx context.Context, fetch Fetcher) {
	for {
		next := s.Refresh(ctx, fetch)
		wait := minRefresh
		if !next.IsZero() {
			wait = max(next.Sub(s.clk.Now()), time.Second)
		}
		t := s.clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

package validator

import (
	"time"

	"ljdns/dnssec"
)

// kind is what the key cache knows about a name.
type kind int

const (
	kindSecure   kind = iota // a zone apex with validated keys
	kindInsecure             // an insecure delegation (or an NTA): unsigned from here down
	kindBogus                // the chain breaks here
	kindNotCut               // a name inside its parent's zone, not a zone cut
	kindNoName               // a name proved not to exist: no zone below it
)

// entry is one key cache entry, for the name it is stored under.
type entry struct {
	kind    kind
	keys    []*dnssec.Key // kindSecure: the zone's DNSKEYs with the zone key bit
	res     Result        // kindInsecure, kindBogus: the verdict for names at and below
	expires time.Time
}

// lookup returns the live cache entry of name (lower-case wire), or nil.
func (v *Validator) lookup(name []byte, now time.Time) *entry {
	v.mu.Lock()
	defer v.mu.Unlock()
	e := v.cache[string(name)]
	if e == nil || !now.Before(e.expires) {
		return nil
	}
	return e
}

// store caches e for name for ttl (capped at maxCacheTTL). When the cache
// is full it drops the expired entries, then, if still full, all of them.
func (v *Validator) store(name []byte, e *entry, now time.Time, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	e.expires = now.Add(min(ttl, maxCacheTTL))
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.cache) >= v.cfg.CacheEntries {
		for k, old := range v.cache {
			if !now.Before(old.expires) {
				delete(v.cache, k)
			}
		}
		if len(v.cache) >= v.cfg.CacheEntries {
			clear(v.cache)
		}
	}
	v.cache[string(name)] = e
}

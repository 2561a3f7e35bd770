package authority

import (
	"slices"
	"sync"
	"sync/atomic"

	"ljdns/dnsmsg"
)

// Options tune how the engine answers.
type Options struct {
	// FullANY answers ANY with every set of the name. By default ANY gets
	// one RR set, the one of the lowest type, as knotd 3.2 answers (RFC 8482
	// §4.1), over UDP and TCP alike.
	FullANY bool
	// CrossZoneCNAME follows CNAME and DNAME targets into other loaded
	// zones; knotd (the default) stops at the edge of the zone.
	CrossZoneCNAME bool
	// UDPMax caps the size of an answer over UDP with EDNS (default 1232,
	// knotd's udp-max-payload).
	UDPMax int
}

// Engine answers queries from a set of zones. Zones are replaced as a
// whole (Add, Remove), so answering never waits for a load.
type Engine struct {
	opt      Options
	mu       sync.Mutex // serialises writers of zones
	reloadMu sync.Mutex // one Reload at a time
	zones    atomic.Pointer[map[string]*Zone]
}

// New returns an engine without zones.
func New(opt Options) *Engine {
	if opt.UDPMax < 512 {
		opt.UDPMax = 1232
	}
	e := &Engine{opt: opt}
	m := map[string]*Zone{}
	e.zones.Store(&m)
	return e
}

// Add serves z, replacing any zone of the same origin.
func (e *Engine) Add(z *Zone) {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := *e.zones.Load()
	m := make(map[string]*Zone, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[string(z.Origin)] = z
	e.zones.Store(&m)
}

// Remove stops serving the zone origin (wire form).
func (e *Engine) Remove(origin []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := *e.zones.Load()
	m := make(map[string]*Zone, len(old))
	for k, v := range old {
		m[k] = v
	}
	delete(m, string(dnsmsg.LowerName(origin)))
	e.zones.Store(&m)
}

// Zone returns the zone of exactly that origin (wire form), or nil.
func (e *Engine) Zone(origin []byte) *Zone {
	return (*e.zones.Load())[string(dnsmsg.LowerName(origin))]
}

// Zones returns the served zones sorted by origin.
func (e *Engine) Zones() []*Zone {
	var out []*Zone
	for _, z := range *e.zones.Load() {
		out = append(out, z)
	}
	slices.SortFunc(out, func(a, b *Zone) int { return dnsmsg.CompareNames(a.Origin, b.Origin) })
	return out
}

// find returns the zone with the longest origin that qname (lowercased
// wire) lies in, nil if none. For DS at a zone apex the parent zone is
// preferred when it is served too (the DS lives there).
func (e *Engine) find(qname []byte, qtype uint16) *Zone {
	m := *e.zones.Load()
	for n := qname; n != nil; n = parent(n) {
		if z := m[string(n)]; z != nil {
			if qtype == typeDS && len(n) == len(qname) && len(n) > 1 {
				for p := parent(n); p != nil; p = parent(p) {
					if pz := m[string(p)]; pz != nil {
						return pz
					}
				}
			}
			return z
		}
	}
	return nil
}

package authority

import (
	"errors"
	"net/netip"
	"sync"

	"ljdns/dnsmsg"
)

// Backend is a source of records asked per query, the way PowerDNS asks
// its backends (the lua2 profile: a PowerDNS lua2 script behind it). The
// engine holds a Backend for one query at a time; the implementation
// decides whether calls may overlap.
type Backend interface {
	// Lookup returns the records at qname (wire form, in the case of the
	// query as pdns 4.7.3 passes it, or of the CNAME target). qtype is
	// TypeANY except for the SOA lookups that find zones; domainID is the
	// zone's id (-1 when unknown); ctx is nil for internal lookups (SOA).
	// The records' names are used as returned (a backend must not expand
	// wildcards itself).
	Lookup(qtype uint16, qname []byte, domainID int64, ctx *LookupContext) ([]BackendRecord, error)
}

// BackendLister is a Backend that can list a whole zone (AXFR).
type BackendLister interface {
	// List returns every record of zone; ok false: not authoritative.
	List(zone []byte, domainID int64) (recs []BackendRecord, ok bool, err error)
}

// LookupContext is what a backend learns of the client of a query.
type LookupContext struct {
	Source     netip.Addr // the client (after a proxy header or ECS: the inner one)
	RealSource netip.Addr // the socket peer
}

// BackendRecord is one record a backend returned.
type BackendRecord struct {
	Name      []byte // owner, wire form, case as returned
	Type      uint16
	TTL       uint32
	RData     []byte // uncompressed wire RDATA
	Auth      bool
	DomainID  int64
	ScopeMask int
}

// BackendDomain is one zone a backend serves (its domain info).
type BackendDomain struct {
	Name           []byte // apex, lowercased wire form
	ID             int64
	Serial         uint32
	Kind           string // NATIVE, MASTER, SLAVE
	Account        string
	LastCheck      int64
	NotifiedSerial int64
	Masters        []string
}

// BackendZones is the zone list of a backend (PowerDNS's zone cache, filled
// from getAllDomains). A nil *BackendZones makes the engine find zones by
// SOA lookups of the query name and its parents, as pdns does with its
// zone cache off.
type BackendZones struct {
	mu sync.RWMutex
	m  map[string]BackendDomain
}

// NewBackendZones returns a zone list holding ds.
func NewBackendZones(ds []BackendDomain) *BackendZones {
	z := &BackendZones{}
	z.Set(ds)
	return z
}

// Set replaces the zone list.
func (z *BackendZones) Set(ds []BackendDomain) {
	m := make(map[string]BackendDomain, len(ds))
	for _, d := range ds {
		d.Name = dnsmsg.LowerName(d.Name)
		m[string(d.Name)] = d
	}
	z.mu.Lock()
	z.m = m
	z.mu.Unlock()
}

// Get returns the zone of exactly that apex (lowercased wire form).
func (z *BackendZones) Get(apex []byte) (BackendDomain, bool) {
	z.mu.RLock()
	d, ok := z.m[string(apex)]
	z.mu.RUnlock()
	return d, ok
}

// Len returns the number of zones.
func (z *BackendZones) Len() int {
	z.mu.RLock()
	defer z.mu.RUnlock()
	return len(z.m)
}

// BackendQuery is one query as the backend profile answers it.
type BackendQuery struct {
	QName         []byte // as received (the backend sees it in that case)
	QType, QClass uint16
	TCP           bool
	DO            bool
	EDNS          bool
	EDNSSize      int // the client's payload size (0: no EDNS)
	Ctx           LookupContext
	// Zones: nil finds zones by SOA lookups (pdns with its zone cache off).
	Zones *BackendZones
	// NoAnyToTCP answers ANY over UDP instead of TC (pdns any-to-tcp=no).
	NoAnyToTCP bool
	// UDPMax caps the answer size over UDP with EDNS (pdns
	// udp-truncation-threshold, default 1232); OPTSize is what the OPT RR
	// the daemon adds will take.
	UDPMax, OPTSize int
	// Version and ServerID answer CHAOS TXT queries for version.bind and
	// version.pdns, and id.server (pdns version-string and server-id); an
	// empty Version answers SERVFAIL (version-string=anonymous), an empty
	// ServerID REFUSED (server-id=disabled).
	Version, ServerID string
}

// BackendResult says how an answer was made.
type BackendResult struct {
	Rcode     int
	AA, TC    bool
	ScopeMask bool // a record had a non-zero scope mask: do not cache
	NoZone    bool // no zone holds the name (REFUSED)
	Lookups   int  // backend calls made
}

// ErrBackendData is wrapped by the errors about what a backend returned.
var ErrBackendData = errors.New("authority: bad backend data")

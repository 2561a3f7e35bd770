// Package dns64 synthesizes AAAA records from A records (RFC 6147), as kresd
// 5's dns64 module: an AAAA query (class IN, recursion allowed, no
// DNS64_DISABLE flag) whose answer is NOERROR without usable AAAA records
// is asked again for A, and each A record becomes an AAAA record with the
// IPv4 address embedded in the prefix (RFC 6052 §2.2). AAAA records inside
// an excluded subnet (by default ::ffff:0:0/96, RFC 6147 §5.1.4) count as
// absent. A query with both DO and CD set is not synthesized: the client
// validates and synthesizes itself (RFC 6147 §5.5 item 3). NXDOMAIN and
// failures pass unchanged. Synthesized answers carry no
// AD bit (RFC 6147 §5.5) and the TTL of the A records, capped by the SOA
// minimum of the AAAA answer's negative proof when there is one (§5.1.7).
package dns64

import (
	"fmt"
	"net/netip"
	"sync/atomic"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// Config is the module's configuration (kresd's dns64.config table).
type Config struct {
	Prefix  netip.Prefix   // IPv6 prefix of length 32, 40, 48, 56, 64 or 96
	RevTTL  uint32         // kept for kresd's rev_ttl (reverse synthesis is not done)
	Exclude []netip.Prefix // AAAA addresses treated as absent
}

// WellKnown is the prefix of RFC 6052 §2.1, 64:ff9b::/96.
var WellKnown = netip.MustParsePrefix("64:ff9b::/96")

// DefaultExclude is kresd's default exclude_subnets.
var DefaultExclude = []netip.Prefix{netip.MustParsePrefix("::ffff:0:0/96")}

// Lookup resolves one more question for the request r (the module's A
// query); the binding passes the server's Resolve.
type Lookup func(r *daemon.Request, qname []byte, qtype uint16) (*dnsmsg.Packet, error)

// DNS64 is the module's layer.
type DNS64 struct {
	cfg    atomic.Pointer[Config]
	lookup Lookup
}

// New returns the layer with the well-known prefix and lookup.
func New(lookup Lookup) *DNS64 {
	d := &DNS64{lookup: lookup}
	d.cfg.Store(&Config{Prefix: WellKnown, RevTTL: 60, Exclude: DefaultExclude})
	return d
}

// Name is "dns64".
func (d *DNS64) Name() string { return "dns64" }

// MayBlock: the A query may wait for the resolver.
func (d *DNS64) MayBlock() bool { return true }

// Configure replaces the configuration; nil Exclude means DefaultExclude.
func (d *DNS64) Configure(c Config) error {
	if !c.Prefix.IsValid() || !c.Prefix.Addr().Is6() || c.Prefix.Addr().Is4In6() && c.Prefix.Bits() < 96 {
		return fmt.Errorf("dns64: prefix must be an IPv6 prefix")
	}
	switch c.Prefix.Bits() {
	case 32, 40, 48, 56, 64, 96:
	default:
		return fmt.Errorf("dns64: prefix length %d: RFC 6052 allows 32, 40, 48, 56, 64 or 96", c.Prefix.Bits())
	}
	c.Prefix = c.Prefix.Masked()
	if c.Exclude == nil {
		c.Exclude = DefaultExclude
	}
	d.cfg.Store(&c)
	return nil
}

// Config returns the current configuration.
func (d *DNS64) Config() Config { return *d.cfg.Load() }

// Synthesize embeds a in prefix p as RFC 6052 §2.2 says (bits 64-71 zero).
func Synthesize(p netip.Prefix, a netip.Addr) netip.Addr {
	out := p.Addr().As16()
	v4 := a.As4()
	n := p.Bits() / 8
	j := 0
	for i := n; j < 4; i++ {
		if i == 8 {
			continue // the u octet
		}
		out[i] = v4[j]
		j++
	}
	if n < 8 || p.Bits() == 64 {
		out[8] = 0
	}
	return netip.AddrFrom16(out)
}

// Finish rewrites an AAAA answer without usable AAAA records.
func (d *DNS64) Finish(r *daemon.Request, s daemon.State) daemon.State {
	if s&daemon.Fail != 0 || r.QType() != dnsmsg.TypeAAAA || r.QClass() != dnsmsg.ClassINET ||
		r.Options.Has(daemon.DNS64Disable) || !r.MayRecurse() || d.lookup == nil || r.Rcode() != 0 ||
		r.Options.Has(daemon.DNSSECWant|daemon.DNSSECCD) {
		return s
	}
	c := d.cfg.Load()
	ans := dnsmsg.NewPacketFrom(r.Answer.Size, r.Answer.Bytes())
	if ans.Parse(false) != 0 {
		return s
	}
	var minTTL uint32 = 1<<32 - 1
	for _, rr := range ans.Records(dnsmsg.SectionAN) {
		if rr.Type != dnsmsg.TypeAAAA {
			continue
		}
		for _, rd := range rr.RData {
			if len(rd) != 16 {
				continue
			}
			a := netip.AddrFrom16([16]byte(rd))
			excluded := false
			for _, p := range c.Exclude {
				excluded = excluded || p.Contains(a)
			}
			if !excluded {
				return s // a usable AAAA record
			}
		}
	}
	for _, rr := range ans.Records(dnsmsg.SectionNS) {
		if rr.Type == dnsmsg.TypeSOA && len(rr.RData) > 0 && len(rr.RData[0]) >= 4 {
			rd := rr.RData[0]
			m := uint32(rd[len(rd)-4])<<24 | uint32(rd[len(rd)-3])<<16 | uint32(rd[len(rd)-2])<<8 | uint32(rd[len(rd)-1])
			minTTL = min(minTTL, m, rr.TTL)
		}
	}
	a4, err := d.lookup(r, r.QName(), dnsmsg.TypeA)
	if err != nil || a4 == nil || a4.Rcode() != 0 {
		return s
	}
	var out []*dnsmsg.RRSet
	found := false
	for _, rr := range a4.Records(dnsmsg.SectionAN) {
		switch rr.Type {
		case dnsmsg.TypeA:
			x := &dnsmsg.RRSet{Owner: rr.Owner, Type: dnsmsg.TypeAAAA, Class: rr.Class, TTL: min(rr.TTL, minTTL)}
			for _, rd := range rr.RData {
				if len(rd) == 4 {
					b := Synthesize(c.Prefix, netip.AddrFrom4([4]byte(rd))).As16()
					x.RData = append(x.RData, b[:])
				}
			}
			if len(x.RData) > 0 {
				out = append(out, x)
				found = true
			}
		case dnsmsg.TypeCNAME, 39: // DNAME
			out = append(out, rr)
		}
	}
	if !found {
		return s
	}
	r.ResetAnswer()
	r.Answer.SetFlag("ad", false)
	r.Answer.Begin(dnsmsg.SectionAN)
	for _, rr := range out {
		r.Answer.Put(rr, false)
	}
	r.Answer.SetFlag("aa", false)
	return s
}

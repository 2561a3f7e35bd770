package testnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// hop is one step of a walk: the server asked and its reply.
type hop struct {
	server netip.AddrPort
	tcp    bool // the UDP reply was truncated and the question was asked again over TCP
	reply  *dns.Msg
}

// ioTimeout bounds one exchange of the walker: it is what lets a walk past a dead server end,
// and no test asserts anything about its length.
const ioTimeout = 2 * time.Second

// ask sends one non-recursive question with DO set to server over UDP, and over TCP when
// the UDP reply is truncated.
func ask(server netip.AddrPort, name string, qtype uint16) (hop, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	m.SetEdns0(1232, true)
	h := hop{server: server}
	c := &dns.Client{Net: "udp", Timeout: ioTimeout}
	r, _, err := c.Exchange(m, server.String())
	if err == nil && r.Truncated {
		h.tcp = true
		c.Net = "tcp"
		r, _, err = c.Exchange(m, server.String())
	}
	h.reply = r
	return h, err
}

// walk resolves name/qtype as `kdig +trace` does: it asks a root server, follows each
// referral to the servers its glue names, and stops at an authoritative reply. It returns
// the hops it made and an error if the walk ended anywhere else: no server answered, an
// error rcode, a referral without glue or one that does not lead down the tree.
func walk(roots []netip.AddrPort, name string, qtype uint16) ([]hop, error) {
	var hops []hop
	servers, cut := roots, "."
	for range 16 {
		var errs []error
		var h hop
		for _, s := range servers {
			var err error
			if h, err = ask(s, name, qtype); err == nil {
				break
			}
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			h.reply = nil
		}
		if h.reply == nil {
			return hops, errors.Join(errs...)
		}
		hops = append(hops, h)
		r := h.reply
		if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
			return hops, fmt.Errorf("%s answered %s", h.server, dns.RcodeToString[r.Rcode])
		}
		if r.Authoritative {
			return hops, nil
		}
		// A referral: the NS set of a zone below the current cut, and its glue.
		var next []netip.AddrPort
		child := ""
		for _, rr := range r.Ns {
			ns, ok := rr.(*dns.NS)
			if !ok {
				continue
			}
			child = ns.Hdr.Name
			for _, g := range r.Extra {
				if a, ok := g.(*dns.A); ok && strings.EqualFold(a.Hdr.Name, ns.Ns) {
					addr, _ := netip.AddrFromSlice(a.A.To4())
					next = append(next, netip.AddrPortFrom(addr, 53))
				}
			}
		}
		switch {
		case child == "":
			return hops, fmt.Errorf("%s sent neither an answer nor a referral", h.server)
		case dns.CountLabel(child) <= dns.CountLabel(cut) || !dns.IsSubDomain(cut, child):
			return hops, fmt.Errorf("%s referred from %s to %s, not down the tree", h.server, cut, child)
		case len(next) == 0:
			return hops, fmt.Errorf("%s referred to %s without glue", h.server, child)
		}
		servers, cut = next, child
	}
	return hops, fmt.Errorf("more than 16 referrals")
}

// answerA returns the addresses in r's answer section.
func answerA(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

// sigs returns the RRSIGs of r's answer section.
func sigs(r *dns.Msg) []*dns.RRSIG {
	var out []*dns.RRSIG
	for _, rr := range r.Answer {
		if s, ok := rr.(*dns.RRSIG); ok {
			out = append(out, s)
		}
	}
	return out
}

// referralHas reports whether a referral carries an RR of type t in its authority section.
func referralHas(r *dns.Msg, t uint16) bool {
	return slices.ContainsFunc(r.Ns, func(rr dns.RR) bool { return rr.Header().Rrtype == t })
}

// TestHierarchyWalk walks every variant from the root, as `kdig +trace` would, and checks the
// path of servers each takes and that each is served as built: the signed names carry
// signatures valid now, the broken ones carry exactly their breakage.
func TestHierarchyWalk(t *testing.T) {
	Isolate(t)
	Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone")
	h := BuildHierarchy(t, HierarchyOptions{})
	srv := func(role string) netip.AddrPort { return h.Servers[role].Addr() }
	root, example, lab := srv(RoleRoot), srv(RoleExample), srv(RoleLab)
	now := time.Now()

	for _, v := range Variants {
		t.Run(string(v), func(t *testing.T) {
			name := h.Names[v]
			hops, err := walk(h.Roots, name, dns.TypeA)
			var path []netip.AddrPort
			for _, hp := range hops {
				path = append(path, hp.server)
			}
			t.Logf("%s: path %v, err %v", name, path, err)
			wantPath := map[Variant][]netip.AddrPort{
				SecureNSEC3:  {root, lab, srv(RoleSLDNSD)},
				TCPOnly:      {root, example, srv(RoleTCPOnly)},
				Lame:         {root, example, srv(RoleSLDNSD)},
				Unresponsive: {root, example},
			}[v]
			if wantPath == nil {
				wantPath = []netip.AddrPort{root, example, srv(RoleSLDKnot)}
			}
			if !slices.Equal(path, wantPath) {
				t.Fatalf("path %v, want %v", path, wantPath)
			}
			switch v {
			case Lame:
				if err == nil || hops[2].reply.Rcode != dns.RcodeRefused {
					t.Fatalf("lame delegation: err %v, last reply\n%v", err, hops[2].reply)
				}
				return
			case Unresponsive:
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Fatalf("dead server: err %v, want a timeout", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			last := hops[len(hops)-1]
			if v == ForgedNSEC {
				// www is gone: NXDOMAIN, with the forged NSEC spanning it.
				forged := slices.ContainsFunc(last.reply.Ns, func(rr dns.RR) bool {
					n, ok := rr.(*dns.NSEC)
					return ok && strings.EqualFold(n.Hdr.Name, "ns."+name[4:]) && strings.EqualFold(n.NextDomain, name[4:])
				})
				if last.reply.Rcode != dns.RcodeNameError || !forged {
					t.Fatalf("forged: want NXDOMAIN with the forged NSEC:\n%v", last.reply)
				}
				return
			}
			if got := answerA(last.reply); !slices.Equal(got, []string{"192.0.2.1"}) {
				t.Fatalf("answer %v, want 192.0.2.1:\n%v", got, last.reply)
			}
			if last.tcp != (v == TCPOnly) {
				t.Errorf("last hop over TCP: %v", last.tcp)
			}
			// The parent's referral carries a DS for a signed child, and for an unsigned
			// one the denial: an opt-out NSEC3 under example.
			ref := hops[len(hops)-2].reply
			if got, want := referralHas(ref, dns.TypeDS), h.Zones[name[4:]].Signed; got != want {
				t.Errorf("referral has DS %v, want %v:\n%v", got, want, ref)
			}
			if v == Insecure {
				optOut := slices.ContainsFunc(ref.Ns, func(rr dns.RR) bool {
					n, ok := rr.(*dns.NSEC3)
					return ok && n.Flags&1 == 1 && n.Cover(h.Zones[name[4:]].Name)
				})
				if !optOut {
					t.Errorf("the referral to the insecure zone has no covering opt-out NSEC3:\n%v", ref)
				}
			}
			ss := sigs(last.reply)
			switch v {
			case Insecure, Stripped:
				if len(ss) != 0 {
					t.Fatalf("%s answer is signed: %v", v, ss)
				}
				return
			}
			if len(ss) == 0 {
				t.Fatalf("no RRSIG in\n%v", last.reply)
			}
			for _, s := range ss {
				switch valid := s.ValidityPeriod(now); {
				case v == Expired:
					if valid || now.Unix() < int64(s.Expiration) {
						t.Errorf("%s: RRSIG not expired: %v", v, s)
					}
				case v == NotYetValid:
					if valid || now.Unix() > int64(s.Inception) {
						t.Errorf("%s: RRSIG already valid: %v", v, s)
					}
				case !valid:
					t.Errorf("%s: RRSIG not valid now: %v", v, s)
				}
			}
			if v == NSEC3Iter {
				// A wildcard answer (RRSIG labels 2) with its NSEC3 proof, NSEC3IterHigh iterations.
				if ss[0].Labels != 2 || !slices.ContainsFunc(last.reply.Ns, func(rr dns.RR) bool {
					n, ok := rr.(*dns.NSEC3)
					return ok && n.Iterations == NSEC3IterHigh
				}) {
					t.Errorf("nsec3iter: want a wildcard answer with %d-iteration NSEC3:\n%v", NSEC3IterHigh, last.reply)
				}
			}
			if v == DSMismatch {
				keys, err := ask(last.server, h.Zones[name[4:]].Name, dns.TypeDNSKEY)
				if err != nil {
					t.Fatal(err)
				}
				var tags []uint16
				for _, rr := range keys.reply.Answer {
					if k, ok := rr.(*dns.DNSKEY); ok {
						tags = append(tags, k.KeyTag())
					}
				}
				for _, rr := range ref.Ns {
					if ds, ok := rr.(*dns.DS); ok && slices.Contains(tags, ds.KeyTag) {
						t.Errorf("DS %v matches a key of the zone (tags %v)", ds, tags)
					}
				}
			}
		})
	}
}

package validator

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// corruptSigs returns p with the last signature byte of every RRSIG of
// section sec flipped (owner filter: only RRSIGs owned by owner, nil: all).
func corruptSigs(p *dnsmsg.Packet, sec int, owner []byte) *dnsmsg.Packet {
	out := dnsmsg.NewPacket(65535)
	qn, qt, qc, _ := p.Question()
	out.SetQuestion(qn, qt, qc)
	out.SetFlag("qr", true)
	out.SetRcode(p.Rcode())
	for s := dnsmsg.SectionAN; s <= dnsmsg.SectionAR; s++ {
		out.Begin(s)
		for _, r := range p.Records(s) {
			if s == sec && r.Type == dnssec.TypeRRSIG && (owner == nil || sameName(r.Owner.Wire, owner)) {
				r = r.Copy()
				for i, rd := range r.RData {
					rd = append([]byte(nil), rd...)
					rd[len(rd)-1] ^= 0xff
					r.RData[i] = rd
				}
			}
			out.Put(r, false)
		}
	}
	return out
}

// TestRetryBogusChain: a DS or DNSKEY answer that does not validate is
// asked again with Retry(ctx) counting the attempts (a resolver asks the
// zone's other servers); the good second answer makes the chain secure.
// A Fetcher that gives the same bad answer every time gets Bogus after
// 1+MaxRetries questions (Deckard's black_ds, black_ent, black_prime).
func TestRetryBogusChain(t *testing.T) {
	for _, qt := range []uint16{dnssec.TypeDS, dnssec.TypeDNSKEY} {
		for _, heeds := range []bool{true, false} {
			w := brokenWorld(t, func(*world, *wzone) {})
			bad := wire(t, "bad.example.")
			var mu sync.Mutex
			var attempts []int
			fetch := func(ctx context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error) {
				p, err := w.fetch(ctx, name, qtype)
				if qtype != qt || !sameName(name, bad) {
					return p, err
				}
				mu.Lock()
				attempts = append(attempts, Retry(ctx))
				mu.Unlock()
				if heeds && Retry(ctx) > 0 {
					return p, err
				}
				return reparse(t, corruptSigs(p, dnsmsg.SectionAN, nil)), nil
			}
			v, _ := newValidator(t, w, Config{})
			q := query(t, "www.bad.example.", 1)
			a, _ := w.fetch(context.Background(), wire(t, "www.bad.example."), 1)
			r := v.Validate(context.Background(), q, a, fetch)
			want, wantN := Secure, 2
			if !heeds {
				want, wantN = Bogus, 1+MaxRetries
			}
			if r.Security != want || len(attempts) != wantN || attempts[0] != 0 || attempts[len(attempts)-1] != wantN-1 {
				t.Errorf("%s, fetcher heeds Retry %v: %v, attempts %v; want %v after %d", dnsmsg.TypeString(qt), heeds, r, attempts, want, wantN)
			}
		}
	}
}

// TestDSDenialIgnoresBadExtraNSEC: a DS denial carrying, besides its
// proof, an NSEC whose signature fails is judged by the records that
// validate (Deckard's black_ent); when the proof itself is the bad set, the
// verdict is bogus with the signature failure.
func TestDSDenialIgnoresBadExtraNSEC(t *testing.T) {
	w := stdWorld(t)
	ex := w.zones[1]
	www := wire(t, "www.example.")
	uns := wire(t, "unsigned.example.")
	w.edit = func(name []byte, qtype uint16, p *dnsmsg.Packet) *dnsmsg.Packet {
		if qtype != dnssec.TypeDS || !sameName(name, uns) {
			return p
		}
		out := dnsmsg.NewPacket(65535)
		qn, qt, qc, _ := p.Question()
		out.SetQuestion(qn, qt, qc)
		out.SetFlag("qr", true)
		out.SetRcode(p.Rcode())
		out.Begin(dnsmsg.SectionNS)
		for _, r := range p.Records(dnsmsg.SectionNS) {
			out.Put(r, false)
		}
		for _, s := range ex.withSigs(www, ex.sets[string(www)][dnssec.TypeNSEC]) {
			if s.Type == dnssec.TypeRRSIG {
				s = s.Copy()
				rd := append([]byte(nil), s.RData[0]...)
				rd[len(rd)-1] ^= 0xff
				s.RData = [][]byte{rd}
			}
			out.Put(s, false)
		}
		return out
	}
	v, _ := newValidator(t, w, Config{})
	check(t, v, w, "www.unsigned.example.", 1, Insecure, EDENone, "unsigned delegation")

	w.edit = func(name []byte, qtype uint16, p *dnsmsg.Packet) *dnsmsg.Packet {
		if qtype != dnssec.TypeDS || !sameName(name, uns) {
			return p
		}
		return corruptSigs(p, dnsmsg.SectionNS, uns)
	}
	v, _ = newValidator(t, w, Config{})
	check(t, v, w, "www.unsigned.example.", 1, Bogus, EDEDNSSECBogus, "unsigned.example. NSEC: signature does not verify")
}

// TestRetryUnanswered: when the retry of a bad DNSKEY set gets no answer
// (no other server), the verdict keeps the first failure's reason.
func TestRetryUnanswered(t *testing.T) {
	w := brokenWorld(t, func(*world, *wzone) {})
	bad := wire(t, "bad.example.")
	fetch := func(ctx context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error) {
		p, err := w.fetch(ctx, name, qtype)
		if qtype != dnssec.TypeDNSKEY || !sameName(name, bad) {
			return p, err
		}
		if Retry(ctx) > 0 {
			return nil, context.DeadlineExceeded
		}
		return reparse(t, corruptSigs(p, dnsmsg.SectionAN, nil)), nil
	}
	v, _ := newValidator(t, w, Config{})
	a, _ := w.fetch(context.Background(), wire(t, "www.bad.example."), 1)
	r := v.Validate(context.Background(), query(t, "www.bad.example.", 1), a, fetch)
	if r.Security != Bogus || r.EDE != EDEDNSSECBogus || !strings.Contains(r.Reason, "signature does not verify") {
		t.Errorf("%v (EDE %d), want bogus EDE 6 for the signature", r, r.EDE)
	}
}

// withoutNSEC3 returns p (rcode set to rcode) without the authority set
// number skip (-1: none) of type NSEC3.
func withoutNSEC3(p *dnsmsg.Packet, rcode int, skip int) (*dnsmsg.Packet, bool) {
	out := dnsmsg.NewPacket(65535)
	qn, qt, qc, _ := p.Question()
	out.SetQuestion(qn, qt, qc)
	out.SetFlag("qr", true)
	out.SetRcode(rcode)
	var owners []string
	for _, r := range p.Records(dnsmsg.SectionNS) {
		if r.Type == dnssec.TypeNSEC3 {
			owners = append(owners, string(dnsmsg.LowerName(r.Owner.Wire)))
		}
	}
	found := skip < 0
	out.Begin(dnsmsg.SectionNS)
	for _, r := range p.Records(dnsmsg.SectionNS) {
		if skip >= 0 && skip < len(owners) && string(dnsmsg.LowerName(r.Owner.Wire)) == owners[skip] {
			found = true
			continue
		}
		out.Put(r, false)
	}
	return out, found
}

// TestNSEC3OptOutDenials: RFC 5155 B.1 and B.5 in an opt-out zone. An
// NXDOMAIN whose next closer name is in an opt-out span is insecure only
// with the proof that the wildcard is absent (without it: bogus, Deckard's
// val_nsec3_b1_nameerror_nowc); a NODATA whose next closer name is in an
// opt-out span and with no wildcard proves nothing: insecure (kresd,
// Deckard's val_nsec3_b5_wcnodata_nowc).
func TestNSEC3OptOutDenials(t *testing.T) {
	w := newWorld(t, t0)
	w.zone(".", zoneOpts{alg: dnssec.AlgECDSAP256SHA256})
	var names []string
	for i := 0; i < 12; i++ {
		names = append(names, "h"+strconv.Itoa(i)+" 300 IN A 192.0.2.1")
	}
	w.zone("oo.", zoneOpts{alg: dnssec.AlgECDSAP256SHA256, nsec3: true, optOut: true}, names...)
	w.build()
	// a name whose closest encloser, next closer and wildcard proofs are
	// three NSEC3s
	var qname string
	var nx *dnsmsg.Packet
	for i := 0; i < 100 && qname == ""; i++ {
		n := "nx" + strconv.Itoa(i) + ".oo."
		p, _ := w.fetch(context.Background(), wire(t, n), 1)
		if p.Rcode() != 3 {
			t.Fatalf("%s: rcode %d", n, p.Rcode())
		}
		owners := map[string]bool{}
		for _, r := range p.Records(dnsmsg.SectionNS) {
			if r.Type == dnssec.TypeNSEC3 {
				owners[string(dnsmsg.LowerName(r.Owner.Wire))] = true
			}
		}
		if len(owners) == 3 {
			qname, nx = n, p
		}
	}
	if qname == "" {
		t.Fatal("no name with three NSEC3 in its NXDOMAIN proof")
	}
	v, _ := newValidator(t, w, Config{})
	for i := 0; ; i++ {
		p, ok := withoutNSEC3(nx, 3, i)
		if !ok {
			break
		}
		p = reparse(t, p)
		if r := v.Validate(context.Background(), query(t, qname, 1), p, w.fetch); r.Security != Bogus {
			t.Errorf("%s NXDOMAIN without NSEC3 set %d: %v, want bogus", qname, i, r)
		}
	}
	p, _ := withoutNSEC3(nx, 0, -1)
	if r := v.Validate(context.Background(), query(t, qname, 1), reparse(t, p), w.fetch); r.Security != Insecure || !strings.Contains(r.Reason, "opt-out") {
		t.Errorf("NODATA, next closer name in an opt-out span: %v, want insecure", r)
	}
}

// TestUnsupportedAnchor: a trust anchor DS of an unsupported algorithm
// (DSA) makes its zone bogus after the DNSKEY set is fetched, as in kresd
// (Deckard's val_positive_nosigs, val_nokeyprime, val_faildnskey); a
// parent's DS like that stays an insecure delegation (TestUnsupported).
func TestUnsupportedAnchor(t *testing.T) {
	w := brokenWorld(t, func(*world, *wzone) {})
	anchor := "bad.example. 3600 IN DS 2854 3 1 46e4ffc6e9a4793b488954bd3f0cc6af0dfb201b"
	v, _ := newValidator(t, w, Config{Anchors: []string{anchor}})
	w.asked = nil
	check(t, v, w, "www.bad.example.", 1, Bogus, EDEUnsupportedAlgorithm, "no supported algorithm")
	if !slices.Contains(w.asked, "bad.example. DNSKEY") {
		t.Errorf("the DNSKEY set was not fetched: %q", w.asked)
	}
	fail := func(ctx context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error) {
		if qtype == dnssec.TypeDNSKEY {
			return nil, context.DeadlineExceeded
		}
		return w.fetch(ctx, name, qtype)
	}
	v, _ = newValidator(t, w, Config{Anchors: []string{anchor}})
	a, _ := w.fetch(context.Background(), wire(t, "www.bad.example."), 1)
	if r := v.Validate(context.Background(), query(t, "www.bad.example.", 1), a, fail); r.Security != Bogus || r.EDE != EDENoReachableAuthority {
		t.Errorf("DNSKEY unreachable: %v (EDE %d), want bogus EDE 22", r, r.EDE)
	}
}

// TestDSAtAnchorApex: the DS of a trust anchor's apex is its parent's
// data: unsigned (positive or NODATA) from a parent outside every anchor,
// it is Indeterminate, not bogus (Deckard's val_ds_afterprime).
func TestDSAtAnchorApex(t *testing.T) {
	var bad *wzone
	w := brokenWorld(t, func(_ *world, z *wzone) { bad = z })
	ds, err := bad.ksk.DS(2)
	if err != nil {
		t.Fatal(err)
	}
	anchor := "bad.example. 3600 IN DS " + dnsmsg.RDataText(dnssec.TypeDS, ds)
	v, _ := newValidator(t, w, Config{Anchors: []string{anchor}})
	check(t, v, w, "www.bad.example.", 1, Secure, EDENone, "")
	name := wire(t, "bad.example.")
	pos, _ := w.fetch(context.Background(), name, dnssec.TypeDS)
	pos = reparse(t, stripSigs(nil, 0, pos))
	nodata := dnsmsg.NewPacket(512)
	nodata.SetQuestion(name, dnssec.TypeDS, 1)
	nodata.SetFlag("qr", true)
	nodata.Begin(dnsmsg.SectionNS)
	ex := w.zones[1]
	nodata.Put(ex.sets[string(ex.name)][typeSOA], false)
	nodata = reparse(t, nodata)
	for what, p := range map[string]*dnsmsg.Packet{"unsigned DS": pos, "unsigned NODATA": nodata} {
		if r := v.Validate(context.Background(), query(t, "bad.example.", dnssec.TypeDS), p, w.fetch); r.Security != Indeterminate {
			t.Errorf("%s for the anchor's apex: %v, want indeterminate", what, r)
		}
	}
}

// TestDNAMESynthesisedCNAME: the unsigned CNAME a DNAME synthesises is
// accepted when it is the substitution of the validated DNAME (RFC 6672
// §5.3.1), and bogus when it points elsewhere (Deckard's val_dname_bogus).
func TestDNAMESynthesisedCNAME(t *testing.T) {
	w := newWorld(t, t0)
	w.zone(".", zoneOpts{alg: dnssec.AlgECDSAP256SHA256})
	z := w.zone("example.", zoneOpts{alg: dnssec.AlgECDSAP256SHA256},
		"dn 300 IN DNAME example.", "www 300 IN A 192.0.2.1", "zzz 300 IN A 192.0.2.2")
	w.build()
	answer := func(target string) *dnsmsg.Packet {
		p := dnsmsg.NewPacket(65535)
		p.SetQuestion(wire(t, "www.dn.example."), 1, 1)
		p.SetFlag("qr", true)
		p.Begin(dnsmsg.SectionAN)
		dn := wire(t, "dn.example.")
		for _, s := range z.withSigs(dn, z.sets[string(dn)][typeDNAME]) {
			p.Put(s, false)
		}
		cn := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: wire(t, "www.dn.example.")}, Type: typeCNAME, Class: 1, TTL: 300}
		cn.Add(wire(t, target))
		p.Put(cn, false)
		tw := wire(t, target)
		for _, s := range z.withSigs(tw, z.sets[string(tw)][1]) {
			p.Put(s, false)
		}
		return reparse(t, p)
	}
	v, _ := newValidator(t, w, Config{})
	q := query(t, "www.dn.example.", 1)
	if r := v.Validate(context.Background(), q, answer("www.example."), w.fetch); r.Security != Secure {
		t.Errorf("synthesised CNAME: %v, want secure", r)
	}
	if r := v.Validate(context.Background(), q, answer("zzz.example."), w.fetch); r.Security != Bogus || !strings.Contains(r.Reason, "not the substitution") {
		t.Errorf("CNAME pointing elsewhere: %v, want bogus", r)
	}
}

// TestNegativeSOASignature: the SOA of a negative answer (its negative
// TTL) is verified too: a forged or missing RRSIG over it makes the
// answer bogus even when the NSEC proof holds.
func TestNegativeSOASignature(t *testing.T) {
	for _, c := range []struct {
		what   string
		edit   func(rd []byte) []byte // an RRSIG over the SOA; nil drops it
		reason string
	}{
		{"forged", func(rd []byte) []byte { rd = append([]byte(nil), rd...); rd[len(rd)-1] ^= 0xff; return rd }, "signature does not verify"},
		{"missing", nil, "RRSIG"},
	} {
		w := brokenWorld(t, func(*world, *wzone) {})
		w.edit = func(name []byte, qtype uint16, p *dnsmsg.Packet) *dnsmsg.Packet {
			if !sameName(name, wire(t, "nx.bad.example.")) {
				return p
			}
			out := dnsmsg.NewPacket(65535)
			qn, qt, qc, _ := p.Question()
			out.SetQuestion(qn, qt, qc)
			out.SetFlag("qr", true)
			out.SetRcode(p.Rcode())
			out.Begin(dnsmsg.SectionNS)
			for _, r := range p.Records(dnsmsg.SectionNS) {
				if r.Type == dnssec.TypeRRSIG && len(r.RData[0]) > 2 && uint16(r.RData[0][0])<<8|uint16(r.RData[0][1]) == typeSOA {
					if c.edit == nil {
						continue
					}
					r = r.Copy()
					r.RData = [][]byte{c.edit(r.RData[0])}
				}
				out.Put(r, false)
			}
			return out
		}
		v, _ := newValidator(t, w, Config{})
		a, _ := w.fetch(context.Background(), wire(t, "nx.bad.example."), 1)
		if r := v.Validate(context.Background(), query(t, "nx.bad.example.", 1), a, w.fetch); r.Security != Bogus || !strings.Contains(r.Reason, "SOA") || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("%s SOA RRSIG: %v, want bogus (%s)", c.what, r, c.reason)
		}
	}
}

package validator

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ljdns/clock"
	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// t0 is the time the test worlds are signed around.
var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// stdWorld is a signed tree with a case of each kind:
//
//	.             ECDSA P-256 KSK+ZSK, NSEC
//	example.      RSASHA256 (one key), NSEC: www, a.b.c (b.c and c are empty non-terminals),
//	              *.wild, cname -> www, chain -> www.n3.example., out -> www.unsigned.example.
//	n3.example.   ECDSA, NSEC3 salted with 5 iterations: www, *.wild, x.ent
//	oo.example.   ECDSA, NSEC3 opt-out: s.oo.example. (signed), u.oo.example. (unsigned)
//	unsigned.example.   no signatures
//	iter.example. ECDSA, NSEC3 with 200 iterations: www, *.wild
func stdWorld(t testing.TB) *world {
	w := newWorld(t, t0)
	w.zone(".", zoneOpts{alg: dnssec.AlgECDSAP256SHA256, split: true})
	w.zone("example.", zoneOpts{alg: dnssec.AlgRSASHA256},
		"www 300 IN A 192.0.2.1", "www 300 IN TXT \"hello\"", "a.b.c 300 IN A 192.0.2.2",
		"*.wild 300 IN A 192.0.2.3", "cname 300 IN CNAME www.example.", "chain 300 IN CNAME www.n3.example.",
		"out 300 IN CNAME www.unsigned.example.")
	w.zone("n3.example.", zoneOpts{alg: dnssec.AlgECDSAP256SHA256, nsec3: true, iter: 5, salt: "\xab\xcd"},
		"www 300 IN A 192.0.2.4", "*.wild 300 IN A 192.0.2.5", "x.ent 300 IN A 192.0.2.6")
	w.zone("oo.example.", zoneOpts{alg: dnssec.AlgECDSAP256SHA256, nsec3: true, optOut: true}, "www 300 IN A 192.0.2.7")
	w.zone("s.oo.example.", zoneOpts{alg: dnssec.AlgECDSAP256SHA256}, "www 300 IN A 192.0.2.8")
	w.zone("u.oo.example.", zoneOpts{}, "www 300 IN A 192.0.2.9")
	w.zone("unsigned.example.", zoneOpts{}, "www 300 IN A 192.0.2.10")
	w.zone("iter.example.", zoneOpts{alg: dnssec.AlgECDSAP256SHA256, nsec3: true, iter: 200},
		"www 300 IN A 192.0.2.11", "*.wild 300 IN A 192.0.2.12")
	w.build()
	return w
}

// newValidator returns a validator with w's anchor on a fake clock at t0.
func newValidator(t testing.TB, w *world, c Config) (*Validator, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(t0)
	if c.Anchors == nil && c.AnchorFiles == nil {
		c.Anchors = w.anchors
	}
	c.Clock = clk
	v, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return v, clk
}

// check validates name/qtype as w answers it and compares the verdict.
func check(t *testing.T, v *Validator, w *world, name string, qtype uint16, want Security, ede int, reason string) Result {
	t.Helper()
	n := wire(t, name)
	a, _ := w.fetch(context.Background(), n, qtype)
	r := v.Validate(context.Background(), query(t, name, qtype), a, w.fetch)
	if r.Security != want || r.EDE != ede || !strings.Contains(r.Reason, reason) {
		t.Errorf("%s %s: %v (EDE %d), want %v EDE %d with %q\n%s", name, dnsmsg.TypeString(qtype), r, r.EDE,
			want, ede, reason, a)
	}
	return r
}

func TestValidateWorld(t *testing.T) {
	w := stdWorld(t)
	v, _ := newValidator(t, w, Config{})
	const (
		A, AAAA, TXT, MX, DS, CNAME = 1, 28, 16, 15, 43, 5
	)
	for _, c := range []struct {
		name   string
		qtype  uint16
		want   Security
		ede    int
		reason string
	}{
		{"www.example.", A, Secure, EDENone, ""},
		{"WWW.Example.", TXT, Secure, EDENone, ""},
		{"example.", dnssec.TypeDNSKEY, Secure, EDENone, ""},
		{".", dnssec.TypeDNSKEY, Secure, EDENone, ""},
		{"n3.example.", DS, Secure, EDENone, ""},
		{"nx.example.", A, Secure, EDENone, ""},            // NXDOMAIN, NSEC
		{"www.example.", AAAA, Secure, EDENone, ""},        // NODATA, NSEC
		{"b.c.example.", A, Secure, EDENone, ""},           // NODATA at an empty non-terminal, NSEC
		{"x.wild.example.", A, Secure, EDENone, ""},        // wildcard, NSEC
		{"y.z.wild.example.", A, Secure, EDENone, ""},      // wildcard two labels down
		{"*.wild.example.", A, Secure, EDENone, ""},        // the wildcard itself asked: no expansion, no proof needed
		{"x.wild.example.", MX, Secure, EDENone, ""},       // wildcard NODATA, NSEC
		{"cname.example.", A, Secure, EDENone, ""},         // CNAME in the zone
		{"chain.example.", A, Secure, EDENone, ""},         // CNAME into an NSEC3 zone
		{"out.example.", A, Insecure, EDENone, "unsigned"}, // CNAME into an unsigned zone
		{"www.n3.example.", A, Secure, EDENone, ""},        //
		{"nx.n3.example.", A, Secure, EDENone, ""},         // NXDOMAIN, NSEC3
		{"www.n3.example.", MX, Secure, EDENone, ""},       // NODATA, NSEC3
		{"ent.n3.example.", A, Secure, EDENone, ""},        // NODATA at an empty non-terminal, NSEC3
		{"q.wild.n3.example.", A, Secure, EDENone, ""},     // wildcard, NSEC3
		{"q.wild.n3.example.", TXT, Secure, EDENone, ""},   // wildcard NODATA, NSEC3
		{"www.s.oo.example.", A, Secure, EDENone, ""},      // signed child of an opt-out zone
		{"www.u.oo.example.", A, Insecure, EDENone, "opt-out"},
		{"u.oo.example.", DS, Insecure, EDENone, "opt-out"}, // NODATA for DS in an opt-out span
		{"nx.oo.example.", A, Insecure, EDENone, "opt-out"}, // NXDOMAIN in an opt-out span
		{"www.unsigned.example.", A, Insecure, EDENone, "unsigned delegation (NSEC)"},
		{"nx.unsigned.example.", A, Insecure, EDENone, "unsigned delegation"},
		{"unsigned.example.", DS, Secure, EDENone, ""}, // the denial of its DS is itself secure
		{"www.iter.example.", A, Secure, EDENone, ""},  // no NSEC3 needed
		{"nx.iter.example.", A, Insecure, EDENSEC3Iterations, "200 iterations"},
		{"x.wild.iter.example.", A, Insecure, EDENSEC3Iterations, "above the cap of 150"},
	} {
		t.Run(c.name+dnsmsg.TypeString(c.qtype), func(t *testing.T) {
			check(t, v, w, c.name, c.qtype, c.want, c.ede, c.reason)
		})
	}
}

// TestCachedChain: a second validation in the same zone asks nothing; once
// the DNSKEY TTL has passed it asks again.
func TestCachedChain(t *testing.T) {
	w := stdWorld(t)
	v, clk := newValidator(t, w, Config{})
	check(t, v, w, "www.n3.example.", 1, Secure, EDENone, "")
	first := len(w.asked)
	if first < 5 {
		t.Fatalf("first validation asked %v", w.asked)
	}
	check(t, v, w, "www.n3.example.", 1, Secure, EDENone, "")
	check(t, v, w, "nx.n3.example.", 1, Secure, EDENone, "")
	if len(w.asked) != first+2 { // the two answers themselves, nothing of the chain
		t.Fatalf("cached chain asked %v", w.asked[first:])
	}
	clk.Advance(3601 * time.Second)
	n := len(w.asked)
	check(t, v, w, "www.n3.example.", 1, Secure, EDENone, "")
	if len(w.asked) <= n+1 {
		t.Fatalf("after the TTL the chain was not fetched again: %v", w.asked[n:])
	}
}

// TestValidityWindow moves a fake clock across the RRSIG windows.
func TestValidityWindow(t *testing.T) {
	w := stdWorld(t)
	for _, c := range []struct {
		at   time.Time
		want Security
		ede  int
	}{
		{t0.Add(-2 * time.Hour), Bogus, EDESignatureNotYetValid},
		{t0.Add(-time.Hour + time.Second), Secure, EDENone},
		{t0, Secure, EDENone},
		{t0.Add(30*24*time.Hour - time.Hour - time.Second), Secure, EDENone},
		{t0.Add(30*24*time.Hour - time.Hour + time.Second), Bogus, EDESignatureExpired},
	} {
		t.Run(c.at.Format(time.RFC3339), func(t *testing.T) {
			clk := clock.NewFake(c.at)
			v, err := New(Config{Anchors: w.anchors, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			check(t, v, w, "www.example.", 1, c.want, c.ede, "")
		})
	}
}

// brokenWorld is a root and example. with a child zone broken by how.
func brokenWorld(t *testing.T, how func(w *world, z *wzone)) *world {
	w := newWorld(t, t0)
	w.zone(".", zoneOpts{alg: dnssec.AlgECDSAP256SHA256})
	w.zone("example.", zoneOpts{alg: dnssec.AlgECDSAP256SHA256})
	z := w.zone("bad.example.", zoneOpts{alg: dnssec.AlgECDSAP256SHA256, split: true},
		"www 300 IN A 192.0.2.1", "zzz 300 IN A 192.0.2.2")
	how(w, z)
	w.build()
	return w
}

func TestBogus(t *testing.T) {
	for _, c := range []struct {
		name   string
		how    func(w *world, z *wzone)
		qname  string
		ede    int
		reason string
	}{
		{"expired", func(w *world, z *wzone) {
			z.incept, z.expire = uint32(t0.Add(-60*24*time.Hour).Unix()), uint32(t0.Add(-30*24*time.Hour).Unix())
		}, "www.bad.example.", EDESignatureExpired, "RRSIG expired"},
		{"not yet valid", func(w *world, z *wzone) {
			z.incept, z.expire = uint32(t0.Add(30*24*time.Hour).Unix()), uint32(t0.Add(60*24*time.Hour).Unix())
		}, "www.bad.example.", EDESignatureNotYetValid, "not yet valid"},
		{"expires before inception", func(w *world, z *wzone) {
			z.incept, z.expire = uint32(t0.Add(time.Hour).Unix()), uint32(t0.Add(-time.Hour).Unix())
		}, "www.bad.example.", EDESignatureExpiredFirst, "before its inception"},
		{"wrong DS digest", func(w *world, z *wzone) { z.badDS = true }, "www.bad.example.", EDEDNSSECBogus, "DS digest"},
		{"DS for a missing key", func(w *world, z *wzone) {
			z.foreign = newKey(t, "bad.example.", dnssec.AlgECDSAP256SHA256, true, "foreign")
		}, "www.bad.example.", EDEDNSKEYMissing, "no DNSKEY of bad.example. matches its DS"},
		{"stripped RRSIG", func(w *world, z *wzone) {
			w.edit = stripSigs
		}, "www.bad.example.", EDERRSIGsMissing, "no RRSIG"},
		{"stripped RRSIG, NXDOMAIN", func(w *world, z *wzone) {
			w.edit = stripSigs
		}, "nx.bad.example.", EDERRSIGsMissing, "no RRSIG"},
		{"forged NSEC span", func(w *world, z *wzone) {
			// The NSEC of ns.bad.example. is widened to deny www (the original RRSIG stays).
			w.edit = func(name []byte, qtype uint16, p *dnsmsg.Packet) *dnsmsg.Packet {
				if !sameName(name, wire(t, "www.bad.example.")) {
					return p
				}
				return forgeNXDOMAIN(t, w, z, name, qtype)
			}
		}, "www.bad.example.", EDEDNSSECBogus, "ns.bad.example. NSEC: signature does not verify"},
		{"NSEC of another span", func(w *world, z *wzone) {
			w.edit = func(name []byte, qtype uint16, p *dnsmsg.Packet) *dnsmsg.Packet {
				if !sameName(name, wire(t, "nx.bad.example.")) {
					return p
				}
				// Replay the NSEC of www (validly signed) as proof for nx.
				return replayNSEC(t, w, z, name, qtype, wire(t, "www.bad.example."))
			}
		}, "nx.bad.example.", EDENSECMissing, "no NSEC proves nx.bad.example. absent"},
		{"NODATA with the type listed", func(w *world, z *wzone) {
			w.edit = func(name []byte, qtype uint16, p *dnsmsg.Packet) *dnsmsg.Packet {
				if qtype != 1 || !sameName(name, wire(t, "www.bad.example.")) {
					return p
				}
				return replayNSEC(t, w, z, name, qtype, wire(t, "www.bad.example."))
			}
		}, "www.bad.example.", EDEDNSSECBogus, "lists the type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := brokenWorld(t, c.how)
			v, _ := newValidator(t, w, Config{})
			check(t, v, w, c.qname, 1, Bogus, c.ede, c.reason)
			// A negative trust anchor turns the verdict insecure.
			nta, _ := newValidator(t, w, Config{NTA: []string{"bad.example"}})
			check(t, nta, w, c.qname, 1, Insecure, EDENone, "negative trust anchor")
		})
	}
}

// stripSigs removes every RRSIG from a response.
func stripSigs(_ []byte, _ uint16, p *dnsmsg.Packet) *dnsmsg.Packet {
	out := dnsmsg.NewPacket(65535)
	qn, qt, qc, _ := p.Question()
	out.SetQuestion(qn, qt, qc)
	out.SetFlag("qr", true)
	out.SetRcode(p.Rcode())
	for s := dnsmsg.SectionAN; s <= dnsmsg.SectionAR; s++ {
		out.Begin(s)
		for _, r := range p.Records(s) {
			if r.Type != dnssec.TypeRRSIG {
				out.Put(r, false)
			}
		}
	}
	return out
}

// forgeNXDOMAIN answers name with NXDOMAIN and z's NSEC at ns.<zone>
// widened to cover name (its RRSIG kept).
func forgeNXDOMAIN(t *testing.T, w *world, z *wzone, name []byte, qtype uint16) *dnsmsg.Packet {
	ns := append([]byte{2, 'n', 's'}, z.name...)
	set := z.sets[string(ns)][dnssec.TypeNSEC].Copy()
	r, _ := dnssec.ParseNSEC(set.RData[0])
	set.RData = [][]byte{append(append([]byte{3, 'z', 'z', 'z'}, z.name...), r.Bitmap...)}
	p := dnsmsg.NewPacket(65535)
	p.SetQuestion(name, qtype, 1)
	p.SetFlag("qr", true)
	p.SetRcode(3)
	p.Begin(dnsmsg.SectionNS)
	for _, s := range z.withSigs(z.name, z.sets[string(z.name)][typeSOA]) {
		p.Put(s, false)
	}
	for _, s := range z.withSigs(ns, set) {
		p.Put(s, false)
	}
	for _, s := range z.proofCover(wildcardOf(z.name), z.name, false) {
		p.Put(s, false)
	}
	return p
}

// replayNSEC answers name (NXDOMAIN, or NODATA when name exists) with the
// NSEC of another owner, validly signed.
func replayNSEC(t *testing.T, w *world, z *wzone, name []byte, qtype uint16, owner []byte) *dnsmsg.Packet {
	p := dnsmsg.NewPacket(65535)
	p.SetQuestion(name, qtype, 1)
	p.SetFlag("qr", true)
	if z.sets[string(name)] == nil {
		p.SetRcode(3)
	}
	p.Begin(dnsmsg.SectionNS)
	for _, s := range z.withSigs(z.name, z.sets[string(z.name)][typeSOA]) {
		p.Put(s, false)
	}
	for _, s := range z.withSigs(owner, z.sets[string(owner)][dnssec.TypeNSEC]) {
		p.Put(s, false)
	}
	return p
}

// TestAnchors: DNSKEY anchors, anchor files, several anchors, bad input,
// and Indeterminate outside every anchor.
func TestAnchors(t *testing.T) {
	w := stdWorld(t)
	root := w.zones[0]
	dnskey := ". 3600 IN DNSKEY " + dnsmsg.RDataText(dnssec.TypeDNSKEY, root.ksk.RData())
	file := filepath.Join(t.TempDir(), "root.keys")
	if err := os.WriteFile(file, []byte("; the root KSK\n"+dnskey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]Config{
		"DNSKEY line": {Anchors: []string{dnskey}},
		"file":        {AnchorFiles: []string{file}},
		"DS and file": {Anchors: w.anchors, AnchorFiles: []string{file}},
	} {
		t.Run(name, func(t *testing.T) {
			v, _ := newValidator(t, w, c)
			check(t, v, w, "www.n3.example.", 1, Secure, EDENone, "")
		})
	}
	// An anchor below the root: names outside it are indeterminate.
	ex := w.zones[1]
	ds, _ := ex.ksk.DS(2)
	v, _ := newValidator(t, w, Config{Anchors: []string{"example. DS " + dnsmsg.RDataText(dnssec.TypeDS, ds)}})
	check(t, v, w, "www.n3.example.", 1, Secure, EDENone, "")
	check(t, v, w, ".", dnssec.TypeDNSKEY, Indeterminate, EDENone, "no trust anchor")
	// A wrong anchor makes everything bogus.
	other := newKey(t, ".", dnssec.AlgECDSAP256SHA256, true, "other")
	ods, _ := other.DS(2)
	v, _ = newValidator(t, w, Config{Anchors: []string{". DS " + dnsmsg.RDataText(dnssec.TypeDS, ods)}})
	check(t, v, w, "www.example.", 1, Bogus, EDEDNSKEYMissing, "no DNSKEY of . matches its DS")
	for name, c := range map[string]Config{
		"none":      {},
		"A record":  {Anchors: []string{". A 192.0.2.1"}},
		"bad key":   {Anchors: []string{". DNSKEY 257 3 13 AAAA"}},
		"no file":   {AnchorFiles: []string{filepath.Join(t.TempDir(), "missing")}},
		"bad NTA":   {Anchors: w.anchors, NTA: []string{"a..b"}},
		"syntax":    {Anchors: []string{". DS 1 2"}},
		"short DS":  {Anchors: []string{". DS \\# 2 0102"}},
		"bad class": {Anchors: []string{". CH DS 1 13 2 AB"}},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
}

// TestUnsupported: a DS set of algorithms or digests the validator lacks
// makes the zone insecure (RFC 4035 §5.2), with EDE 1 or 2.
func TestUnsupported(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func([]byte) []byte
		ede  int
	}{
		{"algorithm", func(ds []byte) []byte { ds[2] = 16; return ds }, EDEUnsupportedAlgorithm},
		{"digest", func(ds []byte) []byte { ds[3] = 3; return ds }, EDEUnsupportedDigest},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := brokenWorld(t, func(w *world, z *wzone) { z.dsEdit = c.edit })
			v, _ := newValidator(t, w, Config{})
			check(t, v, w, "www.bad.example.", 1, Insecure, c.ede, "no supported")
		})
	}
}

// collidingKeys returns n Ed25519 DNSKEY RDATA (flags 256) whose key tag is
// tag; their keys are no real keys, and they sort before any key not
// starting with two zero bytes.
func collidingKeys(t *testing.T, n int, tag uint16) [][]byte {
	var out [][]byte
	for i := 0; len(out) < n; i++ {
		rd := make([]byte, 36)
		rd[0], rd[1], rd[2], rd[3] = 1, 0, 3, dnssec.AlgED25519
		rd[6], rd[7] = byte(i>>8), byte(i)
		for x := 0; x < 65536; x++ {
			rd[34], rd[35] = byte(x>>8), byte(x)
			if dnssec.KeyTag(rd) == tag {
				out = append(out, rd)
				break
			}
		}
	}
	return out
}

// keyTrapWorld is brokenWorld with an Ed25519 ZSK in bad.example. and n
// fake DNSKEYs sharing its key tag.
func keyTrapWorld(t *testing.T, n int) *world {
	w := newWorld(t, t0)
	w.zone(".", zoneOpts{alg: dnssec.AlgECDSAP256SHA256})
	w.zone("example.", zoneOpts{alg: dnssec.AlgECDSAP256SHA256})
	z := w.zone("bad.example.", zoneOpts{alg: dnssec.AlgED25519, split: true}, "www 300 IN A 192.0.2.1")
	if z.zsk.PublicKey()[0] == 0 && z.zsk.PublicKey()[1] == 0 {
		t.Skip("the ZSK sorts among the fake keys")
	}
	z.put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: z.name}, Type: dnssec.TypeDNSKEY, Class: 1, TTL: 3600,
		RData: collidingKeys(t, n, z.zsk.Tag())})
	w.build()
	return w
}

// TestKeyTrap: key-tag collisions and signature checks per response are
// capped (CVE-2023-50387), and counted.
func TestKeyTrap(t *testing.T) {
	w := keyTrapWorld(t, 10)
	v, _ := newValidator(t, w, Config{})
	check(t, v, w, "www.bad.example.", 1, Bogus, EDEDNSSECBogus, "more than 4 DNSKEYs with key tag")
	v, _ = newValidator(t, w, Config{MaxKeyTagCollisions: 16})
	check(t, v, w, "www.bad.example.", 1, Secure, EDENone, "")

	// A flood of RRSIGs, all naming the colliding tag: the checks stop at the budget.
	z := w.zones[2]
	flood := func(name []byte, qtype uint16, p *dnsmsg.Packet) *dnsmsg.Packet {
		if qtype != 1 {
			return p
		}
		www := z.sets[string(wire(t, "www.bad.example."))][1]
		sig, _ := dnssec.ParseRRSIG(z.sigs[string(www.Owner.Wire)][1][0])
		var fakes [][]byte
		for i := range 50 {
			r := *sig
			r.Signature = append([]byte{byte(i)}, sig.Signature[1:]...)
			fakes = append(fakes, rrsigRData(&r))
		}
		out := dnsmsg.NewPacket(65535)
		out.SetQuestion(name, qtype, 1)
		out.SetFlag("qr", true)
		out.Put(www, false)
		out.Put(&dnsmsg.RRSet{Owner: www.Owner, Type: dnssec.TypeRRSIG, Class: 1, TTL: 300, RData: fakes}, false)
		return out
	}
	for _, c := range []struct {
		cfg    Config
		reason string
	}{
		{Config{MaxKeyTagCollisions: 100, MaxSigsPerSet: 100}, "more than 64 signature checks"},
		{Config{MaxKeyTagCollisions: 100, MaxSigsPerSet: 100, MaxSigChecks: 20}, "more than 20 signature checks"},
		{Config{MaxKeyTagCollisions: 100, MaxSigChecks: 1000}, "more than 8 RRSIGs"},
	} {
		v, _ := newValidator(t, w, c.cfg)
		check(t, v, w, ".", dnssec.TypeDNSKEY, Secure, EDENone, "") // the root's keys, outside the budget below
		w.edit = flood
		before := v.SigChecks()
		check(t, v, w, "www.bad.example.", 1, Bogus, EDEDNSSECBogus, c.reason)
		limit := c.cfg.MaxSigChecks
		if limit == 0 {
			limit = DefaultMaxSigChecks
		}
		if spent := v.SigChecks() - before; spent > uint64(limit) {
			t.Errorf("%+v: %d signature checks for one answer", c.cfg, spent)
		}
		w.edit = nil
	}
}

// rrsigRData encodes r.
func rrsigRData(r *dnssec.RRSIG) []byte {
	b := []byte{byte(r.TypeCovered >> 8), byte(r.TypeCovered), r.Algorithm, r.Labels}
	for _, v := range []uint32{r.OrigTTL, r.Expiration, r.Inception} {
		b = append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	b = append(b, byte(r.KeyTag>>8), byte(r.KeyTag))
	b = append(b, r.SignerName...)
	return append(b, r.Signature...)
}

// TestConcurrent validates from several goroutines with one validator and
// one cache (run with -race).
func TestConcurrent(t *testing.T) {
	w := stdWorld(t)
	w.quiet = true
	v, _ := newValidator(t, w, Config{})
	names := []string{"www.example.", "nx.n3.example.", "x.wild.example.", "www.u.oo.example.", "chain.example."}
	want := []Security{Secure, Secure, Secure, Insecure, Secure}
	errs := make(chan string, 40)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				k := (g + i) % len(names)
				n := wire(t, names[k])
				a, _ := w.fetch(context.Background(), n, 1)
				if r := v.Validate(context.Background(), nil, a, w.fetch); r.Security != want[k] {
					errs <- names[k] + ": " + r.String()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestAlgorithms validates a zone signed with each algorithm of
// ljdns/dnssec below a root of another, both positive and NXDOMAIN.
func TestAlgorithms(t *testing.T) {
	for _, alg := range []uint8{dnssec.AlgRSASHA1, dnssec.AlgRSASHA1NSEC3, dnssec.AlgRSASHA256, dnssec.AlgRSASHA512,
		dnssec.AlgECDSAP256SHA256, dnssec.AlgECDSAP384SHA384, dnssec.AlgED25519} {
		t.Run(dnssec.AlgorithmName(alg), func(t *testing.T) {
			w := newWorld(t, t0)
			w.zone(".", zoneOpts{alg: dnssec.AlgECDSAP256SHA256})
			w.zone("example.", zoneOpts{alg: alg, split: true, keyRole: "alg", nsec3: alg == dnssec.AlgRSASHA1NSEC3},
				"www 300 IN A 192.0.2.1")
			w.build()
			v, _ := newValidator(t, w, Config{})
			check(t, v, w, "www.example.", 1, Secure, EDENone, "")
			check(t, v, w, "nx.example.", 1, Secure, EDENone, "")
		})
	}
}

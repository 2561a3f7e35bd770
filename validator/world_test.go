package validator

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
	"ljdns/dnssec"
)

// A world is a small DNS tree in memory, signed with Go keys, that answers
// like a recursive resolver queried with DO and CD: every response carries
// its RRSIGs and, for negative and wildcard answers, the NSEC or NSEC3
// records an authoritative server would add. Tests break it on purpose
// (windows, missing signatures, forged records) through the zone fields and
// the edit hook.

// wzone is one zone of a world.
type wzone struct {
	name     []byte // lower-case wire
	ksk, zsk *dnssec.Key
	signed   bool
	nsec3    bool
	optOut   bool
	iter     uint16
	salt     []byte
	incept   uint32
	expire   uint32
	sets     map[string]map[uint16]*dnsmsg.RRSet // lower-case owner -> type -> set
	sigs     map[string]map[uint16][][]byte      // RRSIG RDATA by owner and covered type
	chain    []*dnsmsg.RRSet                     // NSEC or NSEC3 sets, in order
	badDS    bool                                // the parent publishes a DS with a wrong digest
	foreign  *dnssec.Key                         // the parent publishes the DS of this key instead
	dsEdit   func(ds []byte) []byte              // rewrites the DS the parent publishes
}

type world struct {
	t       testing.TB
	zones   []*wzone // parents first
	now     time.Time
	mu      sync.Mutex
	asked   []string
	edit    func(name []byte, qtype uint16, p *dnsmsg.Packet) *dnsmsg.Packet
	anchors []string
	quiet   bool // do not record the questions
}

// algorithm keys: generated once per process.
var (
	keyMu    sync.Mutex
	keyCache = map[string]*dnssec.Key{}
)

// newKey returns a key of algorithm alg for zone; role tells apart keys of
// the same zone (the same role gives the same key material in a process).
func newKey(t testing.TB, zoneName string, alg uint8, ksk bool, role string) *dnssec.Key {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	id := fmt.Sprintf("%s/%d/%v/%s", zoneName, alg, ksk, role)
	if k := keyCache[id]; k != nil {
		return k
	}
	var der []byte
	var err error
	switch alg {
	case dnssec.AlgECDSAP256SHA256:
		p, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err = x509.MarshalPKCS8PrivateKey(p)
	case dnssec.AlgECDSAP384SHA384:
		p, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		der, err = x509.MarshalPKCS8PrivateKey(p)
	case dnssec.AlgED25519:
		_, p, _ := ed25519.GenerateKey(rand.Reader)
		der, err = x509.MarshalPKCS8PrivateKey(p)
	default:
		bits := 1024
		if alg == dnssec.AlgRSASHA256 {
			bits = 2048
		}
		if role == "" && bits == 2048 {
			if b, rerr := os.ReadFile("../dnssec/testdata/rsa2048.pem"); rerr == nil {
				blk, _ := pem.Decode(b)
				der = blk.Bytes
				break
			}
		}
		p, _ := rsa.GenerateKey(rand.Reader, bits)
		der, err = x509.MarshalPKCS8PrivateKey(p)
	}
	if err != nil {
		t.Fatal(err)
	}
	k := dnssec.NewKey()
	if err := k.SetAlgorithm(alg); err != nil {
		t.Fatal(err)
	}
	if err := k.SetPrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		t.Fatal(err)
	}
	if ksk {
		k.Flags = 257
	}
	k.Owner = wire(t, zoneName)
	keyCache[id] = k
	return k
}

// wire converts a name to lower-case wire form.
func wire(t testing.TB, s string) []byte {
	t.Helper()
	n, err := dnsmsg.NameFromText(s)
	if err != nil {
		t.Fatal(err)
	}
	return dnsmsg.LowerName(n.Wire)
}

func newWorld(t testing.TB, now time.Time) *world { return &world{t: t, now: now} }

// zoneOpts says how a world zone is signed.
type zoneOpts struct {
	alg      uint8 // 0: unsigned
	split    bool  // separate KSK and ZSK
	nsec3    bool
	optOut   bool
	iter     uint16
	salt     string // hex-free: raw bytes
	keyRole  string
	incept   time.Duration // relative to now; zero: -1h
	validity time.Duration // zero: 30 days
}

// zone adds a zone with SOA, NS and the given records (zone-file lines,
// relative to the zone).
func (w *world) zone(name string, o zoneOpts, records ...string) *wzone {
	t := w.t
	t.Helper()
	z := &wzone{name: wire(t, name), sets: map[string]map[uint16]*dnsmsg.RRSet{},
		sigs: map[string]map[uint16][][]byte{}, nsec3: o.nsec3, optOut: o.optOut, iter: o.iter, salt: []byte(o.salt)}
	if o.incept == 0 {
		o.incept = -time.Hour
	}
	if o.validity == 0 {
		o.validity = 30 * 24 * time.Hour
	}
	z.incept = uint32(w.now.Add(o.incept).Unix())
	z.expire = uint32(w.now.Add(o.incept + o.validity).Unix())
	lines := []string{"@ 3600 IN SOA ns.@ hostmaster.@ 1 3600 600 86400 300", "@ 3600 IN NS ns.@", "ns 3600 IN A 192.0.2.53"}
	lines = append(lines, records...)
	suffixText := "." + name
	if name == "." {
		suffixText = "."
	}
	for _, l := range lines {
		w.add(z, strings.ReplaceAll(l, ".@", suffixText))
	}
	if o.alg != 0 {
		z.signed = true
		z.ksk = newKey(t, name, o.alg, true, o.keyRole)
		z.zsk = z.ksk
		if o.split {
			z.zsk = newKey(t, name, o.alg, false, o.keyRole)
		}
		for _, k := range slices.Compact([]*dnssec.Key{z.ksk, z.zsk}) {
			z.put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: z.name}, Type: dnssec.TypeDNSKEY, Class: 1, TTL: 3600,
				RData: [][]byte{k.RData()}})
		}
	}
	w.zones = append(w.zones, z)
	return z
}

// add parses one zone-file line into z.
func (w *world) add(z *wzone, line string) {
	s := zone.NewScanner(strings.NewReader(line), nameText(z.name), 1, 3600)
	for s.Next() {
		r := s.Record()
		z.put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: bytes.Clone(r.Owner)}, Type: r.Type, Class: r.Class, TTL: r.TTL,
			RData: [][]byte{bytes.Clone(r.RData)}})
	}
	if err := s.Err(); err != nil {
		w.t.Fatalf("%q: %v", line, err)
	}
}

// put merges a set into z.
func (z *wzone) put(rr *dnsmsg.RRSet) {
	low := string(dnsmsg.LowerName(rr.Owner.Wire))
	if z.sets[low] == nil {
		z.sets[low] = map[uint16]*dnsmsg.RRSet{}
	}
	if old := z.sets[low][rr.Type]; old != nil {
		for _, rd := range rr.RData {
			old.Add(rd)
		}
		return
	}
	c := rr.Copy()
	c.RData = nil
	for _, rd := range rr.RData {
		c.Add(rd)
	}
	z.sets[low][rr.Type] = c
}

// child returns the zone directly below z that owns name, or nil.
func (w *world) zoneOf(name []byte) *wzone {
	var best *wzone
	for _, z := range w.zones {
		if within(name, z.name) && (best == nil || len(z.name) > len(best.name)) {
			best = z
		}
	}
	return best
}

// parentZone returns the zone above z.
func (w *world) parentZone(z *wzone) *wzone {
	if len(z.name) <= 1 {
		return nil
	}
	return w.zoneOf(parent(z.name))
}

// cut reports whether name is a delegation point in z.
func (z *wzone) cut(name []byte) bool {
	return !sameName(name, z.name) && z.sets[string(name)][typeNS] != nil
}

// belowCut reports whether name is at or below a delegation of z.
func (z *wzone) belowCut(name []byte) bool {
	for n := name; len(n) > len(z.name); n = parent(n) {
		if z.cut(n) {
			return true
		}
	}
	return false
}

// build adds delegations and DS, signs every zone and makes its chain.
// It returns the root anchor (DS of the root KSK).
func (w *world) build() {
	t := w.t
	for _, z := range w.zones {
		p := w.parentZone(z)
		if p == nil {
			continue
		}
		p.put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: z.name}, Type: typeNS, Class: 1, TTL: 3600,
			RData: [][]byte{append([]byte{2, 'n', 's'}, z.name...)}})
		if !z.signed {
			continue
		}
		k := z.ksk
		if z.foreign != nil {
			k = z.foreign
		}
		ds, err := k.DS(2)
		if err != nil {
			t.Fatal(err)
		}
		if z.badDS {
			ds[len(ds)-1] ^= 0xff
		}
		if z.dsEdit != nil {
			ds = z.dsEdit(ds)
		}
		p.put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: z.name}, Type: dnssec.TypeDS, Class: 1, TTL: 3600, RData: [][]byte{ds}})
	}
	for _, z := range w.zones {
		if z.signed {
			z.chainUp(t)
			z.signAll(t)
		}
	}
	if len(w.zones) > 0 && w.zones[0].signed {
		ds, _ := w.zones[0].ksk.DS(2)
		w.anchors = []string{nameText(w.zones[0].name) + " IN DS " + dnsmsg.RDataText(dnssec.TypeDS, ds)}
	}
}

// authoritative lists the sets z signs: all but delegation NS and glue.
func (z *wzone) authoritative(owner string, typ uint16) bool {
	name := []byte(owner)
	if z.belowCut(name) && !(z.cut(name) && (typ == dnssec.TypeDS || typ == dnssec.TypeNSEC)) {
		return false
	}
	return typ != dnssec.TypeRRSIG
}

// signAll signs every authoritative set of z (DNSKEY with the KSK).
func (z *wzone) signAll(t testing.TB) {
	for owner, types := range z.sets {
		for typ, set := range types {
			if !z.authoritative(owner, typ) {
				continue
			}
			k := z.zsk
			if typ == dnssec.TypeDNSKEY {
				k = z.ksk
			}
			z.sign(t, owner, typ, set, k)
		}
	}
	for _, set := range z.chain {
		if set.Type == dnssec.TypeNSEC3 { // NSEC sets are in z.sets, signed above
			z.sign(t, string(set.Owner.Wire), set.Type, set, z.zsk)
		}
	}
}

func (z *wzone) sign(t testing.TB, owner string, typ uint16, set *dnsmsg.RRSet, k *dnssec.Key) {
	rd, err := k.SignRRSet(set, z.incept, z.expire, z.name)
	if err != nil {
		t.Fatal(err)
	}
	if z.sigs[owner] == nil {
		z.sigs[owner] = map[uint16][][]byte{}
	}
	z.sigs[owner][typ] = append(z.sigs[owner][typ], rd)
}

// names returns the owner names of z's NSEC chain in canonical order.
func (z *wzone) names() [][]byte {
	var out [][]byte
	for owner := range z.sets {
		n := []byte(owner)
		if z.belowCut(n) && !z.cut(n) {
			continue // glue
		}
		out = append(out, n)
	}
	slices.SortFunc(out, cmpNames)
	return out
}

// chainUp makes z's NSEC or NSEC3 chain.
func (z *wzone) chainUp(t testing.TB) {
	names := z.names()
	typesAt := func(n []byte) []uint16 {
		var ts []uint16
		for typ := range z.sets[string(n)] {
			if z.cut(n) && typ != typeNS && typ != dnssec.TypeDS {
				continue
			}
			ts = append(ts, typ)
		}
		if !z.cut(n) || z.sets[string(n)][dnssec.TypeDS] != nil {
			ts = append(ts, dnssec.TypeRRSIG)
		}
		return ts
	}
	if !z.nsec3 {
		for i, n := range names {
			next := names[(i+1)%len(names)]
			set := dnssec.NSEC(n, next, 300, append(typesAt(n), dnssec.TypeNSEC))
			z.chain = append(z.chain, set)
			z.put(set)
		}
		return
	}
	// NSEC3: every name and empty non-terminal; opt-out leaves out unsigned delegations.
	type h3 struct {
		hash []byte
		name []byte
	}
	seen := map[string]bool{}
	var hs []h3
	for _, n := range names {
		if z.optOut && z.cut(n) && z.sets[string(n)][dnssec.TypeDS] == nil {
			continue
		}
		for m := n; len(m) >= len(z.name); m = parent(m) {
			if seen[string(m)] {
				break
			}
			seen[string(m)] = true
			hs = append(hs, h3{dnssec.NSEC3Hash(m, 1, z.iter, z.salt), m})
			if len(m) == len(z.name) {
				break
			}
		}
	}
	slices.SortFunc(hs, func(a, b h3) int { return bytes.Compare(a.hash, b.hash) })
	flags := byte(0)
	if z.optOut {
		flags = 1
	}
	for i, h := range hs {
		next := hs[(i+1)%len(hs)].hash
		rd := []byte{1, flags, byte(z.iter >> 8), byte(z.iter), byte(len(z.salt))}
		rd = append(rd, z.salt...)
		rd = append(rd, byte(len(next)))
		rd = append(rd, next...)
		var ts []uint16
		if z.sets[string(h.name)] != nil {
			ts = typesAt(h.name)
		}
		if sameName(h.name, z.name) {
			ts = append(ts, 51) // NSEC3PARAM
		}
		rd = append(rd, dnssec.TypeBitmap(ts)...)
		owner := append([]byte{32}, []byte(dnssec.NSEC3Label(h.hash))...)
		owner = append(owner, z.name...)
		z.chain = append(z.chain, &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: owner}, Type: dnssec.TypeNSEC3, Class: 1, TTL: 300,
			RData: [][]byte{rd}})
	}
}

// response builds the packet a resolver gives for name/qtype with DO and CD.
func (w *world) response(name []byte, qtype uint16) *dnsmsg.Packet {
	p := dnsmsg.NewPacket(65535)
	p.SetQuestion(name, qtype, 1)
	p.SetFlag("qr", true)
	p.SetFlag("rd", true)
	p.SetFlag("ra", true)
	p.SetFlag("cd", true)
	var an, ns []*dnsmsg.RRSet
	rcode := 0
	cur := name
	for range 8 {
		z := w.zoneOf(cur)
		if qtype == dnssec.TypeDS && len(cur) > 1 && z != nil && sameName(z.name, cur) {
			z = w.parentZone(z)
		}
		if z == nil {
			rcode = 5
			break
		}
		a, n, rc, next := z.lookup(cur, qtype)
		an, ns, rcode = append(an, a...), n, rc
		if next == nil {
			break
		}
		cur = next
	}
	for _, s := range an {
		p.Put(s, false)
	}
	p.Begin(dnsmsg.SectionNS)
	for _, s := range ns {
		p.Put(s, false)
	}
	p.Begin(dnsmsg.SectionAR)
	opt := dnsmsg.NewOPT(0, 1232)
	dnsmsg.SetOPTDo(opt, true)
	p.Put(opt, false)
	p.SetRcode(rcode)
	return p
}

// withSigs returns set followed by its RRSIGs in z.
func (z *wzone) withSigs(owner []byte, set *dnsmsg.RRSet) []*dnsmsg.RRSet {
	out := []*dnsmsg.RRSet{set}
	if sigs := z.sigs[string(dnsmsg.LowerName(set.Owner.Wire))][set.Type]; len(sigs) > 0 {
		out = append(out, &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: owner}, Type: dnssec.TypeRRSIG, Class: 1, TTL: set.TTL,
			RData: sigs})
	}
	return out
}

// lookup answers name/qtype from z: the answer and authority sets, the
// rcode and, for a CNAME, the name to go on with.
func (z *wzone) lookup(name []byte, qtype uint16) (an, ns []*dnsmsg.RRSet, rcode int, next []byte) {
	soa := z.withSigs(z.name, z.sets[string(z.name)][typeSOA])
	if node := z.sets[string(name)]; node != nil {
		if z.cut(name) && qtype != dnssec.TypeDS {
			// a referral: resolvers follow it; here the child is not served
			return nil, soa, 2, nil
		}
		if set := node[qtype]; set != nil {
			return z.withSigs(name, set), nil, 0, nil
		}
		if set := node[typeCNAME]; set != nil {
			return z.withSigs(name, set), nil, 0, dnsmsg.LowerName(set.RData[0])
		}
		if m := z.proofMatch(name); m != nil {
			return nil, append(soa, m...), 0, nil
		}
		// An unsigned delegation left out of an opt-out chain.
		ce := z.encloser(name)
		return nil, append(append(soa, z.nsecAt(ce, true)...), z.proofCover(name, ce, false)...), 0, nil
	}
	// Not a node: an empty non-terminal, a wildcard, or nothing.
	ce := z.encloser(name)
	if z.ent(name) {
		return nil, append(soa, z.proofENT(name)...), 0, nil
	}
	wc := wildcardOf(ce)
	if node := z.sets[string(wc)]; node != nil {
		set := node[qtype]
		if set == nil {
			set = node[typeCNAME]
		}
		if set != nil {
			syn := set.Copy()
			syn.Owner = &dnsmsg.Name{Wire: name}
			an = []*dnsmsg.RRSet{syn}
			if sigs := z.sigs[string(wc)][set.Type]; len(sigs) > 0 {
				an = append(an, &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: name}, Type: dnssec.TypeRRSIG, Class: 1,
					TTL: set.TTL, RData: sigs})
			}
			if set.Type == typeCNAME {
				return an, z.proofCover(name, ce, false), 0, dnsmsg.LowerName(set.RData[0])
			}
			return an, z.proofCover(name, ce, false), 0, nil
		}
		proof := append(soa, z.proofMatch(wc)...)
		if z.nsec3 {
			proof = append(proof, z.nsecAt(ce, true)...)
		}
		return nil, append(proof, z.proofCover(name, ce, false)...), 0, nil
	}
	return nil, append(soa, z.proofCover(name, ce, true)...), 3, nil
}

// encloser returns the closest existing ancestor of name in z.
func (z *wzone) encloser(name []byte) []byte {
	for n := parent(name); ; n = parent(n) {
		if z.sets[string(n)] != nil || z.ent(n) || len(n) <= len(z.name) {
			return n
		}
	}
}

// ent reports whether name is an empty non-terminal of z.
func (z *wzone) ent(name []byte) bool {
	if z.sets[string(name)] != nil {
		return false
	}
	for owner := range z.sets {
		if below([]byte(owner), name) {
			return true
		}
	}
	return false
}

// chainFor returns the chain sets (with RRSIGs) whose NSEC owner equals or
// whose span covers name, or for NSEC3 whose hash does.
func (z *wzone) nsecAt(name []byte, match bool) []*dnsmsg.RRSet {
	for _, set := range z.chain {
		if z.nsec3 {
			r, _ := dnssec.ParseNSEC3(set.RData[0])
			own, _ := dnssec.DecodeNSEC3Label(set.Owner.Wire[1 : 1+set.Owner.Wire[0]])
			h := dnssec.NSEC3Hash(name, 1, z.iter, z.salt)
			m := bytes.Equal(own, h)
			c := false
			if bytes.Compare(own, r.Next) < 0 {
				c = bytes.Compare(own, h) < 0 && bytes.Compare(h, r.Next) < 0
			} else {
				c = bytes.Compare(own, h) < 0 || bytes.Compare(h, r.Next) < 0
			}
			if (match && m) || (!match && c) {
				return z.withSigs(set.Owner.Wire, set)
			}
			continue
		}
		r, _ := dnssec.ParseNSEC(set.RData[0])
		if (match && sameName(set.Owner.Wire, name)) || (!match && nsecCovers(set.Owner.Wire, r.Next, name)) {
			return z.withSigs(set.Owner.Wire, set)
		}
	}
	return nil
}

func (z *wzone) proofMatch(name []byte) []*dnsmsg.RRSet { return z.nsecAt(name, true) }

func (z *wzone) proofENT(name []byte) []*dnsmsg.RRSet {
	if z.nsec3 {
		return z.nsecAt(name, true)
	}
	return z.nsecAt(name, false)
}

// proofCover proves name absent below its closest encloser ce, and with
// wild the wildcard *.ce absent too.
func (z *wzone) proofCover(name, ce []byte, wild bool) []*dnsmsg.RRSet {
	var out []*dnsmsg.RRSet
	addUniq := func(sets []*dnsmsg.RRSet) {
		for _, s := range sets {
			if !slices.ContainsFunc(out, func(o *dnsmsg.RRSet) bool { return o == s }) {
				out = append(out, s)
			}
		}
	}
	if z.nsec3 {
		if wild {
			addUniq(z.nsecAt(ce, true))
		}
		addUniq(z.nsecAt(suffix(name, labels(ce)+1), false))
		if wild {
			addUniq(z.nsecAt(wildcardOf(ce), false))
		}
		return out
	}
	addUniq(z.nsecAt(name, false))
	if wild {
		addUniq(z.nsecAt(wildcardOf(ce), false))
	}
	return out
}

// fetch is the world's Fetcher; it records the questions.
func (w *world) fetch(_ context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error) {
	if !w.quiet {
		w.mu.Lock()
		w.asked = append(w.asked, nameText(name)+" "+dnsmsg.TypeString(qtype))
		w.mu.Unlock()
	}
	p := w.response(dnsmsg.LowerName(name), qtype)
	if w.edit != nil {
		p = w.edit(name, qtype, p)
	}
	return reparse(w.t, p), nil
}

// reparse returns a parsed copy of p's wire form.
func reparse(t testing.TB, p *dnsmsg.Packet) *dnsmsg.Packet {
	c := dnsmsg.NewPacketFrom(p.Size, p.Bytes())
	if code := c.Parse(false); code != 0 {
		t.Fatalf("world packet does not parse: %s", dnsmsg.StrError(code))
	}
	return c
}

// query returns the question packet for name/qtype.
func query(t testing.TB, name string, qtype uint16) *dnsmsg.Packet {
	q := dnsmsg.NewPacket(512)
	q.SetQuestion(wire(t, name), qtype, 1)
	return q
}

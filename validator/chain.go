package validator

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// maxFetches bounds the questions one Validate call may ask.
const maxFetches = 64

// state is one Validate call: its fetcher, clock reading and budgets.
type state struct {
	v       *Validator
	ctx     context.Context
	fetch   Fetcher
	now     time.Time
	now32   uint32
	checks  int    // signature verifications so far (KeyTrap budget)
	limit   Result // the verdict once the budget is gone
	fetches int
}

const (
	typeCNAME = dnsmsg.TypeCNAME
	typeDNAME = 39
	typeNS    = dnsmsg.TypeNS
	typeSOA   = dnsmsg.TypeSOA
	typeANY   = 255
)

// ask fetches name/qtype and returns the response's view and rcode. The
// response must answer that question with NOERROR or NXDOMAIN.
func (st *state) ask(name []byte, qtype uint16) (*view, int, error) {
	return st.askAgain(name, qtype, 0)
}

// MaxRetries is how many times a DS or DNSKEY answer that does not
// validate is asked again (Retry(ctx) counts them), so that a resolver
// can try the zone's other name servers, as kresd and Unbound do.
const MaxRetries = 2

type retryKey struct{}

// Retry returns the attempt a Fetcher is called for: 0 the first time; n > 0
// when the n previous answers to the same question did not validate (a
// resolver then asks another name server, not its cache).
func Retry(ctx context.Context) int {
	n, _ := ctx.Value(retryKey{}).(int)
	return n
}

// askAgain is ask for the given attempt (Retry).
func (st *state) askAgain(name []byte, qtype uint16, attempt int) (*view, int, error) {
	if st.fetches >= maxFetches {
		return nil, 0, fmt.Errorf("more than %d questions for one answer", maxFetches)
	}
	st.fetches++
	if err := st.ctx.Err(); err != nil {
		return nil, 0, err
	}
	ctx := st.ctx
	if attempt > 0 {
		ctx = context.WithValue(ctx, retryKey{}, attempt)
	}
	p, err := st.fetch(ctx, name, qtype)
	if err != nil {
		return nil, 0, err
	}
	p, err = parsed(p)
	if err != nil {
		return nil, 0, err
	}
	qn, qt, _, ok := p.Question()
	if !ok || qt != qtype || !sameName(qn, name) {
		return nil, 0, fmt.Errorf("the response does not answer %s %s", nameText(name), dnsmsg.TypeString(qtype))
	}
	rc := p.Rcode()
	if rc != 0 && rc != 3 {
		return nil, rc, fmt.Errorf("%s %s: rcode %d", nameText(name), dnsmsg.TypeString(qtype), rc)
	}
	return newView(p), rc, nil
}

// nta reports whether name is at or below a negative trust anchor.
func (v *Validator) ntaCovers(name []byte) []byte {
	for _, n := range v.nta {
		if within(name, n) {
			return n
		}
	}
	return nil
}

// closestAnchor returns the deepest trust anchor at or above name.
func (v *Validator) closestAnchor(name []byte) *anchor {
	for n := name; ; n = parent(n) {
		if a := v.anchors[string(n)]; a != nil {
			return a
		}
		if len(n) <= 1 {
			return nil
		}
	}
}

// walk finds the deepest zone at or above target (lower-case wire), going
// down from the closest trust anchor one label at a time and asking for
// the DS of each name on the way (cached). It returns the zone's name and
// cache entry with a Secure result, or the verdict that stopped the walk:
// Insecure at an insecure delegation or negative trust anchor, Bogus where
// the chain breaks, Indeterminate without an anchor.
func (st *state) walk(target []byte) ([]byte, *entry, Result) {
	if n := st.v.ntaCovers(target); n != nil {
		return nil, nil, insecure(EDENone, "%s is below the negative trust anchor %s", nameText(target), nameText(n))
	}
	a := st.v.closestAnchor(target)
	if a == nil {
		return nil, nil, Result{Security: Indeterminate, Reason: "no trust anchor above " + nameText(target), EDE: EDENone}
	}
	zone := a.name
	ze := st.v.lookup(zone, st.now)
	if ze == nil {
		ze = st.primeAnchor(a)
	}
	if ze.kind != kindSecure {
		return zone, ze, ze.res
	}
	pos := zone
	for !sameName(pos, target) {
		child := suffix(target, labels(pos)+1)
		e := st.v.lookup(child, st.now)
		if e == nil {
			e = st.probe(child, zone, ze)
		}
		switch e.kind {
		case kindSecure:
			zone, ze = child, e
		case kindInsecure, kindBogus:
			return child, e, e.res
		case kindNoName:
			return zone, ze, Result{Security: Secure, EDE: EDENone}
		}
		pos = child
	}
	return zone, ze, Result{Security: Secure, EDE: EDENone}
}

// failed returns an uncached Bogus entry for a chain that could not be fetched.
func failed(format string, args ...any) *entry {
	return &entry{kind: kindBogus, res: bogus(EDENoReachableAuthority, format, args...)}
}

// keep caches e for name: Bogus entries for bogusTTL, others for ttl.
func (st *state) keep(name []byte, e *entry, ttl time.Duration) *entry {
	if e.kind == kindBogus {
		ttl = bogusTTL
	}
	st.v.store(name, e, st.now, ttl)
	return e
}

// seconds converts a TTL.
func seconds(s uint32) time.Duration { return time.Duration(s) * time.Second }

// primeAnchor validates the DNSKEY set of a trust anchor's zone.
func (st *state) primeAnchor(a *anchor) *entry {
	if len(a.ds) > 0 {
		if !anyUsableDS(a.ds) {
			return st.unsupportedAnchor(a)
		}
		return st.keysFromDS(a.name, a.ds, maxCacheTTL)
	}
	var prev *entry
	for attempt := 0; ; attempt++ {
		e, bad := st.primeAnchorOnce(a, attempt)
		if prev != nil && unreachable(e) {
			return prev // no other answer: the first failure says why
		}
		if !bad || attempt >= MaxRetries {
			return e
		}
		prev = e
	}
}

// primeAnchorOnce is one attempt of primeAnchor; bad reports a DNSKEY
// answer that did not validate (worth asking again).
func (st *state) primeAnchorOnce(a *anchor, attempt int) (*entry, bool) {
	m, _, err := st.askAgain(a.name, dnssec.TypeDNSKEY, attempt)
	if err != nil {
		return failed("DNSKEY %s: %v", nameText(a.name), err), false
	}
	ks := m.find(dnsmsg.SectionAN, a.name, dnssec.TypeDNSKEY)
	if ks == nil {
		return st.keep(a.name, &entry{kind: kindBogus, res: bogus(EDEDNSKEYMissing, "no DNSKEY set at the trust anchor %s", nameText(a.name))}, 0), true
	}
	trusted := zoneKeys(a.name, a.dnskeys)
	sig, res := st.verifySet(ks, a.name, trusted)
	if res.Security != Secure {
		res.Reason = "trust anchor: " + res.Reason
		return st.keep(a.name, &entry{kind: kindBogus, res: res}, 0), true
	}
	return st.keep(a.name, &entry{kind: kindSecure, keys: zoneKeys(a.name, ks.set.RData)}, st.ttl(ks.set.TTL, sig)), false
}

// ttl is how long a set validated with sig may be cached: its TTL, the
// RRSIG's original TTL and the time to the RRSIG's expiration, the least.
func (st *state) ttl(setTTL uint32, sig *dnssec.RRSIG) time.Duration {
	t := seconds(setTTL)
	if sig != nil {
		t = min(t, seconds(sig.OrigTTL), seconds(sig.Expiration-st.now32))
	}
	return t
}

// anyUsableDS reports whether a DS set has a record of a supported
// algorithm and digest type.
func anyUsableDS(ds [][]byte) bool {
	for _, d := range ds {
		if len(d) >= 5 && dnssec.Supported(d[2]) && digestTypes[d[3]] {
			return true
		}
	}
	return false
}

// unsupportedAnchor is the verdict on a zone whose trust anchor DS set
// has no supported algorithm or digest. A DS of the parent like that makes
// the child insecure (RFC 4035 §5.2), but a trust anchor is the operator's
// statement that the zone is signed: as kresd, the DNSKEY set is fetched
// (an error or no key is bogus as for any anchor) and, unverifiable, the
// zone is bogus (Deckard's val_faildnskey, val_nokeyprime,
// val_positive_nosigs: a DSA anchor).
func (st *state) unsupportedAnchor(a *anchor) *entry {
	m, _, err := st.ask(a.name, dnssec.TypeDNSKEY)
	if err != nil {
		return failed("DNSKEY %s: %v", nameText(a.name), err)
	}
	if m.find(dnsmsg.SectionAN, a.name, dnssec.TypeDNSKEY) == nil {
		return st.keep(a.name, &entry{kind: kindBogus, res: bogus(EDEDNSKEYMissing, "no DNSKEY set at the trust anchor %s", nameText(a.name))}, 0)
	}
	return st.keep(a.name, &entry{kind: kindBogus, res: bogus(EDEUnsupportedAlgorithm,
		"the trust anchor of %s has no supported algorithm or digest: its DNSKEY set cannot be verified", nameText(a.name))}, 0)
}

// digestTypes are the DS digest types the validator checks (RFC 4034,
// RFC 4509, RFC 6605).
var digestTypes = map[uint8]bool{1: true, 2: true, 4: true}

// keysFromDS validates the DNSKEY set of zone with the DS RDATA (already
// validated, or a trust anchor) and caches the outcome for at most dsTTL.
func (st *state) keysFromDS(zone []byte, ds [][]byte, dsTTL time.Duration) *entry {
	var usable [][]byte
	unsupportedAlg := false
	for _, d := range ds {
		if len(d) < 5 {
			continue
		}
		switch {
		case !dnssec.Supported(d[2]):
			unsupportedAlg = true
		case digestTypes[d[3]]:
			usable = append(usable, d)
		}
	}
	if len(usable) == 0 {
		if unsupportedAlg {
			return st.keep(zone, &entry{kind: kindInsecure, res: insecure(EDEUnsupportedAlgorithm,
				"the DS set of %s has no supported algorithm", nameText(zone))}, dsTTL)
		}
		return st.keep(zone, &entry{kind: kindInsecure, res: insecure(EDEUnsupportedDigest,
			"the DS set of %s has no supported digest type", nameText(zone))}, dsTTL)
	}
	var prev *entry
	for attempt := 0; ; attempt++ {
		e := st.keysFromUsableDS(zone, usable, dsTTL, attempt)
		if prev != nil && unreachable(e) {
			return prev
		}
		if e.kind != kindBogus || unreachable(e) || attempt >= MaxRetries {
			return e
		}
		prev = e
	}
}

// unreachable reports an entry of failed: the question got no answer.
func unreachable(e *entry) bool {
	return e.kind == kindBogus && e.res.EDE == EDENoReachableAuthority
}

// keysFromUsableDS is one attempt of keysFromDS with the DS RDATA of
// supported algorithms and digests.
func (st *state) keysFromUsableDS(zone []byte, usable [][]byte, dsTTL time.Duration, attempt int) *entry {
	m, _, err := st.askAgain(zone, dnssec.TypeDNSKEY, attempt)
	if err != nil {
		return failed("DNSKEY %s: %v", nameText(zone), err)
	}
	ks := m.find(dnsmsg.SectionAN, zone, dnssec.TypeDNSKEY)
	if ks == nil {
		return st.keep(zone, &entry{kind: kindBogus, res: bogus(EDEDNSKEYMissing, "%s has a DS but no DNSKEY set", nameText(zone))}, 0)
	}
	var matched []*dnssec.Key
	tagSeen, notZoneKey := false, false
	for _, d := range usable {
		tag, alg := uint16(d[0])<<8|uint16(d[1]), d[2]
		tries := 0
		for _, rd := range ks.set.RData {
			if len(rd) < 4 || rd[3] != alg || dnssec.KeyTag(rd) != tag {
				continue
			}
			if tries >= st.v.cfg.MaxKeyTagCollisions {
				break
			}
			tries++
			tagSeen = true
			k := dnssec.NewKey()
			if k.SetRData(rd) != nil {
				continue
			}
			k.Owner = zone
			got, err := k.DS(d[3])
			if err != nil || !bytes.Equal(got[4:], d[4:]) {
				continue
			}
			if k.Flags&zoneKeyFlag == 0 || k.Protocol != 3 {
				notZoneKey = true
				continue
			}
			matched = append(matched, k)
		}
	}
	if len(matched) == 0 {
		switch {
		case notZoneKey:
			return st.keep(zone, &entry{kind: kindBogus, res: bogus(EDENoZoneKeyBitSet,
				"the DNSKEY of %s that matches its DS is not a zone key", nameText(zone))}, 0)
		case tagSeen:
			return st.keep(zone, &entry{kind: kindBogus, res: bogus(EDEDNSSECBogus,
				"the DS digest of %s does not match its DNSKEY", nameText(zone))}, 0)
		}
		return st.keep(zone, &entry{kind: kindBogus, res: bogus(EDEDNSKEYMissing,
			"no DNSKEY of %s matches its DS", nameText(zone))}, 0)
	}
	sig, res := st.verifySet(ks, zone, matched)
	if res.Security != Secure {
		return st.keep(zone, &entry{kind: kindBogus, res: res}, 0)
	}
	return st.keep(zone, &entry{kind: kindSecure, keys: zoneKeys(zone, ks.set.RData)},
		min(dsTTL, st.ttl(ks.set.TTL, sig)))
}

// probe asks for the DS of child, a name one label below pos inside zone
// (secure, entry ze), and classifies it: a secure zone (its keys
// validated), an insecure delegation, a name that is no zone cut, a name
// that does not exist, or Bogus.
func (st *state) probe(child, zone []byte, ze *entry) *entry {
	var prev *entry
	for attempt := 0; ; attempt++ {
		e, bad := st.probeOnce(child, zone, ze, attempt)
		if prev != nil && unreachable(e) {
			return prev
		}
		if !bad || attempt >= MaxRetries {
			return e
		}
		prev = e
	}
}

// probeOnce is one attempt of probe; bad reports a DS answer (or its
// denial) that did not validate, worth asking again.
func (st *state) probeOnce(child, zone []byte, ze *entry, attempt int) (*entry, bool) {
	m, rc, err := st.askAgain(child, dnssec.TypeDS, attempt)
	if err != nil {
		return failed("DS %s: %v", nameText(child), err), false
	}
	if ds := m.find(dnsmsg.SectionAN, child, dnssec.TypeDS); ds != nil && rc == 0 {
		sig, res := st.verifySet(ds, zone, ze.keys)
		if res.Security != Secure {
			return st.keep(child, &entry{kind: kindBogus, res: res}, 0), true
		}
		return st.keysFromDS(child, ds.set.RData, st.ttl(ds.set.TTL, sig)), false
	}
	if cn := m.find(dnsmsg.SectionAN, child, typeCNAME); cn != nil && rc == 0 {
		sig, res := st.verifySet(cn, zone, ze.keys)
		if res.Security != Secure {
			return st.keep(child, &entry{kind: kindBogus, res: res}, 0), true
		}
		return st.keep(child, &entry{kind: kindNotCut}, st.ttl(cn.set.TTL, sig)), false
	}
	d := st.collectSets(m, zone, ze.keys, true)
	if d.res.Security != Secure {
		if d.res.Security == Bogus {
			d.res.Reason = "DS " + nameText(child) + ": " + d.res.Reason
		}
		return st.keep(child, &entry{kind: kindFor(d.res), res: d.res}, d.ttl), d.res.Security == Bogus
	}
	k, res := d.delegation(child)
	if res.Security == Bogus && d.bad.Security == Bogus {
		res = d.bad // the proof needed the set left out
		res.Reason = "DS " + nameText(child) + ": " + res.Reason
	}
	if res.Security != Secure {
		return st.keep(child, &entry{kind: kindFor(res), res: res}, d.ttl), res.Security == Bogus
	}
	return st.keep(child, &entry{kind: k}, d.ttl), false
}

// kindFor is the cache kind of a non-secure verdict.
func kindFor(r Result) kind {
	if r.Security == Insecure {
		return kindInsecure
	}
	return kindBogus
}

package authority

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"ljdns/dnsmsg"
)

// The backend profile answers as PowerDNS Authoritative 4.7.3 answers from
// a backend without DNSSEC data (PacketHandler::doQuestion): the zone from
// the zone list or by SOA lookups of the name and its parents; referrals
// from NS records between the name and the apex; one ANY lookup of the
// name; CNAMEs followed (10 at most) into any zone served; DNAME and then
// wildcards (literal "*.parent" names asked of the backend) when the name
// has no records; empty non-terminals answer NXDOMAIN (the backend cannot
// tell them apart); NODATA and NXDOMAIN with the SOA at min(TTL, MINIMUM);
// addresses of NS, MX and SRV targets inside the zone in additional.
//
// Lookups of the same name within one query are asked of the backend once
// (pdns asks up to four times without its query cache); the script can
// only tell by counting its calls.

const (
	typeENT     = 0 // pdns's empty non-terminal marker type (never from lua2)
	maxRetarget = 10
)

type soaData struct {
	apex    []byte // lowercased wire
	id      int64
	ttl     uint32
	rdata   []byte
	minimum uint32
	have    bool
}

type outRec struct {
	sec   int
	rec   BackendRecord
	class uint16   // 0: IN
	z     *zoneSig // the signed zone the record is from (nil: unsigned)
	wild  []byte   // a wildcard answer's wildcard owner (signed under it)
}

type bsess struct {
	b     Backend
	q     *BackendQuery
	memo  []memoEntry
	sd    soaData
	out   []outRec
	res   BackendResult
	qtype uint16
	// where the current target started (retargets so far, records)
	retargets, mark int
	zsigs           []zoneSigEntry // zones asked for keys in this query
	cur             *zoneSig       // the current zone when signed on line and asked for
}

// bsessPool keeps query sessions (their slices) for reuse.
var bsessPool = sync.Pool{New: func() any { return new(bsess) }}

// release drops what s refers to and returns it to the pool.
func (s *bsess) release() {
	clear(s.memo)
	clear(s.out)
	clear(s.zsigs)
	memo, out, zsigs := s.memo[:0], s.out[:0], s.zsigs[:0]
	*s = bsess{memo: memo, out: out, zsigs: zsigs}
	bsessPool.Put(s)
}

// errNoSOA: the zone from the zone list has no SOA at the backend.
var errNoSOA = errors.New("authority: zone without SOA")

// appendLower appends w with ASCII letters lowercased.
func appendLower(b, w []byte) []byte {
	for _, c := range w {
		if 'A' <= c && c <= 'Z' {
			c += 32
		}
		b = append(b, c)
	}
	return b
}

func chop(w []byte) []byte {
	if len(w) <= 1 {
		return nil
	}
	return w[1+int(w[0]):]
}

// memoEntry is a lookup made during the query.
type memoEntry struct {
	soa  bool
	name []byte
	recs []BackendRecord
}

func (s *bsess) lookup(qtype uint16, name []byte, id int64, ctx *LookupContext) ([]BackendRecord, error) {
	soa := qtype == typeSOA
	for _, m := range s.memo {
		if m.soa == soa && bytes.Equal(m.name, name) {
			return m.recs, nil
		}
	}
	s.res.Lookups++
	recs, err := s.b.Lookup(qtype, name, id, ctx)
	if err != nil {
		return nil, err
	}
	s.memo = append(s.memo, memoEntry{soa, name, recs})
	return recs, nil
}

// any is the ANY lookup of name in the current zone.
func (s *bsess) any(name []byte) ([]BackendRecord, error) {
	return s.lookup(typeANY, name, s.sd.id, &s.q.Ctx)
}

// soaAt asks the backend for the SOA of name; ok when it has one.
func (s *bsess) soaAt(name []byte, id int64) (soaData, bool, error) {
	recs, err := s.lookup(typeSOA, name, id, nil)
	if err != nil {
		return soaData{}, false, err
	}
	for _, r := range recs {
		if r.Type != typeSOA {
			return soaData{}, false, fmt.Errorf("%w: got non-SOA record when asking for SOA of %s", ErrBackendData, nameText(name))
		}
	}
	if len(recs) == 0 {
		return soaData{}, false, nil
	}
	r := recs[0]
	_, _, nums, ok := dnsmsg.SOAFields(r.RData)
	if !ok {
		return soaData{}, false, fmt.Errorf("%w: bad SOA of %s", ErrBackendData, nameText(name))
	}
	return soaData{apex: name, id: r.DomainID, ttl: r.TTL, rdata: r.RData, minimum: nums[4], have: true}, true, nil
}

// getAuth finds the zone of target (UeberBackend::getAuth).
func (s *bsess) getAuth(target []byte, qtype uint16) (bool, error) {
	var found *soaData
	var lb [256]byte
	lower := appendLower(lb[:0], target)
	for name := target; name != nil; name = chop(name) {
		var sd soaData
		if z := s.q.Zones; z != nil {
			d, ok := z.Get(lower[len(lower)-len(name):])
			if !ok {
				continue
			}
			sd = soaData{apex: name, id: d.ID}
		} else {
			var ok bool
			var err error
			if sd, ok, err = s.soaAt(name, -1); err != nil {
				return false, err
			} else if !ok {
				continue
			}
		}
		if qtype == typeDS && found == nil && len(name) == len(target) && len(name) > 1 {
			found = &sd // a DS is the parent's: look further up first
			continue
		}
		s.sd = sd
		return true, nil
	}
	if found != nil {
		s.sd = *found
		return true, nil
	}
	return false, nil
}

// soa returns the zone's SOA, asking the backend when the zone came from
// the zone list.
func (s *bsess) soa() (soaData, error) {
	if s.sd.have {
		return s.sd, nil
	}
	sd, ok, err := s.soaAt(s.sd.apex, s.sd.id)
	if err != nil {
		return sd, err
	}
	if !ok {
		return sd, errNoSOA
	}
	if s.sd.id != -1 || sd.id == -1 {
		sd.id = s.sd.id
	}
	s.sd = sd
	return sd, nil
}

func (s *bsess) soaRecord(negative bool) (BackendRecord, error) {
	sd, err := s.soa()
	if err != nil {
		return BackendRecord{}, err
	}
	ttl := sd.ttl
	if negative && sd.minimum < ttl {
		ttl = sd.minimum
	}
	return BackendRecord{Name: sd.apex, Type: typeSOA, TTL: ttl, RData: sd.rdata, Auth: true, DomainID: sd.id}, nil
}

func (s *bsess) add(sec int, r BackendRecord) {
	for _, o := range s.out {
		if o.sec == sec && o.rec.Type == r.Type && o.rec.TTL == r.TTL && bytes.Equal(o.rec.RData, r.RData) &&
			bytes.EqualFold(o.rec.Name, r.Name) {
			return // DNSPacket::addRecord drops duplicates
		}
	}
	if r.ScopeMask != 0 {
		s.res.ScopeMask = true
	}
	s.out = append(s.out, outRec{sec: sec, rec: r, z: s.cur})
}

func (s *bsess) negative(nx bool) error {
	rr, err := s.soaRecord(true)
	if err != nil {
		return err
	}
	s.add(dnsmsg.SectionNS, rr)
	if nx {
		s.res.Rcode = rcodeNXDomain
	}
	return nil
}

// bestReferralNS is getBestReferralNS: NS records at target or a parent
// below the apex.
func (s *bsess) bestReferralNS(target []byte) ([]BackendRecord, error) {
	for name := target; name != nil && !bytes.EqualFold(name, s.sd.apex); name = chop(name) {
		recs, err := s.any(name)
		if err != nil {
			return nil, err
		}
		var ns []BackendRecord
		for _, r := range recs {
			if r.Type == typeNS {
				ns = append(ns, r)
			}
		}
		if len(ns) > 0 {
			return ns, nil
		}
	}
	return nil, nil
}

func (s *bsess) tryReferral(target []byte, retargeted int) (bool, error) {
	ns, err := s.bestReferralNS(target)
	if err != nil || len(ns) == 0 {
		return false, err
	}
	for _, r := range ns {
		s.add(dnsmsg.SectionNS, r)
	}
	if retargeted == 0 {
		s.res.AA = false
	}
	return true, s.referralProof(ns[0].Name)
}

// tryDNAME is getBestDNAMESynth: a DNAME at target or a parent up to the
// apex gives the DNAME and a synthesised CNAME; it returns the new target.
func (s *bsess) tryDNAME(target []byte) ([]byte, bool, error) {
	var prefix []byte
	for name := target; name != nil; name = chop(name) {
		recs, err := s.any(name)
		if err != nil {
			return nil, false, err
		}
		var newTarget []byte
		for _, r := range recs {
			if r.Type != typeDNAME {
				continue
			}
			s.add(dnsmsg.SectionAN, r)
			t := append(append([]byte{}, prefix...), r.RData...)
			if len(t) > 255 {
				return nil, false, fmt.Errorf("%w: DNAME target too long", ErrBackendData)
			}
			owner := append(append([]byte{}, prefix...), r.Name...)
			s.add(dnsmsg.SectionAN, BackendRecord{Name: owner, Type: typeCNAME, TTL: r.TTL, RData: t, DomainID: r.DomainID})
			newTarget = t
		}
		if newTarget != nil {
			return newTarget, true, nil
		}
		if len(name) > 1 {
			prefix = append(prefix, name[:1+int(name[0])]...)
		}
		if bytes.EqualFold(name, s.sd.apex) {
			break
		}
	}
	return nil, false, nil
}

// bestWildcard is getBestWildcard; wildcard is the last wildcard name
// asked (the one at the closest encloser when none was found).
func (s *bsess) bestWildcard(target []byte) (recs []BackendRecord, wildcard []byte, found bool, err error) {
	qt := s.qtype
	haveCNAME := false
	for sub := chop(target); sub != nil; sub = chop(sub) {
		wc := append([]byte{1, '*'}, sub...)
		rs, err := s.any(wc)
		if err != nil {
			return nil, nil, false, err
		}
		wildcard = wc
		for _, r := range rs {
			if haveCNAME {
				continue
			}
			if r.Type != typeENT && (r.Type == qt || r.Type == typeCNAME || (qt == typeANY && r.Type != typeRRSIG)) {
				if r.Type == typeCNAME {
					haveCNAME = true
					recs = recs[:0]
				}
				recs = append(recs, r)
			}
			found = true
		}
		if found || bytes.EqualFold(sub, s.sd.apex) {
			break
		}
		rs, err = s.any(sub)
		if err != nil {
			return nil, nil, false, err
		}
		if len(rs) > 0 {
			break // an ancestor exists: no wildcard
		}
	}
	return recs, wildcard, found, nil
}

// AnswerBackend answers q from backend b into a (started as the answer to
// the query: header and question; nothing in its sections yet), as pdns
// 4.7.3 does. An error (the backend failed or returned bad data) means
// SERVFAIL; a is then to be reset by the caller.
func AnswerBackend(b Backend, q *BackendQuery, a *dnsmsg.Packet) (BackendResult, error) {
	s := bsessPool.Get().(*bsess)
	defer s.release()
	*s = bsess{b: b, q: q, qtype: q.QType, memo: s.memo[:0], out: s.out[:0], zsigs: s.zsigs[:0]}
	s.res.AA = true
	if err := s.answer(); errors.Is(err, errNoSOA) {
		// the zone list named the zone but the backend has no SOA for it
		// (as asked, in the query's case): pdns's getAuth fails there
		s.out = s.out[:s.mark]
		if s.retargets == 0 {
			s.res.AA, s.res.Rcode, s.res.NoZone = false, rcodeRefused, true
		}
	} else if err != nil {
		return s.res, err
	}
	if err := s.additional(); err != nil {
		return s.res, err
	}
	s.signOut()
	s.write(a)
	return s.res, nil
}

func (s *bsess) answer() error {
	q := s.q
	qt := q.QType
	if q.QClass == classCH {
		s.chaos()
		return nil
	}
	if q.QClass != classIN && q.QClass != dnsmsg.ClassANY {
		s.res.Rcode = rcodeRefused // AA set, as pdns 4.7.3 answers
		return nil
	}
	switch qt {
	case typeIXFR, typeAXFR:
		s.res.AA, s.res.Rcode = false, rcodeRefused
		return nil
	}
	if qt == typeANY && !q.TCP && !q.NoAnyToTCP {
		s.res.TC = true
		return nil
	}
	if q.QClass == dnsmsg.ClassANY {
		s.res.AA = false
	}
	target := q.QName // pdns 4.7.3 asks with the client's case
	retargets := 0
	for {
		s.retargets, s.mark = retargets, len(s.out)
		if retargets > maxRetarget {
			s.out = s.out[:0]
			s.res.Rcode = rcodeServFail
			return nil
		}
		s.sd = soaData{}
		ok, err := s.getAuth(target, qt)
		if err != nil {
			return err
		}
		if !ok {
			if retargets == 0 {
				s.res.AA, s.res.Rcode, s.res.NoZone = false, rcodeRefused, true
			}
			return nil
		}
		apexQ := bytes.EqualFold(target, s.sd.apex)
		s.cur = nil
		if q.DO || (apexQ && (qt == typeDNSKEY || qt == typeCDS || qt == typeCDNSKEY)) {
			if s.cur, err = s.zoneKeys(); err != nil {
				return err
			}
		}
		if apexQ && s.cur != nil {
			switch {
			case qt == typeDNSKEY || qt == typeCDS || qt == typeCDNSKEY:
				if rs := s.cur.apexKeys(qt); len(rs) > 0 {
					for _, r := range rs {
						s.add(dnsmsg.SectionAN, r)
					}
					return nil
				}
			case qt == typeANY && q.DO:
				for _, t := range [...]uint16{typeDNSKEY, typeCDS, typeCDNSKEY} {
					for _, r := range s.cur.apexKeys(t) {
						s.add(dnsmsg.SectionAN, r)
					}
				}
			}
		}
		if qt == typeNSEC && q.DO && s.cur != nil {
			// the name's NSEC, also at a CNAME or a cut (pdns makes it from
			// the chain); below a cut the referral
			var ns []BackendRecord
			if !apexQ {
				if ns, err = s.bestReferralNS(chop(target)); err != nil {
					return err
				}
			}
			recs, err := s.any(target)
			if err != nil {
				return err
			}
			if len(ns) == 0 && len(recs) > 0 {
				return s.addNSEC(dnsmsg.SectionAN, s.cur, target)
			}
		}
		if qt == typeSOA && apexQ {
			rr, err := s.soaRecord(false)
			if err != nil {
				return err
			}
			s.add(dnsmsg.SectionAN, rr)
			return nil
		}
		if qt == typeRRSIG {
			if _, err := s.soa(); err != nil {
				return err // a zone without a SOA as asked: not served (no AA)
			}
			s.res.Rcode = rcodeRefused
			return nil
		}
		if qt != typeDS {
			if ok, err := s.tryReferral(target, retargets); err != nil || ok {
				return err
			}
		}
		recs, err := s.any(target)
		if err != nil {
			return err
		}
		var rrset []BackendRecord
		weDone, weHaveUnauth, weRedirected := false, false, false
		for _, r := range recs {
			if qt == typeANY && (r.Type == 48 || r.Type == typeNSEC3PARAM) {
				continue
			}
			if r.Type == typeRRSIG {
				continue
			}
			if (qt == typeANY || r.Type == qt) && r.Auth {
				weDone = true
			}
			if (r.Type == qt && !r.Auth) || (r.Type == typeNS && (!r.Auth || !bytes.EqualFold(r.Name, s.sd.apex))) {
				weHaveUnauth = true
			}
			if r.Type == typeCNAME && qt != typeCNAME {
				weRedirected = true
			}
			if r.Type == typeSOA {
				continue
			}
			rrset = append(rrset, r)
		}
		if apexQ {
			rr, err := s.soaRecord(false)
			if err != nil {
				return err
			}
			rrset = append(rrset, rr)
		}
		if qt == typeDS && weHaveUnauth && !weDone && !weRedirected {
			return s.denyNoData(target)
		}
		if qt == typeDS {
			doReferral := true
			for _, r := range rrset {
				if r.Type == typeDS {
					doReferral = false
					break
				}
			}
			if doReferral {
				if ok, err := s.tryReferral(target, retargets); err != nil || ok {
					return err
				}
			}
		}
		if len(rrset) == 0 {
			if nt, ok, err := s.tryDNAME(target); err != nil {
				return err
			} else if ok {
				target = nt
				retargets++
				continue
			}
			wrecs, wc, found, err := s.bestWildcard(target)
			if err != nil {
				return err
			}
			if found {
				if len(wrecs) == 0 {
					if err := s.denyNoData(target); err != nil {
						return err
					}
					if s.cur != nil && q.DO {
						return s.addNSEC(dnsmsg.SectionNS, s.cur, wc)
					}
					return nil
				}
				var next []byte
				for _, r := range wrecs {
					wname := r.Name
					r.Name = target
					if r.Type == typeCNAME {
						next = r.RData
					}
					s.add(dnsmsg.SectionAN, r)
					s.out[len(s.out)-1].wild = wname
				}
				if s.cur != nil && q.DO {
					if err := s.addNSEC(dnsmsg.SectionNS, s.cur, target); err != nil {
						return err
					}
				}
				if next != nil {
					target = next
					retargets++
					continue
				}
				return nil
			}
			if !((qt == typeCNAME || qt == typeANY) && retargets > 0) {
				return s.denyNX(target, wc)
			}
			return nil
		}
		if weRedirected {
			for _, r := range rrset {
				if r.Type == typeCNAME {
					s.add(dnsmsg.SectionAN, r)
					target = r.RData
					break
				}
			}
			retargets++
			continue
		}
		if weDone {
			have := false
			for _, r := range rrset {
				if r.Type == typeENT {
					continue
				}
				if (qt == typeANY || r.Type == qt) && r.Auth {
					s.add(dnsmsg.SectionAN, r)
					have = true
				}
			}
			if !have {
				return s.denyNoData(target)
			}
			if qt == typeANY && q.DO && s.cur != nil {
				return s.addNSEC(dnsmsg.SectionAN, s.cur, target)
			}
			return nil
		}
		if weHaveUnauth {
			_, err := s.tryReferral(target, retargets)
			return err
		}
		return s.denyNoData(target)
	}
}

// classCH is the CHAOS class (RFC 1035 §3.2.4).
const classCH = 3

// chaos answers a CHAOS class query as pdns 4.7.3 does
// (PacketHandler::doVersionRequest): TXT for version.bind and version.pdns
// gives the version string, for id.server the server id (TTL 5, the
// question's owner, AA); TXT for another name REFUSED; another type
// NOTIMP; all with AA. An empty Version answers SERVFAIL (pdns's
// version-string=anonymous), an empty ServerID REFUSED (server-id=disabled).
func (s *bsess) chaos() {
	q := s.q
	if q.QType != typeTXT {
		s.res.Rcode = rcodeNotImp
		return
	}
	var text string
	switch string(dnsmsg.LowerName(q.QName)) {
	case "\x07version\x04bind\x00", "\x07version\x04pdns\x00":
		if text = q.Version; text == "" {
			s.res.Rcode = rcodeServFail // version-string=anonymous
			return
		}
	case "\x02id\x06server\x00":
		text = q.ServerID
	}
	if text == "" {
		s.res.Rcode = rcodeRefused
		return
	}
	var rd []byte
	for len(text) > 0 || rd == nil {
		n := min(len(text), 255)
		rd = append(append(rd, byte(n)), text[:n]...)
		text = text[n:]
	}
	s.out = append(s.out, outRec{sec: dnsmsg.SectionAN, class: classCH,
		rec: BackendRecord{Name: q.QName, Type: typeTXT, TTL: 5, RData: rd, Auth: true}})
}

// additional adds the addresses of NS, MX and SRV targets inside the zone
// (doAdditionalProcessing).
func (s *bsess) additional() error {
	if s.sd.apex == nil {
		return nil
	}
	var names [][]byte
	for _, o := range s.out {
		if o.sec == dnsmsg.SectionAR {
			continue
		}
		var t []byte
		rd := o.rec.RData
		switch o.rec.Type {
		case typeNS:
			t = rd
		case typeMX:
			if len(rd) > 2 {
				t = rd[2:]
			}
		case typeSRV:
			if len(rd) > 6 {
				t = rd[6:]
			}
		default:
			continue
		}
		if !dnsmsg.NameWithin(dnsmsg.LowerName(t), dnsmsg.LowerName(s.sd.apex)) {
			continue
		}
		dup := false
		for _, n := range names {
			if bytes.EqualFold(n, t) {
				dup = true
				break
			}
		}
		if !dup {
			names = append(names, t)
		}
	}
	for _, n := range names {
		recs, err := s.any(n)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Type == typeA || r.Type == typeAAAA {
				s.add(dnsmsg.SectionAR, r)
			}
		}
	}
	return nil
}

// write puts the records into a in section order; over UDP an answer or
// authority record that does not fit truncates the whole answer (TC), an
// additional one is left out (DNSPacket::wrapup).
func (s *bsess) write(a *dnsmsg.Packet) {
	limit := 65535
	if !s.q.TCP {
		limit = 512
		if s.q.EDNS {
			m := s.q.UDPMax
			if m <= 0 {
				m = 1232
			}
			limit = max(512, min(s.q.EDNSSize, m))
		}
	}
	limit -= s.q.OPTSize
	if s.res.TC {
		return
	}
	for sec := dnsmsg.SectionAN; sec <= dnsmsg.SectionAR; sec++ {
		a.Begin(sec)
		for _, o := range s.out {
			if o.sec != sec {
				continue
			}
			class := classIN
			if o.class != 0 {
				class = o.class
			}
			set := dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: o.rec.Name}, Type: o.rec.Type, Class: class, TTL: o.rec.TTL, RData: [][]byte{o.rec.RData}}
			if sec == dnsmsg.SectionAR {
				// an additional record that does not fit is left out
				if a.Size+len(o.rec.Name)+10+len(o.rec.RData) > limit {
					c := a.Copy()
					if !c.Put(&set, true) || c.Size > limit {
						return
					}
				}
				if !a.Put(&set, true) {
					return
				}
				continue
			}
			if !a.Put(&set, true) || a.Size > limit {
				s.res.TC = true
				return
			}
		}
	}
}

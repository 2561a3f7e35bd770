package resolver

import (
	"encoding/binary"
	"time"

	"ljdns/daemon/cache"
	"ljdns/dnsmsg"
)

// SnapshotPart returns the resolver's cache as a part of the shared RR
// cache's snapshot file (daemon/cache.RRCache.AddPart): its RR sets with
// their ranks, its negative entries and its final answers with their
// verdicts, each with its absolute expiry, so that a restarted daemon
// answers what it had resolved without asking again (and, with
// serve_stale, still has expired data to serve).
// The same value every call.
func (r *Resolver) SnapshotPart() cache.Part { return r.part }

type snapPart struct {
	c   *rrCache
	now func() time.Time
}

// Record kinds (the key's first byte).
const (
	recSet    = 's'
	recNeg    = 'n'
	recAnswer = 'a'
)

// Changed reports whether the cache changed since the last Dump.
func (p *snapPart) Changed() bool { return p.c.dirty.Load() }

// Dump encodes the entries alive (or within the stale keep time).
func (p *snapPart) Dump() (keys, values [][]byte) {
	c := p.c
	c.dirty.Store(false)
	now := p.now()
	dead := now.Add(-time.Duration(c.staleKeep.Load()))
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		for k, e := range sh.rrs {
			if dead.Before(e.expire) {
				keys = append(keys, setRecKey(recSet, k))
				v := appendTimes([]byte{byte(e.rank)}, e.stored, e.expire)
				values = append(values, appendSet(v, e.set, 0))
			}
		}
		for k, e := range sh.neg {
			if dead.Before(e.expire) {
				keys = append(keys, setRecKey(recNeg, k))
				v := appendTimes([]byte{byte(e.rcode)}, e.stored, e.expire)
				values = append(values, appendSets(v, e.auth))
			}
		}
		for k, e := range sh.ans {
			if dead.Before(e.expire) {
				keys = append(keys, append([]byte{recAnswer}, k...))
				v := appendTimes([]byte{byte(e.rcode), byte(e.res.Security)}, e.stored, e.expire)
				v = binary.BigEndian.AppendUint16(v, uint16(int16(e.res.EDE)))
				v = appendBytes(v, []byte(e.res.EDEText))
				v = appendSets(appendSets(v, e.an), e.ns)
				values = append(values, v)
			}
		}
		sh.mu.RUnlock()
	}
	return keys, values
}

// Load puts one record back, unless it ran out (past the stale keep time)
// or a fresher entry is there; a damaged record is skipped.
func (p *snapPart) Load(key, value []byte) {
	c := p.c
	if len(key) < 2 || len(value) < 2 {
		return
	}
	now := p.now()
	dead := now.Add(-time.Duration(c.staleKeep.Load()))
	d := decoder{b: value[1:]}
	switch key[0] {
	case recSet, recNeg:
		k, ok := setRecKeyOf(key)
		if !ok {
			return
		}
		stored, expire := d.times()
		sh := c.shard(k.name)
		if key[0] == recSet {
			s := d.set(0)
			if !d.ok || s == nil || !dead.Before(expire) {
				return
			}
			e := &entry{set: s, rank: int(value[0]), stored: stored, expire: expire, size: rrEntrySize(k, s)}
			sh.mu.Lock()
			if old := sh.rrs[k]; old == nil || old.expire.Before(expire) {
				c.evict(sh, now, e.size)
				c.putEntry(sh, k, e)
			}
			sh.mu.Unlock()
			return
		}
		auth := d.sets()
		if !d.ok || !dead.Before(expire) {
			return
		}
		e := &negEntry{rcode: int(value[0]), auth: auth, stored: stored, expire: expire, size: negEntrySize(k, auth)}
		sh.mu.Lock()
		if old := sh.neg[k]; old == nil || old.expire.Before(expire) {
			c.evict(sh, now, e.size)
			c.putNegEntry(sh, k, e)
		}
		sh.mu.Unlock()
	case recAnswer:
		k := key[1:]
		if len(k) < 4 || len(value) < 2 {
			return
		}
		d.b = value[2:]
		stored, expire := d.times()
		ede := int(int16(d.u16()))
		text := d.bytes()
		an := d.sets()
		ns := d.sets()
		if !d.ok || !dead.Before(expire) {
			return
		}
		e := &answerEntry{rcode: int(value[0]), an: an, ns: ns, stored: stored, expire: expire,
			res: Result{Security: Security(value[1]), EDE: ede, EDEText: string(text)}}
		e.size = ansEntrySize(k, an, ns, string(text))
		sh := c.shardB(k)
		sh.mu.Lock()
		if old := sh.ans[string(k)]; old == nil || old.expire.Before(expire) {
			c.evict(sh, now, e.size)
			c.putAnswerEntry(sh, string(k), e)
		}
		sh.mu.Unlock()
	}
}

// setRecKey is kind, the type and the lowercased owner.
func setRecKey(kind byte, k setKey) []byte {
	b := make([]byte, 0, 3+len(k.name))
	b = append(b, kind, byte(k.t>>8), byte(k.t))
	return append(b, k.name...)
}

func setRecKeyOf(key []byte) (setKey, bool) {
	if len(key) < 4 {
		return setKey{}, false
	}
	return setKey{name: string(key[3:]), t: binary.BigEndian.Uint16(key[1:])}, true
}

func appendTimes(b []byte, stored, expire time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(stored.UnixNano()))
	return binary.BigEndian.AppendUint64(b, uint64(expire.UnixNano()))
}

func appendBytes(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

// appendRRSet encodes rr: owner, type, class, TTL, the records.
func appendRRSet(b []byte, rr *dnsmsg.RRSet) []byte {
	b = appendBytes(b, rr.Owner.Wire)
	b = binary.BigEndian.AppendUint16(b, rr.Type)
	b = binary.BigEndian.AppendUint16(b, rr.Class)
	b = binary.BigEndian.AppendUint32(b, rr.TTL)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rr.RData)))
	for _, rd := range rr.RData {
		b = appendBytes(b, rd)
	}
	return b
}

// appendSet encodes s: its RR set, its RRSIGs (flag byte), its proof sets.
func appendSet(b []byte, s *rrset, depth int) []byte {
	b = appendRRSet(b, s.rr)
	if s.sig != nil {
		b = appendRRSet(append(b, 1), s.sig)
	} else {
		b = append(b, 0)
	}
	if depth > 0 {
		return append(b, 0)
	}
	b = append(b, byte(min(len(s.proof), 255)))
	for i, p := range s.proof {
		if i == 255 {
			break
		}
		b = appendSet(b, p, depth+1)
	}
	return b
}

func appendSets(b []byte, sets []*rrset) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(sets)))
	for _, s := range sets {
		b = appendSet(b, s, 0)
	}
	return b
}

// decoder reads what the append functions wrote; ok turns false at the
// first damaged field.
type decoder struct {
	b  []byte
	ok bool
}

func (d *decoder) need(n int) bool {
	if len(d.b) < n {
		d.ok = false
		d.b = nil
	}
	return d.ok
}

func (d *decoder) u16() uint16 {
	if !d.need(2) {
		return 0
	}
	v := binary.BigEndian.Uint16(d.b)
	d.b = d.b[2:]
	return v
}

func (d *decoder) u32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) byte1() byte {
	if !d.need(1) {
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) times() (stored, expire time.Time) {
	d.ok = true
	if !d.need(16) {
		return
	}
	stored = time.Unix(0, int64(binary.BigEndian.Uint64(d.b)))
	expire = time.Unix(0, int64(binary.BigEndian.Uint64(d.b[8:])))
	d.b = d.b[16:]
	return
}

func (d *decoder) bytes() []byte {
	n := int(d.u16())
	if !d.need(n) {
		return nil
	}
	v := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return v
}

func (d *decoder) rrset() *dnsmsg.RRSet {
	owner := d.bytes()
	rr := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: owner}, Type: d.u16(), Class: d.u16(), TTL: d.u32()}
	n := int(d.u16())
	for i := 0; i < n && d.ok; i++ {
		rr.RData = append(rr.RData, d.bytes())
	}
	if !d.ok || len(owner) == 0 {
		d.ok = false
		return nil
	}
	return rr
}

func (d *decoder) set(depth int) *rrset {
	s := &rrset{rr: d.rrset()}
	if d.byte1() == 1 {
		s.sig = d.rrset()
	}
	n := int(d.byte1())
	if depth > 0 && n > 0 {
		d.ok = false
	}
	for i := 0; i < n && d.ok; i++ {
		s.proof = append(s.proof, d.set(depth+1))
	}
	if !d.ok {
		return nil
	}
	return s
}

func (d *decoder) sets() []*rrset {
	n := int(d.u16())
	var out []*rrset
	for i := 0; i < n && d.ok; i++ {
		out = append(out, d.set(0))
	}
	if !d.ok {
		return nil
	}
	return out
}

// CacheGet returns the live entries of the resolver's cache owned by name
// (kresd's cache.get): its RR sets, and its negative entries (Negative,
// with the SOA's RDATA; type 0 for NXDOMAIN).
func (r *Resolver) CacheGet(name []byte) []cache.Entry {
	c := r.cache
	lname := string(dnsmsg.LowerName(name))
	now := r.clk.Now()
	sh := c.shard(lname)
	var out []cache.Entry
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	for k, e := range sh.rrs {
		if k.name == lname && now.Before(e.expire) {
			out = append(out, cache.Entry{Type: k.t, TTL: uint32(e.expire.Sub(now) / time.Second), RData: e.set.rr.RData})
		}
	}
	for k, e := range sh.neg {
		if k.name == lname && now.Before(e.expire) {
			x := cache.Entry{Type: k.t, TTL: uint32(e.expire.Sub(now) / time.Second), Negative: true}
			for _, s := range e.auth {
				if s.rr.Type == typeSOA {
					x.RData = s.rr.RData
				}
			}
			out = append(out, x)
		}
	}
	return out
}

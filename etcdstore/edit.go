package etcdstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
)

const typeCNAME, typeRRSIG, typeNSEC = 5, 46, 47

// EditResult tells what an edit committed.
type EditResult struct {
	Serial   uint32 // the zone's SOA serial after the edit
	Revision int64  // the etcd revision of the commit
	Sets     int    // RRsets written or deleted
}

// editOp is one parsed edit line.
type editOp struct {
	add   bool
	owner []byte // wire
	typ   uint16 // 0: every set of the owner (del only)
	ttl   uint32
	noTTL bool   // the line gave no TTL: the set's, else the SOA's
	rdata []byte // nil: the whole set (del only)
	line  int
}

// Edit applies add/del lines to the zone name as one etcd transaction and
// moves the SOA serial on by one (unless the lines add an SOA):
//
//	add OWNER [TTL] [IN] TYPE RDATA   add a record (a TTL given sets the set's; a new
//	                                  set without one takes the SOA's TTL)
//	del OWNER [TTL] [IN] TYPE RDATA   delete a record
//	del OWNER TYPE                    delete an RRset
//	del OWNER                         delete every RRset of a name
//
// Owners are relative to the zone's origin as in a zone file ('@' is the
// apex); blank lines and lines starting with ';' or '#' are skipped. A
// conflicting concurrent change is retried a few times. An edit touching
// more RRsets than one etcd transaction allows (MaxOps - 2) fails whole.
func (s *Store) Edit(ctx context.Context, name string, lines string) (*EditResult, error) {
	origin, err := CanonOrigin(name)
	if err != nil {
		return nil, err
	}
	ops, err := parseEdit(origin, lines)
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		res, err := s.edit(ctx, origin, ops)
		if errors.Is(err, ErrConflict) && try < 8 {
			continue
		}
		return res, err
	}
}

func parseEdit(origin, lines string) ([]editOp, error) {
	var ops []editOp
	sc := bufio.NewScanner(strings.NewReader(lines))
	sc.Buffer(nil, 1<<20)
	ln := 0
	for sc.Scan() {
		ln++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		verb, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		op := editOp{line: ln}
		switch strings.ToLower(verb) {
		case "add":
			op.add = true
		case "del", "delete":
		default:
			return nil, fmt.Errorf("line %d: %q: 'add' or 'del' expected", ln, verb)
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("line %d: owner expected", ln)
		}
		if !op.add && len(f) <= 2 {
			w, err := ownerWire(origin, f[0])
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", ln, err)
			}
			op.owner = w
			if len(f) == 2 {
				if op.typ = typeCode(f[1]); op.typ == 0 {
					return nil, fmt.Errorf("line %d: unknown type %q", ln, f[1])
				}
			}
			ops = append(ops, op)
			continue
		}
		zs := zone.NewScanner(strings.NewReader(rest+"\n"), origin, zone.ClassINET, zone.DefaultTTL)
		zs.AllowInclude = false
		if !zs.Next() {
			err := zs.Err()
			if err == nil {
				err = errors.New("record expected")
			}
			return nil, fmt.Errorf("line %d: %v", ln, err)
		}
		rec := zs.Record()
		if rec.Class != zone.ClassINET {
			return nil, fmt.Errorf("line %d: class %d is not IN", ln, rec.Class)
		}
		op.owner, op.typ, op.ttl, op.rdata = bytes.Clone(rec.Owner), rec.Type, rec.TTL, bytes.Clone(rec.RData)
		// a TTL that follows the scanner's default was not written
		zs2 := zone.NewScanner(strings.NewReader(rest+"\n"), origin, zone.ClassINET, zone.DefaultTTL+1)
		zs2.AllowInclude = false
		op.noTTL = zs2.Next() && zs2.Record().TTL != rec.TTL
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return nil, errors.New("no edit lines")
	}
	return ops, nil
}

func ownerWire(origin, s string) ([]byte, error) {
	zs := zone.NewScanner(strings.NewReader(s+" 0 IN A 0.0.0.0\n"), origin, zone.ClassINET, 0)
	if !zs.Next() {
		return nil, fmt.Errorf("bad owner %q: %v", s, zs.Err())
	}
	return bytes.Clone(zs.Record().Owner), nil
}

// edit runs one attempt: read what the lines touch, apply, commit with a
// compare on every key read.
func (s *Store) edit(ctx context.Context, origin string, ops []editOp) (*EditResult, error) {
	ptr := s.PointerKey(origin)
	pr, err := s.Client.Get(ctx, ptr)
	if err != nil {
		return nil, err
	}
	if len(pr.Kvs) == 0 {
		return nil, fmt.Errorf("%s: %w", origin, ErrNoZone)
	}
	rev := pr.Header.Revision
	ptrRev := pr.Kvs[0].ModRevision
	prefix := s.DataPrefix(origin, string(pr.Kvs[0].Value))
	ow, _ := dnsmsg.NameFromText(origin)

	type entry struct {
		rr     *dnsmsg.RRSet // nil: absent / deleted
		modRev int64
	}
	touched := map[string]*entry{}
	var order []string
	load := func(k string) (*entry, error) {
		if e := touched[k]; e != nil {
			return e, nil
		}
		r, err := s.Client.Get(ctx, prefix+k, clientv3.WithRev(rev))
		if err != nil {
			return nil, err
		}
		e := &entry{}
		if len(r.Kvs) > 0 {
			e.modRev = r.Kvs[0].ModRevision
			if e.rr, err = ParseSetText(origin, r.Kvs[0].Value); err != nil {
				return nil, fmt.Errorf("%s: %v", k, err)
			}
		}
		touched[k] = e
		order = append(order, k)
		return e, nil
	}
	soaExplicit := false
	soa, err := load(soaKey(origin))
	if err != nil {
		return nil, err
	}
	if soa.rr == nil || len(soa.rr.RData) == 0 {
		return nil, fmt.Errorf("%s: no SOA", origin)
	}
	defTTL := soa.rr.TTL
	for _, op := range ops {
		if !dnsmsg.NameWithin(op.owner, ow.Wire) {
			return nil, fmt.Errorf("line %d: %s is outside the zone %s", op.line, (&dnsmsg.Name{Wire: op.owner}).String(), origin)
		}
		if op.typ == 0 { // every set of the owner
			p := prefix + (&dnsmsg.Name{Wire: dnsmsg.LowerName(op.owner)}).String() + " "
			r, err := s.Client.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithRev(rev), clientv3.WithKeysOnly())
			if err != nil {
				return nil, err
			}
			for _, kv := range r.Kvs {
				k := string(kv.Key[len(prefix):])
				if keyType(k) == typeSOA {
					return nil, fmt.Errorf("line %d: the SOA cannot be deleted", op.line)
				}
				e, err := load(k)
				if err != nil {
					return nil, err
				}
				e.rr = nil
			}
			continue
		}
		k := SetKey(op.owner, op.typ)
		e, err := load(k)
		if err != nil {
			return nil, err
		}
		switch {
		case op.add && op.typ == typeSOA:
			e.rr = &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: op.owner}, Type: op.typ, Class: 1, TTL: op.ttl, RData: [][]byte{op.rdata}}
			soaExplicit = true
		case op.add:
			if e.rr == nil {
				e.rr = &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: op.owner}, Type: op.typ, Class: 1, TTL: defTTL}
			}
			if !op.noTTL {
				e.rr.TTL = op.ttl
			}
			e.rr.Add(op.rdata)
		case op.typ == typeSOA:
			return nil, fmt.Errorf("line %d: the SOA cannot be deleted", op.line)
		case op.rdata == nil:
			e.rr = nil
		case e.rr != nil:
			out := e.rr.RData[:0]
			for _, rd := range e.rr.RData {
				if !bytes.Equal(rd, op.rdata) {
					out = append(out, rd)
				}
			}
			e.rr.RData = out
			if len(out) == 0 {
				e.rr = nil
			}
		}
	}
	// CNAME and other data (RFC 1034 §3.6.2; RRSIG and NSEC may sit beside it).
	owners := map[string]bool{}
	for _, k := range order {
		if touched[k].rr != nil {
			owners[k[:strings.LastIndexByte(k, ' ')]] = true
		}
	}
	for o := range owners {
		r, err := s.Client.Get(ctx, prefix+o+" ", clientv3.WithPrefix(), clientv3.WithRev(rev), clientv3.WithKeysOnly())
		if err != nil {
			return nil, err
		}
		types := map[uint16]bool{}
		for _, kv := range r.Kvs {
			k := string(kv.Key[len(prefix):])
			if e := touched[k]; e == nil || e.rr != nil {
				types[keyType(k)] = true
			}
		}
		for _, k := range order {
			if touched[k].rr != nil && strings.HasPrefix(k, o+" ") {
				types[keyType(k)] = true
			}
		}
		if types[typeCNAME] {
			for t := range types {
				if t != typeCNAME && t != typeRRSIG && t != typeNSEC {
					return nil, fmt.Errorf("%s: CNAME and other data", o)
				}
			}
		}
	}
	var serial uint32
	if soa.rr == nil || len(soa.rr.RData) == 0 {
		return nil, fmt.Errorf("%s: no SOA", origin)
	}
	mname, rname, nums, ok := dnsmsg.SOAFields(soa.rr.RData[0])
	if !ok {
		return nil, fmt.Errorf("%s: malformed SOA", origin)
	}
	serial = nums[0]
	if !soaExplicit {
		serial++
		rd := bytes.Clone(soa.rr.RData[0])
		binary.BigEndian.PutUint32(rd[len(mname)+len(rname):], serial)
		soa.rr = &dnsmsg.RRSet{Owner: soa.rr.Owner, Type: typeSOA, Class: 1, TTL: soa.rr.TTL, RData: [][]byte{rd}}
	}
	maxOps := s.MaxOps
	if maxOps <= 0 {
		maxOps = DefaultMaxOps
	}
	if len(order)+1 > maxOps {
		return nil, fmt.Errorf("the edit touches %d RRsets: over the %d operations of one etcd transaction", len(order), maxOps-1)
	}
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(ptr), "=", ptrRev)}
	var puts []clientv3.Op
	for _, k := range order {
		e := touched[k]
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(prefix+k), "=", e.modRev))
		if e.rr == nil {
			if e.modRev != 0 {
				puts = append(puts, clientv3.OpDelete(prefix+k))
			}
			continue
		}
		puts = append(puts, clientv3.OpPut(prefix+k, SetText(e.rr)))
	}
	tr, err := s.Client.Txn(ctx).If(cmps...).Then(puts...).Commit()
	if err != nil {
		return nil, err
	}
	if !tr.Succeeded {
		return nil, ErrConflict
	}
	return &EditResult{Serial: serial, Revision: tr.Header.Revision, Sets: len(puts)}, nil
}

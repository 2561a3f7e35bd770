package dnsclient

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"

	"ljdns/dnsmsg"
	"ljdns/validator"
)

// fakeUp is an upstream that answers every query with answer(q) and keeps
// the queries.
type fakeUp struct {
	mu      sync.Mutex
	queries []*dnsmsg.Packet
	answer  func(q *dnsmsg.Packet) *dnsmsg.Packet
}

func (f *fakeUp) Query(_ context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q.Copy())
	f.mu.Unlock()
	a := f.answer(q)
	c := dnsmsg.NewPacketFrom(a.Size, a.Bytes())
	if c.Parse(false) != 0 {
		return nil, errors.New("fake answer does not parse")
	}
	return c, nil
}

func (f *fakeUp) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	return streamByQuery(ctx, f, q, fn)
}

func (f *fakeUp) Close() error { return nil }

// unsignedAnswer answers q with one A record and an RRSIG-typed record (a
// stand-in that only checks which records are passed on).
func unsignedAnswer(q *dnsmsg.Packet) *dnsmsg.Packet {
	qn, qt, qc, _ := q.Question()
	a := dnsmsg.NewPacket(1232)
	q.ToAnswer(a)
	a.SetFlag("ra", true)
	if qt == dnsmsg.TypeA {
		a.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: qn}, Type: dnsmsg.TypeA, Class: qc, TTL: 60,
			RData: [][]byte{{192, 0, 2, 1}}}, false)
		a.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: qn}, Type: 46, Class: qc, TTL: 60,
			RData: [][]byte{make([]byte, 30)}}, false)
	}
	a.Begin(dnsmsg.SectionAR)
	opt := dnsmsg.NewOPT(0, 1232)
	dnsmsg.SetOPTDo(opt, true)
	a.Put(opt, false)
	return a
}

func newQ(t *testing.T, name string, do, cd, edns bool) *dnsmsg.Packet {
	t.Helper()
	q, err := NewQuery(name, dnsmsg.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	p := dnsmsg.NewPacket(512)
	copy(p.Buf, q.Bytes())
	p.Size = q.Size
	p.Parse(false)
	p.SetFlag("cd", cd)
	if edns {
		p.Begin(dnsmsg.SectionAR)
		opt := dnsmsg.NewOPT(0, 1232)
		dnsmsg.SetOPTDo(opt, do)
		p.Put(opt, false)
	}
	return p
}

// ede returns the extended error code and text of a's OPT RR.
func ede(a *dnsmsg.Packet) (int, string, bool) {
	d, ok := dnsmsg.EDNSOption(a.OPT(), optionEDE)
	if !ok || len(d) < 2 {
		return 0, "", false
	}
	return int(binary.BigEndian.Uint16(d)), string(d[2:]), true
}

// TestValidatingShape checks the packets of the validating transport
// without DNSSEC data: the upstream query (DO, CD), AD never set for an
// unvalidated answer, DNSSEC records and OPT as the client asked, and the
// SERVFAIL with extended error for a bogus chain.
func TestValidatingShape(t *testing.T) {
	up := &fakeUp{answer: unsignedAnswer}
	// An anchor for example. only: www.other. is indeterminate.
	v, err := validator.New(validator.Config{Anchors: []string{"example. DS 1 13 2 " + strings.Repeat("AB", 32)}})
	if err != nil {
		t.Fatal(err)
	}
	vt, err := NewValidating(up, v)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name           string
		do, edns       bool
		wantRRs, wantO int
	}{
		{"DO", true, true, 2, 1},
		{"EDNS without DO", false, true, 1, 1},
		{"no EDNS", false, false, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := newQ(t, "www.other.", c.do, false, c.edns)
			a, err := vt.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			sent := up.queries[len(up.queries)-1]
			if !sent.Flag("cd") || !dnsmsg.OPTDo(sent.OPT()) || !sent.Flag("rd") {
				t.Errorf("upstream query without CD, DO or RD:\n%s", sent)
			}
			if a.ID() != q.ID() || a.Flag("ad") || a.Rcode() != 0 || len(a.Records(dnsmsg.SectionAN)) != c.wantRRs {
				t.Errorf("answer:\n%s", a)
			}
			if n := len(a.Records(dnsmsg.SectionAR)); n != c.wantO || (a.OPT() != nil) != c.edns ||
				dnsmsg.OPTDo(a.OPT()) != c.do {
				t.Errorf("OPT: %d records, DO %v:\n%s", n, dnsmsg.OPTDo(a.OPT()), a)
			}
		})
	}

	// Below the anchor the upstream has no DNSKEY: bogus, SERVFAIL with EDE 9.
	q := newQ(t, "www.example.", true, false, true)
	a, err := vt.Query(ctx, q)
	if !errors.Is(err, ErrBogus) || !strings.HasPrefix(err.Error(), "bogus: ") || !strings.Contains(err.Error(), "DNSKEY") {
		t.Fatalf("error %v, want bogus: <reason>", err)
	}
	code, text, ok := ede(a)
	if a == nil || a.Rcode() != rcodeServFail || a.ID() != q.ID() || a.Flag("ad") || !ok || code != validator.EDEDNSKEYMissing ||
		!strings.Contains(err.Error(), text) || len(a.Records(dnsmsg.SectionAN)) != 0 {
		t.Fatalf("bogus answer (EDE %d %q):\n%s", code, text, a)
	}
	// With CD the client gets the data as served, without AD.
	a, err = vt.Query(ctx, newQ(t, "www.example.", true, true, true))
	if err != nil || a.Rcode() != 0 || a.Flag("ad") || len(a.Records(dnsmsg.SectionAN)) != 2 {
		t.Fatalf("CD: %v\n%s", err, a)
	}
	// Stream gives the same answer and error.
	var got []*dnsmsg.Packet
	err = vt.Stream(ctx, q, func(p *dnsmsg.Packet) error { got = append(got, p); return nil })
	if !errors.Is(err, ErrBogus) || len(got) != 1 || got[0].Rcode() != rcodeServFail {
		t.Fatalf("Stream: %v, %d answers", err, len(got))
	}
	if _, err := NewValidating(nil, v); err == nil {
		t.Error("NewValidating accepted no upstream")
	}
	if _, err := vt.Query(ctx, dnsmsg.NewPacket(12)); !errors.Is(err, ErrBadQuery) {
		t.Errorf("query without question: %v", err)
	}
}

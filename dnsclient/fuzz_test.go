package dnsclient

import (
	"testing"
	"time"

	"ljdns/dnsmsg"
)

// FuzzMatchAnswer feeds arbitrary query/answer pairs to MatchAnswer, the
// check every transport applies to what it receives, and what follows it
// for accepted answers (the transfer tracker, the cache's lifetime and
// TTL rewriting). Nothing may panic, and an accepted answer has QR set,
// the query's ID and question. Seeds: testdata/fuzz/FuzzMatchAnswer
// (see testdata/README.md).
func FuzzMatchAnswer(f *testing.F) {
	f.Fuzz(func(t *testing.T, query, answer []byte) {
		a, err := MatchAnswer(query, answer)
		if err != nil {
			return
		}
		if !a.Flag("qr") || a.ID() != wireID(query) {
			t.Fatalf("accepted an answer with QR %v, ID %d for query ID %d", a.Flag("qr"), a.ID(), wireID(query))
		}
		qi, _ := inspectQuery(query)
		if a.Count(-1) == 1 && string(a.Bytes()[dnsmsg.HeaderLen:qi.qEnd]) != string(query[dnsmsg.HeaderLen:qi.qEnd]) {
			t.Fatal("accepted an answer to another question")
		}
		x := &xfrTracker{qtype: typeAXFR}
		_, _ = x.add(a)
		c := &Cache{o: CacheOptions{MaxTTL: time.Hour, NegativeTTL: time.Hour, DelegationTTL: time.Hour, ErrorTTL: time.Second}}
		life := c.lifetime(a.Bytes())
		qp := dnsmsg.NewPacketFrom(len(query), query)
		_, _ = answerFromWire(a.Bytes(), qp, 5*time.Second, life, 0)
		_, _ = answerFromWire(a.Bytes(), qp, 0, 0, 30*time.Second)
	})
}

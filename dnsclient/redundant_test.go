package dnsclient

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

// countingUDP is a fake server answering after delay with rcode (and an
// A record 192.0.2.1 for NOERROR), counting the queries.
func countingUDP(t *testing.T, delay time.Duration, rcode int, n *atomic.Int64) netip.AddrPort {
	return fakeUDP(t, func(c *net.UDPConn, from netip.AddrPort, q *dns.Msg, _ []byte) {
		n.Add(1)
		time.Sleep(delay)
		r := answerTo(q, "192.0.2.1")
		if rcode != 0 {
			r.Answer, r.Rcode = nil, rcode
		}
		_, _ = c.WriteToUDPAddrPort(pack(t, r), from)
	})
}

func dgramTo(t *testing.T, a netip.AddrPort) Transport {
	d, err := NewDgram(a.String(), DgramOptions{Timeout: 2 * time.Second, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRedundantPrefersFastest: after a few queries the fast upstream gets
// nearly all of them, and the slow one still gets probes.
func TestRedundantPrefersFastest(t *testing.T) {
	var fast, slow atomic.Int64
	r, _ := NewRedundant([]Transport{
		dgramTo(t, countingUDP(t, 30*time.Millisecond, 0, &slow)),
		dgramTo(t, countingUDP(t, 0, 0, &fast)),
	}, RedundantOptions{ProbeRatio: 0.2})
	for i := range 200 {
		qq := q(t, "www.example.test", dnsmsg.TypeA)
		a, err := r.Query(ctx(t), qq)
		if err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		checkWWWLoose(t, qq, a)
	}
	st := r.Upstreams()
	t.Logf("fast %d queries (est %v), slow %d (est %v)", fast.Load(), st[1].Estimate, slow.Load(), st[0].Estimate)
	if fast.Load() < 150 || slow.Load() < 5 {
		t.Errorf("fast upstream got %d of 200 queries, slow one %d (probes)", fast.Load(), slow.Load())
	}
	if st[1].Estimate >= st[0].Estimate {
		t.Errorf("estimates: fast %v, slow %v", st[1].Estimate, st[0].Estimate)
	}
}

// TestRedundantServfail: SERVFAIL from the first upstream sends the query
// to the next; with KeepServfail it is returned; when all fail it is
// returned as the answer.
func TestRedundantServfail(t *testing.T) {
	var nBad, nGood, nBad2 atomic.Int64
	bad := countingUDP(t, 0, dns.RcodeServerFailure, &nBad)
	good := countingUDP(t, 0, 0, &nGood)
	r, _ := NewRedundant([]Transport{dgramTo(t, bad), dgramTo(t, good)}, RedundantOptions{ProbeRatio: -1})
	qq := q(t, "www.example.test", dnsmsg.TypeA)
	a, err := r.Query(ctx(t), qq)
	if err != nil {
		t.Fatal(err)
	}
	checkWWWLoose(t, qq, a)
	if nBad.Load() != 1 || nGood.Load() != 1 {
		t.Errorf("bad asked %d times, good %d", nBad.Load(), nGood.Load())
	}
	st := r.Upstreams()
	if st[0].Estimate <= st[1].Estimate {
		t.Errorf("SERVFAIL did not raise the estimate: %v vs %v", st[0].Estimate, st[1].Estimate)
	}

	keep, _ := NewRedundant([]Transport{dgramTo(t, bad), dgramTo(t, good)}, RedundantOptions{ProbeRatio: -1, KeepServfail: true})
	if a, err := keep.Query(ctx(t), qq); err != nil || a.Rcode() != rcodeServFail {
		t.Fatalf("KeepServfail: %v %v", err, a)
	}

	all, _ := NewRedundant([]Transport{dgramTo(t, bad), dgramTo(t, countingUDP(t, 0, dns.RcodeServerFailure, &nBad2))}, RedundantOptions{})
	if a, err := all.Query(ctx(t), qq); err != nil || a.Rcode() != rcodeServFail || nBad2.Load() != 1 {
		t.Fatalf("all SERVFAIL: %v %v (second asked %d times)", err, a, nBad2.Load())
	}
}

// TestRedundantHedges: an upstream that never answers does not hold the
// query for its whole timeout: the next one is asked after its estimate.
func TestRedundantHedges(t *testing.T) {
	var nSilent, nGood atomic.Int64
	silent := fakeUDP(t, func(*net.UDPConn, netip.AddrPort, *dns.Msg, []byte) { nSilent.Add(1) })
	good := countingUDP(t, 0, 0, &nGood)
	d1, _ := NewDgram(silent.String(), DgramOptions{Timeout: time.Minute})
	r, _ := NewRedundant([]Transport{d1, dgramTo(t, good)}, RedundantOptions{ProbeRatio: -1, InitialRTT: 20 * time.Millisecond})
	qq := q(t, "www.example.test", dnsmsg.TypeA)
	a, err := r.Query(ctx(t), qq) // ctx: 20 s, less than the silent one's minute
	if err != nil {
		t.Fatal(err)
	}
	checkWWWLoose(t, qq, a)
	if nSilent.Load() != 1 || nGood.Load() != 1 {
		t.Errorf("silent asked %d, good %d", nSilent.Load(), nGood.Load())
	}
}

// TestPeersRedundantFailover: two knotd serving the zone; the one in use
// is killed and the queries go on through the other.
func TestPeersRedundantFailover(t *testing.T) {
	testnet.Isolate(t)
	zone := []testnet.Zone{{Name: "example.test.", File: writeZone(t, 0)}}
	k1 := testnet.StartKnot(t, testnet.KnotConfig{Zones: zone})
	k2 := testnet.StartKnot(t, testnet.KnotConfig{Zones: zone})
	for _, kind := range []string{"dgram_stream", "multi_stream"} {
		t.Run(kind, func(t *testing.T) {
			var ups []Transport
			for _, k := range []*testnet.Peer{k1, k2} {
				var tr Transport
				var err error
				if kind == "dgram_stream" {
					tr, err = NewDgramStream(k.Addr().String(), DgramStreamOptions{Dgram: DgramOptions{Timeout: time.Second, Retries: 1}})
				} else {
					tr, err = NewMultiStream(k.Addr().String(), StreamOptions{ResponseTimeout: 3 * time.Second})
				}
				if err != nil {
					t.Fatal(err)
				}
				ups = append(ups, tr)
			}
			r, _ := NewRedundant(ups, RedundantOptions{ProbeRatio: -1})
			defer r.Close()
			for i := range 10 {
				qq := q(t, "www.example.test", dnsmsg.TypeA)
				a, err := r.Query(ctx(t), qq)
				if err != nil {
					t.Fatalf("query %d: %v", i, err)
				}
				checkWWW(t, qq, a)
			}
			if kind == "multi_stream" {
				return // k1 was stopped by the first subtest
			}
			if err := k1.Stop(); err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				qq := q(t, "www.example.test", dnsmsg.TypeA)
				a, err := r.Query(ctx(t), qq)
				if err != nil {
					t.Fatalf("query %d after the kill: %v", i, err)
				}
				checkWWW(t, qq, a)
			}
			st := r.Upstreams()
			t.Logf("estimates after the kill: %v (dead), %v", st[0].Estimate, st[1].Estimate)
			if st[0].Estimate <= st[1].Estimate {
				t.Errorf("the dead upstream is still preferred: %v vs %v", st[0].Estimate, st[1].Estimate)
			}
		})
	}
}

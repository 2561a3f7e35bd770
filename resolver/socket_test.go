package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ljdns/dnsclient"
	"ljdns/dnsmsg"
)

// TestExchangeDropsUnsolicited: an answer from another port (off path,
// right ID), one with the wrong ID and one for another question, all
// carrying a forged address, are dropped; the real answer that follows is
// taken. Each query leaves from a socket of its own with a random ID.
func TestExchangeDropsUnsolicited(t *testing.T) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Skipf("no loopback UDP: %v", err)
	}
	defer srv.Close()
	other, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	answer := func(q []byte, id uint16, qname string, addr string) []byte {
		p := dnsmsg.NewPacketFrom(65535, q)
		p.Parse(false)
		qn, qt, _, _ := p.Question()
		if qname != "" {
			qn = wname(t, qname)
		}
		a := dnsmsg.NewPacket(512)
		a.SetQuestion(qn, qt, dnsmsg.ClassINET)
		a.SetID(id)
		a.Buf[2] = 0x84
		a.Begin(dnsmsg.SectionAN)
		a.Put(rrOf(t, nameText(qn)+" 300 A "+addr), false)
		return append([]byte(nil), a.Bytes()...)
	}
	var ids, ports []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for i := 0; i < 3; i++ {
			n, from, err := srv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			id := binary.BigEndian.Uint16(q)
			ids, ports = append(ids, int(id)), append(ports, from.Port)
			other.WriteToUDP(answer(q, id, "", "6.6.6.1"), from)                // off path: wrong source port
			srv.WriteToUDP(answer(q, id+1, "", "6.6.6.2"), from)                // wrong ID
			srv.WriteToUDP(answer(q, id, "www.evil.example.", "6.6.6.3"), from) // wrong question
			srv.WriteToUDP(answer(q, id, "", "192.0.2.1"), from)
		}
	}()
	var unsolicited atomic.Uint64
	ex := &netExchanger{timeout: 5 * time.Second, unsolicited: &unsolicited}
	server := srv.LocalAddr().(*net.UDPAddr).AddrPort()
	for i := 0; i < 3; i++ {
		q := dnsmsg.NewPacket(512)
		q.SetQuestion(wname(t, "www.example."), typeA, dnsmsg.ClassINET)
		q.SetID(4242)
		a, err := ex.exchange(context.Background(), server, q, false)
		if err != nil {
			t.Fatal(err)
		}
		if a.ID() != 4242 || !strings.Contains(answerText(a), "192.0.2.1") {
			t.Fatalf("answer %d: ID %d %s", i, a.ID(), answerText(a))
		}
	}
	<-done
	if got := unsolicited.Load(); got != 6 {
		t.Errorf("%d replies counted as unsolicited, want 6 (wrong ID and question, 3 times)", got)
	}
	if ids[0] == ids[1] && ids[1] == ids[2] || ports[0] == ports[1] && ports[1] == ports[2] {
		t.Errorf("IDs %v and source ports %v do not vary", ids, ports)
	}
	for _, id := range ids {
		if id == 4242 {
			t.Errorf("the caller's ID went on the wire: %v", ids)
		}
	}
}

// TestHintOutsideAllowList: root hints outside the outgoing allow list are
// never contacted: the resolution fails at once with SERVFAIL and EDE 22
// naming the allow list.
func TestHintOutsideAllowList(t *testing.T) {
	l, err := dnsclient.ParseAllowList("127.0.0.0/8,::1/128")
	if err != nil {
		t.Fatal(err)
	}
	dnsclient.SetAllowList(l)
	defer func() {
		prev, _ := dnsclient.ParseAllowList(os.Getenv(dnsclient.EnvOutgoingAllow))
		dnsclient.SetAllowList(prev)
	}()
	r, err := New(Config{Roots: []Hint{{Name: "a.root.", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.53")}}}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a, res, err := r.Resolve(context.Background(), wname(t, "www.example."), typeA, dnsmsg.ClassINET, QueryFlags{})
	if !errors.Is(err, ErrNotAllowed) || a.Rcode() != 2 || res.EDE != edeNoReachableAuthority || !strings.Contains(res.EDEText, "allow") {
		t.Fatalf("rcode %d, EDE %d %q, err %v; want SERVFAIL, 22, the allow list", a.Rcode(), res.EDE, res.EDEText, err)
	}
	t.Logf("failed after %v: %s", time.Since(start), res.EDEText)
}

package daemon

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// multiLayer answers AXFR with three messages (SetMessages) where the
// transport allows, else REFUSED; it records what SetMessages said.
type multiLayer struct{ got chan bool }

func (multiLayer) Name() string { return "multi" }

func (l multiLayer) Begin(r *Request, s State) State {
	if r.QType() != dns.TypeAXFR {
		return s
	}
	var msgs [][]byte
	for i := range 3 {
		m := new(dns.Msg)
		m.SetReply(&dns.Msg{MsgHdr: dns.MsgHdr{Id: r.Query.ID()}, Question: []dns.Question{{Name: "example.", Qtype: dns.TypeAXFR, Qclass: dns.ClassINET}}})
		rr, _ := dns.NewRR("example. 60 TXT \"part " + string(rune('0'+i)) + "\"")
		m.Answer = []dns.RR{rr}
		b, _ := m.Pack()
		msgs = append(msgs, b)
	}
	ok := r.SetMessages(msgs)
	l.got <- ok
	if !ok {
		r.SetRcode(RcodeRefused)
	}
	return Done
}

// TestSetMessages: a layer answers one TCP query with several messages,
// written in order and as given; a pipelined query after it still gets its
// answer; over UDP SetMessages refuses and the layer's Answer goes out.
func TestSetMessages(t *testing.T) {
	testnet.Isolate(t)
	l := multiLayer{got: make(chan bool, 4)}
	s := startServer(t, &Config{Layers: []Layer{l, &memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}})
	addr := s.Addrs(KindDNS)[0]
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := query("example.", dns.TypeAXFR)
	q.Id = 77
	a := query("www.example.", dns.TypeA)
	a.Id = 78
	tcpSend(t, c, pack(t, q))
	tcpSend(t, c, pack(t, a))
	for i := range 3 {
		m, err := tcpRecv(t, c, 5*time.Second)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.Id != 77 || len(m.Answer) != 1 || m.IsEdns0() != nil {
			t.Fatalf("message %d: %v", i, m)
		}
		if txt := m.Answer[0].(*dns.TXT).Txt[0]; txt != "part "+string(rune('0'+i)) {
			t.Fatalf("message %d carries %q", i, txt)
		}
	}
	m, err := tcpRecv(t, c, 5*time.Second)
	if err != nil || m.Id != 78 || len(m.Answer) != 1 {
		t.Fatalf("answer after the stream: %v %v", m, err)
	}
	if ok := <-l.got; !ok {
		t.Fatal("SetMessages refused over TCP")
	}
	r := exchange(t, "udp", addr, query("example.", dns.TypeAXFR))
	if ok := <-l.got; ok || r.Rcode != dns.RcodeRefused {
		t.Fatalf("over UDP: SetMessages %v, answer %v", ok, r)
	}
}

// TestAnswerRoom: the room a layer has for its answer, per transport,
// EDNS size, BufSize and cookie.
func TestAnswerRoom(t *testing.T) {
	testnet.Isolate(t)
	room := make(chan int, 1)
	l := layerFunc{name: "room", begin: func(r *Request, s State) State {
		room <- r.AnswerRoom()
		return Done
	}}
	s := startServer(t, &Config{Layers: []Layer{l}, BufSize: 1232})
	addr := s.Addrs(KindDNS)[0]
	for _, c := range []struct {
		net    string
		size   uint16 // 0: no EDNS
		cookie bool
		want   int
	}{
		{"udp", 0, false, 512},
		{"udp", 4096, false, 1232 - 11},
		{"udp", 600, false, 600 - 11},
		{"udp", 4096, true, 1232 - 11 - 28},
		{"tcp", 0, false, 65535},
		{"tcp", 1232, false, 65535 - 11},
	} {
		m := query("example.", dns.TypeA)
		if c.size > 0 {
			m.SetEdns0(c.size, false)
			if c.cookie {
				m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"})
			}
		}
		exchange(t, c.net, addr, m)
		if got := <-room; got != c.want {
			t.Errorf("%s size %d cookie %v: room %d, want %d", c.net, c.size, c.cookie, got, c.want)
		}
	}
}

package daemon_test

import (
	"fmt"
	"net/netip"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// hello answers TXT queries for hello.example. with "hi" (a Go layer).
type hello struct{}

func (hello) Name() string { return "hello" }

func (hello) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if r.QType() != dnsmsg.TypeTXT || string(dnsmsg.LowerName(r.QName())) != "\x05hello\x07example\x00" {
		return s // not ours: later layers, then REFUSED
	}
	r.Answer.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.QName()}, Type: dnsmsg.TypeTXT, Class: dnsmsg.ClassINET,
		TTL: 60, RData: [][]byte{[]byte("\x02hi")}}, true)
	return daemon.Done
}

// A server with one Go layer, queried through Exchange (what each listener
// does per query); Start would open the listeners of Config.Listen.
func ExampleServer() {
	s, err := daemon.New(&daemon.Config{Layers: []daemon.Layer{hello{}}})
	if err != nil {
		panic(err)
	}
	q := dnsmsg.NewPacket(512)
	n, _ := dnsmsg.NameFromText("hello.example")
	q.SetQuestion(n.Wire, dnsmsg.TypeTXT, dnsmsg.ClassINET)
	client := netip.MustParseAddrPort("127.0.0.1:5300")
	out, _ := s.Exchange(q.Bytes(), client, netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
	a := dnsmsg.NewPacketFrom(len(out), out)
	a.Parse(false)
	for _, rr := range a.Records(dnsmsg.SectionAN) {
		fmt.Println(rr.Owner, rr.TTL, dnsmsg.RDataText(rr.Type, rr.RData[0]))
	}

	q2 := dnsmsg.NewPacket(512) // nothing answers A

	q2.SetQuestion(n.Wire, dnsmsg.TypeA, dnsmsg.ClassINET)
	out, _ = s.Exchange(q2.Bytes(), client, netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
	fmt.Println("A:", out[3]&0x0F == daemon.RcodeRefused)
	// Output:
	// hello.example. 60 "hi"
	// A: true
}

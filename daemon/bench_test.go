package daemon

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// BenchmarkPipelineMem runs one query through the inline pipeline (parse,
// a Go layer answering from memory, encode), as the UDP reader does.
func BenchmarkPipelineMem(b *testing.B) {
	s, err := New(&Config{Log: NewLogger(discard{}), Layers: []Layer{&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}})
	if err != nil {
		b.Fatal(err)
	}
	m := new(dns.Msg)
	m.SetQuestion("n123.example.test.", dns.TypeA)
	wire, _ := m.Pack()
	b.ReportAllocs()
	for b.Loop() {
		r := newRequest(wire)
		r.Client, r.Local, r.Proto = loClient, localAddr, UDP
		g := s.acquire()
		out, done := g.runInline(r)
		if !done || len(out) == 0 {
			b.Fatal("not answered inline")
		}
		g.release()
		releaseRequest(r)
	}
}

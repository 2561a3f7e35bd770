package daemon

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
)

// FuzzRequest feeds arbitrary bytes to the request entry point (parse
// rules, cookies, EDNS, layers, encode) over UDP and TCP. Seeds are in
// testdata/fuzz/FuzzRequest (see testdata/README.md). An answer must parse,
// answer the query's ID with QR set, and fit the UDP limit.
func FuzzRequest(f *testing.F) {
	seed := func(m *dns.Msg) {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(query("example.org", dns.TypeA))
	q := query("big.example", dns.TypeA)
	q.SetEdns0(600, true)
	seed(q)
	q = query("panic", dns.TypeA)
	q.SetEdns0(1232, false)
	q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"},
		&dns.EDNS0_PADDING{Padding: make([]byte, 20)})
	seed(q)
	f.Add([]byte{0, 1, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1}) // UPDATE
	boom := layerFunc{name: "boom", begin: func(r *Request, s State) State {
		if string(r.QName()) == "\x05panic\x00" {
			panic("boom")
		}
		return s
	}}
	s, err := New(&Config{Log: NewLogger(discard{}), BufSize: 1232,
		Layers: []Layer{boom, layerFunc{name: "big", begin: func(r *Request, s State) State {
			if string(r.QName()) == "\x03big\x07example\x00" {
				return bigLayer{60}.Begin(r, s)
			}
			return s
		}}, &memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		for _, proto := range []Proto{UDP, TCP} {
			out, ok := s.Exchange(wire, loClient, localAddr, proto, 0)
			if !ok || out == nil {
				continue
			}
			p := dnsmsg.NewPacketFrom(len(out), out)
			if code := p.Parse(false); code != 0 {
				t.Fatalf("%v answer does not parse: %s\n%x", proto, dnsmsg.StrError(code), out)
			}
			if len(wire) < 2 || binary.BigEndian.Uint16(out) != binary.BigEndian.Uint16(wire) || out[2]&0x80 == 0 {
				t.Fatalf("answer ID/QR wrong: %x for %x", out[:4], wire)
			}
			if proto == UDP {
				limit := 512
				if opt := p.OPT(); opt != nil {
					limit = 1232
				}
				if len(out) > limit {
					t.Fatalf("UDP answer of %d bytes above %d", len(out), limit)
				}
			}
		}
	})
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

package authority

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/miekg/dns"
)

// TestAppendAnswerRoom: the answer without OPT is AppendAnswer's less its
// OPT RR, for room = AppendAnswer's limit less the OPT; names outside the
// zones, other classes and transfers are passed on.
func TestAppendAnswerRoom(t *testing.T) {
	e := testEngine(t, Options{})
	for _, c := range []struct {
		name string
		qt   uint16
	}{{"www.example.test.", dns.TypeA}, {"nx.example.test.", dns.TypeA}, {"example.test.", dns.TypeANY},
		{"big.example.test.", dns.TypeTXT}, {"sub.example.test.", dns.TypeA}, {"www.other.test.", dns.TypeMX}} {
		for _, size := range []uint16{512, 1232} {
			q := new(dns.Msg)
			q.SetQuestion(c.name, c.qt)
			q.SetEdns0(size, true)
			wire, _ := q.Pack()
			want := e.Answer(wire, false)
			got, ok := e.AppendAnswerRoom(nil, wire, int(size)-optLen)
			if !ok {
				t.Fatalf("%s: not answered", c.name)
			}
			// want less its OPT RR (the last 11 bytes) and one from ARCOUNT
			w := append([]byte(nil), want[:len(want)-optLen]...)
			binary.BigEndian.PutUint16(w[10:], binary.BigEndian.Uint16(w[10:])-1)
			if !bytes.Equal(w, got) {
				t.Errorf("%s %d size %d:\n got %x\nwant %x", c.name, c.qt, size, got, w)
			}
		}
	}
	for _, c := range []struct {
		name  string
		qt    uint16
		class uint16
	}{{"www.example.org.", dns.TypeA, dns.ClassINET}, {"www.example.test.", dns.TypeA, dns.ClassCHAOS},
		{"example.test.", dns.TypeAXFR, dns.ClassINET}, {"example.test.", dns.TypeIXFR, dns.ClassINET}} {
		q := new(dns.Msg)
		q.SetQuestion(c.name, c.qt)
		q.Question[0].Qclass = c.class
		wire, _ := q.Pack()
		if out, ok := e.AppendAnswerRoom([]byte{1}, wire, 512); ok || len(out) != 1 {
			t.Errorf("%s %d class %d: answered", c.name, c.qt, c.class)
		}
	}
	if !e.Covers([]byte("\x03WWW\x07example\x04test\x00")) || e.Covers([]byte("\x04test\x00")) {
		t.Error("Covers")
	}
}

// TestTransferRoom: messages stay within the room; IXFR gets the whole
// zone with its question kept.
func TestTransferRoom(t *testing.T) {
	e := testEngine(t, Options{})
	q := new(dns.Msg)
	q.SetAxfr("example.test.")
	wire, _ := q.Pack()
	all, err := e.Transfer(wire)
	if err != nil {
		t.Fatal(err)
	}
	small, err := e.TransferRoom(wire, 1500)
	if err != nil {
		t.Fatal(err)
	}
	if len(small) <= len(all) {
		t.Fatalf("%d messages in 1500 bytes, %d in 64k", len(small), len(all))
	}
	count := func(msgs [][]byte) (n int) {
		for _, m := range msgs {
			if len(m) > 1500 && len(msgs) > len(all) {
				t.Errorf("message of %d bytes", len(m))
			}
			n += int(binary.BigEndian.Uint16(m[6:]))
		}
		return n
	}
	if a, b := count(all), count(small); a != b {
		t.Errorf("%d records in 64k messages, %d in small ones", a, b)
	}
	q.Question[0].Qtype = dns.TypeIXFR
	wire, _ = q.Pack()
	ix, err := e.TransferRoom(wire, 65535)
	if err != nil || len(ix) != len(all) {
		t.Fatalf("IXFR: %d messages, %v", len(ix), err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(ix[0]); err != nil || m.Question[0].Qtype != dns.TypeIXFR || m.Answer[0].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("IXFR first message %v %v", m, err)
	}
}

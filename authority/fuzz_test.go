package authority

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzAnswer feeds arbitrary messages to Answer and Transfer: no panic,
// and every answer is a well-formed message with the query's ID.
// Seeds: testdata/fuzz/FuzzAnswer.
func FuzzAnswer(f *testing.F) {
	for _, q := range []struct {
		name string
		t    uint16
	}{{"www.example.test.", dns.TypeA}, {"x.dn.example.test.", dns.TypeA}, {"www.sub.example.test.", dns.TypeA},
		{"example.test.", dns.TypeANY}, {"example.test.", dns.TypeAXFR}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.t)
		m.SetEdns0(4096, true)
		w, _ := m.Pack()
		f.Add(w, false)
	}
	e := testEngine(f, Options{})
	f.Fuzz(func(t *testing.T, msg []byte, tcp bool) {
		out := e.Answer(msg, tcp)
		if out != nil {
			var m dns.Msg
			if err := m.Unpack(out); err != nil {
				t.Fatalf("answer does not parse: %v\n% x", err, out)
			}
			if m.Id != uint16(msg[0])<<8|uint16(msg[1]) || !m.Response {
				t.Fatalf("id %d qr %v", m.Id, m.Response)
			}
			if !tcp && len(out) > 1232 {
				t.Fatalf("UDP answer of %d bytes", len(out))
			}
		}
		msgs, err := e.Transfer(msg)
		if err == nil {
			for _, b := range msgs {
				var m dns.Msg
				if err := m.Unpack(b); err != nil {
					t.Fatalf("transfer message does not parse: %v", err)
				}
			}
		}
	})
}

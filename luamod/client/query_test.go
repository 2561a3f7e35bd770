package client

import (
	"bytes"
	"testing"

	"ljdns/dnsmsg"
)

// buildQuery writes the wire itself; it must equal what dnsmsg's writer
// makes of the same question, flags and OPT record.
func TestBuildQuery(t *testing.T) {
	for _, c := range []struct {
		name  string
		qtype uint16
		do    bool
	}{
		{"www.Example.test", dnsmsg.TypeA, false},
		{".", dnsmsg.TypeNS, false},
		{"example.test", 48, true},
	} {
		n, err := dnsmsg.NameFromText(c.name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := buildQuery(n.Wire, c.qtype, c.do)
		if err != nil {
			t.Fatal(err)
		}
		want := dnsmsg.NewPacket(512)
		want.SetID(got.ID())
		want.SetQuestion(n.Wire, c.qtype, dnsmsg.ClassINET)
		want.SetFlag("rd", true)
		want.SetFlag("ad", true)
		if c.do {
			opt := dnsmsg.NewOPT(0, 1232)
			dnsmsg.SetOPTDo(opt, true)
			want.Begin(dnsmsg.SectionAR)
			want.Put(opt, false)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s %d do=%v:\n got % x\nwant % x", c.name, c.qtype, c.do, got.Bytes(), want.Bytes())
		}
		if dnsmsg.OPTDo(got.OPT()) != c.do {
			t.Errorf("%s: parsed OPT DO %v", c.name, dnsmsg.OPTDo(got.OPT()))
		}
	}
}

package dnsmsg

import (
	"encoding/hex"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

func mustRR(t testing.TB, owner string, typ uint16, ttl uint32, texts ...string) *RRSet {
	t.Helper()
	o, err := NameFromText(owner)
	if err != nil {
		t.Fatal(err)
	}
	rr := &RRSet{Owner: o, Type: typ, Class: ClassINET, TTL: ttl}
	for _, s := range texts {
		_, rd, err := ParseRData(TypeString(typ) + " " + s)
		if err != nil {
			t.Fatal(err)
		}
		rr.Add(rd)
	}
	return rr
}

// buildTestPacket is the message of dns.test.lua.
func buildTestPacket(t testing.TB) *Packet {
	p := NewPacket(512)
	p.setU16(0, 1234)
	for _, f := range []string{"rd", "tc", "cd", "ad"} {
		p.SetFlag(f, true)
	}
	if ok, err := p.SetQuestion([]byte("\x04test\x00"), TypeSOA, ClassINET); !ok || err != nil {
		t.Fatal("question", err)
	}
	if !p.Put(mustRR(t, "com", TypeNS, 3600, "test."), false) {
		t.Fatal("put NS")
	}
	if err := p.Begin(SectionAR); err != nil {
		t.Fatal(err)
	}
	if !p.Put(mustRR(t, "com", TypeA, 3600, "1.2.3.4"), false) {
		t.Fatal("put A")
	}
	opt := NewOPT(0, 4096)
	opt.TTL |= 0x8000
	if !p.Put(opt, false) {
		t.Fatal("put OPT")
	}
	return p
}

const testPacketText = `;; ->>HEADER<<- opcode: QUERY; status: NOERROR; id: 1234
;; Flags: rd tc cd ad; QUERY: 1; ANSWER: 1; AUTHORITY: 0; ADDITIONAL: 2

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags: do; udp: 4096
;; QUESTION
;test.	SOA	IN
;; ANSWER
com.                	3600	NS	test.
;; ADDITIONAL
com.                	3600	A	1.2.3.4
`

func TestPacketWriteParse(t *testing.T) {
	p := buildTestPacket(t)
	if got := p.String(); got != testPacketText {
		t.Fatalf("text:\n%s\nwant:\n%s", got, testPacketText)
	}
	if err := p.Begin(SectionAN); err == nil {
		t.Fatal("going back allowed")
	}
	// miekg must agree on the wire
	var m mdns.Msg
	if err := m.Unpack(p.Bytes()); err != nil {
		t.Fatalf("miekg unpack: %v\n%s", err, hex.Dump(p.Bytes()))
	}
	if m.Id != 1234 || len(m.Answer) != 1 || len(m.Extra) != 2 || m.Question[0].Name != "test." {
		t.Fatalf("miekg sees %v", m.String())
	}
	q := NewPacketFrom(p.Size, p.Bytes())
	if code := q.Parse(false); code != 0 {
		t.Fatalf("parse: %d", code)
	}
	if got := q.String(); got != testPacketText {
		t.Fatalf("parsed text:\n%s", got)
	}
	if q.OPT() == nil || q.OPT().TTL&0x8000 == 0 {
		t.Fatal("opt")
	}
	if q.Parse(true) != 0 || q.Size != p.Size-11 || q.Count(SectionAR) != 1 || q.OPT() == nil {
		t.Fatalf("strip: size %d ar %d", q.Size, q.Count(SectionAR))
	}
}

func TestPacketCompression(t *testing.T) {
	p := NewPacket(512)
	p.SetQuestion([]byte("\x07example\x03com\x00"), TypeMX, ClassINET)
	p.Put(mustRR(t, "example.com", TypeMX, 60, "10 mail.example.com.", "20 mx2.example.com."), false)
	p.Put(mustRR(t, "www.example.com", TypeCNAME, 60, "example.com."), false)
	var m mdns.Msg
	if err := m.Unpack(p.Bytes()); err != nil {
		t.Fatal(err)
	}
	if len(m.Answer) != 3 || m.Answer[0].(*mdns.MX).Mx != "mail.example.com." || m.Answer[2].(*mdns.CNAME).Target != "example.com." {
		t.Fatalf("%v", m.String())
	}
	// uncompressed would be 12+17 + 3*(...)
	if want, _ := m.Pack(); len(p.Bytes()) > len(want) {
		t.Errorf("compressed to %d bytes, miekg %d", len(p.Bytes()), len(want))
	}
	q := NewPacketFrom(p.Size, p.Bytes())
	if q.Parse(false) != 0 || !strings.Contains(q.String(), "www.example.com.    \t60\tCNAME\texample.com.\n") {
		t.Fatalf("%s", q.String())
	}
}

// TestPacketCompressionQuestion: names compress to the question's (added
// lazily, on the first compressed write), also after a put that did not fit
// was rolled back.
func TestPacketCompressionQuestion(t *testing.T) {
	p := NewPacket(80)
	p.SetQuestion([]byte("\x07example\x03com\x00"), TypeA, ClassINET)
	qend := p.Size
	big := mustRR(t, "www.example.com", TypeTXT, 60, `"`+strings.Repeat("x", 60)+`"`)
	if p.Put(big, false) {
		t.Fatal("put fits?")
	}
	if !p.Put(mustRR(t, "www.example.com", TypeA, 60, "192.0.2.1"), false) {
		t.Fatal("put failed")
	}
	// www, then a pointer to the question's example.com (offset 12)
	if got, want := p.Bytes()[qend:qend+6], []byte{3, 'w', 'w', 'w', 0xC0, 12}; string(got) != string(want) {
		t.Fatalf("owner written as % x, want % x", got, want)
	}
	if !p.Put(mustRR(t, "example.com", TypeA, 60, "192.0.2.2"), false) {
		t.Fatal("put failed")
	}
	if got := p.Bytes()[qend+20 : qend+22]; got[0] != 0xC0 || got[1] != 12 {
		t.Fatalf("second owner written as % x", got)
	}
}

func TestPacketPutFull(t *testing.T) {
	p := NewPacket(40)
	p.SetQuestion([]byte("\x04test\x00"), TypeA, ClassINET)
	before := append([]byte(nil), p.Bytes()...)
	if p.Put(mustRR(t, "averylongownername.example", TypeA, 60, "1.2.3.4"), false) {
		t.Fatal("put fits?")
	}
	if string(before) != string(p.Bytes()) || p.Count(SectionAN) != 0 {
		t.Fatal("packet changed by failed put")
	}
}

func TestPacketParseMalformed(t *testing.T) {
	hdr := "04d2010000010000000000000474657374000006000100"
	tests := map[string]string{
		"short":          "04d2",
		"qd2":            "04d2010000020000000000000474657374000006000100",
		"label runs":     "04d201000001000000000000047465",
		"ptr loop":       "04d2010000010000000000000c000006000100",
		"forward ptr":    "04d20100000100000000000004c00e000600010000",
		"an count":       hdr[:8] + "0001" + "0005" + hdr[16:],
		"trailing":       hdr + "00",
		"bad label type": "04d2010000010000000000004174657374000006000100",
		"rdlen overrun":  "04d20100000000010000000000000100010000000000ff01020304",
		"ns bad rdata":   "04d20100000000010000000000000200010000000000020474",
	}
	for name, h := range tests {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(name, err)
		}
		p := NewPacketFrom(len(b), b)
		if code := p.Parse(false); code == 0 {
			t.Errorf("%s: parsed", name)
		}
	}
}

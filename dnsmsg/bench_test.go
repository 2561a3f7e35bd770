package dnsmsg

import "testing"

// typicalAnswer is 1 question, 3 answers and an OPT.
func typicalAnswer(b testing.TB) (*Packet, []*RRSet) {
	rrs := []*RRSet{
		mustRR(b, "www.example.com", TypeCNAME, 300, "web.example.com."),
		mustRR(b, "web.example.com", TypeA, 300, "192.0.2.1", "192.0.2.2"),
		NewOPT(0, 1232),
	}
	p := NewPacket(1232)
	return p, rrs
}

func writeAnswer(p *Packet, rrs []*RRSet) {
	p.Clear()
	p.SetFlag("qr", true)
	p.SetQuestion([]byte("\x03www\x07example\x03com\x00"), TypeA, ClassINET)
	p.Put(rrs[0], false)
	p.Put(rrs[1], false)
	p.Begin(SectionAR)
	p.Put(rrs[2], false)
}

func BenchmarkAnswerWrite(b *testing.B) {
	p, rrs := typicalAnswer(b)
	b.ReportAllocs()
	for b.Loop() {
		writeAnswer(p, rrs)
		_ = p.Bytes()
	}
}

func BenchmarkAnswerParse(b *testing.B) {
	p, rrs := typicalAnswer(b)
	writeAnswer(p, rrs)
	wire := append([]byte(nil), p.Bytes()...)
	q := NewPacketFrom(len(wire), wire)
	b.ReportAllocs()
	for b.Loop() {
		q.Size = len(wire)
		if q.Parse(false) != 0 {
			b.Fatal("parse")
		}
	}
}

func BenchmarkNameFromText(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NameFromText("www.example.com."); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRRSetString(b *testing.B) {
	rr := mustRR(b, "web.example.com", TypeA, 300, "192.0.2.1", "192.0.2.2", "192.0.2.3")
	b.ReportAllocs()
	for b.Loop() {
		_ = rr.String()
	}
}

func BenchmarkCompareNames(b *testing.B) {
	x, _ := NameFromText("www.example.com")
	y, _ := NameFromText("www.example.COM")
	b.ReportAllocs()
	for b.Loop() {
		CompareNames(x.Wire, y.Wire)
	}
}

func BenchmarkParseRData(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseRData("MX 10 mail.example.com."); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAXFRPacket fills a 64 KiB message with 1000 A records of
// distinct owners (the compression table grows to thousands of entries).
func BenchmarkAXFRPacket(b *testing.B) {
	var rrs []*RRSet
	for i := 0; i < 1000; i++ {
		o, _ := NameFromText("host" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + ".sub.example.com")
		rr := &RRSet{Owner: o, Type: TypeA, Class: ClassINET, TTL: 300}
		rr.Add([]byte{192, 0, 2, byte(i)})
		rrs = append(rrs, rr)
	}
	p := NewPacket(65535)
	b.ReportAllocs()
	for b.Loop() {
		p.Clear()
		p.SetQuestion([]byte("\x07example\x03com\x00"), 252, ClassINET)
		for _, rr := range rrs {
			if !p.Put(rr, false) {
				b.Fatal("full")
			}
		}
	}
}

func BenchmarkSearchKey(b *testing.B) {
	owner := []byte("\x07h000258\x04dept\x07example\x03com\x00")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendSearchKey(buf[:0], owner, 28)
	}
}

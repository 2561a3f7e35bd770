package dnsmsg

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

// seedMessages returns wire messages for the fuzz corpora: our writer's
// output and miekg/dns-packed (compressed) messages with every record
// type of testdata/rdata.zone.
func seedMessages(t testing.TB) [][]byte {
	out := [][]byte{buildTestPacket(t).Bytes()}
	m := new(mdns.Msg)
	m.SetQuestion("example.com.", mdns.TypeANY)
	f, err := os.Open("testdata/rdata.ldns")
	if err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rr, err := mdns.NewRR(sc.Text()); err == nil && rr != nil {
				m.Answer = append(m.Answer, rr)
			}
		}
		f.Close()
	}
	m.SetEdns0(1232, true)
	m.Compress = true
	if b, err := m.Pack(); err == nil {
		out = append(out, b)
	}
	m.Compress = false
	if b, err := m.Pack(); err == nil {
		out = append(out, b)
	}
	return out
}

// recordsEqual compares the parsed records of two packets.
func recordsEqual(a, b *Packet) bool {
	if len(a.rrs) != len(b.rrs) {
		return false
	}
	for i := range a.rrs {
		x, y := a.rrs[i], b.rrs[i]
		if x.section != y.section || !bytes.Equal(x.rr.OwnerWire(), y.rr.OwnerWire()) ||
			x.rr.Type != y.rr.Type || x.rr.Class != y.rr.Class || x.rr.TTL != y.rr.TTL ||
			len(x.rr.RData) != len(y.rr.RData) || !bytes.Equal(x.rr.RData[0], y.rr.RData[0]) {
			return false
		}
	}
	return true
}

// FuzzPacketParse parses arbitrary wire; a message that parses is written
// again with Put (compressing) and must parse to the same records and text.
func FuzzPacketParse(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 65535 {
			return
		}
		p := NewPacketFrom(len(data), data)
		if p.Parse(false) != 0 {
			return
		}
		text := p.String()
		_ = p.JSON()
		q := NewPacket(65535)
		copy(q.Buf[:4], p.Buf[:4])
		if qn, qt, qc, ok := p.Question(); ok {
			if ok, err := q.SetQuestion(qn, qt, qc); !ok || err != nil {
				t.Fatalf("question does not fit: %v", err)
			}
		}
		for _, r := range p.rrs {
			if err := q.Begin(r.section); err != nil {
				t.Fatal(err)
			}
			if !q.Put(r.rr, false) {
				return // decompressed records may outgrow 64 KiB
			}
		}
		q2 := NewPacketFrom(q.Size, q.Bytes())
		if code := q2.Parse(false); code != 0 {
			t.Fatalf("rewritten message does not parse: %d", code)
		}
		if !recordsEqual(p, q2) {
			t.Fatalf("records differ after rewrite")
		}
		if got := q2.String(); got != text {
			t.Fatalf("text differs:\n%s\n%s", text, got)
		}
	})
}

// FuzzNameFromText round-trips names through text.
func FuzzNameFromText(f *testing.F) {
	for _, s := range []string{"example.com", ".", `a\.b\032c.\200`, "*.x", "a..b", `\256`, strings.Repeat("a.", 130)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NameFromText(s)
		if err != nil {
			return
		}
		if len(n.Wire) > maxNameLen {
			t.Fatalf("name of %d bytes", len(n.Wire))
		}
		n2, err := NameFromText(n.String())
		if err != nil || !bytes.Equal(n.Wire, n2.Wire) {
			t.Fatalf("%q -> %q -> %v %v", s, n.String(), n2, err)
		}
		if w, err := NameFromWire(n.Wire); err != nil || !bytes.Equal(w, n.Wire) {
			t.Fatalf("wire round trip: %v", err)
		}
		if CompareNames(n.Wire, n2.Wire) != 0 || !NameWithin(n.Wire, rootName) {
			t.Fatal("compare/within")
		}
	})
}

// FuzzNameFromWire round-trips wire names through text.
func FuzzNameFromWire(f *testing.F) {
	for _, s := range []string{"\x07example\x03com\x00", "", "\x00", "\xc0\x0c", "\x03a.b\x01\xff\x00", "\x07exa"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = CompareNames(b, b)
		_ = DnameLen(b)
		_ = SearchKey(b, 1)
		w, err := NameFromWire(b)
		if err != nil {
			return
		}
		n, err := NameFromText((&Name{Wire: w}).String())
		if err != nil || !bytes.Equal(n.Wire, w) {
			t.Fatalf("%q: text %q: %v", w, (&Name{Wire: w}).String(), err)
		}
		if CompareNames(w, LowerName(w)) < 0 == (CompareNames(LowerName(w), w) < 0) && !bytes.Equal(w, LowerName(w)) {
			t.Fatal("compare not antisymmetric")
		}
	})
}

// FuzzParseRData parses RDATA text; its printed form must parse to the same wire.
func FuzzParseRData(f *testing.F) {
	if fh, err := os.Open("testdata/rdata.ldns"); err == nil {
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if x := strings.SplitN(sc.Text(), "\t", 5); len(x) == 5 {
				f.Add(x[3] + " " + x[4])
			}
		}
		fh.Close()
	}
	f.Add("A 1.2.3.4")
	f.Add("SRV 0 5 zzzz")
	f.Add("MX 10 mail.example.")
	f.Add("NS .")
	f.Fuzz(func(t *testing.T, s string) {
		typ, rd, err := ParseRData(s)
		if err != nil {
			return
		}
		if sp := strings.IndexAny(strings.TrimSpace(s), " \t"); sp > 0 {
			ts := strings.TrimSpace(s)
			if ft, frd, ok := fastParseRData(ts[:sp], strings.TrimSpace(ts[sp:])); ok {
				rr, err := mdns.NewRR(". 0 IN " + ts)
				if err != nil || rr == nil {
					t.Fatalf("fast path accepts %q, miekg does not: %v", s, err)
				}
				mt, mrd, err := packRData(rr)
				if err != nil || mt != ft || !bytes.Equal(mrd, frd) {
					t.Fatalf("fast path %x, miekg %x (%v)", frd, mrd, err)
				}
			}
		}
		text := RDataText(typ, rd)
		typ2, rd2, err := ParseRData(TypeString(typ) + " " + text)
		if err != nil {
			t.Fatalf("%q printed as %q does not parse: %v", s, text, err)
		}
		if typ2 != typ || !bytes.Equal(rd, rd2) {
			t.Fatalf("%q printed as %q parses differently: %x vs %x", s, text, rd, rd2)
		}
	})
}

// FuzzTSIGVerify verifies arbitrary messages; messages that parse are
// signed and must then verify.
func FuzzTSIGVerify(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
	}
	key, _ := ParseTSIGKey("key.example:hmac-sha256:" + testSecret)
	signed := buildTestPacket(f)
	key.Copy().Sign(signed, 300)
	f.Add(append([]byte(nil), signed.Bytes()...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 65535 {
			return
		}
		p := NewPacketFrom(len(data), data)
		_ = key.Copy().Verify(p)
		if p.Parse(false) != 0 || p.tsig != nil {
			return
		}
		q := NewPacket(65535)
		copy(q.Buf, p.Bytes())
		q.Size = p.Size
		if q.Parse(false) != 0 {
			t.Fatal("copy does not parse")
		}
		if err := key.Copy().Sign(q, 300); err != nil {
			return
		}
		if code := key.Copy().Verify(q); code != 0 {
			t.Fatalf("own signature rejected: %d", code)
		}
	})
}

// FuzzPacketPut writes arbitrary records (owners from wire, RDATA raw,
// types chosen among the compressed ones) and parses them back: the
// records must come back byte for byte.
func FuzzPacketPut(f *testing.F) {
	f.Add([]byte("\x07example\x03com\x00"), []byte("\x03www\x07example\x03com\x00"), uint8(0), []byte("\x04mail\x07example\x03com\x00"),
		[]byte("\x07example\x03com\x00"), uint8(3), []byte("\x00\x0a\x04mail\x07example\x03com\x00"))
	f.Add([]byte("\x00"), []byte("\x01a\x00"), uint8(2), []byte("\x02ns\x01a\x00\x02hm\x01a\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\x05"),
		[]byte("\x01b\x01a\x00"), uint8(4), []byte("\x01a\x00\x01b\x01a\x00"))
	types := []uint16{TypeNS, TypeCNAME, TypeSOA, TypeMX, 14, TypePTR, 33, TypeA}
	f.Fuzz(func(t *testing.T, qname, o1 []byte, t1 uint8, rd1, o2 []byte, t2 uint8, rd2 []byte) {
		q, err1 := NameFromWire(qname)
		n1, err2 := NameFromWire(o1)
		n2, err3 := NameFromWire(o2)
		if err1 != nil || err2 != nil || err3 != nil || len(rd1) > 1000 || len(rd2) > 1000 {
			return
		}
		p := NewPacket(4096)
		p.SetQuestion(q, TypeA, ClassINET)
		r1 := &RRSet{Owner: &Name{Wire: n1}, Type: types[int(t1)%len(types)], Class: ClassINET, TTL: 1}
		r1.Add(rd1)
		r2 := &RRSet{Owner: &Name{Wire: n2}, Type: types[int(t2)%len(types)], Class: ClassINET, TTL: 2}
		r2.Add(rd2)
		r2.Add(rd1)
		if !p.Put(r1, false) || !p.Put(r2, false) {
			t.Fatal("put failed with room to spare")
		}
		c := NewPacketFrom(p.Size, p.Bytes())
		valid := func(t uint16, rd []byte) bool {
			l, ok := rdataLayout[t]
			return !ok || layoutMatches(l, rd)
		}
		if !valid(r1.Type, rd1) || !valid(r2.Type, rd1) || !valid(r2.Type, rd2) {
			return // the strict parser rejects RDATA that does not fit its type, as knot does
		}
		if code := c.Parse(false); code != 0 {
			t.Fatalf("our own message does not parse: %s", StrError(code))
		}
		want := append([][]byte{r1.RData[0]}, r2.RData...)
		if len(c.rrs) != len(want) {
			t.Fatalf("%d records, want %d", len(c.rrs), len(want))
		}
		for i, r := range c.rrs {
			if !bytes.Equal(r.rr.RData[0], want[i]) {
				t.Fatalf("record %d: %x, want %x", i, r.rr.RData[0], want[i])
			}
		}
		if !bytes.Equal(c.rrs[0].rr.OwnerWire(), n1) || !bytes.Equal(c.rrs[1].rr.OwnerWire(), n2) {
			t.Fatal("owner differs")
		}
		if qn, _, _, _ := c.Question(); !bytes.Equal(qn, q) {
			t.Fatal("qname differs")
		}
	})
}

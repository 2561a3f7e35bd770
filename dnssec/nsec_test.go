package dnssec

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"ljdns/dnsmsg"
)

// TestNSEC3HashRFC5155 checks NSEC3Hash against RFC 5155 Appendix A: the
// example zone hashes its names with salt aabbccdd and 12 iterations.
func TestNSEC3HashRFC5155(t *testing.T) {
	salt, _ := hex.DecodeString("aabbccdd")
	for name, want := range map[string]string{
		"example.":       "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
		"a.example.":     "35mthgpgcu1qg68fab165klnsnk3dpvl",
		"ai.example.":    "gjeqe526plbf1g8mklp59enfd789njgi",
		"ns1.example.":   "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
		"x.y.w.example.": "2vptu5timamqttgl4luu9kg21e0aor3s",
		"*.w.example.":   "r53bq7cc2uvmubfu5ocmm6pers9tk9en",
		"xx.example.":    "t644ebqk9bibcna874givr6joj62mlhv",
		"EXAMPLE.":       "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
	} {
		n, err := dnsmsg.NameFromText(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := NSEC3Label(NSEC3Hash(n.Wire, 1, 12, salt)); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
		h, ok := DecodeNSEC3Label([]byte(want))
		if !ok || !bytes.Equal(h, NSEC3Hash(n.Wire, 1, 12, salt)) {
			t.Errorf("%s: DecodeNSEC3Label(%s) = %x %v", name, want, h, ok)
		}
	}
	if NSEC3Hash([]byte{0}, 2, 0, nil) != nil {
		t.Error("hash algorithm 2 hashed")
	}
	if _, ok := DecodeNSEC3Label([]byte("w!")); ok {
		t.Error("decoded a label that is not base32hex")
	}
}

func TestParseNSEC(t *testing.T) {
	next, _ := dnsmsg.NameFromText("b.example.")
	bm := TypeBitmap([]uint16{1, 46, 47, 1234})
	r, err := ParseNSEC(append(bytes.Clone(next.Wire), bm...))
	if err != nil || !bytes.Equal(r.Next, next.Wire) || !bytes.Equal(r.Bitmap, bm) {
		t.Fatalf("ParseNSEC: %+v %v", r, err)
	}
	for _, typ := range []uint16{1, 46, 47, 1234} {
		if !HasType(r.Bitmap, typ) {
			t.Errorf("type %d missing", typ)
		}
	}
	for _, typ := range []uint16{2, 28, 48, 1233, 65535} {
		if HasType(r.Bitmap, typ) {
			t.Errorf("type %d present", typ)
		}
	}
	for name, rd := range map[string][]byte{
		"empty":           nil,
		"no root":         {1, 'a'},
		"short window":    append(bytes.Clone(next.Wire), 0),
		"zero length":     append(bytes.Clone(next.Wire), 0, 0),
		"long window":     append(bytes.Clone(next.Wire), 0, 33),
		"window overrun":  append(bytes.Clone(next.Wire), 0, 2, 0x40),
		"windows reverse": append(bytes.Clone(next.Wire), 1, 1, 0x40, 0, 1, 0x40),
	} {
		if _, err := ParseNSEC(rd); !errors.Is(err, ErrNSEC) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseNSEC3(t *testing.T) {
	h := bytes.Repeat([]byte{0xab}, 20)
	rd := append([]byte{1, 1, 0, 12, 4, 0xaa, 0xbb, 0xcc, 0xdd, 20}, h...)
	rd = append(rd, TypeBitmap([]uint16{1, 46})...)
	r, err := ParseNSEC3(rd)
	if err != nil || r.Hash != 1 || !r.OptOut() || r.Iterations != 12 || !bytes.Equal(r.Salt, []byte{0xaa, 0xbb, 0xcc, 0xdd}) ||
		!bytes.Equal(r.Next, h) || !HasType(r.Bitmap, 46) || HasType(r.Bitmap, 47) {
		t.Fatalf("ParseNSEC3: %+v %v", r, err)
	}
	for n := range len(rd) - 4 {
		if n == 30 { // the full record without its bit map is valid
			continue
		}
		if _, err := ParseNSEC3(rd[:n]); !errors.Is(err, ErrNSEC) {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
}

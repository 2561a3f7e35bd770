package dnssec

import (
	"bytes"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"ljdns/dnsmsg"
)

func TestTypeBitmap(t *testing.T) {
	for _, types := range [][]uint16{
		{1, 46, 47},
		{47, 46, 1, 1},
		{2, 6, 15, 16, 28, 46, 47, 48, 99, 257, 32769},
	} {
		// miekg/dns packs the same bitmap (an independent encoder).
		nsecRR := &mdns.NSEC{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeNSEC, Class: 1}, NextDomain: ".", TypeBitMap: sortedUniq(types)}
		buf := make([]byte, 1024)
		off, err := mdns.PackRR(nsecRR, buf, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		want := buf[1+10+1 : off] // root owner, header, root next name
		if got := TypeBitmap(types); !bytes.Equal(got, want) {
			t.Errorf("%v: %x, want %x", types, got, want)
		}
	}
	if got := TypeBitmap(nil); len(got) != 0 {
		t.Errorf("empty bitmap %x", got)
	}
}

func sortedUniq(ts []uint16) []uint16 {
	seen := map[uint16]bool{}
	var out []uint16
	for _, v := range ts {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestPredecessorSuccessor(t *testing.T) {
	long := strings.Repeat(strings.Repeat("x", 63)+".", 3) + strings.Repeat("y", 58) + "." // 250 bytes of labels
	for _, name := range []string{"b.example.com.", "a.example.", "\\000.example.", "a\\000.example.",
		"[.example.", "Z.example.", "@.example.", "\\255.example.", "com.", long, "www.EXAMPLE.com."} {
		w := wire(t, name)
		p, s := Predecessor(w), Successor(w)
		if p == nil || s == nil {
			t.Fatalf("%s: nil neighbour", name)
		}
		for _, n := range [][]byte{p, s} {
			if l, err := wireNameLen(n); err != nil || l != len(n) {
				t.Fatalf("%s: neighbour %q is not a valid name", name, n)
			}
		}
		if dnsmsg.CompareNames(p, w) >= 0 {
			t.Errorf("%s: predecessor %s does not sort before", name, (&dnsmsg.Name{Wire: p}).String())
		}
		if dnsmsg.CompareNames(w, s) >= 0 {
			t.Errorf("%s: successor %s does not sort after", name, (&dnsmsg.Name{Wire: s}).String())
		}
		// Names near w must not fall strictly between w and its neighbours.
		for _, near := range []string{"a." + name, "\\000." + name, "zz." + name} {
			nw, err := dnsmsg.NameFromText(near)
			if err != nil {
				continue // too long
			}
			if dnsmsg.CompareNames(lowerName(nw.Wire), s) < 0 {
				t.Errorf("%s: %s sorts between the name and its successor", name, near)
			}
		}
	}
	// Names too long for \000.name: the successor changes the first label.
	lab := func(n int, c byte) string { return strings.Repeat(string([]byte{c}), n) }
	for _, c := range []struct{ name, want string }{
		// 255 bytes with a short first label: append \000 to it.
		{lab(60, 'a') + "." + lab(63, 'b') + "." + lab(63, 'c') + "." + lab(63, 'd') + ".", ""},
		// first label full (63): increment its last octet
		{lab(63, 'a') + "." + lab(63, 'b') + "." + lab(63, 'c') + "." + lab(61, 'd') + ".", lab(62, 'a') + "b"},
		// last octet of a full label is '@': skip the uppercase range
		{lab(62, 'a') + "@." + lab(63, 'b') + "." + lab(63, 'c') + "." + lab(61, 'd') + ".", lab(62, 'a') + "["},
	} {
		n, err := dnsmsg.NameFromText(c.name)
		if err != nil {
			t.Fatal(err)
		}
		succ := Successor(n.Wire)
		if l, err := wireNameLen(succ); err != nil || l != len(succ) || len(succ) > 255 {
			t.Fatalf("%d-byte name: bad successor %q", len(n.Wire), succ)
		}
		if dnsmsg.CompareNames(n.Wire, succ) >= 0 {
			t.Errorf("%d-byte name: successor does not sort after", len(n.Wire))
		}
		if c.want != "" && string(succ[1:1+succ[0]]) != c.want {
			t.Errorf("successor label %q, want %q", succ[1:1+succ[0]], c.want)
		}
	}
	// A full first label of 0xff octets: the successor follows the parent.
	w := append([]byte{63}, bytes.Repeat([]byte{0xff}, 63)...)
	rest := wire(t, lab(63, 'b')+"."+lab(63, 'c')+"."+lab(61, 'd')+".")
	w = append(w, rest...)
	succ := Successor(w)
	if dnsmsg.CompareNames(w, succ) >= 0 || dnsmsg.CompareNames(rest, succ) >= 0 {
		t.Errorf("successor of a 0xff label: %q", succ)
	}
	if Predecessor([]byte{0}) != nil {
		t.Error("root has a predecessor")
	}
	if Predecessor([]byte{5, 'a'}) != nil || Successor([]byte{0xc0, 1}) != nil {
		t.Error("invalid names accepted")
	}
	// b.example. -> a\255...\255 padded, prefixed with maximal labels.
	p := Predecessor(wire(t, "b.example."))
	if len(p) != 255 || !bytes.HasSuffix(p, append(append([]byte{63, 'a'}, bytes.Repeat([]byte{0xff}, 62)...), wire(t, "example.")...)) {
		t.Errorf("predecessor of b.example. is %q", p)
	}
	if got := Predecessor(wire(t, "\\000.example.")); !bytes.Equal(got, wire(t, "example.")) {
		t.Errorf("predecessor of \\000.example. is %q", got)
	}
}

func TestDenial(t *testing.T) {
	owner := wire(t, "Example.com.")
	nx := Denial(owner, 1, 300, true, ShotgunTypes)
	if nx.Type != TypeNSEC || nx.TTL != 300 || !bytes.Equal(nx.Owner.Wire, owner) {
		t.Fatalf("bad NSEC %+v", nx)
	}
	if want := append(append([]byte{1, 0}, owner...), 0, 6, 0, 0, 0, 0, 0, 3); !bytes.Equal(nx.RData[0], want) {
		t.Errorf("nxdomain rdata %x, want %x", nx.RData[0], want)
	}
	nodata := Denial(owner, 28, 0, false, ShotgunTypes)
	bm := nodata.RData[0][len(owner)+2:]
	has := func(bm []byte, typ uint16) bool {
		for len(bm) >= 2 {
			win, n := bm[0], int(bm[1])
			if uint16(win) == typ>>8 && int(typ&0xff)/8 < n {
				return bm[2+int(typ&0xff)/8]&(0x80>>(typ%8)) != 0
			}
			bm = bm[2+n:]
		}
		return false
	}
	if has(bm, 28) || !has(bm, 1) || !has(bm, 46) || !has(bm, 47) || !has(bm, 41) || has(bm, 250) {
		t.Errorf("shotgun bitmap %x", bm)
	}
	c := Cover(wire(t, "b.example.com."), 60)
	if dnsmsg.CompareNames(c.Owner.Wire, wire(t, "b.example.com.")) >= 0 || dnsmsg.CompareNames(c.Owner.Wire, wire(t, "a.example.com.")) <= 0 {
		t.Errorf("cover owner %s", c.Owner.String())
	}
	if Cover([]byte{0}, 0) != nil {
		t.Error("root covered")
	}
}

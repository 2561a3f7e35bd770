package testnet

import (
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// testAddrs are addresses for a hierarchy that is written but never served.
func testAddrs() hierarchyAddrs {
	a := hierarchyAddrs{roles: map[string]netip.AddrPort{}}
	for i, r := range roles {
		a.roles[r] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(10 + i)}), 53)
	}
	a.dead = netip.MustParseAddrPort("127.0.0.99:53")
	return a
}

// readZone parses a zone file the hierarchy wrote.
func readZone(t *testing.T, file, origin string) []dns.RR {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rrs []dns.RR
	zp := dns.NewZoneParser(f, origin, file)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return rrs
}

// TestWriteHierarchy checks the zones as written, before any server loads them: the good ones
// verify with ldns-verify-zone and each broken one fails it for its own reason, the DS records
// in the parents match (or, for DSMismatch, miss) the children's keys, opt-out leaves the
// unsigned delegations out of example.'s NSEC3 chain, and the anchor files name the root KSK.
func TestWriteHierarchy(t *testing.T) {
	Need(t, "ldns-keygen", "ldns-signzone", "ldns-verify-zone")
	now := time.Now()
	h := writeHierarchy(t, t.TempDir(), testAddrs(), HierarchyOptions{Now: now})

	for _, v := range Variants {
		if got, want := h.Names[v], "www."+string(v)+".example."; v != SecureNSEC3 && got != want {
			t.Errorf("Names[%s] = %q, want %q", v, got, want)
		}
	}
	if got, want := h.Names[SecureNSEC3], "www.secure.lab."; got != want {
		t.Errorf("Names[%s] = %q, want %q", SecureNSEC3, got, want)
	}

	broken := map[Variant]string{Expired: "expired", NotYetValid: "not incepted", Stripped: "no signatures|missing",
		ForgedNSEC: "Bogus DNSSEC signature for ns.forged.example.\tNSEC"}
	for name, z := range h.Zones {
		label := strings.TrimSuffix(name, ".")
		if label == "" {
			label = "root"
		}
		t.Run(label, func(t *testing.T) {
			switch {
			case z.File == "":
				if z.Role != "" {
					t.Fatalf("zone %s has role %s but no file", name, z.Role)
				}
			case !z.Signed:
				if err := VerifyZone(z.File); err == nil {
					t.Fatalf("unsigned %s verifies", name)
				}
			case broken[z.Variant] != "":
				err := VerifyZone(z.File)
				if err == nil {
					t.Fatalf("broken zone %s (%s) verifies", name, z.Variant)
				}
				if !matchAny(err.Error(), broken[z.Variant]) {
					t.Fatalf("broken zone %s fails for another reason than %q: %v", name, broken[z.Variant], err)
				}
			default:
				if err := VerifyZone(z.File); err != nil {
					t.Fatal(err)
				}
			}
		})
	}

	// Every signed child's DS is in its parent, and matches the child's KSK except for DSMismatch.
	parentOf := func(name string) string {
		if i := strings.IndexByte(name, '.'); i+1 < len(name) {
			return name[i+1:]
		}
		return "."
	}
	for name, z := range h.Zones {
		if name == "." {
			continue
		}
		p := h.Zones[parentOf(name)]
		var ds []*dns.DS
		for _, rr := range readZone(t, p.File, p.Name) {
			if d, ok := rr.(*dns.DS); ok && d.Hdr.Name == name {
				ds = append(ds, d)
			}
		}
		if !z.Signed {
			if len(ds) != 0 {
				t.Errorf("unsigned %s has DS %v in %s", name, ds, p.Name)
			}
			continue
		}
		if len(ds) != 1 {
			t.Fatalf("%s has %d DS in %s, want 1", name, len(ds), p.Name)
		}
		var kskDS *dns.DS
		for _, rr := range readZone(t, z.File, name) {
			if k, ok := rr.(*dns.DNSKEY); ok && k.Flags&dns.SEP != 0 {
				kskDS = k.ToDS(dns.SHA256)
			}
		}
		if kskDS == nil {
			t.Fatalf("%s has no KSK in %s", name, z.File)
		}
		match := strings.EqualFold(kskDS.Digest, ds[0].Digest) && kskDS.KeyTag == ds[0].KeyTag
		if match == (z.Variant == DSMismatch || z.Variant == DSDigest) {
			t.Errorf("%s: DS in %s %v, zone's KSK gives %v", name, p.Name, ds[0], kskDS)
		}
		// DSDigest: the right key tag, algorithm and digest type, the wrong digest.
		if z.Variant == DSDigest && (kskDS.KeyTag != ds[0].KeyTag || kskDS.Algorithm != ds[0].Algorithm ||
			kskDS.DigestType != ds[0].DigestType) {
			t.Errorf("%s: DS in %s %v differs from the KSK's %v beyond the digest", name, p.Name, ds[0], kskDS)
		}
	}

	// Opt-out: example.'s NSEC3 chain has no owner for an unsigned delegation, and the NSEC3
	// that covers one has the opt-out flag; it has one for each signed delegation.
	ex := h.Zones["example."]
	owners := map[string]*dns.NSEC3{}
	for _, rr := range readZone(t, ex.File, ex.Name) {
		if n, ok := rr.(*dns.NSEC3); ok {
			if n.Flags&1 == 0 {
				t.Errorf("NSEC3 without opt-out in example.: %v", n)
			}
			owners[strings.ToLower(strings.TrimSuffix(n.Hdr.Name, ".example."))] = n
		}
	}
	for name, z := range h.Zones {
		if parentOf(name) != "example." {
			continue
		}
		hash := strings.ToLower(dns.HashName(name, dns.SHA1, 0, ""))
		if _, ok := owners[hash]; ok == !z.Signed {
			t.Errorf("%s (signed %v): NSEC3 owner %s present %v", name, z.Signed, hash, ok)
		}
		if !z.Signed {
			covered := false
			for _, n := range owners {
				covered = covered || n.Cover(name)
			}
			if !covered {
				t.Errorf("no NSEC3 of example. covers %s", name)
			}
		}
	}

	// ForgedNSEC lost www, and an NSEC now spans it; NSEC3Iter's NSEC3 have NSEC3IterHigh
	// iterations; the secure zones have their wildcard.
	forged := h.Zones["forged.example."]
	spans := false
	for _, rr := range readZone(t, forged.File, forged.Name) {
		if strings.EqualFold(rr.Header().Name, h.Names[ForgedNSEC]) {
			t.Errorf("%s still has %v", forged.Name, rr)
		}
		if n, ok := rr.(*dns.NSEC); ok && strings.EqualFold(n.Hdr.Name, "ns."+forged.Name) &&
			strings.EqualFold(n.NextDomain, forged.Name) {
			spans = true // ns. is the last name left: its NSEC wraps past www to the apex
		}
	}
	if !spans {
		t.Errorf("no NSEC of %s spans %s", forged.Name, h.Names[ForgedNSEC])
	}
	iter := h.Zones["nsec3iter.example."]
	n3 := 0
	for _, rr := range readZone(t, iter.File, iter.Name) {
		if n, ok := rr.(*dns.NSEC3); ok {
			n3++
			if n.Iterations != NSEC3IterHigh {
				t.Errorf("%v: want %d iterations", n, NSEC3IterHigh)
			}
		}
	}
	if n3 == 0 {
		t.Errorf("%s has no NSEC3", iter.Name)
	}
	for _, z := range []string{"secure.example.", "secure.lab."} {
		found := false
		for _, rr := range readZone(t, h.Zones[z].File, z) {
			found = found || strings.EqualFold(rr.Header().Name, "*."+WildcardLabel+"."+z) && rr.Header().Rrtype == dns.TypeA
		}
		if !found {
			t.Errorf("%s has no wildcard", z)
		}
	}

	// The anchors name the root's KSK.
	var rootKSK *dns.DNSKEY
	for _, rr := range readZone(t, h.Zones["."].File, ".") {
		if k, ok := rr.(*dns.DNSKEY); ok && k.Flags&dns.SEP != 0 {
			rootKSK = k
		}
	}
	if rootKSK == nil {
		t.Fatal("the root zone has no KSK")
	}
	want := rootKSK.ToDS(dns.SHA256)
	rr, err := dns.NewRR(h.RootDS)
	if err != nil {
		t.Fatal(err)
	}
	if got := rr.(*dns.DS); got.KeyTag != want.KeyTag || !strings.EqualFold(got.Digest, want.Digest) {
		t.Errorf("RootDS %v, root KSK gives %v", got, want)
	}
	if b, err := os.ReadFile(h.AnchorDS); err != nil || strings.TrimSpace(string(b)) != h.RootDS {
		t.Errorf("%s holds %q (%v), want %q", h.AnchorDS, b, err, h.RootDS)
	}
	b, err := os.ReadFile(h.AnchorBind)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), ". static-ds "+strings.Join(strings.Fields(h.RootDS)[4:7], " ")+` "`+want.Digest) {
		t.Errorf("%s does not hold the root DS:\n%s", h.AnchorBind, b)
	}
}

// TestStripRRSIG checks that a stripped zone keeps everything but its signatures.
func TestStripRRSIG(t *testing.T) {
	dir := t.TempDir()
	in, out := dir+"/in", dir+"/out"
	writeFile(t, in, "a.\t300\tIN\tA\t192.0.2.1\na.\t300\tIN\tRRSIG\tA 13 1 300 20300101000000 20200101000000 1 a. AAAA\n"+
		"a.\t300\tIN\tNSEC\ta. A RRSIG NSEC\n")
	StripRRSIG(t, in, out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "a.\t300\tIN\tA\t192.0.2.1\na.\t300\tIN\tNSEC\ta. A RRSIG NSEC\n"; got != want {
		t.Fatalf("stripped zone:\n%s\nwant:\n%s", got, want)
	}
}

// matchAny reports whether s matches the regular expression pattern, ignoring case.
func matchAny(s, pattern string) bool { return regexp.MustCompile("(?i)" + pattern).MatchString(s) }

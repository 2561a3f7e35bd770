package dnsclient

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
	"ljdns/validator"
)

// TestValidatingHierarchy puts the validating transport in front of a
// kresd (asked with CD) resolving the rig's signed hierarchy: AD exactly
// for the secure answers, none for the insecure one, SERVFAIL with the
// extended error and "bogus: <reason>" for the broken variants.
func TestValidatingHierarchy(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone", "kresd")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	k := h.StartKresd(t, true)
	up, err := NewDgramStream(k.Addr().String(), DgramStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validator.New(validator.Config{AnchorFiles: []string{h.AnchorDS}})
	if err != nil {
		t.Fatal(err)
	}
	vt, err := NewValidating(up, v)
	if err != nil {
		t.Fatal(err)
	}
	defer vt.Close()
	for _, c := range []struct {
		name   string
		qtype  uint16
		rcode  int
		ad     bool
		ede    int
		reason string
	}{
		{h.Names[testnet.Secure], dnsmsg.TypeA, 0, true, -1, ""},
		{h.Names[testnet.SecureNSEC3], dnsmsg.TypeA, 0, true, -1, ""},
		{"nx.secure.example.", dnsmsg.TypeA, rcodeNXDomain, true, -1, ""},
		{"x.wild.secure.lab.", dnsmsg.TypeA, 0, true, -1, ""},
		{h.Names[testnet.Insecure], dnsmsg.TypeA, 0, false, -1, ""},
		{h.Names[testnet.NSEC3Iter], dnsmsg.TypeA, 0, false, -1, ""},
		{h.Names[testnet.Expired], dnsmsg.TypeA, rcodeServFail, false, validator.EDESignatureExpired, "RRSIG expired"},
		{h.Names[testnet.DSDigest], dnsmsg.TypeA, rcodeServFail, false, validator.EDEDNSSECBogus, "DS digest"},
		{h.Names[testnet.ForgedNSEC], dnsmsg.TypeA, rcodeServFail, false, validator.EDEDNSSECBogus, "NSEC"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, err := NewQuery(c.name, c.qtype)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a, err := vt.Query(ctx, q)
			if c.ede >= 0 {
				if !errors.Is(err, ErrBogus) || !strings.HasPrefix(err.Error(), "bogus: ") || !strings.Contains(err.Error(), c.reason) {
					t.Fatalf("error %v, want bogus: ...%s...", err, c.reason)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if a == nil {
				t.Fatal("no answer")
			}
			t.Logf("%s: rcode %d AD %v, %v", c.name, a.Rcode(), a.Flag("ad"), err)
			if a.Rcode() != c.rcode || a.Flag("ad") != c.ad || a.ID() != q.ID() {
				t.Errorf("rcode %d AD %v, want %d %v:\n%s", a.Rcode(), a.Flag("ad"), c.rcode, c.ad, a)
			}
			// NewQuery sends no EDNS, so the client sees no OPT (and no EDE); the reason is in err.
			if a.OPT() != nil {
				t.Errorf("OPT in the answer to a query without EDNS:\n%s", a)
			}
			if c.rcode == 0 && len(a.Records(dnsmsg.SectionAN)) == 0 {
				t.Errorf("no answer records:\n%s", a)
			}
		})
	}
}

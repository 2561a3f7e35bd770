package validator_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
	"ljdns/validator"
)

// exchangeTimeout bounds one question of the test fetcher; no test asserts on it.
const exchangeTimeout = 10 * time.Second

// resolverFetcher is a Fetcher over a recursive resolver at addr: RD, CD
// and DO set, over UDP and again over TCP when the answer is truncated.
//
// The hierarchy tests fetch through kresd rather than walking the
// authoritative servers themselves: that is how the validating client
// transport is used (a validating stub in front of a recursive upstream,
// asking with CD), and kresd does the referrals, glue, TCP-only server and
// caching a walk would otherwise have to. It is the kresd that has the
// rig's anchor: with CD it hands over bogus data as served, and unlike a
// kresd without any anchor (which treats everything as insecure) it keeps
// the NSEC/NSEC3 proof of wildcard answers in the authority section.
func resolverFetcher(addr netip.AddrPort) validator.Fetcher {
	return func(ctx context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error) {
		return exchange(ctx, addr, name, qtype, true)
	}
}

// exchange asks addr for name/qtype (RD, DO, and CD if cd).
func exchange(ctx context.Context, addr netip.AddrPort, name []byte, qtype uint16, cd bool) (*dnsmsg.Packet, error) {
	q := dnsmsg.NewPacket(512)
	q.SetQuestion(name, qtype, dnsmsg.ClassINET)
	q.SetFlag("rd", true)
	q.SetFlag("cd", cd)
	q.Begin(dnsmsg.SectionAR)
	opt := dnsmsg.NewOPT(0, 1232)
	dnsmsg.SetOPTDo(opt, true)
	q.Put(opt, false)
	r, err := roundTrip(ctx, "udp", addr, q)
	if err == nil && r.Flag("tc") {
		r, err = roundTrip(ctx, "tcp", addr, q)
	}
	return r, err
}

// roundTrip sends q over network and reads the answer with q's ID and question.
func roundTrip(ctx context.Context, network string, addr netip.AddrPort, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	d := net.Dialer{Timeout: exchangeTimeout}
	c, err := d.DialContext(ctx, network, addr.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(exchangeTimeout))
	msg := q.Bytes()
	if network == "tcp" {
		msg = binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
		msg = append(msg, q.Bytes()...)
	}
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	for {
		buf := make([]byte, 65535)
		var n int
		if network == "tcp" {
			var l [2]byte
			if _, err = io.ReadFull(c, l[:]); err == nil {
				n = int(binary.BigEndian.Uint16(l[:]))
				_, err = io.ReadFull(c, buf[:n])
			}
		} else {
			n, err = c.Read(buf)
		}
		if err != nil {
			return nil, err
		}
		r := dnsmsg.NewPacketFrom(n, buf[:n])
		if code := r.Parse(false); code != 0 {
			return nil, errors.New(dnsmsg.StrError(code))
		}
		if r.Answers(q) {
			return r, nil
		}
	}
}

// delvVerdict runs delv through the resolver at server for name/qtype,
// validating from the BIND anchor file, and reads its verdict.
func delvVerdict(t *testing.T, server netip.AddrPort, anchor, name, qtype string) (validator.Security, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "delv", "@"+server.Addr().String(), "-p", strconv.Itoa(int(server.Port())),
		"-a", anchor, "+root=.", name, qtype).CombinedOutput()
	s := string(out)
	// A negative answer prints ";; resolution failed: ncache nxdomain" and then its verdict,
	// "; negative response, fully validated" or "; negative response, unsigned answer".
	switch {
	case strings.Contains(s, "; fully validated") || strings.Contains(s, ", fully validated"):
		return validator.Secure, s
	case strings.Contains(s, "; unsigned answer") || strings.Contains(s, ", unsigned answer"):
		return validator.Insecure, s
	case strings.Contains(s, ";; resolution failed"):
		return validator.Bogus, s
	}
	return validator.Indeterminate, s
}

// hcase is one question to the hierarchy and the verdicts expected: ours
// (with its EDE), and where they differ from ours, delv's and kresd's.
type hcase struct {
	name, qtype string
	want        validator.Security
	ede         int
	reason      string
	delv, kresd validator.Security // when not 0 (Indeterminate): the peer's verdict differs from ours
	// delvValid makes delv ask the validating kresd: the kresd without anchor drops the proofs
	// of wildcard answers (it deems everything insecure), so delv could not check them.
	delvValid bool
}

// TestHierarchy validates answers from the rig's signed hierarchy, fetched
// with CD through a kresd, and cross-checks every verdict with delv
// (validating itself through a kresd without anchor) and with the
// validating kresd's own (AD, SERVFAIL).
func TestHierarchy(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone", "kresd", "delv")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	plain, valid := h.StartKresd(t, false).Addr(), h.StartKresd(t, true).Addr()
	v, err := validator.New(validator.Config{AnchorFiles: []string{h.AnchorDS}})
	if err != nil {
		t.Fatal(err)
	}
	fetch := resolverFetcher(valid)
	n := h.Names
	const (
		S, I, B = validator.Secure, validator.Insecure, validator.Bogus
		none    = validator.EDENone
	)
	for _, c := range []hcase{
		{name: n[testnet.Secure], qtype: "A", want: S, ede: none},
		{name: n[testnet.SecureNSEC3], qtype: "A", want: S, ede: none},
		{name: n[testnet.TCPOnly], qtype: "A", want: S, ede: none},
		{name: "nx.secure.example.", qtype: "A", want: S, ede: none},                      // NXDOMAIN, NSEC
		{name: "nx.secure.lab.", qtype: "A", want: S, ede: none},                          // NXDOMAIN, NSEC3
		{name: n[testnet.Secure], qtype: "AAAA", want: S, ede: none},                      // NODATA, NSEC
		{name: n[testnet.SecureNSEC3], qtype: "AAAA", want: S, ede: none},                 // NODATA, NSEC3
		{name: "x.wild.secure.example.", qtype: "A", want: S, ede: none, delvValid: true}, // wildcard, NSEC
		{name: "x.wild.secure.lab.", qtype: "A", want: S, ede: none, delvValid: true},     // wildcard, NSEC3
		{name: "x.wild.secure.example.", qtype: "AAAA", want: S, ede: none},
		{name: "x.wild.secure.lab.", qtype: "AAAA", want: S, ede: none},
		{name: n[testnet.Insecure], qtype: "A", want: I, ede: none, reason: "opt-out"},
		// NODATA for a DS, and NXDOMAIN, proved by an opt-out NSEC3 covering the next closer
		// name: insecure as kresd and Unbound have it (the name may be an unsigned delegation);
		// delv 9.18 calls both proofs fully validated.
		{name: "insecure.example.", qtype: "DS", want: I, ede: none, reason: "opt-out", delv: S},
		{name: "nx.example.", qtype: "A", want: I, ede: none, reason: "opt-out", delv: S},
		{name: "nsec3iter.example.", qtype: "AAAA", want: I, ede: validator.EDENSEC3Iterations, reason: "200 iterations"},
		{name: n[testnet.NSEC3Iter], qtype: "A", want: I, ede: validator.EDENSEC3Iterations, reason: "200 iterations",
			delv: B, delvValid: true}, // delv 9.18 skips the NSEC3 and finds no proof for the wildcard
		{name: n[testnet.Expired], qtype: "A", want: B, ede: validator.EDESignatureExpired, reason: "RRSIG expired"},
		{name: n[testnet.NotYetValid], qtype: "A", want: B, ede: validator.EDESignatureNotYetValid, reason: "not yet valid"},
		{name: n[testnet.DSMismatch], qtype: "A", want: B, ede: validator.EDEDNSKEYMissing, reason: "no DNSKEY of dsmismatch.example. matches its DS"},
		{name: n[testnet.DSDigest], qtype: "A", want: B, ede: validator.EDEDNSSECBogus, reason: "DS digest"},
		{name: n[testnet.Stripped], qtype: "A", want: B, ede: validator.EDERRSIGsMissing, reason: "no RRSIG"},
		{name: n[testnet.ForgedNSEC], qtype: "A", want: B, ede: validator.EDEDNSSECBogus, reason: "ns.forged.example. NSEC: signature does not verify"},
	} {
		t.Run(c.name+"/"+c.qtype, func(t *testing.T) {
			qtype, ok := qtypes[c.qtype]
			if !ok {
				t.Fatalf("type %s", c.qtype)
			}
			name, err := dnsmsg.NameFromText(c.name)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			answer, err := fetch(ctx, name.Wire, qtype)
			if err != nil {
				t.Fatal(err)
			}
			res := v.Validate(ctx, nil, answer, fetch)
			t.Logf("ours: %v (EDE %d)", res, res.EDE)
			if res.Security != c.want || res.EDE != c.ede || !strings.Contains(res.Reason, c.reason) {
				t.Errorf("%s %s: %v (EDE %d), want %v, EDE %d, %q\n%s", c.name, c.qtype, res, res.EDE, c.want, c.ede, c.reason, answer)
			}

			// delv, validating through the kresd that does not.
			wantDelv := c.want
			if c.delv != 0 {
				wantDelv = c.delv
			}
			via := plain
			if c.delvValid {
				via = valid
			}
			if got, out := delvVerdict(t, via, h.AnchorBind, c.name, c.qtype); got != wantDelv {
				t.Errorf("delv: %v, want %v:\n%s", got, wantDelv, out)
			}

			// The validating kresd: AD when secure, SERVFAIL when bogus.
			r, err := exchange(ctx, valid, name.Wire, qtype, false)
			if err != nil {
				t.Fatal(err)
			}
			got := validator.Insecure
			switch {
			case r.Rcode() == 2:
				got = validator.Bogus
			case r.Flag("ad"):
				got = validator.Secure
			}
			t.Logf("validating kresd: rcode %d AD %v EDE %v", r.Rcode(), r.Flag("ad"), edeCodes(r))
			wantKresd := c.want
			if c.kresd != 0 {
				wantKresd = c.kresd
			}
			if got != wantKresd {
				t.Errorf("validating kresd: %v (rcode %d), want %v", got, r.Rcode(), wantKresd)
			}
		})
	}
	t.Logf("signature checks: %d", v.SigChecks())
}

// qtypes maps the type names the cases use.
var qtypes = map[string]uint16{"A": 1, "AAAA": 28, "DS": 43, "DNSKEY": 48}

// edeCodes returns the extended DNS error codes of r (RFC 8914).
func edeCodes(r *dnsmsg.Packet) []string {
	var out []string
	opt := r.OPT()
	if opt == nil || len(opt.RData) == 0 {
		return nil
	}
	b := opt.RData[0]
	for len(b) >= 4 {
		code, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+l {
			break
		}
		if code == 15 && l >= 2 {
			out = append(out, fmt.Sprint(binary.BigEndian.Uint16(b[4:])))
		}
		b = b[4+l:]
	}
	return out
}

package validator

import (
	"encoding/binary"
	"errors"
	"fmt"

	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// zoneKeyFlag is the Zone Key bit of the DNSKEY flags (RFC 4034 §2.1.1).
const zoneKeyFlag = 0x0100

// failure ranks the reasons an RR set did not verify, so that the most
// telling one is reported: a stale or premature signature says more than
// a missing key.
type failure struct {
	rank int
	res  Result
}

func (f *failure) note(rank int, res Result) {
	if rank > f.rank {
		f.rank, f.res = rank, res
	}
}

// verifySet checks the RRSIGs of rs made by zone (lower-case wire) with its
// keys. It returns the RRSIG that verified and a Secure result, or a Bogus
// result saying why none did.
func (st *state) verifySet(rs *rrset, zone []byte, keys []*dnssec.Key) (*dnssec.RRSIG, Result) {
	what := nameText(rs.set.Owner.Wire) + " " + dnsmsg.TypeString(rs.set.Type)
	if len(rs.sigs) == 0 {
		return nil, bogus(EDERRSIGsMissing, "%s: no RRSIG", what)
	}
	f := failure{res: bogus(EDERRSIGsMissing, "%s: no RRSIG by %s", what, nameText(zone))}
	owner := rs.set.Owner.Wire
	ownerLabels := labels(owner)
	tried := 0
	for _, sig := range rs.sigs {
		var r dnssec.RRSIG
		if p, err := dnssec.ParseRRSIG(sig); err != nil {
			f.note(1, bogus(EDEDNSSECBogus, "%s: %v", what, err))
			continue
		} else {
			r = *p
		}
		switch {
		case !sameName(r.SignerName, zone):
			f.note(1, bogus(EDERRSIGsMissing, "%s: RRSIG by %s, not by its zone %s", what, nameText(r.SignerName), nameText(zone)))
			continue
		case int(r.Labels) > ownerLabels:
			f.note(2, bogus(EDEDNSSECBogus, "%s: RRSIG labels %d above the owner's %d", what, r.Labels, ownerLabels))
			continue
		case !dnssec.Supported(r.Algorithm):
			f.note(1, bogus(EDEDNSKEYMissing, "%s: RRSIG of unsupported algorithm %d", what, r.Algorithm))
			continue
		}
		if tried >= st.v.cfg.MaxSigsPerSet {
			f.note(7, bogus(EDEDNSSECBogus, "%s: more than %d RRSIGs (KeyTrap limit)", what, st.v.cfg.MaxSigsPerSet))
			break
		}
		tried++
		inc, exp := int32(st.now32-r.Inception), int32(r.Expiration-st.now32)
		switch {
		case int32(r.Expiration-r.Inception) < 0:
			f.note(4, bogus(EDESignatureExpiredFirst, "%s: RRSIG expires before its inception", what))
			continue
		case inc < 0:
			f.note(5, bogus(EDESignatureNotYetValid, "%s: RRSIG not yet valid", what))
			continue
		case exp < 0:
			f.note(5, bogus(EDESignatureExpired, "%s: RRSIG expired", what))
			continue
		}
		matched := 0
		for _, k := range keys {
			if k.Algo != r.Algorithm || k.Tag() != r.KeyTag {
				continue
			}
			if matched >= st.v.cfg.MaxKeyTagCollisions {
				f.note(6, bogus(EDEDNSSECBogus, "%s: more than %d DNSKEYs with key tag %d (KeyTrap limit)", what,
					st.v.cfg.MaxKeyTagCollisions, r.KeyTag))
				break
			}
			matched++
			if !st.spend() {
				return nil, st.limit
			}
			err := k.VerifyRRSet(rs.set, sig, st.now32)
			if err == nil {
				return &r, Result{Security: Secure, EDE: EDENone}
			}
			if errors.Is(err, dnssec.ErrSignature) {
				f.note(3, bogus(EDEDNSSECBogus, "%s: signature does not verify with key %d", what, r.KeyTag))
			} else {
				f.note(2, bogus(EDEDNSSECBogus, "%s: %v", what, err))
			}
		}
		if matched == 0 {
			f.note(1, bogus(EDEDNSKEYMissing, "%s: no DNSKEY %d (algorithm %d) in %s", what, r.KeyTag, r.Algorithm, nameText(zone)))
		}
	}
	return nil, f.res
}

// spend counts one signature verification; false once the KeyTrap budget
// of the response is gone (st.limit then holds the verdict).
func (st *state) spend() bool {
	if st.checks >= st.v.cfg.MaxSigChecks {
		st.limit = bogus(EDEDNSSECBogus, "more than %d signature checks for one answer (KeyTrap limit)", st.v.cfg.MaxSigChecks)
		return false
	}
	st.checks++
	st.v.sigChecks.Add(1)
	return true
}

// bogus makes a Bogus result.
func bogus(ede int, format string, args ...any) Result {
	return Result{Security: Bogus, Reason: fmt.Sprintf(format, args...), EDE: ede}
}

// insecure makes an Insecure result.
func insecure(ede int, format string, args ...any) Result {
	return Result{Security: Insecure, Reason: fmt.Sprintf(format, args...), EDE: ede}
}

// zoneKeys returns the usable keys of DNSKEY RDATA: zone keys of protocol 3
// with a supported algorithm and a well-formed public key.
func zoneKeys(owner []byte, rds [][]byte) []*dnssec.Key {
	var out []*dnssec.Key
	for _, rd := range rds {
		if len(rd) < 4 || rd[2] != 3 || binary.BigEndian.Uint16(rd)&zoneKeyFlag == 0 || !dnssec.Supported(rd[3]) {
			continue
		}
		k := dnssec.NewKey()
		if k.SetRData(rd) != nil {
			continue
		}
		k.Owner = owner
		out = append(out, k)
	}
	return out
}

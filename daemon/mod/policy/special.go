package policy

import (
	"bytes"
	"strconv"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// Locally served zones (RFC 6303, 6598, 8375) kresd 5 refuses to resolve.
var privateZones = func() []string {
	z := []string{"10.in-addr.arpa.", "168.192.in-addr.arpa.", "0.in-addr.arpa.", "254.169.in-addr.arpa.",
		"2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.", "113.0.203.in-addr.arpa.",
		"255.255.255.255.in-addr.arpa.",
		"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
		"d.f.ip6.arpa.", "8.e.f.ip6.arpa.", "9.e.f.ip6.arpa.", "a.e.f.ip6.arpa.", "b.e.f.ip6.arpa.",
		"8.b.d.0.1.0.0.2.ip6.arpa.", "home.arpa."}
	for i := 16; i <= 31; i++ {
		z = append(z, strconv.Itoa(i)+".172.in-addr.arpa.")
	}
	for i := 64; i <= 127; i++ {
		z = append(z, strconv.Itoa(i)+".100.in-addr.arpa.")
	}
	return z
}()

var specialUse = []string{"test.", "onion.", "invalid.", "local."}

const (
	msgLocallyServed = "Blocking is mandated by standards, see references on https://www.iana.org/assignments/locally-served-dns-zones/locally-served-dns-zones.xhtml"
	msgSpecialUse    = "Blocking is mandated by standards, see references on https://www.iana.org/assignments/special-use-domain-names/special-use-domain-names.xhtml"
)

var (
	dnameLocalhost = Todname("localhost.")
	dname127       = Todname("127.in-addr.arpa.")
	dname127001    = Todname("1.0.0.127.in-addr.arpa.")
	dnameV6Loop    = Todname("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.")
)

func todnames(names []string) [][]byte {
	out := make([][]byte, len(names))
	for i, n := range names {
		out[i] = Todname(n)
	}
	return out
}

// specialNames are kresd 5's policy.special_names, run after the user's rules.
func specialNames() []*Rule {
	return []*Rule{
		{ID: -1, Cb: Suffix(DenyMsg(msgLocallyServed, EDENotSupported), todnames(privateZones))},
		{ID: -2, Cb: Suffix(DenyMsg(msgSpecialUse, EDENotSupported), todnames(specialUse))},
		{ID: -3, Cb: func(r *daemon.Request) Action {
			q := lowerQName(r)
			if dnsmsg.NameWithin(q, dname127) || bytes.Equal(q, dnameV6Loop) {
				return localhostReversed
			}
			return nil
		}},
		{ID: -4, Cb: func(r *daemon.Request) Action {
			if dnsmsg.NameWithin(lowerQName(r), dnameLocalhost) {
				return localhost
			}
			return nil
		}},
	}
}

// localhost answers localhost. and names under it.
func localhost(r *daemon.Request, s daemon.State) daemon.State {
	authHeader(r)
	q := r.QName()
	exact := bytes.Equal(lowerQName(r), dnameLocalhost)
	r.Answer.Begin(dnsmsg.SectionAN)
	switch t := r.QType(); {
	case t == dnsmsg.TypeAAAA:
		put(r, q, t, 900, []byte{15: 1})
	case t == dnsmsg.TypeA:
		put(r, q, t, 900, []byte{127, 0, 0, 1})
	case exact && t == dnsmsg.TypeSOA:
		put(r, dnameLocalhost, t, 10800, soaRData(dnameLocalhost))
	case exact && t == dnsmsg.TypeNS:
		put(r, dnameLocalhost, t, 900, dnameLocalhost)
	default:
		r.Answer.Begin(dnsmsg.SectionNS)
		put(r, dnameLocalhost, dnsmsg.TypeSOA, 10800, soaRData(dnameLocalhost))
	}
	return daemon.Done
}

// localhostReversed answers the PTR of 127.0.0.1 and ::1 and the rest of
// 127.in-addr.arpa.
func localhostReversed(r *daemon.Request, s daemon.State) daemon.State {
	authHeader(r)
	q := lowerQName(r)
	if r.QType() == typePTR && (bytes.Equal(q, dname127001) || bytes.Equal(q, dnameV6Loop)) {
		r.Answer.Begin(dnsmsg.SectionAN)
		put(r, r.QName(), typePTR, 900, dnameLocalhost)
		return daemon.Done
	}
	// an empty non-terminal above 1.0.0.127 is NODATA, the rest NXDOMAIN
	nonterm := !bytes.Equal(q, dname127) && !bytes.Equal(q, dname127001) && !bytes.Equal(q, dnameV6Loop) &&
		dnsmsg.NameWithin(dname127001, q)
	if !nonterm {
		r.SetRcode(3)
	}
	r.Answer.Begin(dnsmsg.SectionNS)
	put(r, dname127, dnsmsg.TypeSOA, 10800, soaRData(dnameLocalhost))
	return daemon.Done
}

const typePTR uint16 = 12

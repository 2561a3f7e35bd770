package daemon

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestSipHash24 checks the reference vector of the SipHash paper (appendix A):
// key 00..0f, message 00..0e.
func TestSipHash24(t *testing.T) {
	var k [16]byte
	for i := range k {
		k[i] = byte(i)
	}
	m := make([]byte, 15)
	for i := range m {
		m[i] = byte(i)
	}
	// the paper gives the result as the 64-bit value a129ca6149be45e5, emitted little-endian
	if got, want := sipHash24(&k, m), uint64(0xe545be4961ca29a1); got != want {
		t.Fatalf("siphash = %016x, want %016x", got, want)
	}
}

// TestRFC9018AppendixA checks the server cookies of RFC 9018 Appendix A.1 and A.3 (the IPv4 and IPv6 first exchanges).
func TestRFC9018AppendixA(t *testing.T) {
	for _, c := range []struct {
		name, cc, ip, secret string
		ts                   int64
		want                 string
	}{
		{"A.1", "2464c4abcf10c957", "198.51.100.100", "e5e973e5a6b2a43f48e7dc849e37bfcf", 1559731985,
			"2464c4abcf10c957010000005cf79f111f8130c3eee29480"},
		{"A.3", "22681ab97d52c298", "2001:db8:220:1:59de:d0f4:8769:82b8", "dd3bdf9344b678b185a6f5cb60fca715", 1559741817,
			"22681ab97d52c298010000005cf7c57926556bd0934c72f8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var secret [16]byte
			s, _ := hex.DecodeString(c.secret)
			copy(secret[:], s)
			cc, _ := hex.DecodeString(c.cc)
			ip := netip.MustParseAddr(c.ip)
			got := hex.EncodeToString(makeCookie(cc, ip, &secret, time.Unix(c.ts, 0)))
			want := ""
			for _, r := range c.want {
				if r != ' ' {
					want += string(r)
				}
			}
			if got != want {
				t.Fatalf("cookie = %s, want %s", got, want)
			}
			w, _ := hex.DecodeString(want)
			if v := checkCookie(w, ip, &secret, time.Unix(c.ts+10, 0)); v != cookieGood {
				t.Fatalf("check = %v, want good", v)
			}
			if v := checkCookie(w, ip, &secret, time.Unix(c.ts+7200, 0)); v != cookieBad {
				t.Fatalf("check two hours later = %v, want bad", v)
			}
			w[len(w)-1] ^= 1
			if v := checkCookie(w, ip, &secret, time.Unix(c.ts+10, 0)); v != cookieBad {
				t.Fatalf("check of a changed hash = %v, want bad", v)
			}
		})
	}
}

// TestStrictCookies: with Config.StrictCookies a UDP query whose server
// cookie is not valid (forged, or stale) gets BADCOOKIE with a fresh server
// cookie and no data (RFC 7873 §5.2.4, knotd's mod-cookies); the fresh
// cookie then works; a client cookie alone, TCP, and the default config
// are answered normally.
func TestStrictCookies(t *testing.T) {
	mem := &memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}
	withCookie := func(c string) []byte {
		q := query("example.org", dns.TypeA)
		q.SetEdns0(1232, false)
		q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: c})
		return pack(t, q)
	}
	const cc = "0102030405060708"
	stale := cc + "01000000" + fmt.Sprintf("%08x", time.Now().Add(-2*time.Hour).Unix()) + "0011223344556677"
	forged := cc + "01000000" + fmt.Sprintf("%08x", time.Now().Unix()) + "0011223344556677"
	for _, strict := range []bool{true, false} {
		s := newTestServer(t, &Config{Layers: []Layer{mem}, StrictCookies: strict})
		m, _ := ask(t, s, withCookie(cc), loClient, UDP)
		if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
			t.Fatalf("strict %v, client cookie only: %v", strict, m)
		}
		good := cookieOf(m)
		for name, c := range map[string]string{"stale": stale, "forged": forged} {
			m, _ := ask(t, s, withCookie(c), loClient, UDP)
			got := cookieOf(m)
			if strict {
				if m.Rcode != dns.RcodeBadCookie || len(m.Answer) != 0 || len(got) != 48 || got == c || !strings.HasPrefix(got, cc) {
					t.Errorf("strict, %s server cookie: rcode %s, %d answers, cookie %q; want BADCOOKIE, none, a fresh one",
						name, dns.RcodeToString[m.Rcode], len(m.Answer), got)
				}
				if m2, _ := ask(t, s, withCookie(got), loClient, UDP); m2.Rcode != dns.RcodeSuccess || len(m2.Answer) != 1 {
					t.Errorf("strict, retry with the fresh cookie: %v", m2)
				}
				if m2, _ := ask(t, s, withCookie(c), loClient, TCP); m2.Rcode != dns.RcodeSuccess || len(m2.Answer) != 1 {
					t.Errorf("strict, %s cookie over TCP: %v", name, m2)
				}
			} else if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
				t.Errorf("not strict, %s server cookie: %v", name, m)
			}
		}
		if m, _ := ask(t, s, withCookie(good), loClient, UDP); m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
			t.Errorf("strict %v, valid server cookie: %v", strict, m)
		}
	}
}

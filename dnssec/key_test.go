package dnssec

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"

	mdns "github.com/miekg/dns"
	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
)

// sampleKey mirrors one entry of sample_keys in spec/helper.lua.
type sampleKey struct {
	name                  []byte
	flags, protocol, algo int
	pub, rdata            []byte
	keytag                int
	keyID                 string
	ds1, ds2, ds4         []byte
	bits                  int
	pem, input, output    []byte
}

var (
	samplesOnce sync.Once
	samples     map[string]sampleKey
)

// loadSamples reads spec/helper.lua (the one source of the sample keys).
func loadSamples(t testing.TB) map[string]sampleKey {
	samplesOnce.Do(func() {
		L := lua.NewState()
		defer L.Close()
		if err := L.DoFile("../spec/helper.lua"); err != nil {
			t.Fatalf("helper.lua: %v", err)
		}
		tbl := L.GetGlobal("sample_keys").(*lua.LTable)
		samples = map[string]sampleKey{}
		tbl.ForEach(func(k, v lua.LValue) {
			e := v.(*lua.LTable)
			s := func(f string) []byte { return []byte(lua.LVAsString(e.RawGetString(f))) }
			n := func(f string) int { return int(lua.LVAsNumber(e.RawGetString(f))) }
			samples[k.String()] = sampleKey{s("name"), n("flags"), n("protocol"), n("algorithm"),
				s("public_key"), s("rdata"), n("keytag"), string(s("key_id")), s("ds_sha1"), s("ds_sha256"),
				s("ds_sha384"), n("bit_size"), s("pem"), s("input"), s("output")}
		})
	})
	if len(samples) != 2 {
		t.Fatalf("want 2 sample keys, got %d", len(samples))
	}
	return samples
}

func TestSampleKeys(t *testing.T) {
	for name, s := range loadSamples(t) {
		t.Run(name, func(t *testing.T) {
			k := NewKey()
			if k.CanSign() || k.CanVerify() {
				t.Fatal("fresh key has material")
			}
			if err := k.SetPublicKey(s.pub); !errors.Is(err, ErrNoAlgorithm) {
				t.Fatalf("pubkey without algorithm: %v", err)
			}
			if err := k.SetAlgorithm(uint8(s.algo)); err != nil {
				t.Fatal(err)
			}
			if err := k.SetPublicKey(s.pub); err != nil {
				t.Fatal(err)
			}
			k.Owner = s.name
			if got, want := int(k.Tag()), s.keytag; got != want {
				t.Errorf("tag %d, want %d", got, want)
			}
			if got := k.RData(); !bytes.Equal(got, s.rdata) {
				t.Errorf("rdata %x, want %x", got, s.rdata)
			}
			for dt, want := range map[uint8][]byte{1: s.ds1, 2: s.ds2, 4: s.ds4} {
				got, err := k.DS(dt)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("DS %d: %x %v, want %x", dt, got, err, want)
				}
			}
			if id, _ := k.ID(); id != s.keyID {
				t.Errorf("id %s, want %s", id, s.keyID)
			}
			if k.Bits() != s.bits {
				t.Errorf("bits %d, want %d", k.Bits(), s.bits)
			}
			if err := k.VerifyData(s.input, s.output); err != nil {
				t.Errorf("reference signature: %v", err)
			}
			if err := k.VerifyData(append([]byte("x"), s.input...), s.output); !errors.Is(err, ErrSignature) {
				t.Errorf("signature over other data: %v", err)
			}
			if err := k.SetPrivateKey(s.pem); err != nil {
				t.Fatal(err)
			}
			sig, err := k.SignData(s.input)
			if err != nil {
				t.Fatal(err)
			}
			if err := k.VerifyData(s.input, sig); err != nil {
				t.Error(err)
			}
			// RSA PKCS#1 v1.5 is deterministic: the reference signature of
			// the original library (the 512-bit key takes the fast path).
			if s.algo == AlgRSASHA256 && !bytes.Equal(sig, s.output) {
				t.Errorf("RSA signature %x, reference %x", sig, s.output)
			}
			// A private-key-only key derives the same public key.
			k2 := NewKey()
			k2.SetAlgorithm(uint8(s.algo))
			if err := k2.SetPrivateKey(s.pem); err != nil || !bytes.Equal(k2.PublicKey(), s.pub) {
				t.Errorf("derived public key %x (%v), want %x", k2.PublicKey(), err, s.pub)
			}
		})
	}
}

// genKey makes a key of algorithm a with a fresh private key.
func genKey(t testing.TB, a uint8) *Key {
	t.Helper()
	var der []byte
	var err error
	switch a {
	case AlgRSASHA1, AlgRSASHA1NSEC3, AlgRSASHA256, AlgRSASHA512:
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand.Reader, 1024); err == nil {
			der, err = x509.MarshalPKCS8PrivateKey(k)
		}
	case AlgECDSAP256SHA256, AlgECDSAP384SHA384:
		c := elliptic.P256()
		if a == AlgECDSAP384SHA384 {
			c = elliptic.P384()
		}
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.GenerateKey(c, rand.Reader); err == nil {
			der, err = x509.MarshalPKCS8PrivateKey(k)
		}
	case AlgED25519:
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		der, err = x509.MarshalPKCS8PrivateKey(k)
	}
	if err != nil {
		t.Fatal(err)
	}
	k := NewKey()
	if err := k.SetAlgorithm(a); err != nil {
		t.Fatal(err)
	}
	if err := k.SetPrivateKey(pemEncode("PRIVATE KEY", der)); err != nil {
		t.Fatal(err)
	}
	return k
}

// wire parses a presentation name.
func wire(t testing.TB, s string) []byte {
	n, err := dnsmsg.NameFromText(s)
	if err != nil {
		t.Fatal(err)
	}
	return n.Wire
}

// rrsetOf builds an RRSet from zone lines (all of one owner and type).
func rrsetOf(t testing.TB, lines ...string) *dnsmsg.RRSet {
	var set *dnsmsg.RRSet
	for _, l := range lines {
		rr, err := mdns.NewRR(l)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		off, err := mdns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		h := rr.Header()
		own := wire(t, h.Name)
		rd := buf[len(own)+10 : off]
		if set == nil {
			set = &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: own}, Type: h.Rrtype, Class: h.Class, TTL: h.Ttl}
		}
		set.Add(rd)
	}
	return set
}

var allAlgos = []uint8{AlgRSASHA1, AlgRSASHA1NSEC3, AlgRSASHA256, AlgRSASHA512,
	AlgECDSAP256SHA256, AlgECDSAP384SHA384, AlgED25519}

// toMiekg converts our key to a miekg/dns DNSKEY (an independent
// implementation used as a cross-check).
func toMiekg(k *Key, owner string) *mdns.DNSKEY {
	return &mdns.DNSKEY{Hdr: mdns.RR_Header{Name: owner, Rrtype: mdns.TypeDNSKEY, Class: 1, Ttl: 3600},
		Flags: k.Flags, Protocol: k.Protocol, Algorithm: k.Algo, PublicKey: base64.StdEncoding.EncodeToString(k.PublicKey())}
}

func TestRRSIGInterop(t *testing.T) {
	const now = 1700000000
	for _, a := range allAlgos {
		t.Run(AlgorithmName(a), func(t *testing.T) {
			k := genKey(t, a)
			k.Owner = wire(t, "example.com.")
			mk := toMiekg(k, "example.com.")
			if got, want := k.Tag(), mk.KeyTag(); got != want {
				t.Errorf("tag %d, miekg %d", got, want)
			}
			for _, dt := range []uint8{1, 2, 4} {
				ds, _ := k.DS(dt)
				mds := mk.ToDS(dt)
				if want, _ := hexDecode(mds.Digest); !bytes.Equal(ds[4:], want) {
					t.Errorf("DS %d: %x, miekg %s", dt, ds[4:], mds.Digest)
				}
			}
			// Mixed case owner and RDATA names: canonical form lowercases.
			lines := []string{"WWW.Example.com. 300 IN MX 10 MAIL.Example.com.", "WWW.Example.com. 300 IN MX 20 b.example.com."}
			rr := rrsetOf(t, lines...)
			rd, err := k.SignRRSet(rr, now-10, now+3600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := k.VerifyRRSet(rr, rd, now); err != nil {
				t.Fatal(err)
			}
			// miekg/dns verifies our signature.
			sigText := fmt.Sprintf("www.example.com. 300 IN RRSIG %s", rdataText(t, TypeRRSIG, rd))
			msig, err := mdns.NewRR(sigText)
			if err != nil {
				t.Fatal(err)
			}
			var mrrs []mdns.RR
			for _, l := range lines {
				r, _ := mdns.NewRR(l)
				mrrs = append(mrrs, r)
			}
			if err := msig.(*mdns.RRSIG).Verify(mk, mrrs); err != nil {
				t.Errorf("miekg rejects our RRSIG: %v", err)
			}
			// We verify miekg's signature (same key).
			ms := &mdns.RRSIG{Hdr: mdns.RR_Header{Name: "www.example.com.", Rrtype: mdns.TypeRRSIG, Class: 1, Ttl: 300},
				Algorithm: a, Expiration: now + 100, Inception: now - 100, KeyTag: k.Tag(), SignerName: "example.com."}
			if err := ms.Sign(k.priv, mrrs); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4096)
			off, _ := mdns.PackRR(ms, buf, 0, nil, false)
			if err := k.VerifyRRSet(rr, buf[len(wire(t, "www.example.com."))+10:off], now); err != nil {
				t.Errorf("miekg RRSIG rejected: %v", err)
			}
			// Tampering fails.
			rr2 := rrsetOf(t, "www.example.com. 300 IN MX 10 mail.example.com.")
			if err := k.VerifyRRSet(rr2, rd, now); !errors.Is(err, ErrSignature) {
				t.Errorf("changed RRset: %v", err)
			}
			if err := k.VerifyRRSet(rr, rd, now+7200); !errors.Is(err, ErrExpired) {
				t.Errorf("expired: %v", err)
			}
			if err := k.VerifyRRSet(rr, rd, now-3600); !errors.Is(err, ErrNotYetValid) {
				t.Errorf("not yet valid: %v", err)
			}
		})
	}
}

func hexDecode(s string) ([]byte, error) {
	b := make([]byte, len(s)/2)
	_, err := fmt.Sscanf(strings.ToLower(s), "%x", &b)
	return b, err
}

// rdataText prints RDATA of type typ with miekg/dns.
func rdataText(t testing.TB, typ uint16, rd []byte) string {
	msg := []byte{0, byte(typ >> 8), byte(typ), 0, 1, 0, 0, 0, 0, byte(len(rd) >> 8), byte(len(rd))}
	r, _, err := mdns.UnpackRR(append(msg, rd...), 0)
	if err != nil {
		t.Fatal(err)
	}
	s := r.String()
	return s[strings.Index(s, mdns.TypeToString[typ])+len(mdns.TypeToString[typ])+1:]
}

func TestWildcard(t *testing.T) {
	const now = 1700000000
	k := genKey(t, AlgECDSAP256SHA256)
	k.Owner = wire(t, "example.com.")
	wc := rrsetOf(t, "*.example.com. 60 IN A 192.0.2.1")
	rd, err := k.SignRRSet(wc, now, now+60, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := ParseRRSIG(rd)
	if r.Labels != 2 {
		t.Fatalf("labels %d, want 2", r.Labels)
	}
	if !bytes.Equal(r.SignerName, wire(t, "example.com.")) {
		t.Errorf("signer %q", r.SignerName)
	}
	// The expansion a.b.example.com verifies with the wildcard's RRSIG.
	exp := rrsetOf(t, "a.b.example.com. 60 IN A 192.0.2.1")
	if err := k.VerifyRRSet(exp, rd, now); err != nil {
		t.Errorf("expansion: %v", err)
	}
	short := rrsetOf(t, "com. 60 IN A 192.0.2.1")
	if err := k.VerifyRRSet(short, rd, now); !errors.Is(err, ErrRRSIG) {
		t.Errorf("owner with fewer labels: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	s := loadSamples(t)
	ec, rs := s["ecdsa"], s["rsa"]
	ecKey := func() *Key { k := NewKey(); k.SetAlgorithm(13); k.SetPublicKey(ec.pub); return k }
	rsaKey := func() *Key { k := NewKey(); k.SetAlgorithm(8); k.SetPublicKey(rs.pub); return k }
	badExp := append([]byte{1, 2}, rs.pub[4:]...) // even exponent 2
	bigExp := append([]byte{5, 1, 0, 0, 0, 1}, rs.pub[4:]...)
	for _, c := range []struct {
		name string
		fn   func() error
		want error
	}{
		{"ed448", func() error { return NewKey().SetAlgorithm(16) }, ErrAlgorithm},
		{"gost", func() error { return NewKey().SetAlgorithm(12) }, ErrAlgorithm},
		{"algo 0", func() error { return NewKey().SetAlgorithm(0) }, ErrNoAlgorithm},
		{"malformed PEM", func() error {
			k := NewKey()
			k.SetAlgorithm(13)
			return k.SetPrivateKey([]byte("-----BEGIN PRIVATE KEY-----\nnot base64!!\n-----END PRIVATE KEY-----\n"))
		}, ErrPrivateKey},
		{"truncated PEM", func() error { k := NewKey(); k.SetAlgorithm(13); return k.SetPrivateKey(ec.pem[:60]) }, ErrPrivateKey},
		{"garbage DER", func() error {
			k := NewKey()
			k.SetAlgorithm(13)
			return k.SetPrivateKey(pemEncode("PRIVATE KEY", []byte{0x30, 3, 1, 2, 3}))
		}, ErrPrivateKey},
		{"not a key", func() error { k := NewKey(); k.SetAlgorithm(13); return k.SetPrivateKey([]byte("hello")) }, ErrPrivateKey},
		{"PEM without algo", func() error { return NewKey().SetPrivateKey(ec.pem) }, ErrNoAlgorithm},
		{"RSA PEM for ECDSA", func() error { k := NewKey(); k.SetAlgorithm(13); return k.SetPrivateKey(rs.pem) }, ErrKeyMismatch},
		{"ECDSA PEM for P-384", func() error { k := NewKey(); k.SetAlgorithm(14); return k.SetPrivateKey(ec.pem) }, ErrKeyMismatch},
		{"PEM for other pubkey", func() error {
			k := NewKey()
			k.SetAlgorithm(13)
			k.SetPublicKey(genKey(t, 13).PublicKey())
			return k.SetPrivateKey(ec.pem)
		}, ErrKeyMismatch},
		{"ECDSA algo on RSA key", func() error { return rsaKey().SetAlgorithm(13) }, ErrKeyMismatch},
		{"short ECDSA key", func() error { k := NewKey(); k.SetAlgorithm(13); return k.SetPublicKey(ec.pub[:63]) }, ErrPublicKey},
		{"point off curve", func() error { k := NewKey(); k.SetAlgorithm(13); return k.SetPublicKey(make([]byte, 64)) }, ErrPublicKey},
		{"even exponent", func() error { k := NewKey(); k.SetAlgorithm(8); return k.SetPublicKey(badExp) }, ErrPublicKey},
		{"huge exponent", func() error { k := NewKey(); k.SetAlgorithm(8); return k.SetPublicKey(bigExp) }, ErrPublicKey},
		{"zero exponent length", func() error { k := NewKey(); k.SetAlgorithm(8); return k.SetPublicKey([]byte{0, 0, 0, 1}) }, ErrPublicKey},
		{"no modulus", func() error { k := NewKey(); k.SetAlgorithm(8); return k.SetPublicKey([]byte{3, 1, 0, 1}) }, ErrPublicKey},
		{"small modulus", func() error { k := NewKey(); k.SetAlgorithm(8); return k.SetPublicKey(rs.pub[:40]) }, ErrPublicKey},
		{"pubkey twice", func() error { return ecKey().SetPublicKey(genKey(t, 13).PublicKey()) }, ErrKeyPresent},
		{"short rdata", func() error { return NewKey().SetRData([]byte{1, 0, 3}) }, ErrPublicKey},
		{"rdata ed448", func() error { return NewKey().SetRData(append([]byte{1, 0, 3, 16}, make([]byte, 57)...)) }, ErrAlgorithm},
		{"ds no owner", func() error { _, err := ecKey().DS(2); return err }, ErrNoName},
		{"ds gost", func() error { k := ecKey(); k.Owner = ec.name; _, err := k.DS(3); return err }, ErrDigest},
		{"sign without private", func() error { _, err := ecKey().SignData([]byte("x")); return err }, ErrNoPrivate},
		{"short ECDSA signature", func() error { return ecKey().VerifyData(ec.input, ec.output[:63]) }, ErrSignature},
		{"short RSA signature", func() error { return rsaKey().VerifyData(rs.input, rs.output[1:]) }, ErrSignature},
		{"truncated RRSIG", func() error { _, err := ParseRRSIG(make([]byte, 17)); return err }, ErrRRSIG},
		{"RRSIG without signature", func() error { _, err := ParseRRSIG(append(make([]byte, 18), 0)); return err }, ErrRRSIG},
		{"RRSIG signer truncated", func() error { _, err := ParseRRSIG(append(make([]byte, 18), 7, 'e', 'x')); return err }, ErrRRSIG},
		{"BIND bad base64", func() error {
			return NewKey().SetPrivateKey([]byte("Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: !!!\n"))
		}, ErrPrivateKey},
		{"BIND wrong version", func() error { return NewKey().SetPrivateKey([]byte("Private-key-format: v2.0\nAlgorithm: 13\n")) }, ErrPrivateKey},
		{"BIND missing field", func() error {
			return NewKey().SetPrivateKey([]byte("Private-key-format: v1.3\nAlgorithm: 8 (RSASHA256)\nModulus: AQAB\n"))
		}, ErrPrivateKey},
		{"BIND ed448", func() error {
			return NewKey().SetPrivateKey([]byte("Private-key-format: v1.3\nAlgorithm: 16 (ED448)\nPrivateKey: AAAA\n"))
		}, ErrAlgorithm},
		{"BIND algo mismatch", func() error {
			k := NewKey()
			k.SetAlgorithm(8)
			return k.SetPrivateKey([]byte("Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: " + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)) + "\n"))
		}, ErrKeyMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.fn(); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if err := NewKey().SetAlgorithm(16); !strings.Contains(err.Error(), "ED448") {
		t.Errorf("ed448 message: %v", err)
	}
}

// TestPEMFormats loads the same key as PKCS#8, PKCS#1/SEC 1 and BIND text.
func TestPEMFormats(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	ek, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ek)
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	bi := func(x *big.Int) string { return b64(x.Bytes()) }
	rk.Precompute()
	rsaBIND := "Private-key-format: v1.3\nAlgorithm: 8 (RSASHA256)\nModulus: " + bi(rk.N) + "\nPublicExponent: " + bi(big.NewInt(int64(rk.E))) +
		"\nPrivateExponent: " + bi(rk.D) + "\nPrime1: " + bi(rk.Primes[0]) + "\nPrime2: " + bi(rk.Primes[1]) +
		"\nExponent1: " + bi(rk.Precomputed.Dp) + "\nExponent2: " + bi(rk.Precomputed.Dq) + "\nCoefficient: " + bi(rk.Precomputed.Qinv) +
		"\nCreated: 20240101000000\n"
	ecRaw, _ := ek.Bytes()
	for _, c := range []struct {
		name string
		algo uint8
		data []byte
		pub  any
	}{
		{"pkcs1", 8, pemEncode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk)), &rk.PublicKey},
		{"sec1", 14, pemEncode("EC PRIVATE KEY", ecDER), &ek.PublicKey},
		{"bind rsa", 0, []byte(rsaBIND), &rk.PublicKey},
		{"bind ecdsa", 0, []byte("Private-key-format: v1.2\nAlgorithm: 14 (ECDSAP384SHA384)\nPrivateKey: " + b64(ecRaw) + "\n"), &ek.PublicKey},
		{"bind ed25519", 0, []byte("Private-key-format: v1.3\nAlgorithm: 15 (ED25519)\nPrivateKey: " + b64(edk.Seed()) + "\n"), edk.Public()},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := NewKey()
			if c.algo != 0 {
				k.SetAlgorithm(c.algo)
			}
			if err := k.SetPrivateKey(c.data); err != nil {
				t.Fatal(err)
			}
			if !equalPublic(k.pub, c.pub) {
				t.Error("public key differs")
			}
			sig, err := k.SignData([]byte("data"))
			if err != nil || k.VerifyData([]byte("data"), sig) != nil {
				t.Errorf("sign/verify: %v", err)
			}
			pem, err := k.PrivateKeyPEM()
			if err != nil {
				t.Fatal(err)
			}
			k2 := NewKey()
			k2.SetAlgorithm(k.Algo)
			if err := k2.SetPrivateKey(pem); err != nil || !bytes.Equal(k2.PublicKey(), k.PublicKey()) {
				t.Errorf("PKCS#8 round trip: %v", err)
			}
		})
	}
}

func TestKeyTagRFC4034(t *testing.T) {
	// RFC 4034 §5.4 example DNSKEY (dskey.example.com.) has key tag 60485.
	rd := []byte{1, 0, 3, 5}
	pub, _ := base64.StdEncoding.DecodeString("AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==")
	if got := KeyTag(append(rd, pub...)); got != 60485 {
		t.Fatalf("key tag %d, want 60485", got)
	}
	k := NewKey()
	if err := k.SetRData(append(rd, pub...)); err != nil {
		t.Fatal(err)
	}
	k.Owner = wire(t, "dskey.example.com.")
	ds, _ := k.DS(1)
	want := "2BB183AF5F22588179A53B0A98631FAD1A292118"
	if got := fmt.Sprintf("%X", ds[4:]); got != want {
		t.Errorf("DS %s, want %s", got, want)
	}
}

// TestRFC6979P256 checks deterministic ECDSA against RFC 6979 A.2.5
// (P-256, SHA-256, message "sample").
func TestRFC6979P256(t *testing.T) {
	x, _ := hexDecode("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721")
	k := NewKey()
	bind := "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: " + base64.StdEncoding.EncodeToString(x) + "\n"
	if err := k.SetPrivateKey([]byte(bind)); err != nil {
		t.Fatal(err)
	}
	wantPub := "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB67903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299"
	if got := fmt.Sprintf("%X", k.PublicKey()); got != wantPub {
		t.Errorf("public key %s, want %s", got, wantPub)
	}
	sig, err := k.SignData([]byte("sample"))
	if err != nil {
		t.Fatal(err)
	}
	want := "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716" +
		"F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"
	if got := fmt.Sprintf("%X", sig); got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}

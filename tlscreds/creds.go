// Package tlscreds holds the TLS credentials of ljdns in plain Go: trust
// anchors or SPKI pins for verifying a server, an optional certificate of
// our own, and the crypto/tls configurations built from them. dns.tls
// (luamod/tls) and the DNS-over-TLS transports of dnsclient share it; it
// imports nothing of Lua.
//
// A client verifies strictly when it has a CA file, a hostname or SPKI
// pins (RFC 7858 §4.2, the strict privacy profile of RFC 8310), and
// otherwise encrypts without authenticating the server (the opportunistic
// profile). With pins the server's chain must hold a certificate whose
// SubjectPublicKeyInfo has one of the pinned SHA-256 digests; with a
// hostname as well, the leaf must be valid for that name.
package tlscreds

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	gotls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"os"
	"sync"
	"time"
)

// Creds are TLS credentials: trust anchors for verifying the peer, an
// optional certificate of our own, and the configurations built from them
// (kept so that sessions resume: one client session cache and one set of
// server ticket keys per credentials object).
type Creds struct {
	Roots    *x509.CertPool     // nil: system roots
	Cert     *gotls.Certificate // nil: none (servers fall back to the ephemeral one)
	Hostname string             // expected server name (SNI and verification)
	Strict   bool               // verify the server certificate (clients)
	Pins     [][]byte           // SHA-256 digests of acceptable SubjectPublicKeyInfos (RFC 7858 §4.2)
	Name     string             // 'x509', 'anon' or 'custom', for tostring

	mu     sync.Mutex
	cache  gotls.ClientSessionCache
	server *gotls.Config
}

// ErrPin is returned by the handshake when no certificate of the server's
// chain matches a pin.
var ErrPin = errors.New("tls: no certificate of the server matches an SPKI pin")

// ClientConfig returns the client configuration for a connection to peer
// (an IP address text used for verification when no hostname is set).
func (c *Creds) ClientConfig(peer string) *gotls.Config {
	c.mu.Lock()
	if c.cache == nil {
		c.cache = gotls.NewLRUClientSessionCache(64)
	}
	cache := c.cache
	c.mu.Unlock()
	cfg := &gotls.Config{
		MinVersion:         gotls.VersionTLS12,
		RootCAs:            c.Roots,
		ClientSessionCache: cache,
		ServerName:         c.Hostname,
		InsecureSkipVerify: !c.Strict,
	}
	if cfg.ServerName == "" && c.Strict {
		cfg.ServerName = peer
	}
	if c.Cert != nil {
		cfg.Certificates = []gotls.Certificate{*c.Cert}
	}
	if len(c.Pins) > 0 {
		// the pin replaces the chain check; the name is still checked
		cfg.InsecureSkipVerify = true
		pins, host := c.Pins, c.Hostname
		cfg.VerifyConnection = func(cs gotls.ConnectionState) error {
			return verifyPins(cs, pins, host)
		}
	}
	return cfg
}

// verifyPins checks the pinned SPKI digests against the server's chain
// and, with host, the leaf's name.
func verifyPins(cs gotls.ConnectionState, pins [][]byte, host string) error {
	if len(cs.PeerCertificates) == 0 {
		return ErrPin
	}
	if host != "" {
		if err := cs.PeerCertificates[0].VerifyHostname(host); err != nil {
			return err
		}
	}
	for _, cert := range cs.PeerCertificates {
		d := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
		for _, p := range pins {
			if string(p) == string(d[:]) {
				return nil
			}
		}
	}
	return ErrPin
}

// ParsePin decodes an SPKI pin: the base64 SHA-256 digest of a
// SubjectPublicKeyInfo (RFC 7858 §4.2, as kdig's --tls-pin takes it).
func ParsePin(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("tls: bad SPKI pin %q (want base64 of a SHA-256 digest)", s)
	}
	return b, nil
}

// Pin returns the SPKI pin of a certificate, base64 (ParsePin's input).
func Pin(cert *x509.Certificate) string {
	d := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(d[:])
}

// ServerConfig returns the (cached) server configuration.
func (c *Creds) ServerConfig() (*gotls.Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.server != nil {
		return c.server, nil
	}
	cert := c.Cert
	if cert == nil {
		var err error
		if cert, err = EphemeralCert(); err != nil {
			return nil, err
		}
	}
	c.server = &gotls.Config{
		MinVersion:   gotls.VersionTLS12,
		Certificates: []gotls.Certificate{*cert},
		ClientAuth:   gotls.NoClientCert,
	}
	return c.server, nil
}

// ephemeral is the self-signed certificate servers without credentials
// use (Go has no anonymous cipher suites); generated once per process.
var ephemeral struct {
	once sync.Once
	cert *gotls.Certificate
	err  error
}

// EphemeralCert returns the process's self-signed ECDSA P-256 certificate.
func EphemeralCert() (*gotls.Certificate, error) {
	ephemeral.once.Do(func() {
		ephemeral.cert, ephemeral.err = SelfSigned("ljdns ephemeral", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0), nil)
	})
	return ephemeral.cert, ephemeral.err
}

// SelfSigned makes an ECDSA P-256 certificate for name valid in [from, to];
// signed by ca when given (then it is not a CA itself), else self-signed
// as a CA.
func SelfSigned(name string, from, to time.Time, ca *gotls.Certificate) (*gotls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    from,
		NotAfter:     to,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent = ca.Leaf
		signer = ca.PrivateKey
	} else {
		tmpl.IsCA = true
		tmpl.BasicConstraintsValid = true
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &gotls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// Load builds credentials from PEM files (any may be empty) and an
// expected hostname; they are strict when cafile or hostname is given.
func Load(cafile, certfile, keyfile, hostname string) (*Creds, error) {
	c := &Creds{Hostname: hostname, Name: "custom", Strict: cafile != "" || hostname != ""}
	if cafile != "" {
		pem, err := os.ReadFile(cafile)
		if err != nil {
			return nil, err
		}
		c.Roots = x509.NewCertPool()
		if !c.Roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificates in %s", cafile)
		}
	}
	switch {
	case certfile != "" && keyfile != "":
		cert, err := gotls.LoadX509KeyPair(certfile, keyfile)
		if err != nil {
			return nil, err
		}
		c.Cert = &cert
	case certfile != "" || keyfile != "":
		return nil, errors.New("certfile and keyfile go together")
	}
	return c, nil
}

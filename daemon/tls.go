package daemon

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"
)

// ticketPeriod is how long one TLS session ticket key encrypts new tickets;
// tickets of the previous period still resume.
const ticketPeriod = time.Hour

// setTicketKeys sets the session ticket key material: derived from secret
// (net.tls_sticket_secret, so servers sharing it resume each other's
// sessions) or random for this server. Keys rotate every ticketPeriod.
func (s *Server) setTicketKeys(secret string) error {
	if secret != "" && len(secret) < 32 {
		// kresd requires at least 32 bytes of secret
		return fmt.Errorf("daemon: tls_sticket_secret must be at least 32 bytes long")
	}
	s.tlsMu.Lock()
	defer s.tlsMu.Unlock()
	s.ticketSecret = secret
	if secret == "" && s.ticketRandom == ([32]byte{}) {
		if _, err := rand.Read(s.ticketRandom[:]); err != nil {
			return err
		}
	}
	s.ticketEpoch = 0
	s.refreshTicketKeysLocked(time.Now())
	return nil
}

// ticketKeysAt returns the keys for time now: the current period's first.
func (s *Server) ticketKeysAt(now time.Time) [][32]byte {
	epoch := now.Unix() / int64(ticketPeriod/time.Second)
	key := func(e int64) [32]byte {
		h := sha256.New()
		h.Write([]byte("ljdns tls session ticket\x00"))
		if s.ticketSecret != "" {
			h.Write([]byte(s.ticketSecret))
		} else {
			h.Write(s.ticketRandom[:])
		}
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(e)))
		var k [32]byte
		copy(k[:], h.Sum(nil))
		return k
	}
	return [][32]byte{key(epoch), key(epoch - 1)}
}

func (s *Server) refreshTicketKeysLocked(now time.Time) {
	epoch := now.Unix() / int64(ticketPeriod/time.Second)
	if epoch == s.ticketEpoch {
		return
	}
	s.ticketEpoch = epoch
	s.ticketKeys = s.ticketKeysAt(now)
	for _, c := range s.tlsConfigs {
		c.SetSessionTicketKeys(s.ticketKeys)
	}
}

// tlsConfig returns the server's TLS configuration for an ALPN list; the
// certificate is the current generation's (or the ephemeral one).
func (s *Server) tlsConfig(protos []string) *tls.Config {
	key := strings.Join(protos, ",")
	s.tlsMu.Lock()
	defer s.tlsMu.Unlock()
	s.refreshTicketKeysLocked(time.Now())
	if c := s.tlsConfigs[key]; c != nil {
		return c
	}
	c := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     protos,
		GetCertificate: s.certificate,
	}
	c.SetSessionTicketKeys(s.ticketKeys)
	if s.tlsConfigs == nil {
		s.tlsConfigs = map[string]*tls.Config{}
	}
	s.tlsConfigs[key] = c
	return c
}

// certificate picks the configured certificate for the client hello, or
// the ephemeral self-signed one.
func (s *Server) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	g := s.gen.Load()
	if len(g.cfg.Certificates) > 0 {
		for i := range g.cfg.Certificates {
			if hello.SupportsCertificate(&g.cfg.Certificates[i]) == nil {
				return &g.cfg.Certificates[i], nil
			}
		}
		return &g.cfg.Certificates[0], nil
	}
	return s.ephemeralCert()
}

// ephemeralCert makes (once per server) the self-signed certificate kresd
// uses when net.tls is not configured.
func (s *Server) ephemeralCert() (*tls.Certificate, error) {
	s.tlsMu.Lock()
	defer s.tlsMu.Unlock()
	if s.ephemeral != nil {
		return s.ephemeral, nil
	}
	c, err := SelfSignedCert(hostname(), time.Now(), 90*24*time.Hour)
	if err != nil {
		return nil, err
	}
	s.ephemeral = &c
	return s.ephemeral, nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// SelfSignedCert returns an ECDSA P-256 certificate for name, valid from
// now for validity (names: the DNS name, plus localhost and loopback IPs).
func SelfSignedCert(name string, now time.Time, validity time.Duration) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{name, "localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

package tls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	gotls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// credsTypeName is the registry name of credential objects.
const credsTypeName = "dns.tls.creds"

// Creds are TLS credentials: trust anchors for verifying the peer, an
// optional certificate of our own, and the configurations built from them
// (kept so that sessions resume: one client session cache and one set of
// server ticket keys per credentials object).
type Creds struct {
	Roots    *x509.CertPool     // nil: system roots
	Cert     *gotls.Certificate // nil: none (servers fall back to the ephemeral one)
	Hostname string             // expected server name (SNI and verification)
	Strict   bool               // verify the server certificate (clients)
	Name     string             // 'x509', 'anon' or 'custom', for tostring

	cache  gotls.ClientSessionCache
	server *gotls.Config
}

// clientConfig returns the client configuration for a connection to peer
// (an IP address text used for verification when no hostname is set).
func (c *Creds) clientConfig(peer string) *gotls.Config {
	if c.cache == nil {
		c.cache = gotls.NewLRUClientSessionCache(64)
	}
	cfg := &gotls.Config{
		MinVersion:         gotls.VersionTLS12,
		RootCAs:            c.Roots,
		ClientSessionCache: c.cache,
		ServerName:         c.Hostname,
		InsecureSkipVerify: !c.Strict,
	}
	if cfg.ServerName == "" && c.Strict {
		cfg.ServerName = peer
	}
	if c.Cert != nil {
		cfg.Certificates = []gotls.Certificate{*c.Cert}
	}
	return cfg
}

// serverConfig returns the (cached) server configuration.
func (c *Creds) serverConfig() (*gotls.Config, error) {
	if c.server != nil {
		return c.server, nil
	}
	cert := c.Cert
	if cert == nil {
		var err error
		if cert, err = ephemeralCert(); err != nil {
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

// ephemeralCert returns the process's self-signed ECDSA P-256 certificate.
func ephemeralCert() (*gotls.Certificate, error) {
	ephemeral.once.Do(func() {
		ephemeral.cert, ephemeral.err = selfSigned("ljdns ephemeral", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0), nil)
	})
	return ephemeral.cert, ephemeral.err
}

// selfSigned makes a certificate for name valid in [from, to]; signed by
// ca when given (then it is not a CA itself), else self-signed as a CA.
func selfSigned(name string, from, to time.Time, ca *gotls.Certificate) (*gotls.Certificate, error) {
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

// loadCreds builds credentials from PEM files (any may be empty).
func loadCreds(cafile, certfile, keyfile, hostname string) (*Creds, error) {
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

func registerCreds(L *lua.LState) {
	luabind.RegisterType(L, luabind.TypeSpec{
		Name: credsTypeName,
		Meta: map[string]lua.LGFunction{
			"__tostring": func(L *lua.LState) int {
				c := luabind.Check[*Creds](L, 1, credsTypeName)
				L.Push(lua.LString("tls.creds(" + c.Name + ")"))
				return 1
			},
			"__index": func(L *lua.LState) int {
				c := luabind.Check[*Creds](L, 1, credsTypeName)
				switch L.CheckString(2) {
				case "hostname":
					L.Push(lua.LString(c.Hostname))
				case "strict":
					L.Push(lua.LBool(c.Strict))
				default:
					L.Push(lua.LNil)
				}
				return 1
			},
		},
	})
}

// credsArg reads the optional credentials argument n: nil (opportunistic),
// 'x509' (system roots, strict) or a credentials object.
func credsArg(L *lua.LState, n int, st *state) *Creds {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return st.anon
	case lua.LString:
		switch v {
		case "x509":
			return st.x509
		case "anon":
			return st.anon
		}
		L.ArgError(n, "unknown credentials '"+string(v)+"'")
	}
	return luabind.Check[*Creds](L, n, credsTypeName)
}

// tls.creds.x509{cafile=, certfile=, keyfile=, hostname=} -> creds | nil, err
func credsX509(L *lua.LState, st *state) int {
	opt := L.OptTable(1, L.NewTable())
	str := func(k string) string {
		if v, ok := opt.RawGetString(k).(lua.LString); ok {
			return string(v)
		}
		return ""
	}
	c, err := loadCreds(str("cafile"), str("certfile"), str("keyfile"), str("hostname"))
	if err != nil {
		return luabind.FailErr(L, "dns.tls", err)
	}
	if str("cafile") == "" && str("hostname") == "" && str("certfile") == "" {
		c.Strict = true // x509 credentials with system roots
	}
	c.Name = "x509"
	luabind.Push(L, credsTypeName, c)
	st.open.Append(L.Get(-1))
	return 1
}

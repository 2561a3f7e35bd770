package dnsclient

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
	"ljdns/tlscreds"
)

// writeCertFiles writes a CA certificate, a server certificate for name
// signed by it and the server's key, as PEM files.
func writeCertFiles(t *testing.T, name string) (ca, cert, key string) {
	t.Helper()
	from, to := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	caCert, err := tlscreds.SelfSigned("ljdns test CA", from, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := tlscreds.SelfSigned(name, from, to, caCert)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(file, typ string, b []byte) string {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caCert.Certificate[0]),
		write("cert.pem", "CERTIFICATE", leaf.Certificate[0]),
		write("key.pem", "PRIVATE KEY", der)
}

// TestPeersHTTPSKresd asks kresd's DNS over HTTPS (doh2, forwarding to
// knotd) many identical queries at once, by POST and by GET, strictly
// authenticated. With ID 0 on the wire (RFC 8484 §4.1's suggestion) kresd
// 5.6 answered only a few of the identical GETs.
func TestPeersHTTPSKresd(t *testing.T) {
	testnet.Isolate(t)
	zone := testnet.Zone{Name: "example.test.", File: writeZone(t, 0)}
	k := testnet.StartKnot(t, testnet.KnotConfig{Zones: []testnet.Zone{zone}})
	ca, cert, key := writeCertFiles(t, "doh.example.test")
	doh := testnet.FreeAddr(t)
	testnet.StartKresd(t, testnet.KresdConfig{Config: fmt.Sprintf(
		"net.tls(%q, %q)\nnet.listen(%q, %d, { kind = 'doh2' })\npolicy.add(policy.all(policy.STUB({'%s@%d'})))\n",
		cert, key, doh.Addr(), doh.Port(), k.Addr().Addr(), k.Addr().Port())})
	for _, get := range []bool{false, true} {
		h, err := NewHTTPS("https://"+doh.String()+"/dns-query", HTTPSOptions{GET: get,
			TLS: &TLSOptions{Hostname: "doh.example.test", CAFile: ca}})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				qq := q(t, "www.example.test", dnsmsg.TypeA)
				a, err := h.Query(ctx(t), qq)
				if err == nil && (a.ID() != qq.ID() || len(a.Records(dnsmsg.SectionAN)) != 1) {
					err = fmt.Errorf("bad answer:\n%s", a)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		n := 0
		for err := range errs {
			if n++; n <= 3 {
				t.Errorf("GET %v: %v", get, err)
			}
		}
		if n > 0 {
			t.Errorf("GET %v: %d of 100 queries failed", get, n)
		}
		h.Close()
	}
}

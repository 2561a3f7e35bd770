package client_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ljdns/host"
	"ljdns/internal/testnet"
	"ljdns/luamod/spec"
	"ljdns/scripts"
	"ljdns/tlscreds"
)

// The zone knotd serves to the spec: big.example.test. has a TXT set too
// large for 1232 bytes (TC over UDP); the fill-N records make an AXFR span
// several TCP messages.
const zoneHead = `$ORIGIN example.test.
$TTL 3600
@	IN SOA ns.example.test. hostmaster.example.test. 2024010101 3600 600 86400 300
@	IN NS ns
ns	IN A 127.0.0.1
www	IN A 192.0.2.1
www	IN AAAA 2001:db8::1
`

// Records of the zone (SOA included once), for the AXFR count.
const zoneHeadRecords = 5

const (
	fillRecords = 2000
	bigTXT      = 20
)

// tsigKey is the key of the tsig.test zone's transfers (alg:name:secret).
const tsigKey = "hmac-sha256:xfr.key.:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0="

// writeZones writes example.test and tsig.test; it returns their files
// and the number of records an AXFR of example.test carries (the SOA
// twice).
func writeZones(t *testing.T) (example, tsig string, axfrRecords int) {
	t.Helper()
	var b strings.Builder
	b.WriteString(zoneHead)
	for i := range bigTXT {
		fmt.Fprintf(&b, "big\tIN TXT \"%s-%02d\"\n", strings.Repeat("x", 100), i)
	}
	for i := range fillRecords {
		fmt.Fprintf(&b, "fill-%d\tIN TXT \"filler record number %d of the zone, long enough to fill messages\"\n", i, i)
	}
	dir := t.TempDir()
	example = filepath.Join(dir, "example.test.zone")
	if err := os.WriteFile(example, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tsig = filepath.Join(dir, "tsig.test.zone")
	z := "$ORIGIN tsig.test.\n$TTL 3600\n@ IN SOA ns.tsig.test. h.tsig.test. 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n"
	if err := os.WriteFile(tsig, []byte(z), 0o644); err != nil {
		t.Fatal(err)
	}
	return example, tsig, zoneHeadRecords + bigTXT + fillRecords + 1
}

// tsigExtra declares the TSIG key and an ACL allowing transfers signed
// with it (and nothing else).
func tsigExtra() string {
	f := strings.SplitN(tsigKey, ":", 3)
	return fmt.Sprintf(`key:
  - id: %s
    algorithm: %s
    secret: %s
acl:
  - id: signed
    key: %s
    action: transfer
`, f[1], f[0], f[2], f[1])
}

const plainExtra = `acl:
  - id: plain
    address: 127.0.0.0/8
    action: transfer
`

// writeCerts writes a CA certificate and a server certificate for name
// signed by it, with its key, as PEM files.
func writeCerts(t *testing.T, name string) (ca, cert, key string) {
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

// runSpec runs spec/client_spec.lua in a fresh state at the repository
// root and reports each of its tests as a subtest. Tests whose names
// contain one of need must not be pending: their servers are up.
func runSpec(t *testing.T, need ...string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	L := host.New(host.Options{Scripts: scripts.FS})
	defer L.Close()
	var out bytes.Buffer
	opts, err := spec.Configure(L, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.Roots = []string{"spec/client_spec.lua"}
	opts.Stdout, opts.Stderr = &out, &out
	opts.Timeout = 2 * time.Minute // a hang fails instead of hanging go test
	rep, err := spec.Run(L, opts)
	if err != nil {
		t.Fatalf("spec.Run: %v\n%s", err, out.String())
	}
	if len(rep.Results) == 0 {
		t.Fatalf("no results:\n%s", out.String())
	}
	for _, r := range rep.Results {
		t.Run(r.Name, func(t *testing.T) {
			switch r.Status {
			case spec.StatusFailure, spec.StatusError:
				t.Errorf("%s %s:%d: %s\n%s", r.Status, r.File, r.Line, r.Message, r.Trace)
			case spec.StatusPending:
				for _, n := range need {
					if strings.Contains(r.Name, n) {
						t.Errorf("pending with its server up: %s", r.Message)
					}
				}
				t.Skip(r.Message)
			}
		})
	}
}

// TestSpecWithKnot runs the whole Lua spec, its server part against knotd
// in a loopback-only namespace.
func TestSpecWithKnot(t *testing.T) {
	testnet.Isolate(t)
	example, tsig, axfr := writeZones(t)
	k := testnet.StartKnot(t, testnet.KnotConfig{
		Zones: []testnet.Zone{{Name: "example.test.", File: example}}, Extra: plainExtra, ZoneExtra: "acl: plain"})
	ks := testnet.StartKnot(t, testnet.KnotConfig{
		Zones: []testnet.Zone{{Name: "tsig.test.", File: tsig}}, Extra: tsigExtra(), ZoneExtra: "acl: signed"})
	// kresd forwarding to knotd, for DNS over HTTPS (doh2) with a
	// certificate for doh.example.test from a CA of ours
	ca, cert, key := writeCerts(t, "doh.example.test")
	doh := testnet.FreeAddr(t)
	testnet.StartKresd(t, testnet.KresdConfig{Config: fmt.Sprintf(
		"net.tls(%q, %q)\nnet.listen(%q, %d, { kind = 'doh2' })\npolicy.add(policy.all(policy.STUB({%q})))\n",
		cert, key, doh.Addr().String(), doh.Port(), k.Addr().Addr().String()+"@"+fmt.Sprint(k.Addr().Port()))})
	t.Setenv("LJDNS_CLIENT_SPEC_DOH_CA", ca)
	t.Setenv("LJDNS_CLIENT_SPEC_SERVER", k.Addr().String())
	t.Setenv("LJDNS_CLIENT_SPEC_TSIG_SERVER", ks.Addr().String())
	t.Setenv("LJDNS_CLIENT_SPEC_DOH", "https://"+doh.String()+"/dns-query")
	t.Setenv("LJDNS_CLIENT_SPEC_TSIG", tsigKey)
	t.Setenv("LJDNS_CLIENT_SPEC_AXFR_RRS", fmt.Sprint(axfr))
	runSpec(t, "against a server", "LJDNS_OUTGOING_ALLOW")
}

// TestSpecValidator runs the spec's validator part on the rig's signed
// hierarchy, through a kresd without trust anchor (so the answers of the
// broken zones reach the client, which must find them bogus).
func TestSpecValidator(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone", "kresd")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	k := h.StartKresd(t, false)
	t.Setenv("LJDNS_CLIENT_SPEC_RESOLVER", k.Addr().String())
	t.Setenv("LJDNS_CLIENT_SPEC_ANCHOR", h.AnchorDS)
	for _, v := range []testnet.Variant{testnet.Secure, testnet.Insecure, testnet.Expired, testnet.DSMismatch} {
		t.Setenv("LJDNS_CLIENT_SPEC_NAME_"+strings.ToUpper(string(v)), h.Names[v])
	}
	runSpec(t, "validator")
}

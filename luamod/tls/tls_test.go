package tls_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	gotls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/host"
	"ljdns/luamod/nbio"
)

// run executes src in L and fails the test on a Lua error.
func run(t *testing.T, L *lua.LState, src string) {
	t.Helper()
	fn, err := host.LoadString(L, src, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Call(L, fn); err != nil {
		t.Fatal(host.FormatError(err))
	}
}

func writePEM(t *testing.T, dir, name string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsServer serves cert on loopback: each connection echoes one byte.
func tlsServer(t *testing.T, cert *gotls.Certificate) int {
	t.Helper()
	ln, err := gotls.Listen("tcp", "127.0.0.1:0", &gotls.Config{Certificates: []gotls.Certificate{*cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				b := make([]byte, 1)
				if _, err := io.ReadFull(c, b); err == nil {
					c.Write(b)
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// Strict verification (a CA bundle and a host name) accepts the right
// certificate, rejects an expired one, a wrong name and an unknown CA,
// and resumes sessions.
func TestStrictVerification(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, err := makeCert("Test CA", now.Add(-time.Hour), now.Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := makeCert("Other CA", now.Add(-time.Hour), now.Add(time.Hour), nil)
	good, _ := makeCert("dns.example", now.Add(-time.Hour), now.Add(time.Hour), ca)
	expired, _ := makeCert("dns.example", now.Add(-48*time.Hour), now.Add(-24*time.Hour), ca)
	caFile := writePEM(t, dir, "ca.pem", ca.Certificate[0])
	otherFile := writePEM(t, dir, "other.pem", other.Certificate[0])
	goodPort, expiredPort := tlsServer(t, good), tlsServer(t, expired)

	cases := []struct {
		name, cafile, hostname string
		port                   int
		wantErr                string // "" = success
	}{
		{"good", caFile, "dns.example", goodPort, ""},
		{"expired", caFile, "dns.example", expiredPort, "expired"},
		{"wrong-name", caFile, "other.example", goodPort, "other.example"},
		{"unknown-ca", otherFile, "dns.example", goodPort, "unknown authority"},
		{"system-roots", "", "dns.example", goodPort, "unknown authority"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			L := host.New(host.Options{})
			defer L.Close()
			defer nbio.Close(L)
			L.SetGlobal("CAFILE", lua.LString(c.cafile))
			L.SetGlobal("HOSTNAME", lua.LString(c.hostname))
			L.SetGlobal("PORT", lua.LNumber(c.port))
			run(t, L, `
				local nb, tls = require('dns.nbio'), require('dns.tls')
				local creds = assert(tls.creds.x509{cafile = CAFILE ~= '' and CAFILE or nil, hostname = HOSTNAME})
				nb.go(function()
					local c = nb.socket('inet', 'stream')
					assert(c:connect('127.0.0.1', PORT))
					local s, err = tls.client(c, creds)
					ERR = err and tostring(err) or ''
					if s then
						assert(s:send('x') == 1)
						ECHO = s:receive(1)
					end
					c:close()
				end)
				assert(nb.run())`)
			errText := L.GetGlobal("ERR").String()
			if c.wantErr == "" {
				if errText != "" || L.GetGlobal("ECHO").String() != "x" {
					t.Fatalf("handshake failed: %s (echo %v)", errText, L.GetGlobal("ECHO"))
				}
				return
			}
			if !strings.Contains(errText, c.wantErr) {
				t.Fatalf("error %q, want it to mention %q", errText, c.wantErr)
			}
		})
	}

	t.Run("resumption", func(t *testing.T) {
		L := host.New(host.Options{})
		defer L.Close()
		defer nbio.Close(L)
		L.SetGlobal("CAFILE", lua.LString(caFile))
		L.SetGlobal("PORT", lua.LNumber(goodPort))
		run(t, L, `
			local nb, tls = require('dns.nbio'), require('dns.tls')
			local creds = assert(tls.creds.x509{cafile = CAFILE, hostname = 'dns.example'})
			RESUMED = {}
			nb.go(function()
				for i = 1, 2 do
					local c = nb.socket('inet', 'stream')
					assert(c:connect('127.0.0.1', PORT))
					local s = assert(tls.client(c, creds))
					assert(s:send('x') == 1 and s:receive(1) == 'x')
					RESUMED[i] = s:info().resumed
					VERSION = s:info().version
					s:close()
				end
			end)
			assert(nb.run())`)
		res := L.GetGlobal("RESUMED").(*lua.LTable)
		if res.RawGetInt(1) != lua.LFalse || res.RawGetInt(2) != lua.LTrue {
			t.Fatalf("resumed = %v, %v; want false, true", res.RawGetInt(1), res.RawGetInt(2))
		}
		if v := L.GetGlobal("VERSION").String(); v != "TLS 1.3" {
			t.Fatalf("version %s", v)
		}
	})
}

// goroutinesDown waits for the goroutine count to fall to at most want.
func goroutinesDown(want int) int {
	n := 0
	for i := 0; i < 100; i++ {
		runtime.GC()
		if n = runtime.NumGoroutine(); n <= want {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

// TestNoGoroutineLeak opens and drops 10k plain connections and 200 TLS
// connections against a Lua server in this process: afterwards the
// goroutine count is back to where it started.
func TestNoGoroutineLeak(t *testing.T) {
	const plain, secure = 10000, 200
	baseline := runtime.NumGoroutine()
	L := host.New(host.Options{})
	L.SetGlobal("N", lua.LNumber(plain))
	L.SetGlobal("TN", lua.LNumber(secure))
	run(t, L, `
		nb, tls = require('dns.nbio'), require('dns.tls')
		server = nb.socket('inet', 'stream')
		server:bind('127.0.0.1', 0, 4096)
		tserver = nb.socket('inet', 'stream')
		tserver:bind('127.0.0.1', 0, 4096)
		PORT = select(2, server:getsockname())
		TPORT = select(2, tserver:getsockname())`)
	port := int(L.GetGlobal("PORT").(lua.LNumber))
	tport := int(L.GetGlobal("TPORT").(lua.LNumber))
	done := make(chan error, 1)
	go func() {
		fn, err := host.LoadString(L, `
			CLOSED = 0
			nb.go(function()
				for i = 1, N do
					local c = assert(server:accept())
					nb.go(function() c:receive(1); c:close(); CLOSED = CLOSED + 1 end)
				end
				server:close()
			end)
			nb.go(function()
				for i = 1, TN do
					local c = assert(tserver:accept())
					c:settimeout(5000)
					nb.go(function()
						local s = tls.server(c)
						if s then s:receive(1) end
						c:close()
						CLOSED = CLOSED + 1
					end)
				end
				tserver:close()
			end)
			assert(nb.run())`, "leak")
		if err == nil {
			err = host.Call(L, fn)
		}
		done <- err
	}()
	for i := 0; i < plain; i++ {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		if i%3 == 0 {
			c.Write([]byte{1})
		}
		c.Close()
	}
	for i := 0; i < secure; i++ {
		c, err := gotls.Dial("tcp", net.JoinHostPort("127.0.0.1", itoa(tport)), &gotls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("tls dial %d: %v", i, err)
		}
		if i%2 == 0 {
			c.Write([]byte{1})
		}
		c.Close()
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(host.FormatError(err))
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("server did not finish")
	}
	if n := int(L.GetGlobal("CLOSED").(lua.LNumber)); n != plain+secure {
		t.Fatalf("closed %d connections, want %d", n, plain+secure)
	}
	nbio.Close(L)
	L.Close()
	if n := goroutinesDown(baseline); n > baseline {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines: %d, baseline %d\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}

func itoa(n int) string { return strings.TrimSpace(lua.LNumber(n).String()) }

// makeCert makes an ECDSA certificate for name valid in [from, to], signed
// by ca (or self-signed as a CA when ca is nil).
func makeCert(name string, from, to time.Time, ca *gotls.Certificate) (*gotls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    from,
		NotAfter:     to,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent, signer = ca.Leaf, ca.PrivateKey
	} else {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
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

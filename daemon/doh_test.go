package daemon

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// h2Frame builds one HTTP/2 frame (RFC 9113 §4.1).
func h2Frame(typ, flags byte, stream uint32, payload []byte) []byte {
	b := []byte{byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), typ, flags}
	b = binary.BigEndian.AppendUint32(b, stream)
	return append(b, payload...)
}

// h2Headers is a HEADERS block for GET /dns-query: static-table indexes for
// :method GET (2), :scheme http (6), and literal :path and :authority (RFC 7541).
func h2Headers() []byte {
	var b []byte
	b = append(b, 0x82, 0x86)
	lit := func(idx byte, v string) {
		b = append(b, idx, byte(len(v)))
		b = append(b, v...)
	}
	lit(0x04, "/dns-query?dns=AAABAAABAAAAAAAAB2V4YW1wbGUDb3JnAAABAAE") // :path, literal without indexing
	lit(0x01, "localhost")                                              // :authority
	return b
}

// readSettings reads frames until the server's SETTINGS and returns its
// SETTINGS_MAX_CONCURRENT_STREAMS.
func readSettings(t *testing.T, c net.Conn) uint32 {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var hdr [9]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			t.Fatal(err)
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		p := make([]byte, n)
		if _, err := io.ReadFull(c, p); err != nil {
			t.Fatal(err)
		}
		if hdr[3] == 0x4 && hdr[4]&1 == 0 {
			for i := 0; i+6 <= len(p); i += 6 {
				if binary.BigEndian.Uint16(p[i:]) == 0x3 {
					return binary.BigEndian.Uint32(p[i+2:])
				}
			}
			return 0
		}
	}
}

// TestH2Limits: a doh2 connection advertises Limits.H2Streams concurrent
// streams, and one whose client resets streams faster than
// Limits.H2ResetsPerSec (the rapid-reset attack) is closed by us.
func TestH2Limits(t *testing.T) {
	testnet.Isolate(t)
	lo := netip.MustParseAddr("127.0.0.1")
	s := startServer(t, &Config{Listen: []Listen{{Addr: netip.AddrPortFrom(lo, 0), Kind: KindDoH2, Plain: true}},
		Limits: Limits{H2Streams: 7, H2ResetsPerSec: 20},
		Layers: []Layer{&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}})
	addr := s.Addrs(KindDoH2)[0]
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(h2Preface))
	c.Write(h2Frame(0x4, 0, 0, nil)) // empty SETTINGS
	if got := readSettings(t, c); got != 7 {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d, want 7", got)
	}
	var burst bytes.Buffer
	for i := uint32(0); i < 100; i++ {
		id := 2*i + 1
		burst.Write(h2Frame(0x1, 0x4, id, h2Headers()))                         // HEADERS, END_HEADERS
		burst.Write(h2Frame(0x3, 0, id, binary.BigEndian.AppendUint32(nil, 8))) // RST_STREAM CANCEL
	}
	c.Write(burst.Bytes())
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection still open after 100 resets")
	}
	if got := s.Counters().LimitH2Resets.Load(); got != 1 {
		t.Fatalf("LimitH2Resets = %d, want 1", got)
	}
	// a well-behaved client is still served
	resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: h2cTransport()}).Get(
		"http://" + addr.String() + "/dns-query?dns=AAABAAABAAAAAAAAB2V4YW1wbGUDb3JnAAABAAE")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := new(dns.Msg)
	if err := m.Unpack(body); err != nil || len(m.Answer) != 1 || resp.Header.Get("Content-Type") != dohMediaType ||
		!strings.HasPrefix(resp.Header.Get("Cache-Control"), "max-age=60") {
		t.Fatalf("DoH answer %v %v %v", m, err, resp.Header)
	}
}

// h2cTransport speaks HTTP/2 with prior knowledge over plain TCP.
func h2cTransport() *http.Transport {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Transport{Protocols: &p}
}

// TestDoHErrors: RFC 8484 status codes for bad requests.
func TestDoHErrors(t *testing.T) {
	testnet.Isolate(t)
	lo := netip.MustParseAddr("127.0.0.1")
	s := startServer(t, &Config{Listen: []Listen{{Addr: netip.AddrPortFrom(lo, 0), Kind: KindDoH2, Plain: true}}})
	base := "http://" + s.Addrs(KindDoH2)[0].String()
	cl := &http.Client{Timeout: 5 * time.Second, Transport: h2cTransport()}
	for _, c := range []struct {
		method, path, ctype, body string
		status                    int
	}{
		{"GET", "/dns-query", "", "", 400},
		{"GET", "/dns-query?dns=!!!", "", "", 400},
		{"GET", "/dns-query?dns=AAAB", "", "", 400}, // 3 bytes: dropped by the parse rules
		{"POST", "/dns-query", "text/plain", "x", 415},
		{"PUT", "/dns-query", "", "", 405},
		{"GET", "/other", "", "", 404},
		{"GET", "/dns-query?dns=AAABAAABAAAAAAAAB2V4YW1wbGUDb3JnAAABAAE", "", "", 200},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.status)
		}
	}
}

package daemon

import (
	"github.com/miekg/dns"

	"crypto/tls"
	"io"
	"net/http"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ljdns/internal/testnet"
)

// kdig runs kdig with args and returns its output.
func kdig(t *testing.T, args ...string) string {
	t.Helper()
	testnet.Need(t, "kdig")
	cmd := exec.Command("kdig", append([]string{"+time=5", "+retry=0"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kdig %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var receivedRe = regexp.MustCompile(`;; Received (\d+) B`)

// TestListenersKdig queries every listener kind with kdig: UDP, TCP, DNS
// over TLS (RFC 7858, padded answers per RFC 8467), DNS over HTTPS (RFC
// 8484, POST and GET over HTTP/2), and the webmgmt listener's handler.
func TestListenersKdig(t *testing.T) {
	testnet.Isolate(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	lo := netip.MustParseAddr("127.0.0.1")
	cfg := &Config{
		Listen: []Listen{
			{Addr: netip.AddrPortFrom(lo, 0), Kind: KindDNS},
			{Addr: netip.AddrPortFrom(lo, 0), Kind: KindTLS},
			{Addr: netip.AddrPortFrom(lo, 0), Kind: KindDoH2},
			{Addr: netip.AddrPortFrom(lo, 0), Kind: KindWebmgmt},
		},
		Layers: []Layer{&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 300}},
		Web:    mux,
	}
	s := startServer(t, cfg)
	dnsAddr, dot, doh, web := s.Addrs(KindDNS)[0], s.Addrs(KindTLS)[0], s.Addrs(KindDoH2)[0], s.Addrs(KindWebmgmt)[0]
	at := func(a netip.AddrPort) []string {
		return []string{"@" + a.Addr().String(), "-p", strconv.Itoa(int(a.Port()))}
	}
	for _, c := range []struct {
		name string
		args []string
		pad  bool
	}{
		{"udp", at(dnsAddr), false},
		{"tcp", append(at(dnsAddr), "+tcp"), false},
		{"tls", append(at(dot), "+tls", "+padding"), true},
		{"https-post", append(at(doh), "+https", "+padding"), true},
		{"https-get", append(at(doh), "+https-get", "+padding"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := kdig(t, append(c.args, "www.example.org", "A")...)
			if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "192.0.2.1") {
				t.Fatalf("kdig output:\n%s", out)
			}
			m := receivedRe.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no size in:\n%s", out)
			}
			n, _ := strconv.Atoi(m[1])
			if c.pad && n%PaddingBlock != 0 {
				t.Errorf("answer of %d bytes is not padded to a multiple of %d\n%s", n, PaddingBlock, out)
			}
			if !c.pad && n%PaddingBlock == 0 {
				t.Errorf("answer of %d bytes looks padded", n)
			}
		})
	}
	t.Run("webmgmt", func(t *testing.T) {
		cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}}
		resp, err := cl.Get("https://" + web.String() + "/health")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok\n" {
			t.Fatalf("GET /health: %d %q", resp.StatusCode, body)
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("webmgmt spoke %s, want HTTP/2", resp.Proto)
		}
	})
}

// TestWildcardSource: on a socket bound to 0.0.0.0 or ::, answers leave
// from the address the query was sent to (IP_PKTINFO), inline and
// asynchronous ones alike, and the request sees that address as Local.
func TestWildcardSource(t *testing.T) {
	testnet.Isolate(t)
	locals := make(chan netip.AddrPort, 10)
	probe := layerFunc{name: "probe", begin: func(r *Request, s State) State {
		locals <- r.Local
		if string(r.QName()) == "\x05async\x00" {
			r.Upstream = &memTransport{} // answered on another goroutine
			return s
		}
		return (&memLayer{addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}).Begin(r, s)
	}}
	s := startServer(t, &Config{Listen: []Listen{{Addr: netip.MustParseAddrPort("0.0.0.0:0")}, {Addr: netip.MustParseAddrPort("[::]:0")}},
		Layers: []Layer{probe}})
	for _, a := range s.Addrs(KindDNS) {
		dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.7"), a.Port())
		if a.Addr().Is6() {
			dst = netip.AddrPortFrom(netip.IPv6Loopback(), a.Port())
		}
		for _, name := range []string{"inline", "async"} {
			// dns.Client's UDP socket is connected: an answer from another source never arrives
			m := exchange(t, "udp", dst, query(name, dns.TypeA))
			if len(m.Answer) != 1 {
				t.Fatalf("%v %s: %v", dst, name, m)
			}
			if got := <-locals; got.Addr() != dst.Addr() {
				t.Fatalf("%v %s: Local %v", dst, name, got)
			}
		}
	}
}

package scripts

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
	"ljdns/tlscreds"
)

// dohTestServer is a DNS-over-HTTPS server (HTTP/2, TLS with a
// certificate for doh.example signed by the CA in caFile) answering every
// A query with 192.0.2.9 at /dns-query; it records the methods used.
type dohTestServer struct {
	port    string
	caFile  string
	mu      sync.Mutex
	methods []string
}

func startDoH(t *testing.T) *dohTestServer {
	t.Helper()
	from, to := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	ca, err := tlscreds.SelfSigned("ldig test CA", from, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := tlscreds.SelfSigned("doh.example", from, to, ca)
	if err != nil {
		t.Fatal(err)
	}
	d := &dohTestServer{caFile: filepath.Join(t.TempDir(), "ca.pem")}
	if err := os.WriteFile(d.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Certificate[0]}), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var wire []byte
		switch r.Method {
		case http.MethodGet:
			wire, _ = base64.RawURLEncoding.DecodeString(r.URL.Query().Get("dns"))
		case http.MethodPost:
			wire, _ = io.ReadAll(r.Body)
		}
		q := new(dns.Msg)
		if r.URL.Path != "/dns-query" || q.Unpack(wire) != nil || len(q.Question) != 1 {
			http.Error(w, "not a DNS query here", http.StatusNotFound)
			return
		}
		d.mu.Lock()
		d.methods = append(d.methods, fmt.Sprintf("%s HTTP/%d", r.Method, r.ProtoMajor))
		d.mu.Unlock()
		m := new(dns.Msg)
		m.SetReply(q)
		rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN A 192.0.2.9")
		m.Answer = append(m.Answer, rr)
		out, _ := m.Pack()
		w.Header().Set("Content-Type", "application/dns-message")
		w.Write(out)
	}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{*leaf}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	d.port = strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	return d
}

func (d *dohTestServer) seen() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.methods...)
}

// TestLdigHTTPS: +https asks by POST over HTTP/2, +https-get by GET;
// +tls-ca and +tls-hostname authenticate the server; a wrong path or name
// is exit 9 with one line.
func TestLdigHTTPS(t *testing.T) {
	d := startDoH(t)
	for _, c := range []struct {
		args   []string
		method string
	}{
		{[]string{"+https"}, "POST HTTP/2"},
		{[]string{"+https-get"}, "GET HTTP/2"},
		{[]string{"+https=/dns-query", "+tls-ca=" + d.caFile, "+tls-hostname=doh.example"}, "POST HTTP/2"},
	} {
		before := len(d.seen())
		args := append([]string{"ldig", "@127.0.0.1", "-p", d.port, "+short"}, c.args...)
		r := ljdns(t, append(args, "www.example", "A")...)
		mustOK(t, r, strings.Join(args, " "))
		if r.stdout != "192.0.2.9\n" {
			t.Errorf("%v: %q", c.args, r.stdout)
		}
		if got := d.seen(); len(got) != before+1 || got[before] != c.method {
			t.Errorf("%v: server saw %v, want %s", c.args, got[before:], c.method)
		}
	}
	r := ljdns(t, "ldig", "@127.0.0.1", "-p", d.port, "+https", "www.example")
	mustOK(t, r, "ldig +https")
	if !strings.Contains(r.stdout, "status: NOERROR") || !strings.Contains(r.stdout, ";; SERVER: 127.0.0.1#"+d.port) {
		t.Errorf("+https output:\n%s", r.stdout)
	}
	for _, bad := range [][]string{
		{"+https=/elsewhere"}, // HTTP 404
		{"+https", "+tls-ca=" + d.caFile, "+tls-hostname=other.example"}, // the certificate names doh.example
		{"+https", "+tls-hostname=doh.example"},                          // not signed by a system root
	} {
		r := ljdns(t, append(append([]string{"ldig", "@127.0.0.1", "-p", d.port}, bad...), "www.example")...)
		oneLine(t, r, "ldig: ")
		if r.code != 9 {
			t.Errorf("%v: exit %d, want 9: %s", bad, r.code, r.stderr)
		}
	}
}

// TestLdigServerName: @localhost is looked up in /etc/hosts (IPv4 first),
// and the footer names it as dig does; LJDNS_HOSTS replaces /etc/hosts.
func TestLdigServerName(t *testing.T) {
	qs, p, v6 := startQuestionServer(t)
	r := ljdns(t, "ldig", "@localhost", "-p", p, "a.example", "TXT")
	mustOK(t, r, "ldig @localhost")
	if !strings.Contains(r.stdout, `"TXT v4"`) || !strings.Contains(r.stdout, ";; SERVER: 127.0.0.1#"+p+"(localhost)") {
		t.Errorf("@localhost:\n%s", r.stdout)
	}
	if got := qs.questions(); len(got) != 1 {
		t.Errorf("@localhost: server asked %v", got)
	}
	r = ljdns(t, "ldig", "-4", "@LOCALHOST.", "-p", p, "+short", "a.example", "TXT")
	if r.code != 0 || r.stdout != "\"TXT v4\"\n" {
		t.Errorf("-4 @LOCALHOST.: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	if !v6 {
		t.Skip("::1 not available")
	}
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("# test\n::1 v6only.test # comment\n127.0.0.1 both.test\n::1 both.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LJDNS_HOSTS", hosts)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"@v6only.test"}, "\"TXT v6\"\n"},
		{[]string{"@both.test"}, "\"TXT v4\"\n"},
		{[]string{"-6", "@both.test"}, "\"TXT v6\"\n"},
	} {
		r := ljdns(t, append(append([]string{"ldig"}, c.args...), "-p", p, "+short", "a.example", "TXT")...)
		if r.code != 0 || r.stdout != c.want {
			t.Errorf("%v: exit %d %q %s", c.args, r.code, r.stdout, r.stderr)
		}
	}
}

// TestLdigServerNameResolved: a server name missing from the hosts file is
// asked of the nameservers of the resolv.conf file (LJDNS_RESOLV_CONF)
// through dns.client, under LJDNS_OUTGOING_ALLOW; a name nobody knows and
// a nameserver outside the allow list give exit 10, as dig's "couldn't get
// address".
func TestLdigServerNameResolved(t *testing.T) {
	testnet.Isolate(t)
	// the resolver: ns.test.example → 127.0.0.1, anything else NXDOMAIN
	resolver := testnet.FreeAddr(t)
	pc, err := net.ListenPacket("udp", resolver.String())
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	var mu sync.Mutex
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		q := r.Question[0]
		mu.Lock()
		asked = append(asked, q.Name+" "+dns.TypeToString[q.Qtype])
		mu.Unlock()
		m := new(dns.Msg)
		m.SetReply(r)
		if q.Name == "ns.test.example." && q.Qtype == dns.TypeA {
			rr, _ := dns.NewRR("ns.test.example. 60 IN A 127.0.0.1")
			m.Answer = append(m.Answer, rr)
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	_, p, _ := startQuestionServer(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	t.Setenv("LJDNS_HOSTS", write("hosts", "127.0.0.1 localhost\n"))
	t.Setenv("LJDNS_RESOLV_CONF", write("resolv.conf", "search example\nnameserver "+resolver.Addr().String()+"\n"))
	r := ljdns(t, "ldig", "@ns.test.example", "-p", p, "a.example", "TXT")
	mustOK(t, r, "ldig @ns.test.example")
	if !strings.Contains(r.stdout, `"TXT v4"`) || !strings.Contains(r.stdout, "(ns.test.example)") {
		t.Errorf("@ns.test.example:\n%s", r.stdout)
	}
	mu.Lock()
	if len(asked) != 1 || asked[0] != "ns.test.example. A" {
		t.Errorf("resolver asked %v", asked)
	}
	mu.Unlock()
	r = ljdns(t, "ldig", "@nobody.test.example", "-p", p, "a.example", "TXT")
	oneLine(t, r, "ldig: ")
	if r.code != 10 || !strings.Contains(r.stderr, "couldn't get address for 'nobody.test.example'") {
		t.Errorf("unknown server name: exit %d %s", r.code, r.stderr)
	}
	// a nameserver outside LJDNS_OUTGOING_ALLOW (loopback only here) is not asked
	t.Setenv("LJDNS_RESOLV_CONF", write("resolv2.conf", "nameserver 192.0.2.53\n"))
	r = ljdns(t, "ldig", "@ns.test.example", "-p", p, "a.example", "TXT")
	oneLine(t, r, "ldig: ")
	if r.code != 10 || !strings.Contains(r.stderr, "LJDNS_OUTGOING_ALLOW") {
		t.Errorf("nameserver outside the allow list: exit %d %s", r.code, r.stderr)
	}
}

// TestForwarderRetriesLostAnswer: the forwarder (on dns.client) asks again
// when an upstream UDP answer is lost, within its -t, and TCP clients
// share one pipelined upstream connection.
func TestForwarderRetriesLostAnswer(t *testing.T) {
	port := freePort(t)
	p := strconv.Itoa(port)
	pc, err := net.ListenPacket("udp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	conns := 0
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		name := r.Question[0].Name
		_, udp := w.RemoteAddr().(*net.UDPAddr)
		mu.Lock()
		seen[name]++
		n := seen[name]
		mu.Unlock()
		if udp && n == 1 {
			return // the first answer for each name is lost
		}
		m := new(dns.Msg)
		m.SetReply(r)
		rr, _ := dns.NewRR(name + " 60 IN A 192.0.2.8")
		m.Answer = append(m.Answer, rr)
		w.WriteMsg(m)
	})
	usrv := &dns.Server{PacketConn: pc, Handler: handler}
	tsrv := &dns.Server{Listener: l, Handler: handler,
		DecorateReader: func(r dns.Reader) dns.Reader { mu.Lock(); conns++; mu.Unlock(); return r }} // per connection
	go usrv.ActivateAndServe()
	go tsrv.ActivateAndServe()
	t.Cleanup(func() { usrv.Shutdown(); tsrv.Shutdown() })
	fport := freePort(t)
	log := background(t, ljdnsBin, "examples/forwarder.lua", "-q", "-t", "4", "-l", fmt.Sprintf("127.0.0.1#%d", fport), "127.0.0.1#"+p)
	waitTCP(t, fport, log)
	r := ljdns(t, "ldig", "@127.0.0.1", "-p", strconv.Itoa(fport), "+timeout=30", "+tries=1", "+short", "lost.example", "A")
	mustOK(t, r, "ldig via the forwarder")
	if r.stdout != "192.0.2.8\n" {
		t.Errorf("lost answer: %q", r.stdout)
	}
	mu.Lock()
	if seen["lost.example."] != 2 {
		t.Errorf("upstream asked %d times, want 2", seen["lost.example."])
	}
	mu.Unlock()
	for i := range 3 {
		r := ljdns(t, "ldig", "@127.0.0.1", "-p", strconv.Itoa(fport), "+tcp", "+short", fmt.Sprintf("t%d.example", i), "A")
		mustOK(t, r, "ldig +tcp via the forwarder")
		if r.stdout != "192.0.2.8\n" {
			t.Errorf("tcp %d: %q", i, r.stdout)
		}
	}
	mu.Lock()
	if conns != 1 {
		t.Errorf("%d upstream TCP connections for 3 TCP clients, want 1", conns)
	}
	mu.Unlock()
}

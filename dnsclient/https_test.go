package dnsclient

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"ljdns/dnsmsg"
	"ljdns/tlscreds"
)

// dohSeen is what the test DoH server saw of one request.
type dohSeen struct {
	method string
	proto  int
	id     uint16
	ctype  string
}

// dohServer is an HTTP/2 TLS server on 127.0.0.1 answering DNS messages
// (RFC 8484) by echoing them with QR set; answer may rewrite that reply.
func dohServer(t *testing.T, answer func(w http.ResponseWriter, msg []byte)) (*httptest.Server, func() []dohSeen) {
	t.Helper()
	var mu sync.Mutex
	var seen []dohSeen
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg []byte
		switch r.Method {
		case http.MethodGet:
			b, err := base64.RawURLEncoding.DecodeString(r.URL.Query().Get("dns"))
			if err != nil {
				http.Error(w, "bad dns parameter", http.StatusBadRequest)
				return
			}
			msg = b
		case http.MethodPost:
			msg, _ = io.ReadAll(r.Body)
		}
		if r.URL.Path != "/dns-query" || len(msg) < dnsmsg.HeaderLen {
			http.Error(w, "not here", http.StatusNotFound)
			return
		}
		mu.Lock()
		seen = append(seen, dohSeen{r.Method, r.ProtoMajor, wireID(msg), r.Header.Get("Content-Type")})
		mu.Unlock()
		msg[2] |= 0x80
		if answer != nil {
			answer(w, msg)
			return
		}
		w.Header().Set("Content-Type", "application/dns-message")
		w.Write(msg)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes of TestHTTPSPins
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, func() []dohSeen {
		mu.Lock()
		defer mu.Unlock()
		return append([]dohSeen(nil), seen...)
	}
}

func TestHTTPSPostAndGet(t *testing.T) {
	srv, seen := dohServer(t, nil)
	var ids []uint16
	for _, get := range []bool{false, true} {
		h, err := NewHTTPS(srv.URL+"/dns-query", HTTPSOptions{GET: get})
		if err != nil {
			t.Fatal(err)
		}
		qq := q(t, "www.example.test", dnsmsg.TypeA)
		ids = append(ids, qq.ID())
		a, err := h.Query(ctx(t), qq)
		if err != nil {
			t.Fatalf("GET %v: %v", get, err)
		}
		if a.ID() != qq.ID() || !a.Flag("qr") {
			t.Errorf("GET %v: answer ID %d (query %d), QR %v", get, a.ID(), qq.ID(), a.Flag("qr"))
		}
		h.Close()
	}
	want := []dohSeen{{"POST", 2, ids[0], "application/dns-message"}, {"GET", 2, ids[1], ""}}
	if got := seen(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("server saw %+v, want %+v", got, want)
	}
}

func TestHTTPSAddressForm(t *testing.T) {
	srv, _ := dohServer(t, nil)
	addr := strings.TrimPrefix(srv.URL, "https://")
	h, err := NewHTTPS(addr, HTTPSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if got, want := h.URL(), srv.URL+"/dns-query"; got != want {
		t.Errorf("URL %s, want %s", got, want)
	}
	if _, err := h.Query(ctx(t), q(t, "www.example.test", dnsmsg.TypeA)); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPSPins(t *testing.T) {
	srv, _ := dohServer(t, nil)
	pin := tlscreds.Pin(srv.Certificate())
	good, err := NewHTTPS(srv.URL, HTTPSOptions{TLS: &TLSOptions{Pins: []string{pin}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.Query(ctx(t), q(t, "www.example.test", dnsmsg.TypeA)); err != nil {
		t.Errorf("pinned server: %v", err)
	}
	other := base64.StdEncoding.EncodeToString(make([]byte, 32))
	bad, err := NewHTTPS(srv.URL, HTTPSOptions{TLS: &TLSOptions{Pins: []string{other}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Query(ctx(t), q(t, "www.example.test", dnsmsg.TypeA)); !errors.Is(err, ErrTLS) {
		t.Errorf("wrong pin: %v, want ErrTLS", err)
	}
	strict, _ := NewHTTPS(srv.URL, HTTPSOptions{TLS: &TLSOptions{Hostname: "dns.example.test"}})
	if _, err := strict.Query(ctx(t), q(t, "www.example.test", dnsmsg.TypeA)); !errors.Is(err, ErrTLS) {
		t.Errorf("unverifiable server: %v, want ErrTLS", err)
	}
}

func TestHTTPSBadAnswers(t *testing.T) {
	for name, c := range map[string]struct {
		answer func(w http.ResponseWriter, msg []byte)
		want   string
	}{
		"status": {func(w http.ResponseWriter, _ []byte) { http.Error(w, "no", http.StatusServiceUnavailable) }, "HTTP status 503"},
		"type": {func(w http.ResponseWriter, msg []byte) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write(msg)
		}, `answer of type "text/plain"`},
		"id": {func(w http.ResponseWriter, msg []byte) {
			w.Header().Set("Content-Type", "application/dns-message")
			msg[0] = 7
			w.Write(msg)
		}, "not an answer to the query: wrong message ID"},
		"question": {func(w http.ResponseWriter, msg []byte) {
			w.Header().Set("Content-Type", "application/dns-message")
			msg[len(msg)-3] ^= 1 // the type
			w.Write(msg)
		}, "question does not match"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := dohServer(t, c.answer)
			h, err := NewHTTPS(srv.URL, HTTPSOptions{})
			if err != nil {
				t.Fatal(err)
			}
			a, err := h.Query(ctx(t), q(t, "www.example.test", dnsmsg.TypeA))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("answer %v, error %v, want %q", a, err, c.want)
			}
		})
	}
}

func TestHTTPSTimeoutAndTransfers(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv, _ := dohServer(t, func(http.ResponseWriter, []byte) { <-release })
	h, err := NewHTTPS(srv.URL, HTTPSOptions{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Query(context.Background(), q(t, "www.example.test", dnsmsg.TypeA)); !errors.Is(err, ErrTimeout) {
		t.Errorf("silent server: %v, want ErrTimeout", err)
	}
	if _, err := h.Query(ctx(t), q(t, "example.test", typeAXFR)); !errors.Is(err, ErrMultiMessage) {
		t.Errorf("AXFR: %v", err)
	}
	err = h.Stream(ctx(t), q(t, "example.test", typeAXFR), func(*dnsmsg.Packet) error { return nil })
	if !errors.Is(err, ErrMultiMessage) {
		t.Errorf("AXFR stream: %v", err)
	}
}

func TestHTTPSURLsAndPolicy(t *testing.T) {
	for _, bad := range []string{"http://127.0.0.1/dns-query", "https://dns.example/dns-query", "https://127.0.0.1:99999/", "nonsense"} {
		if _, err := NewHTTPS(bad, HTTPSOptions{}); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	h, err := NewHTTPS("https://[::1]/q", HTTPSOptions{})
	if err != nil || h.URL() != "https://[::1]:443/q" {
		t.Errorf("%v %v", h, err)
	}
	l, _ := ParseAllowList("127.0.0.0/8")
	SetAllowList(l)
	defer func() { policy.Lock(); policy.loaded = false; policy.Unlock() }()
	if _, err := NewHTTPS("https://192.0.2.1/dns-query", HTTPSOptions{}); !errors.Is(err, ErrRefusedByPolicy) {
		t.Errorf("outside the allow list: %v", err)
	}
}

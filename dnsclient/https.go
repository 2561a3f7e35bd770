package dnsclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ljdns/dnsmsg"
	"ljdns/tlscreds"
)

// HTTPSOptions configures an HTTPS (DNS over HTTPS) transport. Zero values
// give the default in brackets.
type HTTPSOptions struct {
	Timeout        time.Duration // the whole exchange of one query [10 s] (1 ms..600 s)
	ConnectTimeout time.Duration // TCP connect and TLS handshake [5 s] (1 ms..60 s)
	IdleTimeout    time.Duration // an idle connection stays open [30 s]; negative: closed at once
	GET            bool          // send GET ?dns=<base64url> [POST]
	// TLS authenticates the server as for DNS over TLS: nil encrypts
	// without authenticating it (opportunistic, as kdig +https does
	// without +tls-ca).
	TLS *TLSOptions
}

const (
	defaultHTTPSTimeout = 10 * time.Second
	defaultHTTPSIdle    = 30 * time.Second
	dnsMessageType      = "application/dns-message" // RFC 8484 §6
	defaultDoHPath      = "/dns-query"
)

// HTTPS is DNS over HTTPS (RFC 8484): each query is one HTTP/2 request
// (HTTP/1.1 when the server offers nothing else) to the server's URL, by
// POST with the message as body, or by GET with the message in the dns
// parameter (base64url without padding). The query keeps its random ID:
// RFC 8484 §4.1 suggests 0 for the sake of HTTP caches, but kresd 5.6
// answers only one of several identical GET requests in flight, and the
// ID is one more check that the answer is ours. Connections are reused
// and multiplexed by net/http. The URL's host must be an IP address
// inside LJDNS_OUTGOING_ALLOW; no proxy is used and redirects are
// refused.
type HTTPS struct {
	url     *url.URL
	addr    netip.AddrPort
	timeout time.Duration
	get     bool
	client  *http.Client
	tr      *http.Transport
}

// NewHTTPS returns a DNS-over-HTTPS transport. server is a URL
// ("https://192.0.2.1/dns-query", "https://[2001:db8::1]:8443/q") or an
// address ("192.0.2.1", "192.0.2.1#8443"; port 443, path /dns-query).
func NewHTTPS(server string, o HTTPSOptions) (*HTTPS, error) {
	u, ap, err := dohURL(server)
	if err != nil {
		return nil, err
	}
	if err := checkAllowed(ap.Addr()); err != nil {
		return nil, err
	}
	tlsOpts := o.TLS
	if tlsOpts == nil {
		tlsOpts = &TLSOptions{}
	}
	cfg, err := tlsConfig(tlsOpts, ap)
	if err != nil {
		return nil, err
	}
	connect := clampDur(o.ConnectTimeout, defaultConnectTimeout, time.Millisecond, time.Minute)
	idle := clampDur(o.IdleTimeout, defaultHTTPSIdle, 0, time.Hour)
	dialer := &net.Dialer{Timeout: connect}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			dst, err := netip.ParseAddrPort(address)
			if err != nil {
				return nil, fmt.Errorf("dnsclient: https: %q is not an address", address)
			}
			if err := checkAllowed(dst.Addr()); err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, address)
		},
		TLSClientConfig:     cfg,
		TLSHandshakeTimeout: connect,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     idle,
		DisableKeepAlives:   o.IdleTimeout < 0,
	}
	h := &HTTPS{
		url:     u,
		addr:    ap,
		timeout: clampDur(o.Timeout, defaultHTTPSTimeout, time.Millisecond, 600*time.Second),
		get:     o.GET,
		tr:      tr,
		client: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return errors.New("dnsclient: https: redirects are not followed")
			},
		},
	}
	return h, nil
}

// dohURL parses a DoH server given as a URL or an address.
func dohURL(server string) (*url.URL, netip.AddrPort, error) {
	s := strings.TrimSpace(server)
	if !strings.Contains(s, "://") {
		ap, err := ParseAddr(s, 443)
		if err != nil {
			return nil, ap, err
		}
		return &url.URL{Scheme: "https", Host: ap.String(), Path: defaultDoHPath}, ap, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("dnsclient: bad DoH URL %q: %v", server, err)
	}
	if u.Scheme != "https" {
		return nil, netip.AddrPort{}, fmt.Errorf("dnsclient: bad DoH URL %q: the scheme must be https", server)
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("dnsclient: bad DoH URL %q: the host must be an IP address (resolve the name first; give it as the TLS hostname)", server)
	}
	port := uint16(443)
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return nil, netip.AddrPort{}, fmt.Errorf("dnsclient: bad DoH URL %q: bad port", server)
		}
		port = uint16(n)
	}
	ap := netip.AddrPortFrom(a.Unmap(), port)
	u.Host = ap.String()
	if u.Path == "" {
		u.Path = defaultDoHPath
	}
	return u, ap, nil
}

// URL returns the URL queries are sent to.
func (h *HTTPS) URL() string { return h.url.String() }

// Addr returns the server address.
func (h *HTTPS) Addr() netip.AddrPort { return h.addr }

// Close implements Transport: idle connections are closed.
func (h *HTTPS) Close() error {
	h.tr.CloseIdleConnections()
	return nil
}

// Stream implements Transport: one message; AXFR and IXFR are not
// offered over HTTPS.
func (h *HTTPS) Stream(ctx context.Context, q *dnsmsg.Packet, fn func(*dnsmsg.Packet) error) error {
	if isMulti(q) {
		return fmt.Errorf("%w: zone transfers need a stream transport, not https", ErrMultiMessage)
	}
	return streamByQuery(ctx, h, q, fn)
}

// Query implements Transport.
func (h *HTTPS) Query(ctx context.Context, q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
	if isMulti(q) {
		return nil, ErrMultiMessage
	}
	w := append([]byte(nil), q.Bytes()...)
	qi, err := inspectQuery(w)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := h.request(ctx, w)
	if err != nil {
		return nil, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrRefusedByPolicy) {
			return nil, err
		}
		var cv *tls.CertificateVerificationError
		if errors.As(err, &cv) || errors.Is(err, tlscreds.ErrPin) {
			return nil, fmt.Errorf("%w: %s: %v", ErrTLS, h.url, err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: no answer from %s (https) within %v", ErrTimeout, h.url, h.timeout)
		}
		return nil, fmt.Errorf("dnsclient: https %s: %w", h.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 65536))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: no answer from %s (https) within %v", ErrTimeout, h.url, h.timeout)
		}
		return nil, fmt.Errorf("dnsclient: https %s: reading the answer: %w", h.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("dnsclient: https %s: HTTP status %s", h.url, resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != dnsMessageType {
		return nil, fmt.Errorf("dnsclient: https %s: answer of type %q, not %s", h.url, resp.Header.Get("Content-Type"), dnsMessageType)
	}
	if len(body) > 65535 {
		return nil, fmt.Errorf("dnsclient: https %s: answer longer than a DNS message", h.url)
	}
	a, err := matchAnswer(w, qi, body, nil, false, false)
	if err != nil {
		return nil, fmt.Errorf("dnsclient: https %s: not an answer to the query: %v", h.url, err)
	}
	a.SetID(q.ID())
	return a, nil
}

// request builds the HTTP request carrying the wire query w.
func (h *HTTPS) request(ctx context.Context, w []byte) (*http.Request, error) {
	var req *http.Request
	var err error
	if h.get {
		u := *h.url
		v := u.Query()
		v.Set("dns", base64.RawURLEncoding.EncodeToString(w))
		u.RawQuery = v.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, h.url.String(), bytes.NewReader(w))
		if err == nil {
			req.Header.Set("Content-Type", dnsMessageType)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dnsclient: https %s: %w", h.url, err)
	}
	req.Header.Set("Accept", dnsMessageType)
	return req, nil
}

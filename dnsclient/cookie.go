package dnsclient

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"net/netip"
	"sync"
)

// cookieJar keeps the DNS cookies (RFC 7873) of one client towards its
// servers: a client cookie derived from a secret and the server address
// (RFC 7873 §4.1, so a server cannot link our queries to other servers'),
// and the server cookie each server last gave (RFC 9018 format, opaque
// here, 8 to 32 bytes).
type cookieJar struct {
	secret [16]byte
	mu     sync.Mutex
	server map[netip.Addr][]byte // last server cookie; present = server uses cookies
	mine   map[netip.Addr][]byte // client cookies computed so far
}

func newCookieJar() *cookieJar {
	j := &cookieJar{server: map[netip.Addr][]byte{}, mine: map[netip.Addr][]byte{}}
	_, _ = rand.Read(j.secret[:])
	return j
}

// client returns the 8-byte client cookie for server a (a new slice).
func (j *cookieJar) client(a netip.Addr) []byte {
	j.mu.Lock()
	c, ok := j.mine[a]
	j.mu.Unlock()
	if !ok {
		h := hmac.New(sha256.New, j.secret[:])
		b := a.As16()
		h.Write(b[:])
		c = h.Sum(nil)[:8]
		j.mu.Lock()
		j.mine[a] = c
		j.mu.Unlock()
	}
	return append(make([]byte, 0, 40), c...)
}

// option returns the COOKIE option data to send to a (client cookie, then
// the server cookie if we have one) and whether a is known to use cookies.
func (j *cookieJar) option(a netip.Addr) (data []byte, known bool) {
	c := j.client(a)
	j.mu.Lock()
	s, known := j.server[a]
	j.mu.Unlock()
	return append(c, s...), known
}

// learn records the server cookie of an answer from a whose COOKIE option
// is data (already checked to start with our client cookie).
func (j *cookieJar) learn(a netip.Addr, data []byte) {
	if len(data) < 16 || len(data) > 40 {
		return
	}
	j.mu.Lock()
	j.server[a] = append([]byte(nil), data[8:]...)
	j.mu.Unlock()
}

// forget drops what we know of a's cookies (a server that stopped
// answering with cookies).
func (j *cookieJar) forget(a netip.Addr) {
	j.mu.Lock()
	delete(j.server, a)
	j.mu.Unlock()
}

// serverCookie returns the server cookie stored for a (nil if none).
func (j *cookieJar) serverCookie(a netip.Addr) []byte {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.server[a]
}

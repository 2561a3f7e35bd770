package view

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/daemon/mod/policy"
	"ljdns/dnsmsg"
	"ljdns/internal/testnet"
)

func start(t *testing.T, layers ...daemon.Layer) netip.AddrPort {
	t.Helper()
	cfg := &daemon.Config{Layers: layers, Log: daemon.NewLogger(os.Stderr),
		Listen: []daemon.Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:0")}}}
	s, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s.Addrs(daemon.KindDNS)[0]
}

// send sends name A, signed with key when non-nil, and returns the rcode.
func send(t *testing.T, addr netip.AddrPort, name string, key *dnsmsg.TSIG) int {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	w, _ := m.Pack()
	p := dnsmsg.NewPacket(1232)
	copy(p.Buf, w)
	p.Size = len(w)
	if c := p.Parse(false); c != 0 {
		t.Fatal(dnsmsg.StrError(c))
	}
	if key != nil {
		if err := key.Copy().Sign(p, 300); err != nil {
			t.Fatal(err)
		}
	}
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(p.Bytes())
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return r.Rcode
}

func TestViewAddrAndTSIG(t *testing.T) {
	testnet.Isolate(t) // a loopback of its own: port-0 listeners cannot collide
	key, err := dnsmsg.ParseTSIGKey("mykey:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0")
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := dnsmsg.ParseTSIGKey("mykey:hmac-sha256:b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcg==")
	v := New()
	tr := v.TSIG(key, policy.All(policy.DENY))
	v.Addr("10.0.0.0/8", policy.All(policy.DROP), false)
	v.Addr("127.0.0.0/8", policy.Suffix(policy.DROP, [][]byte{policy.Todname("drop.example.")}), false)
	v.Addr("127.0.0.1", policy.All(policy.FLAGS(0, 0)), true) // chain action on the destination
	v.Addr("127.0.0.1", policy.All(policy.REFUSE), true)
	addr := start(t, v)
	if rc := send(t, addr, "drop.example.", nil); rc != dns.RcodeServerFailure {
		t.Errorf("source rule: rcode %d", rc)
	}
	if rc := send(t, addr, "www.example.", nil); rc != dns.RcodeRefused {
		t.Errorf("destination rule: rcode %d", rc)
	}
	if rc := send(t, addr, "drop.example.", key); rc != dns.RcodeNameError || tr.Count.Load() != 1 {
		t.Errorf("TSIG rule (before address rules): rcode %d count %d", rc, tr.Count.Load())
	}
	if rc := send(t, addr, "drop.example.", wrong); rc != dns.RcodeServerFailure || tr.Count.Load() != 1 {
		t.Errorf("a TSIG that does not verify matched: rcode %d count %d", rc, tr.Count.Load())
	}
	if _, err := v.Addr("nonsense", policy.All(policy.DENY), false); err == nil {
		t.Error("bad subnet accepted")
	}
}

// TestViewTSIGName: a rule given the key's name alone (kresd's
// view:tsig('\5mykey', ...)) applies to queries whose TSIG verifies with
// the keyring's key of that name (added after the rule), not to a wrong
// secret, and to nothing while the keyring has no such key (Unkeyed names it).
func TestViewTSIGName(t *testing.T) {
	testnet.Isolate(t)
	key, _ := dnsmsg.ParseTSIGKey("mykey:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0")
	wrong, _ := dnsmsg.ParseTSIGKey("mykey:hmac-sha256:b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcg==")
	v := New()
	r := v.TSIGName([]byte("\x05MyKey\x00"), policy.All(policy.DENY))
	addr := start(t, v)
	if rc := send(t, addr, "www.example.", key); rc != dns.RcodeRefused || r.Count.Load() != 0 {
		t.Errorf("no key in the keyring: rcode %d count %d", rc, r.Count.Load())
	}
	if u := v.Unkeyed(); len(u) != 1 || u[0] != "mykey." {
		t.Errorf("Unkeyed: %q", u)
	}
	if !v.Keys.Add(key) || v.Keys.Add(wrong) {
		t.Error("keyring: a second secret for the same name accepted")
	}
	if rc := send(t, addr, "www.example.", key); rc != dns.RcodeNameError || r.Count.Load() != 1 {
		t.Errorf("verified: rcode %d count %d", rc, r.Count.Load())
	}
	if rc := send(t, addr, "www.example.", wrong); rc == dns.RcodeNameError || r.Count.Load() != 1 {
		t.Errorf("wrong secret matched: rcode %d count %d", rc, r.Count.Load())
	}
	if u := v.Unkeyed(); len(u) != 0 {
		t.Errorf("Unkeyed after Add: %q", u)
	}
}

package anchors_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ljdns/clock"
	"ljdns/dnsclient"
	"ljdns/dnsmsg"
	"ljdns/dnssec"
	"ljdns/internal/testnet"
	"ljdns/resolver"
	"ljdns/resolver/anchors"
)

var _ resolver.AnchorSource = (*anchors.Store)(nil)

// exchange is a plain socket exchanger for the test (UDP, TCP when asked).
func exchange(ctx context.Context, server netip.AddrPort, q *dnsmsg.Packet, tcp bool) (*dnsmsg.Packet, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	network := "udp"
	if tcp {
		network = "tcp"
	}
	c, err := d.DialContext(ctx, network, server.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	wire := q.Bytes()
	if tcp {
		msg := binary.BigEndian.AppendUint16(nil, uint16(len(wire)))
		if _, err := c.Write(append(msg, wire...)); err != nil {
			return nil, err
		}
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return nil, err
		}
		buf := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, buf); err != nil {
			return nil, err
		}
		return dnsclient.MatchAnswer(wire, buf)
	}
	if _, err := c.Write(wire); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		if p, err := dnsclient.MatchAnswer(wire, buf[:n]); err == nil {
			return p, nil
		}
	}
}

// loadKey reads a key of the rig (Base.key's DNSKEY and Base.private).
func loadKey(t *testing.T, k testnet.Key) *dnssec.Key {
	t.Helper()
	i := strings.Index(k.DNSKEY, "DNSKEY")
	if i < 0 {
		t.Fatalf("key %q", k.DNSKEY)
	}
	_, rd, err := dnsmsg.ParseRData(k.DNSKEY[i:])
	if err != nil {
		t.Fatalf("%s: %v", k.DNSKEY, err)
	}
	key := dnssec.NewKey()
	if err := key.SetRData(rd); err != nil {
		t.Fatal(err)
	}
	priv, err := os.ReadFile(k.Base + ".private")
	if err != nil {
		t.Fatal(err)
	}
	if err := key.SetPrivateKey(priv); err != nil {
		t.Fatal(err)
	}
	key.Owner = []byte{0}
	return key
}

// TestHierarchyRoll rolls the root KSK of the rig's loopback hierarchy
// as the resolver sees it: the root's DNSKEY answers are replaced by sets
// this test signs (the rig's keys plus a new KSK, then the old KSK
// revoked), the rest of the tree is the rig's. The resolver tells the
// store each DNSKEY set it fetches; the new key is AddPend, Valid after
// the hold-down (on the fake clock), the old one Revoked and Removed, the
// key file shows each state, and names below validate all along — in the
// end with the new KSK as the only anchor.
func TestHierarchyRoll(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "knotd", "nsd", "ldns-keygen", "ldns-signzone")
	h := testnet.BuildHierarchy(t, testnet.HierarchyOptions{})
	root := h.Zones["."]
	var ksk, zsk *dnssec.Key
	var alg testnet.Algorithm
	for _, k := range root.Keys {
		if k.KSK {
			ksk, alg = loadKey(t, k), k.Alg
		} else {
			zsk = loadKey(t, k)
		}
	}
	if ksk == nil || zsk == nil {
		t.Fatalf("root keys %+v", root.Keys)
	}
	newKSK := loadKey(t, testnet.GenerateKey(t, t.TempDir(), ".", alg, true))
	revokedKSK := *ksk
	revokedKSK.Flags |= 0x0080

	clk := clock.NewFake(time.Now())
	var published []*dnssec.Key // the root's DNSKEY set of the current phase
	var signers []*dnssec.Key
	rootDNSKEY := func(q *dnsmsg.Packet) (*dnsmsg.Packet, error) {
		set := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: []byte{0}}, Type: dnssec.TypeDNSKEY, Class: 1, TTL: 3600}
		for _, k := range published {
			set.Add(k.RData())
		}
		sigs := &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: []byte{0}}, Type: dnssec.TypeRRSIG, Class: 1, TTL: 3600}
		now := clk.Now()
		for _, k := range signers {
			rd, err := k.SignRRSet(set, uint32(now.Add(-time.Hour).Unix()), uint32(now.Add(10*24*time.Hour).Unix()), nil)
			if err != nil {
				return nil, err
			}
			sigs.Add(rd)
		}
		a := dnsmsg.NewPacket(4096)
		qname, qtype, qclass, _ := q.Question()
		a.SetQuestion(qname, qtype, qclass)
		a.SetID(q.ID())
		a.SetFlag("qr", true)
		a.SetFlag("aa", true)
		a.Begin(dnsmsg.SectionAN)
		a.Put(set, false)
		a.Put(sigs, false)
		a.Begin(dnsmsg.SectionAR)
		opt := dnsmsg.NewOPT(0, 1232)
		dnsmsg.SetOPTDo(opt, true)
		a.Put(opt, false)
		return dnsclient.MatchAnswer(q.Bytes(), a.Bytes())
	}
	isRoot := func(s netip.AddrPort) bool {
		for _, r := range h.Roots {
			if r == s {
				return true
			}
		}
		return false
	}
	ex := func(ctx context.Context, server netip.AddrPort, q *dnsmsg.Packet, tcp bool) (*dnsmsg.Packet, error) {
		if name, qt, _, ok := q.Question(); ok && qt == dnssec.TypeDNSKEY && len(name) == 1 && isRoot(server) {
			return rootDNSKEY(q)
		}
		return exchange(ctx, server, q, tcp)
	}

	path := filepath.Join(t.TempDir(), "root.keys")
	if err := os.WriteFile(path, []byte(h.RootDS+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := anchors.New(clk)
	st.SetHoldDown(time.Hour)
	st.SetKeepRemoved(1)
	if err := st.AddFile(path, false); err != nil {
		t.Fatal(err)
	}
	var roots []netip.Addr
	for _, a := range h.Roots {
		roots = append(roots, a.Addr())
	}
	secure := h.Names[testnet.Secure]
	// resolve asks for the secure name with a fresh resolver (empty
	// caches: the root's DNSKEY set is fetched, and observed, again)
	resolve := func(step string) {
		t.Helper()
		r, err := resolver.New(resolver.Config{Roots: []resolver.Hint{{Name: testnet.RootNS, Addrs: roots}}, AllowLocal: true,
			Exchange: ex, Clock: clk, AnchorSource: st, QueryTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		n, _ := dnsmsg.NameFromText(secure)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a, res, err := r.Resolve(ctx, n.Wire, dnsmsg.TypeA, dnsmsg.ClassINET, resolver.QueryFlags{DO: true})
		if a.Rcode() != 0 || !a.Flag("ad") {
			t.Fatalf("%s: %s: rcode %d AD %v (%v, EDE %d %s, %v)\n%s", step, secure, a.Rcode(), a.Flag("ad"), res.Security, res.EDE, res.EDEText, err, a)
		}
	}
	stateOf := func(k *dnssec.Key) string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasSuffix(l, "; KeyTag:"+itoa(k.Tag())) {
				c := l[strings.Index(l, " ; ")+3:]
				return c[:strings.IndexByte(c, ':')]
			}
		}
		return ""
	}
	want := func(step string, old, neu string) {
		t.Helper()
		if o, n := stateOf(ksk), stateOf(newKSK); o != old || n != neu {
			data, _ := os.ReadFile(path)
			t.Fatalf("%s: key file states old %q new %q, want %q %q\n%s", step, o, n, old, neu, data)
		}
	}

	published, signers = []*dnssec.Key{ksk, zsk}, []*dnssec.Key{ksk}
	resolve("before the roll")
	want("before the roll", "Valid", "")

	published, signers = []*dnssec.Key{ksk, newKSK, zsk}, []*dnssec.Key{ksk}
	resolve("new KSK published")
	want("new KSK published", "Valid", "AddPend")

	clk.Advance(30 * time.Minute)
	resolve("in the hold-down")
	want("in the hold-down", "Valid", "AddPend")

	clk.Advance(31 * time.Minute)
	resolve("hold-down passed")
	want("hold-down passed", "Valid", "Valid")

	published, signers = []*dnssec.Key{&revokedKSK, newKSK, zsk}, []*dnssec.Key{&revokedKSK, newKSK}
	resolve("old KSK revoked")
	want("old KSK revoked", "Revoked", "Valid")
	if a := st.Anchors(); len(a) != 1 || !strings.Contains(a[0], dnsmsg.RDataText(dnssec.TypeDNSKEY, newKSK.RData())) {
		t.Fatalf("anchors after the revocation: %v", a)
	}

	published, signers = []*dnssec.Key{newKSK, zsk}, []*dnssec.Key{newKSK}
	clk.Advance(61 * time.Minute)
	resolve("old KSK gone")
	want("old KSK gone", "Removed", "Valid")
}

func itoa(n uint16) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

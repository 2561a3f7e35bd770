package etcdzone

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/internal/etcdtest"
	"ljdns/internal/testnet"
)

const xfrSecret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="

// xfrZone is a zone large enough for a transfer of several messages.
func xfrZone(serial int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster %d 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n", serial)
	b.WriteString("@ MX 10 mail\nmail AAAA 2001:db8::25\ntxt TXT \"hello world\" \"two\"\nalias CNAME www\n*.wild A 192.0.2.9\nsub NS ns.sub\nns.sub A 192.0.2.53\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "h%d A 192.0.%d.%d\n", i, i/250, i%250+1)
	}
	return b.String()
}

// canonical parses master-file text (a zone, or kdig's answer section)
// into sorted record strings, the trailing SOA of a transfer removed.
func canonical(t *testing.T, text string) []string {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(text), "example.test.", "")
	var out []string
	soa := 0
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if rr.Header().Rrtype == dns.TypeSOA {
			if soa++; soa > 1 {
				continue
			}
		}
		out = append(out, strings.ToLower(rr.String()))
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("parse: %v\n%.2000s", err, text)
	}
	slices.Sort(out)
	return out
}

// kdigFrom runs kdig from the source address src.
func kdigFrom(t *testing.T, src string, addr netip.AddrPort, args ...string) string {
	t.Helper()
	all := append([]string{"-b", src, "@" + addr.Addr().String(), "-p", strconv.Itoa(int(addr.Port()))}, args...)
	out, err := exec.Command("kdig", all...).CombinedOutput()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("kdig %s: %v\n%s", strings.Join(all, " "), err, out)
	}
	return string(out)
}

// TestTransfer: AXFR of a zone pushed to a 3-member etcd cluster, read by
// kdig from an etcdzone instance, is the pushed zone record for record
// (several messages); outside the ACL it is refused (NOTAUTH), signed with
// the zone's TSIG key it is allowed from there, a wrong key gets BADKEY;
// after an edit the transfer carries the new serial and record; IXFR is
// answered AXFR-style.
func TestTransfer(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "kdig")
	c := etcdtest.Start(t, 3)
	key, err := dnsmsg.ParseTSIGKey("xfr-key:hmac-sha256:" + xfrSecret)
	if err != nil {
		t.Fatal(err)
	}
	log := daemon.NewLogger(testWriter{t})
	m, err := New(Options{Endpoints: c.Endpoints(), Prefix: "/x/", Log: log,
		ACL: []netip.Prefix{netip.MustParsePrefix("127.0.0.5/32")}, Keys: []*dnsmsg.TSIG{key}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	addr := testnet.FreeAddr(t)
	s, err := daemon.New(&daemon.Config{Listen: []daemon.Listen{{Addr: addr}}, Layers: []daemon.Layer{m}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	text := xfrZone(7)
	if _, err := m.Store().Push(ctx, "example.test", []byte(text), "t"); err != nil {
		t.Fatal(err)
	}
	waitSerial := func(want uint32) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			if z := m.Engine().Zones(); len(z) == 1 && z[0].Serial() == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("serial %d not served", want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitSerial(7)
	want := canonical(t, text)
	axfr := func(src string, args ...string) string {
		return kdigFrom(t, src, addr, append([]string{"example.test.", "AXFR", "+noall", "+answer", "+comments", "+stats"}, args...)...)
	}
	out := axfr("127.0.0.5")
	if got := canonical(t, out); !slices.Equal(got, want) {
		t.Fatalf("AXFR from the ACL: %d records, want %d; first difference %q", len(got), len(want), firstDiff(got, want))
	}
	if !strings.Contains(out, "Received") || strings.Count(out, "\tSOA\t") != 2 {
		t.Fatalf("AXFR output:\n%.1000s", out)
	}
	if n := messages(out); n < 2 {
		t.Errorf("AXFR in %d messages, want several", n)
	}
	// outside the ACL
	if out := axfr("127.0.0.6"); !strings.Contains(out, "NOTAUTH") || strings.Contains(out, "h17.") {
		t.Fatalf("AXFR outside the ACL:\n%.1000s", out)
	}
	// with the key from outside the ACL: allowed; a wrong key: BADKEY
	if got := canonical(t, axfr("127.0.0.6", "-y", "hmac-sha256:xfr-key:"+xfrSecret)); !slices.Equal(got, want) {
		t.Fatalf("TSIG AXFR: %d records, want %d; first difference %q", len(got), len(want), firstDiff(got, want))
	}
	if out := axfr("127.0.0.6", "-y", "hmac-sha256:other-key:"+xfrSecret); !strings.Contains(out, "BADKEY") {
		t.Fatalf("AXFR with an unknown key:\n%.1000s", out)
	}
	// an edit: the next transfer is the new revision
	if _, err := m.Store().Edit(ctx, "example.test", "add new 300 A 192.0.2.77"); err != nil {
		t.Fatal(err)
	}
	waitSerial(8)
	want2 := canonical(t, strings.Replace(text, "hostmaster 7 ", "hostmaster 8 ", 1)+"new 300 A 192.0.2.77\n")
	if got := canonical(t, axfr("127.0.0.5")); !slices.Equal(got, want2) {
		t.Fatalf("AXFR after the edit: %d records, want %d; first difference %q", len(got), len(want2), firstDiff(got, want2))
	}
	// IXFR: AXFR-style
	out = kdigFrom(t, "127.0.0.5", addr, "example.test.", "IXFR=7", "+noall", "+answer")
	if got := canonical(t, out); !slices.Equal(got, want2) {
		t.Fatalf("IXFR=7: %d records, want %d", len(got), len(want2))
	}
	// UDP: NOTIMP, as for zone files
	if out := kdigFrom(t, "127.0.0.5", addr, "example.test.", "AXFR", "+notcp", "+noall", "+comments"); !strings.Contains(out, "NOTIMPL") {
		t.Fatalf("AXFR over UDP:\n%s", out)
	}
}

// messages reads the message count of kdig's +stats line of a transfer
// ("Received N B (M messages, K records)").
func messages(out string) int {
	i := strings.Index(out, " messages, ")
	if i < 0 {
		return 0
	}
	j := strings.LastIndex(out[:i], "(")
	n, _ := strconv.Atoi(out[j+1 : i])
	return n
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + " / " + b[i]
		}
	}
	return "(one is a prefix of the other)"
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

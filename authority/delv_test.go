package authority

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// delvGuard stops a delv that hangs; no test asserts on it.
const delvGuard = time.Minute

// TestOnlineDelv serves online.test signed on line (white lies, then
// compact denial) on the tests' listener, starts a kresd that forwards the
// zone to it with the zone's KSK as trust anchor, and checks each kind of
// answer twice: kresd's own (AD set, rcode) and delv's verdict through that
// kresd (delv validates itself, from the same anchor). Everything runs in
// the rig's loopback-only namespace.
func TestOnlineDelv(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "kresd", "delv")
	dir := t.TempDir()
	ta := filepath.Join(dir, "online.test.key")
	writeTestFile(t, ta, onlineKSK+"\n")
	f := strings.Fields(onlineKSK)
	bindTA := filepath.Join(dir, "anchor.conf")
	writeTestFile(t, bindTA, fmt.Sprintf("trust-anchors {\n\tonline.test. static-key %s %s %s \"%s\";\n};\n",
		f[4], f[5], f[6], strings.Join(f[7:], "")))
	cases := []struct {
		name  string
		qt    uint16
		kind  string
		rcode int // with white lies; compact denial answers NOERROR
	}{
		{"www.online.test.", dns.TypeA, "positive", 0},
		{"alias.online.test.", dns.TypeA, "positive", 0},
		{"x.dn.online.test.", dns.TypeA, "nxdomain", dns.RcodeNameError}, // DNAME, then a name that does not exist
		{"www.online.test.", dns.TypeMX, "nodata", 0},
		{"b.ent.online.test.", dns.TypeA, "nodata", 0},
		{"nx.online.test.", dns.TypeA, "nxdomain", dns.RcodeNameError},
		{"a.b.nx.online.test.", dns.TypeAAAA, "nxdomain", dns.RcodeNameError},
		{"x.wild.online.test.", dns.TypeA, "wildcard", 0},
		{"a.b.wild.online.test.", dns.TypeTXT, "wildcard", 0},
		{"x.wild.online.test.", dns.TypeAAAA, "nodata", 0},
	}
	for _, d := range []Denial{WhiteLies, Compact} {
		t.Run(d.String(), func(t *testing.T) {
			e, _ := onlineEngine(t, SignOptions{Denial: d})
			addr := testnet.FreeAddr(t)
			serve(t, e, addr)
			k := testnet.StartKresd(t, testnet.KresdConfig{TrustAnchorFile: ta,
				Config: fmt.Sprintf("policy.add(policy.suffix(policy.FORWARD({'%s@%d'}), {todname('online.test.')}))\n",
					addr.Addr(), addr.Port())})
			for _, c := range cases {
				qt := dns.TypeToString[c.qt]
				m := new(dns.Msg)
				m.SetQuestion(c.name, c.qt)
				m.SetEdns0(1232, true)
				r, _, err := (&dns.Client{Net: "tcp", Timeout: delvGuard}).Exchange(m, k.Addr().String())
				if err != nil {
					t.Fatalf("%s %s via kresd: %v", c.name, qt, err)
				}
				want := c.rcode
				if d == Compact {
					want = 0
				}
				if r.Rcode != want || !r.AuthenticatedData {
					t.Errorf("%s %s via kresd: %s AD=%v, want %s AD\n%v", c.name, qt, dns.RcodeToString[r.Rcode],
						r.AuthenticatedData, dns.RcodeToString[want], r)
				}
				out, err := delvAsk(k.Addr(), bindTA, c.name, qt)
				if err != nil {
					t.Fatal(err)
				}
				verdict := regexp.MustCompile(`(?m)^; (negative response, )?fully validated$`)
				if !verdict.MatchString(out) || strings.Contains(out, "resolution failed: failure") {
					t.Errorf("%s %s (%s): delv does not validate it:\n%s", c.name, qt, c.kind, out)
				}
			}
		})
	}
}

// delvAsk asks delv, through the resolver at server, for name/qtype,
// validating from the anchor file with online.test as its root; it
// returns delv's output (delv exits non-zero for negative answers).
func delvAsk(server netip.AddrPort, anchor, name, qtype string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), delvGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, "delv", "@"+server.Addr().String(), "-p", strconv.Itoa(int(server.Port())),
		"-a", anchor, "+root=online.test.", "+vtrace", name, qtype)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("delv %s did not end: %w", name, ctx.Err())
	}
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		return "", err
	}
	return string(out), nil
}

func writeTestFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

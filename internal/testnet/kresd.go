package testnet

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// KresdConfig configures a kresd started by StartKresd.
type KresdConfig struct {
	Addrs []netip.AddrPort // default: one FreeAddr
	// Config is Lua appended after the rig's net.listen lines, cache,
	// root hints and trust anchor settings.
	Config string
	// TrustAnchorFile, when set, replaces the built-in root trust anchor
	// (read-only: no RFC 5011 updates are written). Without it kresd has
	// no trust anchor: the real root's key would make every loopback
	// answer bogus.
	TrustAnchorFile string
	// RootHints maps root server names to their addresses. Without them
	// the root hints name one address that nothing serves (127.0.0.1:53),
	// so kresd never has anything but loopback to prime from.
	RootHints map[string][]netip.Addr
}

// StartKresd starts `kresd -n -c <dir>/kresd.conf <dir>` (Dir is its
// rundir and holds its cache) and waits until it answers a query (a
// non-recursive one, so it needs no upstream).
func StartKresd(t testing.TB, c KresdConfig) *Peer {
	t.Helper()
	Need(t, "kresd")
	requireNamespace(t, "kresd")
	addrs := orFree(t, c.Addrs)
	dir := newPeerDir(t, "kresd")
	var b strings.Builder
	for _, a := range addrs {
		fmt.Fprintf(&b, "net.listen(%q, %d, { kind = 'dns' })\n", a.Addr().String(), a.Port())
	}
	fmt.Fprintf(&b, "cache.open(64 * MB, %q)\n", "lmdb://"+filepath.Join(dir, "cache"))
	b.WriteString("modules.load('hints > iterate')\n")
	hints := c.RootHints
	if len(hints) == 0 {
		hints = map[string][]netip.Addr{"root.rig.invalid.": {netip.MustParseAddr("127.0.0.1")}}
	}
	b.WriteString("hints.root({\n")
	names := make([]string, 0, len(hints))
	for n := range hints {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		var as []string
		for _, a := range hints[n] {
			as = append(as, fmt.Sprintf("%q", a.String()))
		}
		fmt.Fprintf(&b, "  [%q] = { %s },\n", dns.Fqdn(n), strings.Join(as, ", "))
	}
	b.WriteString("})\n")
	b.WriteString("trust_anchors.remove('.')\n")
	if c.TrustAnchorFile != "" {
		f, err := filepath.Abs(c.TrustAnchorFile)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "trust_anchors.add_file(%q, true)\n", f)
	}
	if c.Config != "" {
		b.WriteString(strings.TrimRight(c.Config, "\n") + "\n")
	}
	conf := filepath.Join(dir, "kresd.conf")
	writeFile(t, conf, b.String())
	return startPeer(t, "kresd", dir, addrs, nonRecursiveAnswers(addrs), "kresd", "-n", "-c", conf, dir)
}

// nonRecursiveAnswers checks that each address replies (any rcode) to a
// query with RD clear.
func nonRecursiveAnswers(addrs []netip.AddrPort) func() error {
	return func() error {
		c := &dns.Client{Net: "udp", Timeout: 300 * time.Millisecond}
		for _, a := range addrs {
			m := new(dns.Msg)
			m.SetQuestion(".", dns.TypeNS)
			m.RecursionDesired = false
			if _, _, err := c.Exchange(m, a.String()); err != nil {
				return err
			}
		}
		return nil
	}
}

package testnet

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// KnotConfig configures a knotd started by StartKnot.
type KnotConfig struct {
	Addrs []netip.AddrPort // default: one FreeAddr
	Zones []Zone
	// Extra is appended raw to knot.conf before the template and zone
	// sections (e.g. key: and acl: sections the zones refer to).
	Extra string
	// ZoneExtra is added to every zone item (indented by the rig), e.g.
	// "acl: xfr".
	ZoneExtra string
	// TCPOnly makes every UDP answer an empty truncated one (mod-noudp),
	// so only TCP gets data.
	TCPOnly bool
}

// StartKnot starts knotd -c <dir>/knot.conf serving c.Zones from their
// files and waits until it answers the SOA query of its first zone (or any
// query) on every address. knotd sends nothing on its own: no remotes, no
// NOTIFY, no signing.
func StartKnot(t testing.TB, c KnotConfig) *Peer {
	t.Helper()
	Need(t, "knotd")
	requireNamespace(t, "knotd")
	addrs := orFree(t, c.Addrs)
	zones := absZones(t, c.Zones)
	dir := newPeerDir(t, "knotd")
	var b strings.Builder
	b.WriteString("server:\n")
	fmt.Fprintf(&b, "    rundir: %q\n", dir)
	fmt.Fprintf(&b, "    pidfile: %q\n", filepath.Join(dir, "knot.pid"))
	for _, a := range addrs {
		fmt.Fprintf(&b, "    listen: %s@%d\n", a.Addr(), a.Port())
	}
	b.WriteString("    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n")
	b.WriteString("log:\n  - target: stderr\n    any: info\n")
	fmt.Fprintf(&b, "database:\n    storage: %q\n", filepath.Join(dir, "db"))
	if c.Extra != "" {
		b.WriteString(strings.TrimRight(c.Extra, "\n") + "\n")
	}
	b.WriteString("template:\n  - id: default\n")
	fmt.Fprintf(&b, "    storage: %q\n", dir)
	b.WriteString("    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n    semantic-checks: off\n")
	if c.TCPOnly {
		b.WriteString("    global-module: mod-noudp\n")
	}
	if len(zones) > 0 {
		b.WriteString("zone:\n")
	}
	for _, z := range zones {
		fmt.Fprintf(&b, "  - domain: %q\n    file: %q\n", z.Name, z.File)
		for _, l := range strings.Split(strings.TrimSpace(c.ZoneExtra), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
	}
	conf := filepath.Join(dir, "knot.conf")
	writeFile(t, conf, b.String())
	network := "udp"
	if c.TCPOnly {
		network = "tcp"
	}
	return startPeer(t, "knotd", dir, addrs, answers(addrs, probeName(zones), dns.TypeSOA, network), "knotd", "-c", conf)
}

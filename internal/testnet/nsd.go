package testnet

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// NSDConfig configures an nsd started by StartNSD.
type NSDConfig struct {
	Addrs []netip.AddrPort // default: one FreeAddr
	Zones []Zone
	// Extra is appended raw to nsd.conf (e.g. key: clauses, or options
	// under a new server: clause).
	Extra string
	// TCPOnly: over UDP every query gets an empty truncated answer, so only
	// TCP gets data. NSD cannot turn UDP off, so nsd then listens on a port
	// of its own on the same address and the rig fronts it on Addrs: a TCP
	// relay to nsd, and a UDP responder that sets TC.
	TCPOnly bool
}

// StartNSD starts nsd -d -c <dir>/nsd.conf serving c.Zones and waits until
// it answers. nsd sends nothing on its own (no notify:, no request-xfr:).
func StartNSD(t testing.TB, c NSDConfig) *Peer {
	t.Helper()
	Need(t, "nsd")
	requireNamespace(t, "nsd")
	addrs := orFree(t, c.Addrs)
	zones := absZones(t, c.Zones)
	dir := newPeerDir(t, "nsd")
	listen := addrs
	if c.TCPOnly {
		listen = make([]netip.AddrPort, len(addrs))
		for i, a := range addrs {
			listen[i] = netip.AddrPortFrom(a.Addr(), freePortOn(t, a.Addr()))
		}
	}
	var b strings.Builder
	b.WriteString("server:\n")
	for _, a := range listen {
		fmt.Fprintf(&b, "    ip-address: %s@%d\n", a.Addr(), a.Port())
	}
	fmt.Fprintf(&b, "    username: \"\"\n    chroot: \"\"\n    zonesdir: %q\n", dir)
	fmt.Fprintf(&b, "    database: \"\"\n    zonelistfile: %q\n", filepath.Join(dir, "zone.list"))
	fmt.Fprintf(&b, "    xfrdfile: %q\n    xfrdir: %q\n", filepath.Join(dir, "xfrd.state"), dir)
	fmt.Fprintf(&b, "    pidfile: %q\n", filepath.Join(dir, "nsd.pid"))
	fmt.Fprintf(&b, "    logfile: %q\n", filepath.Join(dir, "nsd.log"))
	b.WriteString("    server-count: 1\n    verbosity: 1\n    zonefiles-write: 0\n    reuseport: no\n")
	b.WriteString("remote-control:\n    control-enable: no\n")
	for _, z := range zones {
		fmt.Fprintf(&b, "zone:\n    name: %q\n    zonefile: %q\n", z.Name, z.File)
	}
	if c.Extra != "" {
		b.WriteString(strings.TrimRight(c.Extra, "\n") + "\n")
	}
	conf := filepath.Join(dir, "nsd.conf")
	writeFile(t, conf, b.String())
	p := startPeer(t, "nsd", dir, listen, answers(listen, probeName(zones), dns.TypeSOA, "udp"), "nsd", "-d", "-c", conf)
	if c.TCPOnly {
		for i, a := range addrs {
			p.cleanup = append(p.cleanup, tcpOnlyFront(t, a, listen[i]))
		}
		p.Addrs = addrs
	}
	return p
}

package testnet

import (
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// PDNSConfig configures a pdns_server with the lua2 backend started by
// StartPDNS.
type PDNSConfig struct {
	Addrs     []netip.AddrPort // default: one FreeAddr
	LuaScript string           // path of the lua2 backend script (API 2)
	// Settings are extra pdns.conf keys; they override the rig's
	// (e.g. "cache-ttl": "0", "query-cache-ttl": "0" to turn caches off).
	Settings map[string]string
}

// StartPDNS starts pdns_server --config-dir=<dir> with launch=lua2 and
// waits until it answers. It always runs with security-poll-suffix empty
// (no status query at start), no NOTIFY (primary and secondary off,
// only-notify and also-notify empty), no guardian, no webserver or API,
// and its control socket in Dir.
func StartPDNS(t testing.TB, c PDNSConfig) *Peer {
	t.Helper()
	Need(t, "pdns_server")
	requireNamespace(t, "pdns")
	if c.LuaScript == "" {
		t.Fatal("testnet: StartPDNS needs a LuaScript")
	}
	script, err := filepath.Abs(c.LuaScript)
	if err != nil {
		t.Fatal(err)
	}
	addrs := orFree(t, c.Addrs)
	dir := newPeerDir(t, "pdns")
	var listen []string
	for _, a := range addrs {
		listen = append(listen, a.String())
	}
	set := map[string]string{
		"launch":                      "lua2",
		"lua2-filename":               script,
		"lua2-api":                    "2",
		"security-poll-suffix":        "",
		"guardian":                    "no",
		"daemon":                      "no",
		"socket-dir":                  dir,
		"local-address":               strings.Join(listen, ", "),
		"primary":                     "no",
		"secondary":                   "no",
		"only-notify":                 "",
		"also-notify":                 "",
		"disable-axfr-rectify":        "yes",
		"webserver":                   "no",
		"api":                         "no",
		"loglevel":                    "4",
		"zone-cache-refresh-interval": "0",
	}
	maps.Copy(set, c.Settings)
	set["security-poll-suffix"] = "" // never overridden: pdns would query the internet at start
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(set)) {
		fmt.Fprintf(&b, "%s=%s\n", k, set[k])
	}
	writeFile(t, filepath.Join(dir, "pdns.conf"), b.String())
	return startPeer(t, "pdns", dir, addrs, answers(addrs, ".", dns.TypeSOA, "udp"),
		"pdns_server", "--config-dir="+dir)
}

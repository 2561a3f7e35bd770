package replay

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"ljdns/clock"
	"ljdns/dnsmsg"
)

// Settings is a scenario's CONFIG section mapped the way Deckard's kresd.j2
// maps it to a kresd configuration; a Factory turns it into the resolver
// under test.
type Settings struct {
	Roots      []Hint   // hints.root: stub-name (default k.root-servers.net.) at stub-addr; nil without stub-addr
	Anchors    []string // trust-anchor lines (DS or DNSKEY, zone-file text)
	NTA        []string // domain-insecure: trust_anchors.set_insecure
	NoMinimize bool     // query-minimization: off -> option('NO_MINIMIZE', true)
	AllowLocal bool     // do-not-query-localhost: off -> option('ALLOW_LOCAL', true)
	HardenGlue bool     // harden-glue (default on): mode('normal'), off: mode('permissive')
	Forward    []netip.AddrPort
	NoIPv4     bool // do-ip4: no (net.ipv4 = false)
	NoIPv6     bool // do-ip6: no (net.ipv6 = false)
	// Features holds "features: k = v; k2 = v2" pairs (dns64_prefix,
	// min_ttl, renumber_src, ...), FeatureList the "feature-list: k = v"
	// lines (policy=...), both as Deckard collects them.
	Features    map[string]string
	FeatureList map[string][]string
	Start       time.Time // val-override-date / val-override-timestamp, else the time of the run

	// Filled by the runner for the factory:
	Exchange Exchanger   // answers from the scenario's RANGE entries
	Clock    *clock.Fake // the scenario's fake clock
	Trace    io.Writer   // where a resolver may log its verdicts (nil: quiet)
}

// Hint is a root hint: a name server name and its addresses.
type Hint struct {
	Name  string
	Addrs []netip.Addr
}

// settingsError is a CONFIG value that cannot be used.
func settingsError(c ConfigEntry, format string, args ...any) error {
	return fmt.Errorf("CONFIG %s (line %d): %s", c.Key, c.Line, fmt.Sprintf(format, args...))
}

// parseBool reads a Deckard boolean (yes/no, on/off, true/false, 1/0).
func parseBool(c ConfigEntry) (bool, error) {
	switch strings.ToLower(c.Value) {
	case "yes", "on", "true", "1":
		return true, nil
	case "no", "off", "false", "0":
		return false, nil
	}
	return false, settingsError(c, "not a boolean: %q", c.Value)
}

// MapConfig maps the scenario's CONFIG entries to Settings (Deckard's
// parse_config and kresd.j2); now is the start time when the scenario
// gives none. An unknown key is an error, as in Deckard.
func MapConfig(s *Scenario, now time.Time) (*Settings, error) {
	st := &Settings{HardenGlue: true, Start: now, Features: map[string]string{}, FeatureList: map[string][]string{}}
	stubName := "k.root-servers.net."
	var stubAddr netip.Addr
	for _, c := range s.Config {
		var err error
		switch c.Key {
		case "do-not-query-localhost":
			var on bool
			on, err = parseBool(c)
			st.AllowLocal = !on
		case "harden-glue":
			st.HardenGlue, err = parseBool(c)
		case "query-minimization":
			var on bool
			on, err = parseBool(c)
			st.NoMinimize = !on
		case "do-ip4":
			var on bool
			on, err = parseBool(c)
			st.NoIPv4 = !on
		case "do-ip6":
			var on bool
			on, err = parseBool(c)
			st.NoIPv6 = !on
		case "domain-insecure":
			if _, e := dnsmsg.NameFromText(c.Value); e != nil {
				err = settingsError(c, "bad name %q", c.Value)
			}
			st.NTA = append(st.NTA, c.Value)
		case "trust-anchor":
			if len(strings.Fields(c.Value)) < 3 {
				err = settingsError(c, "not a DS or DNSKEY record: %q", c.Value)
			}
			st.Anchors = append(st.Anchors, c.Value)
		case "val-override-date":
			var t time.Time
			t, err = time.Parse("20060102150405", c.Value)
			if err != nil {
				err = settingsError(c, "not YYYYMMDDHHMMSS: %q", c.Value)
			}
			st.Start = t
		case "val-override-timestamp":
			var sec int64
			if _, e := fmt.Sscanf(c.Value, "%d", &sec); e != nil {
				err = settingsError(c, "not a POSIX time: %q", c.Value)
			}
			st.Start = time.Unix(sec, 0).UTC()
		case "stub-addr":
			stubAddr, err = netip.ParseAddr(c.Value)
			if err != nil {
				err = settingsError(c, "bad address %q", c.Value)
			}
		case "stub-name":
			stubName = c.Value
			if _, e := dnsmsg.NameFromText(stubName); e != nil {
				err = settingsError(c, "bad name %q", c.Value)
			}
		case "forward-addr":
			var a netip.Addr
			a, err = netip.ParseAddr(c.Value)
			if err != nil {
				err = settingsError(c, "bad address %q", c.Value)
			}
			st.Forward = append(st.Forward, netip.AddrPortFrom(a.Unmap(), 53))
		case "force-ipv6":
			// chooses the socket family of stub-addr in Deckard: nothing to do
		case "features":
			for _, item := range strings.Split(c.Value, ";") {
				k, v, _ := strings.Cut(item, "=")
				st.Features[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		case "feature-list":
			k, v, ok := strings.Cut(c.Value, "=")
			if !ok {
				err = settingsError(c, "not 'key=value': %q", c.Value)
			}
			k = strings.TrimSpace(k)
			st.FeatureList[k] = append(st.FeatureList[k], strings.TrimSpace(v))
		default:
			err = settingsError(c, "unsupported CONFIG key")
		}
		if err != nil {
			return nil, err
		}
	}
	if stubAddr.IsValid() {
		st.Roots = []Hint{{Name: stubName, Addrs: []netip.Addr{stubAddr.Unmap()}}}
	}
	return st, nil
}

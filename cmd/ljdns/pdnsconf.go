package main

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"ljdns/daemon"
)

// pdnsConfig is what `ljdns serve --pdns-config pdns.conf` takes from a
// PowerDNS Authoritative configuration: launch=lua2, lua2-filename,
// lua2-api (must be 2), lua2-query-logging, local-address (a list, with
// ports), local-port, cache-ttl=0 (no packet cache), version-string and
// server-id (CHAOS TXT answers).
type pdnsConfig struct {
	Filename     string // absolute
	QueryLogging bool
	PacketCache  bool
	Version      string // version-string
	ServerID     string // server-id
	Listen       []netip.AddrPort
	Ignored      []string // keys read but not applied
}

// pdnsBool reads pdns's booleans (yes/no/true/false/on/off/1/0, empty = yes).
func pdnsBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "yes", "true", "on", "1":
		return true, nil
	case "no", "false", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("bad boolean %q", v)
}

// readPDNSConfig reads path; relative lua2-filename values are taken from
// the working directory, as pdns_server takes them.
func readPDNSConfig(path string) (*pdnsConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	set := map[string]string{}
	line := map[string]int{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		s := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = strings.TrimSpace(s[:i])
		}
		if s == "" {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want key=value: %q", path, n, s)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if strings.HasPrefix(k, "+") { // "+key=value" appends in pdns
			k = k[1:]
			if old := set[k]; old != "" {
				v = old + ", " + v
			}
		}
		set[k], line[k] = v, n
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	at := func(k string) string { return fmt.Sprintf("%s:%d", path, line[k]) }
	c := &pdnsConfig{PacketCache: true}
	launch := strings.Fields(strings.ReplaceAll(set["launch"], ",", " "))
	if len(launch) != 1 || strings.SplitN(launch[0], ":", 2)[0] != "lua2" {
		return nil, fmt.Errorf("%s: launch=%s: only launch=lua2 is served", at("launch"), set["launch"])
	}
	if v, ok := set["lua2-api"]; ok && v != "2" {
		return nil, fmt.Errorf("%s: lua2-api=%s: only API version 2 is supported (use luabackend for version 1)", at("lua2-api"), v)
	}
	c.Filename = set["lua2-filename"]
	if c.Filename == "" {
		c.Filename = "powerdns-luabackend.lua"
	}
	if c.Filename, err = filepath.Abs(c.Filename); err != nil {
		return nil, err
	}
	if v, ok := set["lua2-query-logging"]; ok {
		if c.QueryLogging, err = pdnsBool(v); err != nil {
			return nil, fmt.Errorf("%s: lua2-query-logging: %v", at("lua2-query-logging"), err)
		}
	}
	if v, ok := set["cache-ttl"]; ok && v == "0" {
		c.PacketCache = false
	}
	c.Version, c.ServerID = set["version-string"], set["server-id"]
	port := uint16(53)
	if v, ok := set["local-port"]; ok {
		p, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%s: bad local-port %q", at("local-port"), v)
		}
		port = uint16(p)
	}
	addrs := "0.0.0.0, ::"
	if v, ok := set["local-address"]; ok {
		addrs = v
	}
	for _, a := range strings.FieldsFunc(addrs, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		ap, err := parsePDNSAddr(a, port)
		if err != nil {
			return nil, fmt.Errorf("%s: local-address %q: %v", at("local-address"), a, err)
		}
		c.Listen = append(c.Listen, ap)
	}
	known := map[string]bool{"launch": true, "lua2-filename": true, "lua2-api": true, "lua2-query-logging": true,
		"local-address": true, "local-port": true, "cache-ttl": true, "version-string": true, "server-id": true}
	for k := range set {
		if !known[k] {
			c.Ignored = append(c.Ignored, k)
		}
	}
	sort.Strings(c.Ignored)
	return c, nil
}

// parsePDNSAddr reads "1.2.3.4", "1.2.3.4:5300", "::1", "[::1]:5300".
func parsePDNSAddr(s string, port uint16) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, port), nil
	}
	return netip.ParseAddrPort(s)
}

// luaConfig is the kresd-language configuration equivalent to c: the lua2
// module, nobody recursing (an authoritative server only).
func (c *pdnsConfig) luaConfig() string {
	return fmt.Sprintf("-- generated from a pdns.conf by ljdns serve --pdns-config\n"+
		"net.recursion_allow({'::/128'}) -- nobody recurses\n"+
		"modules = { lua2 = { filename = %q, query_logging = %v, packet_cache = %v, version_string = %q, server_id = %q } }\n",
		c.Filename, c.QueryLogging, c.PacketCache, c.Version, c.ServerID)
}

// applyPDNSConfig turns o into the daemon pdns.conf describes: its
// listeners and a generated configuration file (in a temporary
// directory, removed when the process ends normally).
func applyPDNSConfig(o *serveOptions, path string) (cleanup func(), err error) {
	c, err := readPDNSConfig(path)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ljdns-pdns-")
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte(c.luaConfig()), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	o.Config, o.ConfigExplicit = cfg, true
	for _, ap := range c.Listen {
		o.Listen = append(o.Listen, daemon.Listen{Addr: ap, Kind: daemon.KindDNS})
	}
	if len(c.Ignored) > 0 {
		fmt.Fprintf(os.Stderr, "ljdns serve: %s: settings not applied: %s\n", path, strings.Join(c.Ignored, ", "))
	}
	return func() { os.RemoveAll(dir) }, nil
}

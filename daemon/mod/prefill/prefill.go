// Package prefill reads a local copy of a zone for kresd 5's prefill
// module: kresd downloads the root zone over HTTPS and puts it into its
// cache; ljdns never downloads, it reads a zone file named by path (or a
// file:// URL) and hands its record sets to a sink (the resolver's
// Prefill, which keeps the delegations). The file is read again every
// interval when one is given.
package prefill

import (
	"fmt"
	"os"
	"strings"

	"github.com/miekg/dns"

	"ljdns/dnsmsg"
)

// Path turns kresd's url into a local path: a plain path or a file:// URL;
// any other scheme is refused (no downloads).
func Path(url string) (string, error) {
	switch {
	case strings.HasPrefix(url, "file://"):
		return strings.TrimPrefix(url, "file://"), nil
	case strings.Contains(url, "://"):
		return "", fmt.Errorf("prefill: %q: only local files (a path or file://) are read, nothing is downloaded", url)
	}
	return url, nil
}

// Load reads the zone file at path with origin and returns its record sets
// (records of one owner, type and class merged, the smallest TTL kept).
func Load(origin, path string) ([]*dnsmsg.RRSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("prefill: %v", err)
	}
	defer f.Close()
	zp := dns.NewZoneParser(f, dns.Fqdn(origin), path)
	type key struct {
		owner string
		t, c  uint16
	}
	idx := map[key]*dnsmsg.RRSet{}
	var out []*dnsmsg.RRSet
	buf := make([]byte, 65535)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		n, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			return nil, fmt.Errorf("prefill: %s: %v", path, err)
		}
		rd := append([]byte(nil), buf[n-int(h.Rdlength):n]...)
		k := key{strings.ToLower(h.Name), h.Rrtype, h.Class}
		if s := idx[k]; s != nil {
			s.RData = append(s.RData, rd)
			s.TTL = min(s.TTL, h.Ttl)
			continue
		}
		w, err := dnsmsg.NameFromText(h.Name)
		if err != nil {
			return nil, fmt.Errorf("prefill: %s: %v", path, err)
		}
		s := &dnsmsg.RRSet{Owner: w, Type: h.Rrtype, Class: h.Class, TTL: h.Ttl, RData: [][]byte{rd}}
		idx[k] = s
		out = append(out, s)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("prefill: %v", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("prefill: %s: no records", path)
	}
	return out, nil
}

// Command goresponder is the plain-Go baseline of examples/dnsperf-compare.sh:
// a miekg/dns UDP server answering from a zone file exactly as
// examples/responder.lua does (exact match with AA, CNAME at the name,
// NODATA and NXDOMAIN with the SOA in the authority section, REFUSED
// outside the zone, TC when the answer does not fit).
//
// Usage: goresponder -addr 127.0.0.1:5354 -zone examples/responder.zone
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/miekg/dns"
)

// zone maps lowercase owner names to their records by type.
type zone struct {
	origin string
	soa    dns.RR
	names  map[string]map[uint16][]dns.RR
}

func load(path string) (*zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z := &zone{names: map[string]map[uint16][]dns.RR{}}
	zp := dns.NewZoneParser(f, "", path)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		name := strings.ToLower(h.Name)
		node := z.names[name]
		if node == nil {
			node = map[uint16][]dns.RR{}
			z.names[name] = node
		}
		node[h.Rrtype] = append(node[h.Rrtype], rr)
		if h.Rrtype == dns.TypeSOA {
			z.origin, z.soa = name, rr
		}
	}
	if err := zp.Err(); err != nil {
		return nil, err
	}
	if z.soa == nil {
		return nil, fmt.Errorf("%s: no SOA", path)
	}
	return z, nil
}

// ServeDNS implements the dns.Handler interface.
func (z *zone) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	if len(q.Question) != 1 || q.Response {
		return
	}
	m := new(dns.Msg)
	m.SetReply(q)
	m.RecursionDesired = false
	qn := strings.ToLower(q.Question[0].Name)
	if node, ok := z.names[qn]; ok {
		if rrs := node[q.Question[0].Qtype]; rrs != nil {
			m.Authoritative, m.Answer = true, rrs
		} else if rrs := node[dns.TypeCNAME]; rrs != nil {
			m.Authoritative, m.Answer = true, rrs
		} else {
			m.Authoritative, m.Ns = true, []dns.RR{z.soa}
		}
	} else if !dns.IsSubDomain(z.origin, qn) {
		m.Rcode = dns.RcodeRefused
	} else {
		m.Authoritative, m.Ns, m.Rcode = true, []dns.RR{z.soa}, dns.RcodeNameError
	}
	m.Truncate(1232)
	w.WriteMsg(m)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:5354", "UDP listen address")
	path := flag.String("zone", "examples/responder.zone", "zone file")
	flag.Parse()
	z, err := load(*path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goresponder:", err)
		os.Exit(1)
	}
	srv := &dns.Server{Addr: *addr, Net: "udp", Handler: z}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		srv.Shutdown()
	}()
	srv.NotifyStartedFunc = func() { fmt.Println("listening udp=" + *addr) }
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "goresponder:", err)
		os.Exit(1)
	}
}

package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
)

const hostUsage = `usage: ljdns host [-vdh46D] [-c class] [-t type] [-C confstr] [-f keyfile] hostname
  Queries the DNS for information (kresd-host.lua, a host(1) replacement),
  resolving with the in-process resolver (iteration from the root hints,
  validation with the trust anchors; LJDNS_OUTGOING_ALLOW applies).
  The hostname is looked up for IP4, IP6 and mail; an IP address for PTR.
  Use the -v option to see DNSSEC security information.
    -t type     what type to look for (repeatable).
    -c class    what class to look for, if not class IN.
    -C confstr  additional kresd-style configuration: Lua text, or the path
                of a file to execute (repeatable); e.g. loopback root hints:
                -C "hints.root({['ns.root.'] = {'127.0.0.2'}})"
    -D          DNSSEC enable with default root anchor (the built-in one:
                validation is on unless -C turns it off).
    -f keyfile  read trust anchors from file (kresd's format, read-only).
    -v          be more verbose, shows nodata and security.
    -d          debug, traces the action.
    -4          use ipv4 network, avoid ipv6.
    -6          use ipv6 network, avoid ipv4.
    -h          show this usage help.
`

// runHost is `ljdns host`, kresd-host.lua.
func runHost(args []string) int {
	return hostMain(args, os.Stdout, os.Stderr)
}

func hostMain(args []string, stdout, stderr io.Writer) int {
	var qtypes []uint16
	qclass := uint16(dns.ClassINET)
	var config strings.Builder
	var name string
	verbose, debug := false, false
	for i := 0; i < len(args); i++ {
		a := args[i]
		arg := func() (string, bool) {
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "ljdns host: %s needs an argument\n%s", a, hostUsage)
				return "", false
			}
			i++
			return args[i], true
		}
		switch a {
		case "-h", "--help":
			fmt.Fprint(stdout, hostUsage)
			return 0
		case "-C", "-f", "-t", "-c":
			v, ok := arg()
			if !ok {
				return 1
			}
			switch a {
			case "-C":
				config.WriteString(configChunk(v))
			case "-f":
				fmt.Fprintf(&config, "trust_anchors.add_file(%s, true)\n", luaQuote(v))
			case "-t":
				t, err := parseType(v)
				if err != nil {
					fmt.Fprintf(stderr, "ljdns host: %v\n", err)
					return 1
				}
				qtypes = append(qtypes, t)
			case "-c":
				c, err := parseClass(v)
				if err != nil {
					fmt.Fprintf(stderr, "ljdns host: %v\n", err)
					return 1
				}
				qclass = c
			}
		case "-D":
			// the built-in root anchors validate already
		case "-v":
			verbose = true
		case "-d":
			verbose, debug = true, true
		case "-4":
			config.WriteString("net.ipv6 = false\n")
		case "-6":
			config.WriteString("net.ipv4 = false\n")
		default:
			if strings.HasPrefix(a, "-") {
				fmt.Fprintf(stderr, "ljdns host: unrecognized option '%s'\n%s", a, hostUsage)
				return 1
			}
			name = a
		}
	}
	if name == "" {
		fmt.Fprint(stderr, hostUsage)
		return 1
	}
	if ip := net.ParseIP(name); ip != nil {
		// host(1): an address is looked up for its PTR
		r, _ := dns.ReverseAddr(ip.String())
		name = r
		if len(qtypes) == 0 {
			qtypes = []uint16{dns.TypePTR}
		}
	}
	if len(qtypes) == 0 {
		qtypes = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX}
	}
	qname := dns.Fqdn(name)
	if _, ok := dns.IsDomainName(qname); !ok {
		fmt.Fprintf(stderr, "ljdns host: '%s' is not a domain name\n", name)
		return 1
	}
	return oneShot("host", config.String(), debug, time.Minute, func(s *daemon.Server) int {
		return hostLookups(s, qname, qtypes, qclass, verbose, stdout, stderr)
	})
}

// hostLookups asks each type through the server's request path (as
// resolve() does: an internal request from loopback) and prints the
// answers as host(1) and kresd-host.lua print them.
func hostLookups(s *daemon.Server, qname string, qtypes []uint16, qclass uint16, verbose bool, stdout, stderr io.Writer) int {
	aliases := map[string]bool{}
	for _, qt := range qtypes {
		q := new(dns.Msg)
		q.SetQuestion(qname, qt)
		q.Question[0].Qclass = qclass
		q.AuthenticatedData = true // RFC 6840 §5.7: the verdict, without RRSIGs
		q.SetEdns0(65535, false)
		wire, err := q.Pack()
		if err != nil {
			fmt.Fprintf(stderr, "ljdns host: %v\n", err)
			return 1
		}
		out, _ := s.Exchange(wire, internalClientAddr, internalLocalAddr, daemon.UDP, 0)
		a := new(dns.Msg)
		if out == nil || a.Unpack(out) != nil {
			fmt.Fprintf(stdout, ";; connection timed out; no servers could be reached\n")
			return 1
		}
		if a.Rcode != dns.RcodeSuccess {
			fmt.Fprintf(stdout, "Host %s not found: %d(%s)\n", strings.TrimSuffix(qname, "."), a.Rcode, dns.RcodeToString[a.Rcode])
			return 1
		}
		mark := ""
		if verbose {
			mark = " (insecure)"
			if a.AuthenticatedData {
				mark = " (secure)"
			}
		}
		data := false
		for _, rr := range a.Answer {
			h := rr.Header()
			owner := h.Name
			switch x := rr.(type) {
			case *dns.A:
				fmt.Fprintf(stdout, "%s has address %s%s\n", owner, x.A, mark)
			case *dns.AAAA:
				fmt.Fprintf(stdout, "%s has IPv6 address %s%s\n", owner, x.AAAA, mark)
			case *dns.MX:
				fmt.Fprintf(stdout, "%s mail is handled by %d %s%s\n", owner, x.Preference, x.Mx, mark)
			case *dns.CNAME:
				if !aliases[owner] {
					aliases[owner] = true
					fmt.Fprintf(stdout, "%s is an alias for %s%s\n", owner, x.Target, mark)
				}
				continue
			case *dns.PTR:
				fmt.Fprintf(stdout, "%s domain name pointer %s%s\n", owner, x.Ptr, mark)
			case *dns.RRSIG:
				continue
			default:
				rd := strings.TrimPrefix(rr.String(), h.String())
				fmt.Fprintf(stdout, "%s has %s record %s%s\n", owner, dns.TypeToString[h.Rrtype], rd, mark)
			}
			data = true
		}
		if !data && verbose {
			fmt.Fprintf(stdout, "%s has no %s record%s\n", qname, dns.TypeToString[qt], mark)
		}
	}
	return 0
}

// internalClientAddr is the source of the tools' requests: loopback, which
// the default recursion ACL lets recurse; internalLocalAddr is unknown.
var (
	internalClientAddr = netip.MustParseAddrPort("127.0.0.1:0")
	internalLocalAddr  netip.AddrPort
)

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

const queryUsage = `usage: ljdns query [-t TYPE] [-c CLASS] [-C CONFIG]... [-v] NAME SCRIPT...
Execute a single-shot query with the in-process resolver and run SCRIPT on
the result (kresd-query.lua). SCRIPT sees pkt (the answer, a kres packet),
req (the request) and qry (req:resolved()). The exit status is 0 when SCRIPT
runs without error and its value (as an expression) is neither false nor
nil, or it returns nothing (as statements); 1 otherwise.
Options:
  -t TYPE    query type (default A)
  -c CLASS   query class (default IN)
  -C CONFIG  kresd-style configuration: Lua text, or the path of a file to
             execute (repeatable, in order); e.g. loopback root hints:
             -C "hints.root({['ns.root.'] = {'127.0.0.2'}}) option('ALLOW_LOCAL', true)"
  -v         log the resolver's work (debug)
  -h         this help
Example:
  ljdns query -t SOA cz 'print(kres.dname2str(pkt:qname()))'
  ljdns query nic.cz 'pkt:ad()' && echo signed
`

// queryRequest is a parsed `ljdns query` or `ljdns host` question.
type queryRequest struct {
	name          string
	qtype, qclass uint16
}

// parseType parses a type name (A, MX, TYPE65) or number.
func parseType(s string) (uint16, error) {
	s = strings.ToUpper(s)
	if t, ok := dns.StringToType[s]; ok {
		return t, nil
	}
	if n, err := strconv.ParseUint(strings.TrimPrefix(s, "TYPE"), 10, 16); err == nil {
		return uint16(n), nil
	}
	return 0, fmt.Errorf("unknown type %q", s)
}

// parseClass parses a class name (IN, CH) or number.
func parseClass(s string) (uint16, error) {
	s = strings.ToUpper(s)
	if c, ok := dns.StringToClass[s]; ok {
		return c, nil
	}
	if n, err := strconv.ParseUint(strings.TrimPrefix(s, "CLASS"), 10, 16); err == nil {
		return uint16(n), nil
	}
	return 0, fmt.Errorf("unknown class %q", s)
}

// configChunk turns a -C argument into configuration text: an existing
// file is executed with dofile, anything else is Lua text.
func configChunk(s string) string {
	if st, err := os.Stat(s); err == nil && st.Mode().IsRegular() {
		return "dofile(" + luaQuote(s) + ")\n"
	}
	return s + "\n"
}

// runQuery is `ljdns query`, kresd-query.lua: the configuration, then
// resolve() with a callback evaluating the script.
func runQuery(args []string) int {
	qtype, qclass := uint16(dns.TypeA), uint16(dns.ClassINET)
	var config strings.Builder
	var name string
	var scripts []string
	verbose := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		arg := func() (string, bool) {
			if i+1 >= len(args) {
				fmt.Fprintf(os.Stderr, "ljdns query: %s needs an argument\n%s", a, queryUsage)
				return "", false
			}
			i++
			return args[i], true
		}
		switch {
		case a == "-h" || a == "--help":
			fmt.Print(queryUsage)
			return 0
		case a == "-t" || a == "-c" || a == "-C":
			v, ok := arg()
			if !ok {
				return 1
			}
			var err error
			switch a {
			case "-t":
				qtype, err = parseType(v)
			case "-c":
				qclass, err = parseClass(v)
			default:
				config.WriteString(configChunk(v))
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "ljdns query: %v\n", err)
				return 1
			}
		case a == "-v" || a == "-d":
			verbose = true
		case strings.HasPrefix(a, "-") && len(a) > 1:
			fmt.Fprintf(os.Stderr, "ljdns query: unrecognized option '%s'\n%s", a, queryUsage)
			return 1
		case name == "":
			name = a
		default:
			scripts = append(scripts, a)
		}
	}
	if name == "" || len(scripts) == 0 {
		fmt.Fprint(os.Stderr, queryUsage)
		return 1
	}
	cfg := config.String() + queryCallback(queryRequest{name, qtype, qclass}, strings.Join(scripts, " "))
	return oneShot("query", cfg, verbose, 2*time.Minute, nil)
}

// queryCallback is the Lua that resolves q and runs script on the answer,
// ending the process with quit(status).
func queryCallback(q queryRequest, script string) string {
	return fmt.Sprintf(`
local __script = %s
resolve(%s, %d, %d, {}, function(pkt, req)
	local function done(code) io.stdout:flush() quit(code) end
	if pkt == nil then
		io.stderr:write('ljdns query: no answer\n')
		return done(1)
	end
	pkt = kres.pkt_t(pkt)
	req = kres.request_t(req)
	local env = setmetatable({pkt = pkt, req = req, qry = req:resolved()}, {__index = _G})
	local f, err = loadstring('return ' .. __script, '=script')
	if not f then f, err = loadstring(__script, '=script') end
	if not f then
		print(err)
		return done(1)
	end
	setfenv(f, env)
	local function pack(...) return {n = select('#', ...), ...} end
	local r = pack(pcall(f))
	if not r[1] then
		print(r[2])
		return done(1)
	end
	if r.n == 1 or r[2] then return done(0) end
	return done(1)
end)
`, luaQuote(script), luaQuote(q.name), q.qtype, q.qclass)
}

package testnet

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// perfScript is a lua2 backend answering n0..n999.example.test. A from a
// computed table (the pdns rows of SERVE.md §10).
const perfScript = `
local zone = newDN("example.test.")
local apex = {
  { name = "example.test.", type = "SOA", content = "ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300", ttl = 3600, domain_id = 1, auth = true },
  { name = "example.test.", type = "NS", content = "ns1.example.test.", ttl = 3600, domain_id = 1, auth = true },
}
function dns_lookup(qtype, qname, domain_id, ctx)
  if not qname:isPartOf(zone) then return {} end
  local name, t = tostring(qname):lower(), qtype:getName()
  if name == "example.test." then
    local out = {}
    for _, r in ipairs(apex) do if t == "ANY" or t == r.type then out[#out + 1] = r end end
    return out
  end
  local n = name:match("^n(%d+)%.example%.test%.$")
  if n and tonumber(n) < 1000 and (t == "ANY" or t == "A") then
    return { { name = name, type = "A", content = "192.0.2." .. (tonumber(n) % 250 + 1), ttl = 3600, domain_id = 1, auth = true } }
  end
  return {}
end
`

// TestPeerFigures measures the peers of SERVE.md §10 (dnsperf -c 20 -T 2,
// 1000 names, type A) when LJDNS_TESTNET_FIGURES is set to the seconds per
// run (10 in §10). The figures are logged; nothing is asserted beyond the
// runs working.
func TestPeerFigures(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("LJDNS_TESTNET_FIGURES"))
	if secs <= 0 {
		t.Skip("set LJDNS_TESTNET_FIGURES=<seconds per run> to measure the peers")
	}
	Isolate(t)
	Need(t, "dnsperf", "knotd", "nsd", "kresd", "pdns_server")
	dir := t.TempDir()
	var zone strings.Builder
	zone.WriteString("$ORIGIN example.test.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.2\n")
	var queries []Query
	for i := range 1000 {
		fmt.Fprintf(&zone, "n%d A 192.0.2.%d\n", i, i%250+1)
		queries = append(queries, Query{Name: fmt.Sprintf("n%d.example.test.", i), Type: dns.TypeA})
	}
	zf := filepath.Join(dir, "example.test.zone")
	writeFile(t, zf, zone.String())
	script := filepath.Join(dir, "perf.lua")
	writeFile(t, script, perfScript)
	z := []Zone{{"example.test.", zf}}

	knot := StartKnot(t, KnotConfig{Zones: z})
	nsd := StartNSD(t, NSDConfig{Zones: z})
	pdns := StartPDNS(t, PDNSConfig{LuaScript: script})
	pdnsNoCache := StartPDNS(t, PDNSConfig{LuaScript: script, Settings: map[string]string{"cache-ttl": "0", "query-cache-ttl": "0", "negquery-cache-ttl": "0"}})
	kresd := StartKresd(t, KresdConfig{Config: fmt.Sprintf("policy.add(policy.suffix(policy.STUB({'%s@%d'}), {todname('example.test.')}))\n",
		knot.Addr().Addr(), knot.Addr().Port())})
	run := func(name string, p *Peer, d time.Duration) {
		t.Helper()
		res, err := Perf(PerfConfig{Server: p.Addr(), Queries: queries, Duration: d, Clients: 20, Threads: 2, PID: p.PID()})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d > time.Second {
			t.Logf("%-22s %s", name, res)
		}
	}
	run("warm-up kresd", kresd, time.Second)
	run("warm-up pdns", pdns, time.Second)
	d := time.Duration(secs) * time.Second
	run("knotd", knot, d)
	run("nsd", nsd, d)
	run("kresd (STUB, warm)", kresd, d)
	run("pdns+lua2 caches", pdns, d)
	run("pdns+lua2 no caches", pdnsNoCache, d)
	rc, err := FixedRate(PerfConfig{Server: nsd.Addr(), PID: nsd.PID(), Queries: queries, Duration: d, Clients: 20, Threads: 2},
		knot.Addr(), knot.PID(), 10000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fixed 10k qps, nsd against knotd as control: %v", rc)
}

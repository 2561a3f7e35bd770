package serve

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
)

// lua2Script answers under t.example.: www A (TTL 3600), ecs A with a scope
// mask, and <tag>-count TXT with the number of dns_lookup calls so far.
const lua2Script = `
calls = 0
local soa = { name = "t.example.", type = "SOA", content = "ns.t.example. h.t.example. 1 3600 600 86400 300", ttl = 3600, auth = true }
function dns_lookup(qtype, qname, domain_id, ctx)
  calls = calls + 1
  local name, t = qname:toString():lower(), qtype:getName()
  if name == "t.example." then
    if t == "SOA" or t == "ANY" then return { soa } end
    return {}
  end
  if t == "SOA" then return {} end
  if name == "www.t.example." then
    return { { name = name, type = "A", content = "192.0.2.1", ttl = 3600, auth = true } }
  end
  if name == "ecs.t.example." then
    return { { name = name, type = "A", content = "192.0.2.2", ttl = 3600, auth = true, scopeMask = 24 } }
  end
  if name:match("%-count%.t%.example%.$") then
    return { { name = name, type = "TXT", content = '"' .. calls .. '"', ttl = 0, auth = true } }
  end
  return {}
end
function dns_get_all_domains()
  return { [newDN("t.example.")] = { id = 7 } }
end
`

func lua2Rig(t *testing.T, workers int, opts, script string) *rig {
	t.Helper()
	// a generous budget: -race on a loaded machine stretches the wall time of a call
	cfg := fmt.Sprintf("worker.lua_budget(5000)\nnet.recursion_allow({'::/128'})\nmodules = { lua2 = { filename = LUA2, %s } }\n", opts)
	return newRig(t, workers, "LUA2 = package.path:match('^([^?]*)') .. 'backend.lua'\n"+cfg, map[string]string{"backend": script})
}

// lua2Calls asks the script how many lookups it answered so far.
func lua2Calls(t *testing.T, r *rig, w int, tag string) int {
	t.Helper()
	a := r.query(t, tag+"-count.t.example.", dns.TypeTXT, w)
	if len(a.Answer) != 1 {
		t.Fatalf("count: %v", a)
	}
	n, _ := strconv.Atoi(strings.Join(a.Answer[0].(*dns.TXT).Txt, ""))
	return n
}

// TestLua2PacketCache: the second identical query is answered from the
// packet cache (no script call); not with packet_cache = false, not for
// answers with a scope mask; a reload drops the cache.
func TestLua2PacketCache(t *testing.T) {
	r := lua2Rig(t, 1, "packet_cache = true, query_logging = true", lua2Script)
	for i := 0; i < 2; i++ {
		if a := r.query(t, "www.t.example.", dns.TypeA, 0); len(a.Answer) != 1 || !a.Authoritative || a.RecursionAvailable {
			t.Fatalf("www: %v", a)
		}
	}
	before := lua2Calls(t, r, 0, "a")
	r.query(t, "www.t.example.", dns.TypeA, 0)
	if after := lua2Calls(t, r, 0, "b"); after != before+1 {
		t.Errorf("cached answer called the script: %d -> %d calls\n%s", before, after, r.log.String())
	}
	r.query(t, "ecs.t.example.", dns.TypeA, 0)
	before = lua2Calls(t, r, 0, "c")
	r.query(t, "ecs.t.example.", dns.TypeA, 0)
	if after := lua2Calls(t, r, 0, "d"); after != before+2 {
		t.Errorf("an answer with a scope mask was cached (%d -> %d calls)", before, after)
	}
	cfg, err := r.ld.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	r.query(t, "www.t.example.", dns.TypeA, 0)
	if got := lua2Calls(t, r, 0, "e"); got != 2 {
		t.Errorf("after a reload www came from the old cache (%d calls in the new state, want 2)", got)
	}

	off := lua2Rig(t, 1, "packet_cache = false", lua2Script)
	off.query(t, "www.t.example.", dns.TypeA, 0)
	before = lua2Calls(t, off, 0, "a")
	off.query(t, "www.t.example.", dns.TypeA, 0)
	if after := lua2Calls(t, off, 0, "b"); after != before+2 {
		t.Errorf("packet_cache = false still cached (%d -> %d calls)", before, after)
	}
}

// TestLua2OneQueryAtATime: without concurrent = true the lookups of one
// query never interleave with another query's in the same state (the
// script keeps per-query state in a global, as scripts for pdns do).
// LJDNS_LUA2_TEST_OPTS=", concurrent = true" shows it failing (calls of
// different queries interleave once the state is taken per call).
func TestLua2OneQueryAtATime(t *testing.T) {
	r := lua2Rig(t, 1, "packet_cache = false"+os.Getenv("LJDNS_LUA2_TEST_OPTS"), `
local current
function dns_lookup(qtype, qname, domain_id, ctx)
  local name = qname:toString():lower()
  if qtype:getName() == "SOA" then
    if name == "t.example." then
      return { { name = name, type = "SOA", content = "ns.t.example. h.t.example. 1 3600 600 86400 300", ttl = 60, auth = true } }
    end
    current = name -- the first lookup of each query
    return {}
  end
  if current ~= name then error("interleaved: " .. tostring(current) .. " " .. name) end
  local x = 0
  for i = 1, 200 do x = x + i end
  return { { name = name, type = "A", content = "192.0.2.1", ttl = 60, auth = true } }
end
`)
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				a := r.query(t, fmt.Sprintf("q%d-%d.t.example.", g, i), dns.TypeA, 0)
				if a.Rcode != dns.RcodeSuccess {
					mu.Lock()
					bad++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if bad > 0 {
		t.Errorf("%d of 400 queries failed:\n%s", bad, r.log.String())
	}
}

// TestLua2Types: the AuthLua4 types as scripts use them (DNSName methods
// and comparisons, QType, ComboAddress, pdns tables), checked by the
// script's dns_init: a failed assert fails the load.
func TestLua2Types(t *testing.T) {
	lua2Rig(t, 1, "packet_cache = false", `
function dns_lookup() return {} end
function dns_init()
  local a, b = newDN("www.Example.com"), newDN("example.com.")
  assert(a:toString() == "www.Example.com.", a:toString())
  assert(tostring(b) == "example.com.")
  assert(a:toStringNoDot() == "www.Example.com")
  assert(a:isPartOf(b) and b:isPartOf(b) and not b:isPartOf(a))
  assert(a:countLabels() == 3 and newDN(""):countLabels() == 0 and newDN("."):countLabels() == 0)
  assert(a:wireLength() == 17)
  assert(a:makeRelative(b):toString() == "www.")
  assert(b:makeRelative(b) == newDN(""))
  assert(a:makeRelative(newDN("other.")):empty())
  local ok = pcall(function() return tostring(a:makeRelative(newDN("other."))) end)
  assert(not ok, "printing an unset name raises")
  local l = a:getRawLabels()
  assert(#l == 3 and l[1] == "www" and l[3] == "com")
  assert(#newDN("."):getRawLabels() == 0)
  assert(newDN("example.com") == newDN("EXAMPLE.COM."), "__eq is case-insensitive")
  assert(a ~= b)
  assert(b:canonCompare(a) and not a:canonCompare(b))
  assert(newDN("a.example."):canonCompare(newDN("z.example.")))
  assert(newDN("z.example."):canonCompare(newDN("a.z.example.")))
  assert(a:equal("WWW.example.com"))
  local c = newDN("x.y.z.")
  assert(c:chopOff() and c:toString() == "y.z.")
  assert(c:chopOff() and c:chopOff() and c:toString() == "." and not c:chopOff())
  assert(not pcall(newDN, "a..b"), "bad names raise")
  assert(newDN("a") < newDN("b") or newDN("b") < newDN("a"))
  local q = newQType("a")
  assert(q:getCode() == 1 and q:getName() == "A" and tostring(q) == "A")
  assert(newQType("TYPE65280"):getCode() == 65280 and newQType("nosuch"):getCode() == 0)
  assert(newQType("AAAA") == newQType("aaaa"))
  assert(pdns.AAAA == 28 and pdns.SOA == 6 and pdns.loglevels.Warning == 4 and pdns.NXDOMAIN == 3 and pdns.DROP == -2)
  local ca = newCA("192.0.2.1")
  assert(ca:isIPv4() and not ca:isIPv6() and ca:toString() == "192.0.2.1" and tostring(ca) == "192.0.2.1")
  local ca6 = newCA("[2001:db8::1]:53")
  assert(ca6:isIPv6() and ca6:getPort() == 53 and ca6:toStringWithPort() == "[2001:db8::1]:53")
  assert(#ca:getRaw() == 4)
  pdnslog("types ok", pdns.loglevels.Notice)
  assert(type(pdnsrandom(10)) == "number" and pdnsrandom(10) < 10)
end
`)
}

// TestLua2ConfigErrors: a missing script, a script without dns_lookup, a
// script that fails while loading and an unknown option fail the load.
func TestLua2ConfigErrors(t *testing.T) {
	for _, c := range []struct{ opts, script, want string }{
		{"", "x = 1", "dns_lookup missing"},
		{"", "error('at load')", "at load"},
		{"", "function dns_lookup() return {} end dns_dnssec = true", "dns_get_domain_metadata is missing"},
		{"nosuch = 1", "function dns_lookup() return {} end", "unknown option"},
	} {
		cfg := fmt.Sprintf("net.recursion_allow({'::/128'})\nmodules = { lua2 = { filename = LUA2, %s } }\n", c.opts)
		dir := t.TempDir()
		err := loadErr(t, "LUA2 = '"+dir+"/backend.lua'\nlocal f = io.open(LUA2, 'w') f:write([["+c.script+"]]) f:close()\n"+cfg, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %q: %v, want %q", c.opts, c.script, err, c.want)
		}
	}
}

// BenchmarkLua2 is one A query answered by examples/lua2/perf-zones.lua
// through the request path (no sockets), without the packet cache: one
// dns_lookup call per query.
func BenchmarkLua2(b *testing.B) {
	src, err := os.ReadFile("../../examples/lua2/perf-zones.lua")
	if err != nil {
		b.Fatal(err)
	}
	r := newRigTB(b, 1, "net.recursion_allow({'::/128'})\nLUA2 = package.path:match('^([^?]*)') .. 'backend.lua'\n"+
		"modules = { lua2 = { filename = LUA2, packet_cache = false } }\n", map[string]string{"backend": string(src)})
	var wires [][]byte
	for i := 0; i < 1000; i++ {
		m := new(dns.Msg)
		m.SetQuestion(fmt.Sprintf("n%d.perf.example.", i), dns.TypeA)
		w, _ := m.Pack()
		wires = append(wires, w)
	}
	client, local := netip.MustParseAddrPort("127.0.0.1:5300"), netip.MustParseAddrPort("127.0.0.1:53")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, ok := r.srv.Exchange(wires[i%1000], client, local, daemon.UDP, 0)
		if !ok || len(out) < 40 {
			b.Fatal("no answer")
		}
	}
}

// TestLua2InitDeinit: dns_init runs once per state after the load,
// dns_deinit when a reload retires the state.
func TestLua2InitDeinit(t *testing.T) {
	dir := t.TempDir()
	r := lua2Rig(t, 2, "packet_cache = false", fmt.Sprintf(`
local dir = %q
function dns_lookup() return {} end
function dns_init() local f = io.open(dir .. "/init", "a") f:write("i") f:close() end
function dns_deinit() local f = io.open(dir .. "/deinit", "a") f:write("d") f:close() end
`, dir))
	read := func(n string) string { b, _ := os.ReadFile(dir + "/" + n); return string(b) }
	if got := read("init"); got != "ii" {
		t.Errorf("dns_init ran %q, want once per worker state", got)
	}
	cfg, err := r.ld.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for read("deinit") != "dd" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := read("deinit"); got != "dd" {
		t.Errorf("dns_deinit ran %q after the reload, want once per retired state", got)
	}
	if got := read("init"); got != "iiii" {
		t.Errorf("dns_init ran %q after the reload", got)
	}
}

package sift

import (
	"fmt"
	"strings"
	"testing"
)

// TestLuaSift runs dns.sift from Lua in a plain state (no host), covering
// the Go loop with the parser on its own goroutine: every built-in sink,
// filters in the parser, limits, early stops and errors raised mid-stream.
func TestLuaSift(t *testing.T) {
	var zone strings.Builder
	zone.WriteString("$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1 hm 1 2 3 4 5\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&zone, "h%d 60 IN A 10.0.%d.%d\n IN TXT \"%s\"\n", i, i/256, i%256, strings.Repeat("x", i%300))
	}
	L := newTestState(t)
	L.SetGlobal("ZONE", luaString(zone.String()))
	err := L.DoString(`
local sift = require('dns.sift')
local n = sift.zone(ZONE, sift.table())
assert(#n == 10001, #n)
local set, c = sift.zone(ZONE, sift.set(), sift.makefilter('type=TXT'))
assert(c == 5000 and set.len == 5000)
local ns, c2 = sift.zone(ZONE, sift.nameset(), sift.makefilter('*.example.com'))
assert(c2 == 10001)
local js = sift.zone(ZONE, sift.jsonify(), sift.makefilter({'type=A', 'ttl<=60', 'A(10.0.19.135)'}))
assert(js == '[{ "name": "h4999.example.com.", "type": 1, "TTL": 60, "data": "10.0.19.135" }]', js)
local t = sift.zone(ZONE, sift.table(), sift.makefilter('type=TXT'), 2)
assert(#t == 2, #t)
t = sift.zone(ZONE, sift.table(), nil, 2)
assert(#t == 3, #t) -- SOA, h0 A (2nd), h0 TXT
-- an error in the middle of a Go-driven stream stops the parser cleanly
local ok, err = pcall(sift.zone, ZONE, sift.table(), 'not a filter')
assert(not ok)
for i = 1, 20 do
	local cnt = 0
	sift.zone(ZONE, function (o) if o then cnt = cnt + 1 return cnt < 100 end end, sift.makefilter('type=A'))
	assert(cnt == 100)
end
`)
	if err != nil {
		t.Fatal(err)
	}
}

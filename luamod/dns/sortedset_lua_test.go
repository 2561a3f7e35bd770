package dns_test

import (
	"testing"

	"ljdns/host"
)

// BenchmarkLuaSearcher measures searcher calls from Lua (one Lua->Go
// call per lookup) on a 100k-element set.
func BenchmarkLuaSearcher(b *testing.B) {
	L := host.New(host.Options{})
	defer L.Close()
	if err := L.DoString(`
		local dns, rrparser = require('dns'), require('dns.rrparser')
		local s = rrparser.set()
		for i = 1, 100000 do s:newrr():init(dns.dname.parse('h' .. i .. '.example.'), 1) end
		s:sort()
		keys = {}
		for i = 0, 31 do keys[i + 1] = s:get(i * 3000):owner() end
		find = s:searcher()
		function run(n)
			local j = 1
			for _ = 1, n do
				if not find(keys[j]) then error("not found") end
				j = j + 1
				if j > 32 then j = 1 end
			end
		end`); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := L.DoString("run(" + itoa(b.N) + ")"); err != nil {
		b.Fatal(err)
	}
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}

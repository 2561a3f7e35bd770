-- Micro-benchmarks of the dns module from Lua: ljdns examples/bench_dns.lua [N]
-- Prints ops/s for building+serialising a typical answer (1 question,
-- 3 answers, OPT), parsing it, dname from text and rrset tostring.
if arg[1] == '-h' or arg[1] == '--help' then
	print('Usage: bench_dns.lua [N]   (default 20000 operations per benchmark)')
	os.exit(0)
end
local dns = require('dns')
local N = tonumber(arg and arg[1]) or 20000

local function bench(name, n, fn)
	fn() -- warm up
	local t0 = os.clock()
	for _ = 1, n do fn() end
	local dt = os.clock() - t0
	print(string.format('%-28s %8d ops in %6.3f s  %10.0f ops/s', name, n, dt, n / dt))
end

local qname = dns.dname.parse('www.example.com')
local cname = dns.rrset(qname, dns.type.CNAME):add(dns.rdata.parse('CNAME web.example.com.'), 300)
local a = dns.rrset('\3web\7example\3com', dns.type.A)
a:add(dns.rdata.a('192.0.2.1'), 300):add(dns.rdata.a('192.0.2.2'))
local opt = dns.edns.rrset(0, 1232)
local pkt = dns.packet(1232)
local wire

local function build()
	pkt:clear()
	pkt:qr(true)
	pkt:question(qname, dns.type.A)
	pkt:put(cname)
	pkt:put(a)
	pkt:begin(dns.section.ADDITIONAL)
	pkt:put(opt)
	wire = pkt:towire()
end
build()
assert(#wire > 12)

local msg = dns.packet(#wire, wire)
local function parse()
	msg.size = #wire
	assert(msg:parse())
end

bench('answer build+towire', N, build)
bench('answer parse', N, parse)
bench('dname.parse', N * 5, function() dns.dname.parse('www.example.com.') end)
bench('rrset tostring (2 RDATA)', N, function() a:tostring() end)
bench('packet tostring', N / 4, function() msg:tostring() end)

-- Standalone smoke test of the dns library (API.md §5.6).
-- Run from the repository root: ljdns dns.test.lua
package.path = './?/init.lua;' .. package.path
local dns = require('dns')
local ffi = require('ffi')

local function ok(what)
	print('[ OK ] ' .. what)
	collectgarbage()
end

-- dns.dname
local d = dns.dname('\7example\3com')
assert(tostring(d) == 'example.com.')
local text = dns.dname.parse('example.COM')
assert(text == '\7example\3COM')
assert('\7example\3COM' == text)
assert(text:labels() == 2)
assert(text:lower() == '\7example\3com')
assert(text:within('\3COM'))
assert(not text:within('\2cz'))
assert(d < dns.dname('\1z\7example\3com'))
assert(#d == 13 and d:len() == 13)
ok('dns.dname')

-- dns.rdata
assert(dns.rdata.parse('A') == nil)
assert(dns.rdata.parse('A asdf') == nil)
assert(dns.rdata.parse('NS test') == '\4test\0')
assert(dns.rdata.a('1.2.3.4') == '\1\2\3\4')
assert(#dns.rdata.a('1.2.3.4') == 4)
assert(dns.rdata.mx('10 test') == '\0\10\4test\0')
assert(dns.rdata.txt('abcd') == '\4abcd')
assert(dns.rdata.parse('LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m'))
assert(pcall(dns.rdata.parse, 'SRV 0 5 zzzz'))
ok('dns.rdata')

-- dns.rrset
local rr = dns.rrset('\3com', dns.type.NS)
assert(rr:owner() == '\3com')
assert(rr:class() == dns.class.IN)
assert(rr:type() == dns.type.NS)
assert(rr:count() == 0)
rr:add(dns.rdata.ns('test'), 3600)
assert(rr:count() == 1)
assert(rr:rdata(0) == '\4test\0')
local copy = rr:copy()
assert(copy:owner() == rr:owner())
assert(dns.dname.equals(copy:owner(), rr:owner()))
assert(copy:count() == rr:count())
assert(dns.rrset(nil, 0):owner().bytes == nil)
ok('dns.rrset')

-- dns.edns
local opt = dns.edns.rrset()
assert(dns.edns.version(opt) == 0)
assert(dns.edns.payload(opt) == 4096)
assert(dns.edns.dobit(opt) == false)
assert(dns.edns.dobit(opt, true))
assert(not dns.edns.has(opt, 5))
assert(dns.edns.option(opt, 5, 'rawraw') == true)
assert(dns.edns.option(opt, 5) == 'rawraw')
ok('dns.edns')

-- dns.packet write
local pkt = dns.packet(512)
assert(pkt:opcode() == 0)
assert(pkt:rd(true))
assert(pkt:tc(true))
assert(pkt:qr(false))
assert(pkt:cd(true))
assert(pkt:ad(true))
assert(pkt:aa() == false and pkt:ra() == false)
assert(pkt:id(1234) == 1234)
assert(pkt:question('\4test', dns.type.SOA))
assert(pkt:begin(dns.section.ANSWER))
assert(pkt:put(rr) == true)
assert(pkt:begin(dns.section.ADDITIONAL) == 0)
assert(pkt:put(dns.rrset('\3com', dns.type.A):add(dns.rdata.a('1.2.3.4'), 3600)) == true)
assert(pkt:put(opt) == true)
assert(not pcall(pkt.begin, pkt, dns.section.ANSWER))
print(pkt)
dns.hexdump(pkt:towire())
ok('dns.packet.write')

-- dns.packet copy
local pcopy = pkt:copy()
assert(pcopy ~= pkt)
assert(tostring(pcopy) == tostring(pkt))
ok('dns.packet.copy')

-- dns.packet read
local wire = pkt:towire()
local rd = dns.packet(#wire, wire)
assert(rd:parse() == true)
assert(rd:id() == pkt:id())
assert(rd:qname() == pkt:qname())
assert(rd:qtype() == pkt:qtype())
assert(rd:qclass() == pkt:qclass())
assert(rd:answers(pkt) == false)
assert(rd:qr(true))
assert(rd:answers(pkt) == true)
rd:qr(false)
assert(tostring(rd) == tostring(pkt))
ok('dns.packet.read')

-- dns.packet answer
local answer = dns.packet(512)
assert(pkt:toanswer(answer) == true)
assert(answer:qr() == true)
assert(answer:answers(pkt))
ok('dns.packet.answer')

-- dns.rrparser
local has_rrparser, rrparser = pcall(require, 'dns.rrparser')
if has_rrparser and rrparser.file then
	local zone = 'examples/example.com.zone'
	assert(#rrparser.file(zone) == 10)
	ok('dns.rrparser.file')
	local p = rrparser.new()
	assert(p:parse('foo. IN 3600 NS bar.\n'))
	assert(p.state == rrparser.state.DATA)
	assert(p.error.code == 0)
	ok('dns.rrparser.parse')
	p = rrparser.new()
	assert(p:open(zone))
	local n = 0
	while p:parse() do
		n = n + 1
	end
	assert(n == 10)
	ok('dns.rrparser.stream')
else
	print('[SKIP] dns.rrparser')
end

-- dns.lmdb
local has_lmdb, lmdb = pcall(require, 'dns.lmdb')
local has_S, S = pcall(require, 'syscall')
if has_lmdb and has_S and lmdb.open then
	local dir = '.test_lmdb'
	if S.stat(dir) then S.util.rm(dir) end
	S.mkdir(dir, '0755')
	local env = assert(lmdb.open(dir, 'writemap', 512 * 1024))
	local txn, db = assert(env:open())
	assert(txn:get('key') == nil)
	assert(txn:put('key', 'val') == true)
	assert(not txn:put('key', 'val2', 'nooverwrite'))
	assert(tostring(txn:get('key')) == 'val')
	assert(txn:commit())
	txn = assert(env:txn(db, 'rdonly'))
	assert(not txn:put('key', 'other'))
	assert(tostring(txn:get('key')) == 'val')
	txn:abort()
	txn = assert(env:txn(db))
	local str = 'abcd'
	local key = lmdb.val_t(4, ffi.cast('void *', str))
	assert(txn:put(key, key))
	local out = lmdb.val_t()
	local v = txn:get(key, out)
	assert(v and v.size == key.size and tostring(v) == tostring(key))
	local cur = assert(txn:cursor())
	for k, val in ipairs(cur) do
		assert(k and val)
	end
	cur:close()
	txn:abort()
	env:close()
	S.util.rm(dir)
	ok('dns.lmdb')
else
	print('[SKIP] dns.lmdb')
end
ok('dns')

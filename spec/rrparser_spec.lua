-- dns.rrparser: streaming parser and rrparser.file (API.md §2.3)
local dns = require('dns')
local rrparser = require('dns.rrparser')
local ffi = require('ffi')

local function tmpzone(text)
	local path = os.tmpname()
	local f = assert(io.open(path, 'w'))
	f:write(text)
	f:close()
	return path
end

local zone = [[
$ORIGIN example.com.
$TTL 7200
@	IN	SOA	ns1 hostmaster (
		2024010101 ; serial
		7200 3600 1209600 300 )
	IN	NS	ns1
ns1	86400	IN	A	192.0.2.1
www	IN	300	AAAA	2001:db8::1
mail	6h	MX	10 @
txt	TXT	"hello world" "x"
]]

describe('rrparser', function()
	it('exposes the state table', function()
		assert.same({NONE = 0, DATA = 1, ERROR = 2, INCLUDE = 3, EOF = 4, STOP = 5}, {
			NONE = rrparser.state.NONE, DATA = rrparser.state.DATA, ERROR = rrparser.state.ERROR,
			INCLUDE = rrparser.state.INCLUDE, EOF = rrparser.state.EOF, STOP = rrparser.state.STOP})
	end)

	it('parses one record from text', function()
		local p = rrparser.new()
		assert.equal(rrparser.state.NONE, p.state)
		assert.is_nil(p:current_rr())
		assert.is_true(p:parse('foo. IN 3600 NS bar.\n'))
		assert.equal(rrparser.state.DATA, p.state)
		assert.equal(0, p.error.code)
		assert.equal(0, p.error.counter)
		assert.equal('no error', p:strerr())
		assert.equal(5, p.r_owner_length)
		assert.equal(dns.type.NS, p.r_type)
		assert.equal(dns.class.IN, p.r_class)
		assert.equal(3600, p.r_ttl)
		assert.equal(5, p.r_data_length)
		assert.equal('\3bar\0', ffi.string(p.r_data, p.r_data_length))
		assert.equal('\3foo\0', ffi.string(p.r_owner, p.r_owner_length))
		assert.truthy(dns.todname(p.r_owner, p.r_owner_length) == '\3foo')
		assert.same({owner = '\3foo\0', ttl = 3600, class = 1, type = 2, rdata = '\3bar\0'}, p:current_rr())
		-- end of this input
		assert.is_false(p:parse())
		assert.equal(rrparser.state.EOF, p.state)
	end)

	it('feeds rrset:add from the live buffers', function()
		local p = rrparser.new('example.')
		assert.is_true(p:parse('a 60 A 192.0.2.1\n'))
		local rr = dns.rrset(dns.todname(p.r_owner), p.r_type)
		rr:add(p.r_data, p.r_ttl, p.r_data_length)
		assert.equal(60, rr:ttl())
		assert.equal('\192\0\2\1', rr:rdata(0))
		assert.truthy(rr:owner() == '\1a\7example')
	end)

	it('keeps r_owner and r_data views live across parse()', function()
		local p = rrparser.new('example.')
		assert.is_true(p:parse('a 60 A 192.0.2.1\n'))
		local owner, data = p.r_owner, p.r_data
		assert.is_true(p:parse('bb 60 A 192.0.2.2\n'))
		assert.equal('\2bb\7example\0', ffi.string(owner, p.r_owner_length))
		assert.equal('\192\0\2\2', ffi.string(data, p.r_data_length))
	end)

	it('uses origin, class and default TTL from new()', function()
		local p = rrparser.new('example.org.', dns.class.CH, 42)
		assert.is_true(p:parse('host TXT "x"\n'))
		assert.equal('\4host\7example\3org\0', p:current_rr().owner)
		assert.equal(dns.class.CH, p.r_class)
		assert.equal(42, p.r_ttl)
		-- default origin is the root, default TTL 3600, class IN
		local q = rrparser.new()
		assert.is_true(q:parse('host A 1.2.3.4\n'))
		assert.equal('\4host\0', q:current_rr().owner)
		assert.equal(3600, q.r_ttl)
		assert.equal(dns.class.IN, q.r_class)
		assert.is_nil(rrparser.new('bad..origin'))
	end)

	it('handles directives, continuation, blank owners, units and class/TTL order', function()
		local p = rrparser.new()
		assert.is_true(p:parse(zone))
		local got = {p:current_rr()}
		while p:parse() do
			table.insert(got, p:current_rr())
		end
		assert.equal(rrparser.state.EOF, p.state)
		assert.equal(6, #got)
		local apex = '\7example\3com\0'
		assert.equal(apex, got[1].owner)
		assert.equal(dns.type.SOA, got[1].type)
		assert.equal(7200, got[1].ttl)
		assert.equal(apex, got[2].owner) -- blank owner
		assert.equal('\3ns1' .. apex, got[2].rdata)
		assert.equal(86400, got[3].ttl)
		assert.equal(300, got[4].ttl) -- class before TTL
		assert.equal(dns.type.AAAA, got[4].type)
		assert.equal(6 * 3600, got[5].ttl)
		assert.equal('\0\10' .. apex, got[5].rdata)
		assert.equal('\11hello world\1x', got[6].rdata)
	end)

	it('reports syntax errors with a line number', function()
		local p = rrparser.new()
		local ok, err = p:parse('a. A 1.2.3.4\n\nb. A 1.2.3\n')
		assert.is_true(ok)
		ok, err = p:parse()
		assert.is_false(ok)
		assert.truthy(err:match('line 3'))
		assert.equal(rrparser.state.ERROR, p.state)
		assert.truthy(p.error.code ~= 0)
		assert.equal(1, p.error.counter)
		assert.is_true(p.error.fatal)
		assert.equal(err, p:strerr())
		assert.equal(3, p.line_counter)
		-- the error ends the stream
		assert.is_false(p:parse())
		-- new text clears the error
		assert.is_true(p:parse('c. A 1.2.3.4\n'))
		assert.equal(0, p.error.code)
		for _, bad in ipairs({'a. FOO 1\n', 'a. SOA ( ns h 1 2 3 4 5\n', 'x 12x A 1.2.3.4\n', '  A 1.2.3.4\n', 'a. TXT "x\n'}) do
			local q = rrparser.new()
			local ok2, err2 = q:parse(bad)
			assert.is_false(ok2)
			assert.truthy(err2:match('line 1'))
		end
	end)

	it('parses into the object it is called on', function()
		-- each parser's parse is found in its own method table: called
		-- through another parser, it must still parse the object passed
		local p, q = rrparser.new(), rrparser.new()
		assert.is_true(q.parse(p, 'a. 60 A 1.2.3.4\n'))
		assert.equal(rrparser.state.DATA, p.state)
		assert.equal(60, p.r_ttl)
		assert.equal(rrparser.state.NONE, q.state)
		assert.is_nil(q:current_rr())
		assert.has_error(function() q.parse({}) end)
		assert.has_error(function() q.parse() end)
	end)

	it('resets the input', function()
		local p = rrparser.new()
		p:parse('a. A 1.2.3.4\nb. A 1.2.3.4\n')
		p:reset()
		assert.is_false(p:parse())
		assert.equal(0, p.error.code)
	end)

	it('opens and streams a file, following $INCLUDE', function()
		local inc = tmpzone('inc A 192.0.2.9\n')
		local path = tmpzone(zone .. '$INCLUDE ' .. inc .. '\nlast A 192.0.2.10\n')
		local p = rrparser.new()
		assert.is_true(p:open(path))
		local n, owners = 0, {}
		while p:parse() do
			n = n + 1
			owners[n] = dns.todname(p.r_owner, p.r_owner_length):tostring()
		end
		assert.equal(rrparser.state.EOF, p.state)
		assert.equal(8, n)
		assert.equal('inc.example.com.', owners[7])
		assert.equal('last.example.com.', owners[8])
		-- a new file starts again from the parser's origin and TTL
		local other = tmpzone('x A 192.0.2.11\n')
		assert.is_true(p:open(other))
		assert.is_true(p:parse())
		assert.equal('\1x\0', p:current_rr().owner)
		assert.equal(3600, p.r_ttl)
		os.remove(other)
		local ok, err = p:open('/nonexistent/zone/file')
		assert.is_false(ok)
		assert.truthy(err)
		os.remove(inc)
		os.remove(path)
	end)

	it('keeps r_owner and r_data views live over a long file', function()
		local lines = {}
		for i = 1, 10000 do lines[i] = ('h%d.example. 60 TXT "%d"'):format(i, i) end
		local path = tmpzone(table.concat(lines, '\n') .. '\n')
		local p = rrparser.new()
		assert.is_true(p:open(path))
		assert.is_true(p:parse())
		local owner, data, n = p.r_owner, p.r_data, 1
		repeat
			local want = tostring(n)
			assert.equal(dns.dname.parse(('h%d.example.'):format(n)):towire(), ffi.string(owner, p.r_owner_length))
			assert.equal(string.char(#want) .. want, ffi.string(data, p.r_data_length))
			n = n + 1
		until not p:parse()
		assert.equal(rrparser.state.EOF, p.state)
		assert.equal(10001, n)
		-- the last record stays readable after the end
		assert.equal('\6h10000\7example\0', ffi.string(owner, p.r_owner_length))
		assert.same({owner = '\6h10000\7example\0', ttl = 60, class = 1, type = dns.type.TXT,
			rdata = '\00510000'}, p:current_rr())
		os.remove(path)
	end)

	it('parses whole files with file() and parse_file()', function()
		local path = tmpzone(zone)
		local rrs = rrparser.file(path)
		assert.equal(6, #rrs)
		assert.equal(dns.type.SOA, rrs[1].type)
		assert.same({owner = '\3txt\7example\3com\0', ttl = 7200, class = 1, type = dns.type.TXT,
			rdata = '\11hello world\1x'}, rrs[6])
		assert.same(rrs, rrparser.parse_file(path))
		assert.has_error(function() rrparser.file('/nonexistent/zone/file') end)
		os.remove(path)
		-- a syntax error ends the array and is reported as a second value
		local bad = tmpzone('a. A 1.2.3.4\nb. A x\n')
		local part, err = rrparser.file(bad)
		assert.equal(1, #part)
		assert.truthy(err:match(':2:'))
		os.remove(bad)
	end)

	it('parses the common and the generic types', function()
		local p = rrparser.new('example.')
		local cases = {
			{'a SRV 10 60 5060 sip', dns.type.SRV, '\0\10\0\60\19\196\3sip\7example\0'},
			{'a CAA 0 issue "ca.example.net"', 257, '\0\5issueca.example.net'},
			{'a DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118', dns.type.DS,
				'\236\69\5\1\43\177\131\175\95\34\88\129\121\165\59\10\152\99\31\173\26\41\33\24'},
			{'a TYPE65000 \\# 3 abcdef', 65000, '\171\205\239'},
			{'a HINFO "cpu" "os"', dns.type.HINFO, '\3cpu\2os'},
			{'\\065\\.b PTR x\\.y', dns.type.PTR, '\3x.y\7example\0'},
		}
		for _, c in ipairs(cases) do
			assert.is_true(p:parse(c[1] .. '\n'))
			assert.equal(c[2], p.r_type)
			assert.equal(c[3], ffi.string(p.r_data, p.r_data_length))
		end
		assert.equal('\3A.b\7example\0', p:current_rr().owner)
	end)
end)

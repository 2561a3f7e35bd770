-- dns.sift: filters and sinks, API.md §2.4
local dns = require('dns')
local sift = require('dns.sift')
local lmdb = require('dns.lmdb')
local utils = require('dns.utils')
local S = require('syscall')

local zone = [[
$ORIGIN example.com.
$TTL 3600
@       IN SOA  ns1 hostmaster 2024010101 7200 3600 1209600 300
@       IN NS   ns1
@       IN NS   ns.query.is.
@       IN MX   10 mail
ns1     IN A    192.0.2.1
www  60 IN A    1.2.3.4
www  60 IN A    1.2.3.5
www  60 IN AAAA 2001:db8::1
mail 300 IN A   192.0.2.25
sub     IN NS   ns.hoster.is.
a.sub   IN TXT  "hello world"
MX      IN A    192.0.2.99
]]
local nrecords = 12

local function tmpname(suffix)
	return string.format('%s/.test_sift_%d%s', os.getenv('TMPDIR') or '/tmp', math.random(1, 1e9), suffix or '')
end

local function writefile(path, data)
	local f = assert(io.open(path, 'w'))
	f:write(data)
	f:close()
end

-- owners (text) of the records a filter keeps
local function owners(filter)
	local t = assert(sift.zone(zone, sift.table(), filter))
	local out = {}
	for i, rr in ipairs(t) do out[i] = rr:owner():tostring() .. ' ' .. dns.tostring.type[rr:type()] end
	return out
end

local function count(filter)
	return #owners(filter)
end

describe('sift', function ()
	local zonefile = tmpname('.zone')
	setup(function () writefile(zonefile, zone) end)
	teardown(function () os.remove(zonefile) end)

	describe('zone', function ()
		it('reads zone text and zone files', function ()
			assert.equal(nrecords, #sift.zone(zone, sift.table()))
			assert.equal(nrecords, #sift.zone(zonefile, sift.table()))
			-- a one-line record text that names no file is zone text too
			local t = sift.zone('example. 60 IN A 1.2.3.4', sift.table())
			assert.equal(1, #t)
			assert.equal(60, t[1]:ttl())
		end)
		it('fails on nil and missing files', function ()
			assert.equal(false, sift.zone(nil))
			local ok, err = sift.zone('/nonexistent/zone/file', sift.table())
			assert.equal(false, ok)
			assert.truthy(err)
		end)
		it('ends the stream silently at a parse error', function ()
			local t = sift.zone('a. 60 IN A 1.2.3.4\nb. 60 IN A bogus\nc. 60 IN A 1.2.3.5\n', sift.table())
			assert.equal(1, #t)
		end)
		it('prints by default and returns the count', function ()
			local out = tmpname('.txt')
			local old = io.output()
			io.output(out)
			local n = sift.zone(zone)
			io.output():close()
			io.output(old)
			assert.equal(nrecords, n)
			local f = assert(io.open(out))
			local text = f:read('*a')
			f:close()
			os.remove(out)
			local first = text:match('^[^\n]*\n')
			assert.equal('example.com.        \t3600\tSOA\tns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300\n', first)
			assert.truthy(text:find('www.example.com.    \t60\tA\t1.2.3.4\n', 1, true))
			assert.equal(nrecords, select(2, text:gsub('\n', '')))
		end)
		it('honours limit: the limit-th match plus the rest of its owner', function ()
			local t = sift.zone(zone, sift.table(), nil, 1)
			assert.equal(4, #t) -- SOA, NS, NS, MX of example.com.
			assert.equal(dns.type.MX, t[4]:type())
			t = sift.zone(zone, sift.table(), sift.makefilter('type=A'), 2)
			assert.equal(3, #t) -- ns1 A, www A (2nd match), www A
			assert.equal('www.example.com.', t[3]:owner():tostring())
		end)
		it('calls Lua filters and sinks with (owner, type, ttl, rdata)', function ()
			local seen = {}
			local function sink(owner, rtype, ttl, rdata)
				if owner == nil then return 'done', #seen end
				table.insert(seen, {owner:tostring(), rtype, ttl, rdata})
				return true
			end
			local function filter(owner, rtype, ttl, rdata)
				return rtype == dns.type.A and ttl == 60
			end
			local r1, r2 = sift.zone(zone, sink, filter)
			assert.equal('done', r1)
			assert.equal(2, r2)
			assert.same({'www.example.com.', dns.type.A, 60, '\1\2\3\4'}, seen[1])
			-- a falsy sink result stops the stream
			local n = 0
			sift.zone(zone, function (owner) if owner then n = n + 1 return n < 3 end end)
			assert.equal(3, n)
			-- a compiled filter with a Lua sink, a Lua filter with a built-in sink
			assert.equal(5, select(2, sift.zone(zone, sink, sift.makefilter('ttl=60'))))
			assert.equal(2, #sift.zone(zone, sift.table(), filter))
			assert.has_error(function () sift.zone(zone, 42) end)
		end)
	end)

	describe('domains', function ()
		it('reads one name per line, dropping the last character', function ()
			local path = tmpname('.txt')
			writefile(path, 'example.com.\nwww.example.com.\n\nfoo.bar.\n')
			local t = sift.domains(path, sift.table())
			os.remove(path)
			assert.equal(3, #t)
			assert.equal('www.example.com.', t[2]:owner():tostring())
			assert.equal(dns.type.A, t[2]:type())
			assert.equal(0, t[2]:ttl())
			assert.equal('\0\0\0\0', t[2]:rdata(0))
			local ns, n = sift.domains('a.example.\nb.example.\n', sift.nameset())
			assert.equal(2, n)
			assert.equal(2, ns.len)
			assert.equal(false, sift.domains(nil))
			assert.equal(false, (sift.domains('/nonexistent/list')))
		end)
	end)

	describe('sinks', function ()
		it('table returns single-RDATA rrsets, 1-based', function ()
			local t = sift.zone(zone, sift.table())
			assert.equal(nrecords, #t)
			assert.equal(dns.type.SOA, t[1]:type())
			assert.equal(1, t[1]:count())
			assert.equal(dns.class.IN, t[1]:class())
			assert.equal(3600, t[1]:ttl())
		end)
		it('set returns an unsorted sorted set and the count', function ()
			local set, n = sift.zone(zone, sift.set())
			assert.equal(nrecords, n)
			assert.equal(nrecords, set.len)
			set:sort()
			local rr = set:search(dns.dname.parse('www.example.com'))
			assert.truthy(rr)
			assert.truthy(rr:owner() == dns.dname.parse('www.example.com'))
		end)
		it('nameset returns a sorted name set and the count', function ()
			local ns, n = sift.zone(zone, sift.nameset())
			assert.equal(nrecords, n)
			assert.equal(nrecords, ns.len)
			local found = ns:search(dns.dname.parse('mail.example.com'))
			assert.truthy(found == dns.dname.parse('mail.example.com'))
		end)
		it('jsonify returns a JSON array', function ()
			local js = sift.zone(zone, sift.jsonify(), sift.makefilter({'www.example.com', 'type=A'}))
			assert.equal('[{ "name": "www.example.com.", "type": 1, "TTL": 60, "data": "1.2.3.4" },'
				.. '{ "name": "www.example.com.", "type": 1, "TTL": 60, "data": "1.2.3.5" }]', js)
			js = sift.zone(zone, sift.jsonify(), sift.makefilter('type=TXT'))
			assert.equal('[{ "name": "a.sub.example.com.", "type": 16, "TTL": 3600, "data": "hello world" }]', js)
			assert.equal('[]', sift.zone(zone, sift.jsonify(), sift.makefilter('type=SRV')))
		end)
		it('sinks follow the protocol when called from Lua', function ()
			local sink = sift.table()
			local owner = dns.dname.parse('x.example')
			assert.equal(true, sink(owner, dns.type.A, 30, '\1\1\1\1'))
			assert.equal(true, sink('\1y\7example', dns.type.A, 30, '\1\1\1\2'))
			local t = sink(nil)
			assert.equal(2, #t)
			assert.equal('y.example.', t[2]:owner():tostring())
			assert.has_error(function () sink(nil) end) -- finalised once
			local js = sift.jsonify()
			js(owner, dns.type.A, 5, '\1\2\3\4')
			assert.equal('[{ "name": "x.example.", "type": 1, "TTL": 5, "data": "1.2.3.4" }]', js(nil))
		end)
		it('lmdb stores searchkey -> ttl (little-endian) + rdata', function ()
			local dir = tmpname('')
			assert(S.mkdir(dir, '0755'))
			local env = assert(lmdb.open(dir, 'nosync'))
			local env2, inserted, db = sift.zone(zone, sift.lmdb(env))
			assert.equal(env, env2)
			assert.equal(nrecords, inserted)
			local txn = assert(env:txn(db, 'rdonly'))
			local key = utils.searchkey(dns.dname.parse('mail.example.com'), dns.type.A)
			local val = assert(txn:get(key))
			assert.equal(string.char(44, 1, 0, 0) .. '\192\0\2\25', tostring(val))
			-- later records with the same owner/type overwrite earlier ones
			val = assert(txn:get(utils.searchkey(dns.dname.parse('www.example.com'), dns.type.A)))
			assert.equal(string.char(60, 0, 0, 0) .. '\1\2\3\5', tostring(val))
			assert.equal(10, env:stat().ms_entries)
			txn:abort()
			-- an explicit db and txn
			local w, db2 = assert(env:open('filtered'))
			local e3, n3, d3 = sift.zone(zone, sift.lmdb(env, db2, w), sift.makefilter('type=NS'))
			assert.equal(3, n3)
			assert.equal(db2, d3)
			assert.equal(false, w.valid)
			txn = assert(env:txn(db2, 'rdonly'))
			local cur = txn:cursor()
			local keys = 0
			for k in ipairs(cur) do keys = keys + 1 end
			assert.equal(2, keys) -- example.com/NS (two records, one key) and sub/NS
			txn:abort()
			env:close()
			-- a closed environment gives nil, err
			local sink, err = sift.lmdb(env)
			assert.is_nil(sink)
			assert.truthy(err)
			assert.has_error(function () sift.lmdb('not an env') end)
			S.util.rm(dir)
		end)
	end)

	describe('makefilter', function ()
		it('accepts everything with an empty list', function ()
			assert.equal(nrecords, count(sift.makefilter({})))
		end)
		it('matches owners', function ()
			assert.same({'www.example.com. A', 'www.example.com. A', 'www.example.com. AAAA'},
				owners(sift.makefilter('www.example.com')))
			assert.equal(3, count(sift.makefilter('owner=www.example.com')))
			assert.equal(3, count(sift.makefilter('owner==www.example.com.')))
			assert.equal(nrecords - 3, count(sift.makefilter('owner~=www.example.com')))
			assert.equal(nrecords - 3, count(sift.makefilter('owner!=www.example.com')))
			assert.equal(3, count(sift.makefilter('owner=www.example.com~2'))) -- ~digits suffix ignored
			assert.equal(2, count(sift.makefilter('*.sub.example.com')))
			assert.equal(nrecords, count(sift.makefilter('owner=*.example.com')))
			assert.equal(0, count(sift.makefilter('*.query.is')))
			assert.equal(nrecords - 2, count(sift.makefilter('owner~=*.sub.example.com')))
			assert.equal(0, count(sift.makefilter('nosuch.example.com')))
		end)
		it('matches types, bare type names and TTLs', function ()
			assert.equal(1, count(sift.makefilter('SOA')))
			assert.equal(5, count(sift.makefilter('type=A')))
			assert.equal(nrecords - 1, count(sift.makefilter('type~=SOA')))
			assert.equal(3, count(sift.makefilter('type=NS')))
			assert.equal(3, count(sift.makefilter('ttl<=60')))
			assert.equal(3, count(sift.makefilter('ttl<300')))
			assert.equal(4, count(sift.makefilter('ttl<=300')))
			assert.equal(nrecords - 4, count(sift.makefilter('ttl>300')))
			assert.equal(nrecords - 3, count(sift.makefilter('ttl>=300')))
			assert.equal(1, count(sift.makefilter('ttl=300')))
			assert.equal(nrecords - 1, count(sift.makefilter('ttl!=300')))
			assert.equal(2, count(sift.makefilter({'type=A', 'ttl<=60'})))
			assert.equal(1, count(sift.makefilter({'type=A', 'ttl<=60', 'rdata=A(1.2.3.5)'})))
		end)
		it('searches RDATA patterns in wire form', function ()
			assert.same({'www.example.com. A'}, owners(sift.makefilter('A(1.2.3.4)')))
			assert.same({'example.com. NS'}, owners(sift.makefilter('NS(query.is)')))
			assert.same({'example.com. NS'}, owners(sift.makefilter('rdata=ns(ns.query.is)')))
			assert.same({'sub.example.com. NS'}, owners(sift.makefilter('NS(hoster.is)')))
			assert.equal(2, count(sift.makefilter('rdata~=NS(hoster.is)'))) -- NS records only
			assert.equal(2, count(sift.makefilter('rdata=\\x02is'))) -- raw \xHH pattern
			assert.equal(2, count(sift.makefilter('rdata=\x02is')))
			assert.equal(nrecords - 2, count(sift.makefilter('rdata~=\\x02is')))
			assert.equal(1, count(sift.makefilter('rdata=hello')))
			-- [quirk] an owner that starts with a type name is an RDATA pattern
			assert.equal(0, count(sift.makefilter('MX.example.com')))
			assert.equal(1, count(sift.makefilter('owner=MX.example.com')))
		end)
		it('is a callable filter', function ()
			local f = sift.makefilter({'*.example.com', 'type=A'})
			assert.equal(true, f(dns.dname.parse('www.example.com'), dns.type.A, 60, '\1\2\3\4'))
			assert.equal(false, f(dns.dname.parse('www.example.net'), dns.type.A, 60, '\1\2\3\4'))
			assert.equal(false, f('\3www\7example\3com', dns.type.AAAA, 60, ''))
		end)
		it('reports unknown filters and invalid rdata', function ()
			local f, err = sift.makefilter('foo=bar')
			assert.is_nil(f)
			assert.equal('unknown filter "foo=bar"', err)
			f, err = sift.makefilter({'SOA', 'ttl<=abc'})
			assert.is_nil(f)
			assert.equal('unknown filter "ttl<=abc"', err)
			f, err = sift.makefilter('type=BOGUS')
			assert.is_nil(f)
			assert.equal('unknown filter "type=BOGUS"', err)
			f, err = sift.makefilter('owner<example.com')
			assert.is_nil(f)
			assert.truthy(err:match('unknown filter'))
			f, err = sift.makefilter('ttl=<>5')
			assert.is_nil(f)
			f, err = sift.makefilter({'SOA', 42})
			assert.is_nil(f)
			assert.equal('unknown filter "42"', err)
			f, err = sift.makefilter('')
			assert.is_nil(f)
			assert.equal('unknown filter ""', err)
			assert.has_error(function () sift.makefilter(true) end)
			local ok, e = pcall(sift.makefilter, 'A(1.2.3)')
			assert.falsy(ok)
			assert.truthy(tostring(e):find('invalid rdata: "A(1.2.3)"', 1, true))
			ok, e = pcall(sift.makefilter, 'rdata=BOGUSTYPE(x)')
			assert.falsy(ok)
			assert.truthy(tostring(e):find('invalid rdata', 1, true))
		end)
	end)
end)

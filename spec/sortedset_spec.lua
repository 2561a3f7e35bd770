-- dns.rrparser sorted RR-set array and name set (API.md §2.3)
local dns = require('dns')
local rrparser = require('dns.rrparser')

local N = dns.dname.parse

-- canonical order example of API.md §1.6
local ordered = {'example.', 'a.example.', 'yljkjljk.a.example.', 'z.a.example.',
	'zabc.a.example.', 'z.example.', '\001.z.example.', '*.z.example.', '\200.z.example.'}

local function filled_set()
	local s = rrparser.set()
	for i = #ordered, 1, -1 do
		s:newrr():init(N(ordered[i]), dns.type.NS):add(dns.rdata.ns('ns' .. i), 60)
		s:newrr():init(N(ordered[i]), dns.type.A):add(dns.rdata.a('192.0.2.' .. i), 60)
	end
	return s
end

describe('sortedset', function()
	it('starts empty', function()
		local s = rrparser.set()
		assert.equal(0, s.len)
		assert.equal(0, #s)
		assert.is_nil(s:get(0))
		assert.is_nil(s.at[0])
		assert.is_nil(s:search(N('example.')))
		assert.is_nil(s:searcher()(N('example.')))
		s:sort() -- harmless
		assert.equal(0, #s)
	end)

	it('appends with newrr and reads back 0-based', function()
		local s = rrparser.set()
		local rr = s:newrr()
		assert.equal(1, s.len)
		assert.equal(dns.class.IN, rr:class())
		rr:init(N('x.example.'), dns.type.TXT)
		rr:add(dns.rdata.txt('hi'), 30)
		assert.equal(rr, s.at[0])
		assert.equal(rr, s:get(0))
		assert.truthy(s.at[0]:owner() == N('x.example.'))
		assert.equal(1, #s.at)
		assert.is_nil(s:get(1))
		assert.is_nil(s:get(nil))
		assert.is_nil(s:get(-1))
		assert.has_error(function() s.at[0] = rr end, 'rrparser.set: at[] is read-only, use newrr()')
	end)

	it('sorts by owner in canonical order, then type', function()
		local s = filled_set()
		assert.equal(s, s:sort())
		assert.equal(2 * #ordered, #s)
		for i = 1, #ordered do
			local a, ns = s.at[2 * (i - 1)], s.at[2 * (i - 1) + 1]
			assert.truthy(a:owner() == N(ordered[i]))
			assert.truthy(ns:owner() == N(ordered[i]))
			assert.equal(dns.type.A, a:type())
			assert.equal(dns.type.NS, ns:type())
		end
		for i = 0, #s - 2 do
			assert.is_true(s.at[i] < s.at[i + 1])
		end
	end)

	it('sorts stably', function()
		local s = rrparser.set()
		for i = 1, 20 do
			s:newrr():init(N('same.'), dns.type.A):add('\1\2\3\4', i)
		end
		s:sort()
		for i = 0, 19 do
			assert.equal(i + 1, s:get(i):ttl())
		end
	end)

	it('keeps each element object across sort()', function()
		local s = filled_set()
		local before = {}
		for i = 0, #s - 1 do before[i] = s:get(i) end
		s:sort()
		local same = 0
		for i = 0, #s - 1 do
			for j = 0, #s - 1 do
				if rawequal(s:get(i), before[j]) then same = same + 1 end
			end
		end
		assert.equal(#s, same)
	end)

	it('truncates fractional indices in get()', function()
		local s = filled_set():sort()
		assert.equal(s.at[1], s:get(1.5))
		assert.equal(s.at[2], s:get(2.99))
		assert.is_nil(s:get(#s))
	end)

	it('searches equal owners, else the greatest below', function()
		local s = filled_set():sort()
		local find = s:searcher()
		for _, name in ipairs(ordered) do
			local rr = s:search(N(name))
			assert.truthy(rr)
			assert.is_true(N(name):equals(rr:owner()))
			assert.is_true(N(name):equals(find(N(name)):owner()))
		end
		-- missing names give the greatest element below
		assert.truthy(s:search(N('b.example.')):owner() == N('zabc.a.example.'))
		assert.truthy(find(N('zz.example.')):owner() == N('\200.z.example.'))
		assert.truthy(s:search(N('net.')):owner() == N('\200.z.example.'))
		-- below everything: nil
		assert.is_nil(s:search(N('com.')))
		assert.is_nil(find(N('.')))
		-- wire strings work as names; case is folded
		assert.truthy(s:search('\1a\7example'):owner() == N('a.example.'))
		assert.truthy(s:search(N('A.EXAMPLE.')):owner() == N('a.example.'))
		-- the first element of the owner, the same object as at[]
		assert.equal(s.at[0], find(N('example.')))
	end)

	it('rejects bad search arguments', function()
		local s = filled_set():sort()
		assert.has_error(function() s:search({}) end)
		assert.has_error(function() s:searcher()(42) end)
		assert.has_error(function() s:search() end)
	end)
end)

describe('nameset', function()
	local function filled()
		local ns = rrparser.nameset()
		for i = #ordered, 1, -1 do
			assert.equal(ns, ns:put(N(ordered[i])))
		end
		return ns
	end

	it('collects names before sorting', function()
		local ns = filled()
		assert.equal(#ordered, ns.len)
		assert.truthy(ns.at[1] == N(ordered[#ordered])) -- 1-based put order
		assert.is_nil(ns.at[0])
		ns:put('\3xyz') -- wire strings are accepted
		assert.equal(#ordered + 1, ns.len)
		assert.has_error(function() ns.at[1] = N('a.example.') end, 'rrparser.nameset: at[] is read-only, use put()')
	end)

	it('raises before sort()', function()
		local ns = filled()
		assert.has_error(function() ns:get(0) end, 'nameset must be sorted first')
		assert.has_error(function() ns:search(N('a.example.')) end)
		assert.has_error(function() ns:searcher() end)
		local ok, err = pcall(ns.search, ns, N('x.'))
		assert.is_false(ok)
		assert.truthy(tostring(err):match('nameset must be sorted first'))
	end)

	it('sorts, gets and searches', function()
		local ns = filled()
		assert.equal(ns, ns:sort())
		for i, name in ipairs(ordered) do
			assert.truthy(ns:get(i - 1) == N(name))
			assert.truthy(ns.at[i - 1] == N(name))
		end
		assert.truthy(ns:get(1.7) == N(ordered[2]))
		assert.is_nil(ns:get(#ordered))
		local find = ns:searcher()
		assert.truthy(ns:search(N('z.a.example.')) == N('z.a.example.'))
		assert.truthy(find(N('b.example.')) == N('zabc.a.example.'))
		assert.is_nil(find(N('com.')))
		assert.is_nil(ns:search(N('aaa.')))
		assert.equal(ns:get(3), find(N(ordered[4])))
	end)

	it('does not index names put after sort() (upstream quirk)', function()
		local ns = filled():sort()
		ns:sort() -- idempotent
		ns:put(N('zzz.example.'))
		assert.equal(#ordered + 1, ns.len)
		assert.truthy(ns:search(N('zzz.example.')) ~= N('zzz.example.'))
	end)
end)

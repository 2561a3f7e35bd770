#!/usr/bin/env ljdns
-- bench_sortedset.lua: zone parsing through dns.rrparser, and the sorted
-- RR-set array / name set (load, sort, search) on one zone file.
--
-- Usage: ljdns examples/bench_sortedset.lua <zonefile> [stage...]
--   stages: parse (rrparser streaming loop in Lua), set (sorted set),
--           nameset (name set); default: all three.
--   Make a zone with: python3 ../shared/bench/genzone.py --records 1000000 -o /tmp/zone1m.txt
local dns = require('dns')
local rrparser = require('dns.rrparser')

local path = arg[1]
if not path or path == '-h' or path == '--help' then
	print('Usage: bench_sortedset.lua <zonefile> [parse|set|nameset]...')
	os.exit(path and 0 or 1)
end
local stages = {}
for i = 2, #arg do stages[arg[i]] = true end
if not next(stages) then stages = {parse = true, set = true, nameset = true} end

local N = 100001 -- searcher calls per round
-- CPU time of the process (user+system, from /proc; the machine may be
-- shared, so CPU time is reported next to wall time). os.clock is wall
-- time in gopher-lua.
local function clock()
	local f = io.open('/proc/self/stat')
	if not f then return os.clock() end
	local st = f:read('*a')
	f:close()
	local fields = {}
	for x in st:gsub('^.*%) ', ''):gmatch('%S+') do fields[#fields + 1] = x end
	-- after "pid (comm) ", utime and stime are fields 12 and 13 (clock ticks, 100 Hz)
	return (tonumber(fields[12]) + tonumber(fields[13])) / 100
end
local now = os.time
local ok, nb = pcall(require, 'dns.nbio')
if ok and nb.now then now = nb.now end

local function timed(fn)
	local w, c = now(), clock()
	local a, b = fn()
	return (now() - w) * 1000, (clock() - c) * 1000, a, b
end

local function report(what, wall, cpu, extra)
	print(string.format('%-16s %8.1f ms wall %8.1f ms cpu%s', what, wall, cpu, extra or ''))
end

-- about 32 evenly spaced elements (fractional step, as bench.lua does)
local function sample(set, transform)
	local keys, len = {}, set.len
	local step = math.max(len / 32, 1)
	local i = 0
	while i < len do
		local e = set:get(i)
		table.insert(keys, transform and transform(e) or e)
		i = i + step
	end
	return keys
end

local function searches(keys, find, check)
	local nk = #keys
	local w, c = timed(function()
		local j = 1
		for _ = 1, N do
			if not find(keys[j]) then error('search failed') end
			j = j + 1
			if j > nk then j = 1 end
		end
	end)
	for _, key in ipairs(keys) do assert(check(key, find(key))) end
	return w, c
end

local function peak_rss()
	local f = io.open('/proc/self/status')
	if not f then return '?' end
	local s = f:read('*a')
	f:close()
	return (s:match('VmHWM:%s*(%d+ kB)') or '?')
end

if stages.parse then
	print('bench: rrparser')
	local p = rrparser.new()
	assert(p:open(path))
	local w, c, n = timed(function()
		local n = 0
		while p:parse() do n = n + 1 end
		return n
	end)
	assert(p.state == rrparser.state.EOF, p:strerr())
	report('parse', w, c, string.format('  (%d rrs, %.0f rrs/s cpu)', n, n / c * 1000))
end

local function load_set()
	local okk, sift = pcall(require, 'dns.sift')
	if okk then
		return sift.zone(path, sift.set())
	end
	-- fallback: streaming parser + newrr in Lua
	local s, p, n = rrparser.set(), rrparser.new(), 0
	assert(p:open(path))
	local last
	while p:parse() do
		local owner = dns.todname(p.r_owner, p.r_owner_length)
		if not (last and last:type() == p.r_type and last:owner():equals(owner)) then
			last = s:newrr():init(owner, p.r_type, p.r_class)
		end
		last:add(p.r_data, p.r_ttl, p.r_data_length)
		n = n + 1
	end
	return s, n
end

if stages.set then
	print('bench: sortedset')
	local w, c, set, n = timed(load_set)
	report('load', w, c, string.format('  (%s rrs, %d sets)', tostring(n), set.len))
	w, c = timed(function() set:sort() end)
	report('sort', w, c)
	local keys = sample(set, dns.rrset.owner)
	local find = set:searcher()
	for round = 1, 3 do
		w, c = searches(keys, find, function(k, rr) return k:equals(rr:owner()) end)
		report('search #' .. round, w, c, string.format('  (%.0f ops/s wall, %.0f ops/s cpu)', N / w * 1000, N / c * 1000))
	end
end

if stages.nameset then
	print('bench: nameset')
	local okk, sift = pcall(require, 'dns.sift')
	local w, c, ns, n
	if okk then
		w, c, ns, n = timed(function() return sift.zone(path, sift.nameset()) end)
	else
		w, c, ns, n = timed(function()
			local s, p, cnt = rrparser.nameset(), rrparser.new(), 0
			assert(p:open(path))
			while p:parse() do s:put(dns.todname(p.r_owner, p.r_owner_length)); cnt = cnt + 1 end
			s:sort()
			return s, cnt
		end)
	end
	report('load+sort', w, c, string.format('  (%s names)', tostring(ns.len)))
	local keys = sample(ns)
	local find = ns:searcher()
	for round = 1, 3 do
		w, c = searches(keys, find, function(k, name) return k:equals(name) end)
		report('search #' .. round, w, c, string.format('  (%.0f ops/s wall, %.0f ops/s cpu)', N / w * 1000, N / c * 1000))
	end
end

print('peak RSS: ' .. peak_rss())

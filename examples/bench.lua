#!/usr/bin/env ljdns
-- bench.lua: load a zone into the in-memory and on-disk backends and
-- measure loading, sorting and lookups.
--
-- Usage: ljdns examples/bench.lua <zonefile> [domains]
--   With "domains" the input is a list of names, one per line (each line
--   ending with the trailing dot), and only the name set is measured.
local dns = require('dns')
local sift = require('dns.sift')
local nb = require('dns.nbio')
local S = require('syscall')

local usage = [[
Usage: bench.lua <zonefile> [domains]
  Loads the zone into a name set, a sorted RR-set array and the LMDB
  (bbolt) store, sorts and searches them, then signs and verifies RR sets.
  With "domains" the input is a list of names, one per line, and only the
  name set is measured. BENCH_STAGES=nameset,sortedset,lmdb,signer picks
  stages.
]]
local zone, domains = arg[1], arg[2]
if zone == '-h' or zone == '--help' then
	io.write(usage)
	os.exit(0)
end
if not zone then
	io.stderr:write(usage)
	os.exit(1)
end

-- die prints one line and exits 1.
local function die(fmt, ...)
	io.stderr:write('bench: ', string.format(fmt, ...), '\n')
	os.exit(1)
end

-- The loaders stop silently at a syntax error: read the zone through
-- once first, so a file that is no zone (or has an error) is reported
-- instead of measured.
if not domains then
	local rrparser = require('dns.rrparser')
	local p = rrparser.new()
	local ok, err = p:open(zone)
	if not ok then die('cannot open %s: %s', zone, tostring(err)) end
	local n = 0
	while p:parse() do n = n + 1 end
	if p.state ~= rrparser.state.EOF then
		die('%s is not a valid zone file: %s', zone, tostring(p:strerr()))
	end
	if n == 0 then die('%s holds no records', zone) end
else
	local f, err = io.open(zone)
	if not f then die('cannot open %s', tostring(err)) end
	f:close()
end
local N = 100001 -- searcher calls per round

local function msec(t) return (nb.now() - t) * 1000.0 end

-- Pick about 32 evenly spaced elements (the step may be fractional).
local function sample(set, transform)
	local keys, len = {}, tonumber(set.len)
	local step = len / 32
	if step < 1 then step = 1 end
	local i = 0
	while i < len do
		local e = set:get(i)
		if transform then e = transform(e) end
		table.insert(keys, e)
		i = i + step
	end
	return keys
end

-- Three rounds of N lookups cycling over keys; each must find something.
-- A lookup is find(key), or find(obj, key, out) for a method such as
-- txn.get (one Lua->Go call per lookup either way).
local function search(keys, find, obj, out)
	local nk = #keys
	if nk == 0 then return end
	for round = 1, 3 do
		local t, done = nb.now(), 0
		while done < N do
			local m = math.min(nk, N - done)
			if obj then
				for j = 1, m do
					if not find(obj, keys[j], out) then error('search failed') end
				end
			else
				for j = 1, m do
					if not find(keys[j]) then error('search failed for ' .. tostring(keys[j])) end
				end
			end
			done = done + m
		end
		print(string.format('search #%d: %d ops/sec', round, N / (nb.now() - t)))
	end
end

-- Load into a sorted container, sort it, search it.
local function bench_set(name, loader, sink, transform)
	print('bench: ' .. name)
	local t = nb.now()
	local set, inserted = loader(zone, sink)
	if not set then error(inserted or 'load failed') end
	print(string.format('load: %.2f msec (%d rrs)', msec(t), tonumber(inserted or set.len)))
	t = nb.now()
	set:sort()
	print(string.format('sort: in %.2f msec', msec(t)))
	search(sample(set, transform), set:searcher())
	return set
end

-- Each stage is a function; with "domains" only the name set runs.
local set
local stages = {}

function stages.nameset()
	bench_set('nameset', domains and sift.domains or sift.zone, sift.nameset())
	collectgarbage()
end

function stages.sortedset()
	set = bench_set('sortedset', sift.zone, sift.set(), dns.rrset.owner)
end

-- LMDB (bbolt) store: load through the lmdb sink, then look up sampled keys.
function stages.lmdb()
	local ok, lmdb = pcall(require, 'dns.lmdb')
	if not ok then
		print('bench: lmdb skipped (' .. tostring(lmdb) .. ')')
		return
	end
	print('bench: lmdb')
	local dir = '.tmpbench'
	if S.stat(dir) then S.util.rm(dir) end
	assert(S.mkdir(dir, '0755'))
	local env = assert(lmdb.open(dir, 'writemap, mapasync'))
	local t = nb.now()
	local inserted, db
	env, inserted, db = sift.zone(zone, sift.lmdb(env))
	if not env then error(inserted) end
	print(string.format('load: %.2f msec (%d rrs)', msec(t), inserted))
	local txn = assert(env:txn(db, 'rdonly'))
	local keys, count = {}, 0
	local step = math.max(1, math.floor(env:stat().ms_entries / 32))
	local cur = assert(txn:cursor())
	for k, _ in ipairs(cur) do
		if count % step == 0 then
			table.insert(keys, lmdb.val_t(k.size, k.data))
		end
		count = count + 1
	end
	cur:close()
	search(keys, txn.get, txn, lmdb.val_t())
	txn:abort()
	env:close()
	S.util.rm(dir)
	collectgarbage()
end

-- DNSSEC signer over the first rrsets of the sorted set.
function stages.signer()
	local okd, dnssec = pcall(require, 'dns.dnssec')
	local okh, err = pcall(require, 'spec.helper')
	if not okd or not okh then
		print('bench: signer skipped (' .. tostring(okd and err or dnssec) .. ')')
		return
	end
	print('bench: signer')
	local names = {}
	for name in pairs(sample_keys) do table.insert(names, name) end
	table.sort(names)
	for _, name in ipairs(names) do
		local sample_key = sample_keys[name]
		local key = dnssec.key()
		key:algo(sample_key.algorithm)
		assert(key:privkey(sample_key.pem))
		print(string.format('%s algorithm %d', name, sample_key.algorithm))
		local signer = assert(dnssec.signer(key))
		local n = math.min(20000, tonumber(set.len))
		local sigs = {}
		local t = nb.now()
		for i = 0, n - 1 do
			sigs[i] = assert(signer:sign(set.at[i]))
		end
		print(string.format('%s sign: %d ops/sec', name, n / (nb.now() - t)))
		t = nb.now()
		for i = 0, n - 1 do
			assert(signer:verify(set.at[i], sigs[i]))
		end
		print(string.format('%s verify: %d ops/sec', name, n / (nb.now() - t)))
	end
end

-- BENCH_STAGES (comma-separated) picks stages, e.g. for timing one alone.
local only = os.getenv('BENCH_STAGES')
for _, name in ipairs({'nameset', 'sortedset', 'lmdb', 'signer'}) do
	local want = (not only) or only:find(name, 1, true)
	if name == 'signer' and not set then want = false end
	if domains and name ~= 'nameset' then break end
	if want then stages[name]() end
end

#!/usr/bin/env ljdns
-- bench_call.lua: the ceiling gopher-lua puts on one-call-per-lookup
-- benchmarks. It runs bench.lua's search loop shape (32 keys, three
-- arguments, a truth test per call) over an empty Go function (rawequal),
-- an empty Lua function and no call at all. No lookup can be faster from
-- Lua than the empty Go call.
--
-- Usage: ljdns examples/bench_call.lua [calls]
if arg[1] == '-h' or arg[1] == '--help' then
	print('Usage: bench_call.lua [calls]   (default 3000000)')
	os.exit(0)
end
local nb = require('dns.nbio')
local N = tonumber(arg[1]) or 3000000

local keys = {}
for i = 1, 32 do keys[i] = 'k' .. i end
local obj, out = {}, {}

local function run(name, find)
	local t, done = nb.now(), 0
	while done < N do
		for j = 1, 32 do
			if find(obj, keys[j], out) then error('unexpected') end
		end
		done = done + 32
	end
	print(string.format('%s: %d calls/sec', name, N / (nb.now() - t)))
end

run('empty Go function', rawequal)
run('empty Lua function', function () return false end)
local t, done = nb.now(), 0
while done < N do
	for j = 1, 32 do
		if not keys[j] then error('unexpected') end
	end
	done = done + 32
end
print(string.format('no call: %d iterations/sec', N / (nb.now() - t)))

#!/usr/bin/env ljdns
-- bench_rrparser.lua: the parse-only loop of the streaming zone parser
-- (issue 11 item 20): rrparser.new(), p:open(zone), p:parse() until it
-- returns false. Prints the time of each run and the median.
--
-- Usage: ljdns examples/bench_rrparser.lua <zonefile> [runs]
--   python3 ../shared/bench/genzone.py --records 1000000 -o /tmp/zone1m.txt
--   ljdns examples/bench_rrparser.lua /tmp/zone1m.txt 5
local rrparser = require('dns.rrparser')
local nb = require('dns.nbio')

local zone, runs = arg[1], tonumber(arg[2]) or 5
if not zone or zone == '-h' or zone == '--help' then
	print('Usage: bench_rrparser.lua <zonefile> [runs]')
	os.exit(zone and 0 or 1)
end

local times = {}
for r = 1, runs do
	collectgarbage()
	local t = nb.now()
	local p = rrparser.new()
	assert(p:open(zone))
	local n = 0
	while p:parse() do n = n + 1 end
	local dt = nb.now() - t
	assert(p.state == rrparser.state.EOF, p:strerr())
	times[r] = dt
	print(string.format('run %d: %d records in %.3f s (%.0f records/s)', r, n, dt, n / dt))
end
table.sort(times)
print(string.format('median of %d: %.3f s', runs, times[math.floor((runs + 1) / 2)]))

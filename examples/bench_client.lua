-- bench_client.lua: queries per second through dns.client against a server.
--
-- Usage: ljdns examples/bench_client.lua [-d SEC] [-c N] [-q NAME] [-t TYPE] [-m MODES] SERVER
--   SERVER    '127.0.0.1#53' (any dns.client address)
--   -d SEC    seconds per mode (default 5)
--   -c N      coroutines querying at once (default 100)
--   -q NAME   query name (default www.example.test), -t TYPE (default A)
--   -m MODES  comma list of: dgram, tcp (pipelined over one multi_stream),
--             cache (hits: one name, cached after the first query), serial
--             (one query at a time from the main thread, over dgram)
--             (default dgram,tcp,cache)
-- Prints one line per mode: "<mode> <qps> qps <answered>/<sent> <errors> errors"
-- and a line per distinct error.

local client = require('dns.client')
local nb = require('dns.nbio')

local usage = [[
Usage: bench_client.lua [-d SEC] [-c N] [-q NAME] [-t TYPE] [-m MODES] SERVER
  -d SEC    seconds per mode (default 5)
  -c N      coroutines querying at once (default 100)
  -q NAME   query name (default www.example.test)
  -t TYPE   query type (default A)
  -m MODES  comma list of dgram, tcp, cache, serial (default dgram,tcp,cache)
]]

local function die(fmt, ...)
	io.stderr:write('bench_client: ', string.format(fmt, ...), '\n')
	os.exit(1)
end

local opts = {duration = 5, conc = 100, name = 'www.example.test', type = 'A', modes = 'dgram,tcp,cache'}
do
	local args = {...}
	local i = 1
	while i <= #args do
		local a = args[i]
		local function val()
			i = i + 1
			return args[i] or die('option %s needs a value', a)
		end
		if a == '-h' or a == '--help' then io.write(usage); os.exit(0)
		elseif a == '-d' then opts.duration = tonumber(val()) or die('-d needs a number')
		elseif a == '-c' then opts.conc = tonumber(val()) or die('-c needs a number')
		elseif a == '-q' then opts.name = val()
		elseif a == '-t' then opts.type = val()
		elseif a == '-m' then opts.modes = val()
		elseif a:sub(1, 1) == '-' then die('unknown option %s', a)
		else opts.server = a end
		i = i + 1
	end
	if not opts.server then io.stderr:write(usage); os.exit(1) end
end

-- run(c) queries through c from opts.conc coroutines for opts.duration
-- seconds and returns answered, sent, errors (by message), elapsed.
local function run(c, conc)
	local answered, sent, errors = 0, 0, {}
	local stop = nb.now() + opts.duration
	local t0 = nb.now()
	for _ = 1, conc do
		nb.go(function()
			while nb.now() < stop do
				sent = sent + 1
				local a, err = c:query(opts.name, opts.type)
				if a then
					answered = answered + 1
				else
					errors[err] = (errors[err] or 0) + 1
				end
			end
		end)
	end
	local ok, err = nb.run()
	if not ok then die('%s', tostring(err)) end
	return answered, sent, errors, nb.now() - t0
end

local function serial(c)
	local answered, sent, errors = 0, 0, {}
	local t0 = nb.now()
	local stop = t0 + opts.duration
	while nb.now() < stop do
		sent = sent + 1
		local a, err = c:query(opts.name, opts.type)
		if a then answered = answered + 1 else errors[err] = (errors[err] or 0) + 1 end
	end
	return answered, sent, errors, nb.now() - t0
end

local function report(mode, answered, sent, errors, elapsed)
	local n = 0
	for _, k in pairs(errors) do n = n + k end
	print(('%s %.0f qps %d/%d %d errors'):format(mode, answered / elapsed, answered, sent, n))
	for e, k in pairs(errors) do print(('  %dx %s'):format(k, e)) end
	io.stdout:flush()
end

for mode in opts.modes:gmatch('[^,]+') do
	local c, err
	if mode == 'dgram' or mode == 'serial' then
		c, err = client.dgram(opts.server, {timeout = 2, retries = 0})
	elseif mode == 'tcp' then
		c, err = client.multi_stream(opts.server, {response_timeout = 5})
	elseif mode == 'cache' then
		local up = client.dgram(opts.server, {timeout = 2})
		c, err = client.cache(up, {max_entries = 1000})
	else
		die('unknown mode %s', mode)
	end
	if not c then
		print(('%s unavailable: %s'):format(mode, err))
	else
		if mode == 'cache' then assert(c:query(opts.name, opts.type)) end -- warm
		if mode == 'serial' then
			report(mode, serial(c))
		else
			report(mode, run(c, opts.conc))
		end
		c:close()
	end
end

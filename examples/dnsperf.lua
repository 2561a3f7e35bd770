-- dnsperf.lua: a DNS throughput tester with two ends.
--   receiver: ljdns examples/dnsperf.lua -r [-u] [-s HOST] [-p PORT]
--             echoes every query back with QR set (UDP or TCP)
--   sender:   ljdns examples/dnsperf.lua [-u] [-n N] [-c N] [-s HOST] [-p PORT]
--             sends N x 65536 queries for "test. SOA" and counts the answers
-- The sender prints: rx: <n>, tx: <n>, elapsed: <s>s, rate: <r> req/s


local dns, nb

local usage = [[
Usage: dnsperf.lua [-r] [-u] [-n N] [-c N] [-w SEC] [-s HOST] [-p PORT]
  -r        receiver (server) mode: echo queries back with QR set
  -u        UDP instead of TCP
  -n N      repetitions of 65536 queries (sender, default 1)
  -c N      queries in flight at once (sender, default 256)
  -w SEC    give up when nothing arrives for SEC seconds (sender, default 3)
  -s HOST   address (default 127.0.0.1)
  -p PORT   port (default 53)
]]

local function die(fmt, ...)
	io.stderr:write('dnsperf: ', string.format(fmt, ...), '\n')
	os.exit(1)
end

local opts = {host = '127.0.0.1', port = 53, reps = 1, inflight = 256, wait = 3}
do
	local args = {...}
	local i = 1
	while i <= #args do
		local a = args[i]
		local function num(max)
			i = i + 1
			local n = tonumber(args[i])
			if not n or n < 0 or n > max or n % 1 ~= 0 then
				die('option %s needs a number up to %d', a, max)
			end
			return n
		end
		if a == '-h' or a == '--help' then io.write(usage); os.exit(0)
		elseif a == '-r' then opts.receiver = true
		elseif a == '-u' then opts.udp = true
		elseif a == '-n' then opts.reps = num(1e6)
		elseif a == '-c' then opts.inflight = math.max(1, num(65536))
		elseif a == '-w' then opts.wait = math.max(1, num(3600))
		elseif a == '-p' then opts.port = num(65535)
		elseif a == '-s' then
			i = i + 1
			opts.host = args[i] or die('option -s needs an address')
		else die('unknown option "%s"', a) end
		i = i + 1
	end
end

dns = require('dns')
nb = require('dns.nbio')

local function check(ok, err, co)
	if ok == false then
		io.stderr:write('dnsperf: ', tostring(err), '\n')
		if co then io.stderr:write(debug.traceback(co), '\n') end
		os.exit(1)
	end
	return ok, err, co
end

-- Receiver -------------------------------------------------------------------

local function udp_echo(sock)
	local msg = dns.packet(512)
	local addr = nb.addr()
	while true do
		local n = nb.udprecv(sock, msg, addr)
		if n and n >= 12 then
			msg:qr(true)
			nb.udpsend(sock, msg, addr)
		end
	end
end

local function tcp_echo(conn)
	local msg = dns.packet(512)
	while true do
		local ok, n = pcall(nb.tcprecv, conn, msg)
		if not ok or not n or n < 12 then break end
		msg:qr(true)
		if not nb.tcpsend(conn, msg) then break end
	end
	conn:close()
end

if opts.receiver then
	local family = nb.family(opts.host)
	local sock = nb.socket(family, opts.udp and 'dgram' or 'stream')
	local ok, err = pcall(sock.bind, sock, opts.host, opts.port)
	if not ok then die('cannot bind %s#%d: %s', opts.host, opts.port, tostring(err)) end
	local _, port = sock:getsockname()
	io.stderr:write(string.format('dnsperf: receiving on %s#%d (%s)\n',
		opts.host, port, opts.udp and 'udp' or 'tcp'))
	io.stderr:flush()
	if opts.udp then
		check(nb.go(udp_echo, sock))
	else
		check(nb.go(function()
			while true do
				local conn = sock:accept()
				if conn then nb.go(tcp_echo, conn) end
			end
		end))
	end
	check(nb.run())
	os.exit(0)
end

-- Sender -----------------------------------------------------------------------

local total = 65536 * opts.reps
local tx, rx, issued = 0, 0, 0
local last
local sock = nb.socket(nb.family(opts.host), opts.udp and 'dgram' or 'stream')

-- Each worker sends its share of the queries, one at a time; IDs of the
-- queries in flight are distinct, as tcpxchg requires.
local function worker(id)
	local query = dns.packet(64)
	local answer = dns.packet(512)
	query:question('\4test', dns.type.SOA)
	while issued < total do
		issued = issued + 1
		query:id(id)
		tx = tx + 1
		local n
		if opts.udp then
			n = nb.udpxchg(sock, query, answer)
		else
			n = nb.tcpxchg(sock, query, answer, true)
		end
		if n and n > 0 then
			rx = rx + 1
			last = nb.now()
		end
	end
end

local start = nb.now()
check(nb.go(function()
	local ok, err = sock:connect(opts.host, opts.port)
	if not ok then die('cannot connect to %s#%d: %s', opts.host, opts.port, tostring(err)) end
	for w = 1, math.min(opts.inflight, total) do
		nb.go(worker, w - 1)
	end
end))
-- Run until every worker is done, or nothing arrived for opts.wait
-- seconds (a lost UDP answer leaves its worker waiting forever).
local ok = true
while nb.coroutines > 0 do
	check(nb.step(0.5))
	if nb.now() - (last or start) > opts.wait then
		ok = false
		break
	end
end
-- Elapsed time up to the last answer (a timeout adds no idle time).
local elapsed = (last or nb.now()) - start
if ok == false then
	io.stderr:write(string.format('dnsperf: gave up waiting for %d answers\n', tx - rx))
end
print(string.format('rx: %d, tx: %d, elapsed: %.2fs, rate: %.2f req/s',
	rx, tx, elapsed, rx / math.max(elapsed, 1e-9)))
sock:close()
-- Lost datagrams are normal over UDP; a lost TCP answer is an error.
os.exit((rx > 0 and (opts.udp or rx == tx)) and 0 or 1)

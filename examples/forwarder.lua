-- A forwarding DNS proxy: answers clients over UDP and TCP by asking an
-- upstream server (over UDP, retrying over TCP when the answer is truncated,
-- or over TCP for TCP clients).
--
-- Usage: ljdns examples/forwarder.lua [-l HOST#PORT] [-t SEC] UPSTREAM[#PORT]


local dns, nb

local usage = [[
Usage: forwarder.lua [-l HOST#PORT] [-q] UPSTREAM[#PORT]
  -l HOST#PORT   listen address (default 127.0.0.1#5300; repeatable)
  -q             do not log queries
  UPSTREAM       upstream server address (port default 53)
]]

local function die(fmt, ...)
	io.stderr:write('forwarder: ', string.format(fmt, ...), '\n')
	os.exit(1)
end

local function addrport(spec, default_port)
	local host, port = spec:match('^(.*)#(%d+)$')
	if not host then host, port = spec, default_port end
	host = host:gsub('^%[(.*)%]$', '%1')
	port = tonumber(port)
	if host == '' or not port or port > 65535 then die('invalid address "%s"', spec) end
	return host, port
end

local opts = {listen = {}}
do
	local args = {...}
	local i = 1
	while i <= #args do
		local a = args[i]
		if a == '-h' or a == '--help' then io.write(usage); os.exit(0)
		elseif a == '-l' then
			i = i + 1
			if not args[i] then die('option -l needs an address') end
			opts.listen[#opts.listen + 1] = {addrport(args[i], 53)}
		elseif a == '-q' then opts.quiet = true
		elseif a:sub(1, 1) == '-' then die('unknown option "%s"', a)
		else opts.upstream = {addrport(a, 53)} end
		i = i + 1
	end
	if not opts.upstream then io.stderr:write(usage); os.exit(1) end
	if #opts.listen == 0 then opts.listen[1] = {'127.0.0.1', 5300} end
end

dns = require('dns')
nb = require('dns.nbio')

local up_host, up_port = opts.upstream[1], opts.upstream[2]

local function log(fmt, ...)
	if not opts.quiet then io.stderr:write(string.format(fmt, ...), '\n') end
end

-- Ask upstream over TCP; returns the answer packet or nil, err.
local function ask_tcp(query)
	local sock = nb.socket(nb.family(up_host), 'stream')
	local ok, err = sock:connect(up_host, up_port)
	if not ok then sock:close(); return nil, err end
	local answer = dns.packet(65535)
	local n
	n, err = nb.tcpsend(sock, query)
	if n then
		local pok, rn = pcall(nb.tcprecv, sock, answer)
		n = pok and rn
		err = err or (not pok and rn) or 'connection closed'
	end
	sock:close()
	if not n or n < 12 then return nil, err end
	return answer
end

-- Ask upstream over UDP (TCP when truncated); returns answer or nil, err.
local function ask_udp(query)
	local sock = nb.socket(nb.family(up_host), 'dgram')
	local ok, err = sock:connect(up_host, up_port)
	if not ok then sock:close(); return nil, err end
	local answer = dns.packet(65535)
	local n
	n, err = nb.udpsend(sock, query)
	if n then
		repeat
			n, err = nb.udprecv(sock, answer)
		until not n or (n >= 12 and answer:id() == query:id())
	end
	sock:close()
	if not n then return nil, err end
	if answer:tc() then return ask_tcp(query) end
	return answer
end

local function servfail(query)
	local ans = dns.packet(512)
	query:toanswer(ans)
	ans:rcode(dns.rcode.SERVFAIL)
	return ans
end

local function forward(query, stream)
	log('%s %s', tostring(query:qname()), dns.tostring.type[query:qtype() or 0])
	local ask = stream and ask_tcp or ask_udp
	local answer, err = ask(query)
	if not answer then
		log('upstream %s#%d: %s', up_host, up_port, tostring(err))
		return servfail(query)
	end
	return answer
end

local function serve_udp(sock)
	while true do
		local query = dns.packet(4096)
		local addr = nb.addr()
		local n = nb.udprecv(sock, query, addr)
		if n and n >= 12 and query:parse() and not query:qr() then
			nb.go(function()
				local ans = forward(query, false)
				local limit = 512
				if query.opt_rr then limit = math.max(512, dns.edns.payload(query.opt_rr)) end
				if ans.size > limit then
					local tc = dns.packet(512)
					query:toanswer(tc)
					tc:tc(true)
					ans = tc
				end
				nb.udpsend(sock, ans, addr)
			end)
		end
	end
end

local function serve_tcp(conn)
	local query = dns.packet(65535)
	while true do
		local ok, n = pcall(nb.tcprecv, conn, query)
		if not ok or not n or n < 12 then break end
		if query:parse() then
			if not nb.tcpsend(conn, forward(query, true)) then break end
		end
	end
	conn:close()
end

for _, l in ipairs(opts.listen) do
	local host, port = l[1], l[2]
	local tcp = nb.socket(nb.family(host), 'stream')
	local ok, err = pcall(tcp.bind, tcp, host, port)
	if not ok then die('cannot listen on %s#%d: %s', host, port, tostring(err)) end
	local _, bound = tcp:getsockname()
	local udp = nb.socket(nb.family(host), 'dgram')
	ok, err = pcall(udp.bind, udp, host, bound)
	if not ok then die('cannot listen on %s#%d/udp: %s', host, bound, tostring(err)) end
	log('forwarding %s#%d to %s#%d', host, bound, up_host, up_port)
	nb.go(serve_udp, udp)
	nb.go(function()
		while true do
			local conn = tcp:accept()
			if conn then nb.go(serve_tcp, conn) end
		end
	end)
end
io.stderr:flush()

local ok, err, co = nb.run()
if not ok then
	io.stderr:write('forwarder: ', tostring(err), '\n')
	if co then io.stderr:write(debug.traceback(co), '\n') end
	os.exit(1)
end

-- A forwarding DNS proxy: answers clients over UDP and TCP by asking an
-- upstream server through dns.client: UDP clients' queries go over a
-- dgram_stream (UDP, TCP when the answer is truncated), TCP clients' over
-- one multi_stream connection, pipelined. Queries pass unchanged (no EDNS
-- or cookie added). An upstream that does not answer within the timeout
-- (a lost UDP answer is asked again once, halfway) gets the client a
-- SERVFAIL.
--
-- Usage: ljdns examples/forwarder.lua [-l HOST#PORT] [-t SEC] [-q] UPSTREAM[#PORT]

local tool = require('ljdns.tool')
local dns, nb

local usage = [[
Usage: forwarder.lua [-l HOST#PORT] [-t SEC] [-q] UPSTREAM[#PORT]
  -h, --help     show this help
  -l HOST#PORT   listen address (default 127.0.0.1#5300; repeatable)
  -t SEC         wait at most SEC seconds for the upstream's answer
                 (default 5); then the client gets SERVFAIL
  -q             do not log queries
  UPSTREAM       upstream server address (port default 53)
]]

local T = tool.new('forwarder', usage)

local function options(args)
	local opts = {listen = {}, timeout = 5}
	local c = T:args(args)
	for a in c.next, c do
		if a == '-h' or a == '--help' then opts.help = true
		elseif a == '-l' then opts.listen[#opts.listen + 1] = {T:hostport(c:value(), 53)}
		elseif a == '-t' then
			local v = c:value()
			opts.timeout = tonumber(v)
			if not opts.timeout or opts.timeout <= 0 then T.usage_error('invalid timeout "%s"', v) end
		elseif a == '-q' then opts.quiet = true
		elseif a:sub(1, 1) == '-' then T.usage_error('unknown option "%s" (see --help)', a)
		else opts.upstream = {T:hostport(a, 53)} end
	end
	if not opts.help and not opts.upstream then T.usage_error('no upstream server given (see --help)') end
	if #opts.listen == 0 then opts.listen[1] = {'127.0.0.1', 5300} end
	return opts
end

local function main(args)
	local opts = options(args)
	if opts.help then return T:help() end

	dns = require('dns')
	nb = require('dns.nbio')

	local up_host, up_port = opts.upstream[1], opts.upstream[2]
	local client = require('dns.client')
	local up_addr = up_host .. '#' .. up_port
	local udp_up, err = client.dgram_stream(up_addr, {timeout = opts.timeout / 2, retries = 1,
		udp_payload_size = 0, cookies = false, response_timeout = opts.timeout, keepalive = false})
	if not udp_up then T.fail(1, 'upstream %s: %s', up_addr, tostring(err)) end
	local tcp_up = assert(client.multi_stream(up_addr, {response_timeout = opts.timeout, keepalive = false}))

	local function log(fmt, ...)
		if not opts.quiet then io.stderr:write(string.format(fmt, ...), '\n') end
	end

	local function servfail(query)
		local ans = dns.packet(512)
		query:toanswer(ans)
		ans:rcode(dns.rcode.SERVFAIL)
		return ans
	end

	local function forward(query, stream)
		log('%s %s', tostring(query:qname()), dns.tostring.type[query:qtype() or 0])
		local answer, err = (stream and tcp_up or udp_up):query(query)
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
		local tcp, udp, bound = T:listen(host, port)
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
		if co then io.stderr:write(debug.traceback(co), '\n') end
		T.fail(1, '%s', tostring(err))
	end
	return 0
end

T:main(main, ...)

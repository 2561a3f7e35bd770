-- namepile: serve a directory of zone files by zone transfer (AXFR).
-- Usage: namepile [options] DIR... @host[#port]...   (see namepile --help)

local tool = require('ljdns.tool')

local usage = [[
Usage: namepile [options] DIR... @HOST[#PORT]...

Serves every zone file in DIR by AXFR over TCP. The zone "example.com." is
read from DIR/example.com.zone (the zone name in lowercase with its trailing
dot, followed by "zone"); several DIRs are searched in order. Zone files are
streamed on demand, so changes are picked up by the next transfer, and every
connection is served by its own coroutine, so many transfers run at once.
Each @HOST[#PORT] (default port 53; port 0 picks a free one) opens a TCP
listener and a UDP listener on the same address, which answer:
  AXFR, IXFR  the whole zone (IXFR is answered AXFR-style; over UDP the
              answer is truncated so the client retries over TCP)
  SOA         the zone's SOA record (so a secondary can check the serial)
  other       SERVFAIL; unknown zones are REFUSED

Options:
  -h, --help          show this help and exit
  -y [ALG:]NAME:KEY   require TSIG with this key on every query and sign
                      every answer message (base64 KEY; default hmac-sha256)
  -q, --quiet         do not log transfers on stderr
  -m BYTES            maximum size of one AXFR message (default 20480)

Examples:
  namepile /var/lib/zones @127.0.0.1#5353
  namepile -y hmac-sha256:xfr.:c2VjcmV0 zones/ @::1#53 @127.0.0.1#53
]]

local T = tool.new('namepile', usage)
local fail, usage_error = T.fail, T.usage_error

local dns, nb, rrparser, utils
local quiet = false

local function log(fmt, ...)
	if not quiet then io.stderr:write(string.format(fmt, ...), '\n') end
end

local function parse_args(args)
	local o = {dirs = {}, listen = {}, msgsize = 20480}
	local c = T:args(args)
	for a in c.next, c do
		if a == '-h' or a == '--help' then o.help = true
		elseif a == '-q' or a == '--quiet' then o.quiet = true
		elseif a == '-y' then o.tsig = c:value()
		elseif a == '-m' then o.msgsize = T:uint(c:value(), 'message size (512-65535)', 65535, 512)
		elseif a:sub(1, 1) == '@' then
			local host, port = T:hostport(a:sub(2), 53)
			o.listen[#o.listen + 1] = {host = host, port = port}
		elseif a:sub(1, 1) == '-' and #a > 1 then
			usage_error('unknown option "%s" (see namepile --help)', a)
		else
			o.dirs[#o.dirs + 1] = a
		end
	end
	return o
end

-- Zone file for a query name, or nil when no directory holds one.
local function zone_path(o, qname)
	local name = qname:lower():tostring()
	if name:find('/', 1, true) or name:find('..', 1, true) or name:find('\\', 1, true) then
		return nil, 'invalid zone name'
	end
	for _, dir in ipairs(o.dirs) do
		local path = dir .. '/' .. name .. 'zone'
		local mtime = utils.mtime(path)
		if mtime and mtime > 0 then return path, mtime end
	end
	return nil
end

-- A reply skeleton for query in msg (same ID and question, QR, AA).
local function reply(query, msg, rcode)
	query:toanswer(msg)
	msg:aa(rcode == nil or rcode == dns.rcode.NOERROR)
	if rcode then msg:rcode(rcode) end
	msg:begin(dns.section.ANSWER)
end

-- First SOA record of a zone file (rrset) or nil, err.
local function zone_soa(path)
	local p = rrparser.new()
	local ok, err = p:open(path)
	if not ok then return nil, err end
	ok, err = p:parse()
	if not ok then return nil, err or 'empty zone' end
	if p.r_type ~= dns.type.SOA then return nil, 'zone does not start with a SOA record' end
	local rr = dns.rrset(dns.todname(p.r_owner, p.r_owner_length), p.r_type, p.r_class)
	rr:add(p.r_data, p.r_ttl, p.r_data_length)
	return rr
end

-- Check the query's TSIG; returns true or an rcode to answer with.
local function check_tsig(key, query)
	if not key then
		if query.tsig_rr then return dns.rcode.NOTAUTH end
		return true
	end
	if not query.tsig_rr then return dns.rcode.NOTAUTH end
	local ok, code = key:verify(query)
	if not ok then return dns.rcode.NOTAUTH, code end
	return true
end

-- Stream the zone at path to conn, one message after another.
local function stream_zone(o, conn, query, path, mtime, key)
	local start = nb.now()
	local p = rrparser.new()
	local ok, err = p:open(path)
	if not ok then error(string.format('%s: %s', path, tostring(err)), 0) end
	log('[info] %s: stream start (mtime %d)', path, mtime)
	local msg = dns.packet(o.msgsize)
	local limit = o.msgsize - (key and 400 or 0)
	local records, messages = 0, 0
	reply(query, msg)
	local function flush()
		if key then
			local sok, serr = key:sign(msg)
			if not sok then error('cannot sign message: ' .. tostring(serr), 0) end
		end
		local n, serr = nb.tcpsend(conn, msg)
		if not n then error('send failed: ' .. tostring(serr), 0) end
		messages = messages + 1
		reply(query, msg)
	end
	local function add(rr)
		local need = #rr:owner() + 10 + #rr:rdata(0)
		if msg.size + need > limit and not msg:empty() then flush() end
		if not msg:put(rr) then
			if msg:empty() then
				-- A record bigger than the usual message: send it alone.
				local big = dns.packet(65535)
				reply(query, big)
				if not big:put(rr) then error('record too large for a message', 0) end
				local saved = msg
				msg = big
				flush()
				msg = saved
				reply(query, msg)
				return
			end
			flush()
			if not msg:put(rr) then error('record too large for a message', 0) end
		end
	end
	local soa
	while true do
		local more, perr = p:parse()
		if not more then
			if perr then error(string.format('%s: %s', path, tostring(perr)), 0) end
			break
		end
		local rr = dns.rrset(dns.todname(p.r_owner, p.r_owner_length), p.r_type, p.r_class)
		rr:add(p.r_data, p.r_ttl, p.r_data_length)
		if not soa then
			if p.r_type ~= dns.type.SOA then
				error(path .. ': zone does not start with a SOA record', 0)
			end
			soa = rr
		end
		add(rr)
		records = records + 1
	end
	if not soa then error(path .. ': empty zone', 0) end
	add(soa)
	flush()
	log('[info] %s: stream end (%d records, %d messages, %d msec)',
		path, records, messages, math.floor((nb.now() - start) * 1000))
end

-- Answer one query; stream=true on TCP. Returns the reply to send, or
-- nil when the answer was already streamed.
local function answer(o, query, key, stream, conn)
	local out = dns.packet(stream and 4096 or 1232)
	local function finish(rcode)
		reply(query, out, rcode)
		if key and query.tsig_rr then key:sign(out) end
		return out
	end
	local qname, qtype = query:qname(), query:qtype()
	if not qname then return finish(dns.rcode.FORMERR) end
	local tsig_ok, tsig_code = check_tsig(key, query)
	if tsig_ok ~= true then
		log('[info] %s: refused (TSIG %s)', qname:tostring(),
			tsig_code and (dns.tostring.rcode_tsig[tsig_code] or tostring(tsig_code)) or 'missing')
		reply(query, out, tsig_ok)
		return out
	end
	local path, mtime = zone_path(o, qname)
	if not path then
		log('[info] %s: refused (no zone found)', qname:tostring())
		return finish(dns.rcode.REFUSED)
	end
	if qtype == dns.type.AXFR or qtype == dns.type.IXFR then
		if not stream then
			if qtype == dns.type.AXFR then return finish(dns.rcode.FORMERR) end
			finish()
			out:tc(true)
			return out
		end
		stream_zone(o, conn, query, path, mtime, key)
		return nil
	elseif qtype == dns.type.SOA then
		local soa, err = zone_soa(path)
		if not soa then
			log('[error] %s: %s', path, tostring(err))
			return finish(dns.rcode.SERVFAIL)
		end
		reply(query, out)
		out:put(soa)
		if key then key:sign(out) end
		return out
	end
	return finish(dns.rcode.SERVFAIL)
end

local function serve_tcp(o, conn, tsig)
	local query = dns.packet(65535)
	while true do
		local ok, n = pcall(nb.tcprecv, conn, query)
		if not ok or not n or n < 12 then break end
		if not query:parse() then
			log('[error] query parse error')
			break
		end
		local key = tsig and tsig:copy()
		local out = answer(o, query, key, true, conn)
		if out then
			local sent, err = nb.tcpsend(conn, out)
			if not sent then error('send failed: ' .. tostring(err), 0) end
		end
	end
end

local function serve_udp(o, sock, tsig)
	local query = dns.packet(4096)
	local addr = nb.addr()
	while true do
		local n = nb.udprecv(sock, query, addr)
		if n and n >= 12 then
			local ok, err = pcall(function()
				if not query:parse() or query:qr() then return end
				local out = answer(o, query, tsig and tsig:copy(), false)
				if out then nb.udpsend(sock, out, addr) end
			end)
			if not ok then log('[error] %s', tostring(err)) end
		end
	end
end

local function main(args)
	local o = parse_args(args)
	if o.help then return T:help() end
	if #o.dirs == 0 then usage_error('no zone directory given (see namepile --help)') end
	if #o.listen == 0 then usage_error('no listen address given, e.g. @127.0.0.1#53 (see namepile --help)') end
	quiet = o.quiet
	dns = require('dns')
	nb = require('dns.nbio')
	rrparser = require('dns.rrparser')
	utils = require('dns.utils')
	for _, dir in ipairs(o.dirs) do
		local isdir = utils.isdir(dir)
		if not isdir then fail(1, 'invalid pile path: %s (not a directory)', dir) end
	end
	local tsig = o.tsig and T:tsig(o.tsig)
	for _, l in ipairs(o.listen) do
		local tcp, udp, port = T:listen(l.host, l.port)
		log('[info] listening on %s#%d', l.host, port)
		nb.go(function()
			while true do
				local conn, aerr = tcp:accept()
				if conn then
					nb.go(function()
						local hok, herr = pcall(serve_tcp, o, conn, tsig)
						if not hok then log('[error] %s', tostring(herr)) end
						conn:close()
					end)
				elseif aerr then
					log('[error] accept: %s', tostring(aerr))
				end
			end
		end)
		nb.go(serve_udp, o, udp, tsig)
	end
	io.stderr:flush()
	local ok, err = nb.run()
	if not ok then fail(1, '[panic] %s', tostring(err)) end
	return 0
end

T:main(main, ...)

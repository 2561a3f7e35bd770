-- A small authoritative DNS server answering from one zone file over UDP,
-- TCP and DNS-over-TLS, with AXFR over the stream transports.
--
-- Usage: ljdns examples/server.lua [options] ZONEFILE
--   -l HOST#PORT   UDP and TCP listener (default 127.0.0.1#5353; repeatable)
--   -T HOST#PORT   DNS-over-TLS listener (repeatable)
--   --cert FILE    PEM certificate for TLS (default: a self-signed one)
--   --key FILE     PEM private key for TLS
--   -q             do not log queries
--
-- Answers: exact matches, CNAME (followed inside the zone), wildcards,
-- referrals below zone cuts, NODATA and NXDOMAIN with the SOA in the
-- authority section, EDNS (payload 1232, DO echoed), truncation over UDP.


local tool = require('ljdns.tool')
local dns, nb, rrparser

local usage = [[
Usage: server.lua [options] ZONEFILE
  -h, --help     show this help
  -l HOST#PORT   UDP and TCP listener (default 127.0.0.1#5353; repeatable)
  -T HOST#PORT   DNS-over-TLS listener (repeatable)
  --cert FILE    PEM certificate for TLS (default: an ephemeral self-signed one)
  --key FILE     PEM private key for TLS
  -q             quiet: do not log queries
]]

local T = tool.new('server', usage)
local die = T.fail -- die(1, fmt, ...): one line on stderr, exit 1

-- Options ------------------------------------------------------------------

local function options(args)
	local opts = {listen = {}, tls = {}}
	local c = T:args(args)
	for a in c.next, c do
		if a == '-h' or a == '--help' then opts.help = true
		elseif a == '-l' then opts.listen[#opts.listen + 1] = {T:hostport(c:value(), 53)}
		elseif a == '-T' then opts.tls[#opts.tls + 1] = {T:hostport(c:value(), 853)}
		elseif a == '--cert' then opts.cert = c:value()
		elseif a == '--key' then opts.key = c:value()
		elseif a == '-q' then opts.quiet = true
		elseif a:sub(1, 1) == '-' then T.usage_error('unknown option "%s" (see --help)', a)
		else opts.zone = a end
	end
	if not opts.help and not opts.zone then T.usage_error('no zone file given (see --help)') end
	if #opts.listen == 0 and #opts.tls == 0 then opts.listen[1] = {'127.0.0.1', 5353} end
	return opts
end

local opts

local function log(fmt, ...)
	if not opts.quiet then io.stderr:write(string.format(fmt, ...), '\n') end
end

-- Zone -----------------------------------------------------------------------

local zone = {
	order = {},   -- rrsets in zone-file order (AXFR)
	sets = {},    -- [lowercase owner wire][type] = rrset
	names = {},   -- [lowercase owner wire] = true, also for empty non-terminals
}

local function load_zone(path)
	local ok, records = pcall(rrparser.file, path)
	if not ok then die(1, '%s: %s', path, tostring(records)) end
	for _, r in ipairs(records) do
		local owner = dns.dname(r.owner)
		local key = owner:lower():towire()
		local byname = zone.sets[key]
		if not byname then byname = {}; zone.sets[key] = byname end
		local rr = byname[r.type]
		if not rr then
			rr = dns.rrset(owner, r.type, r.class)
			byname[r.type] = rr
			zone.order[#zone.order + 1] = rr
		end
		rr:add(r.rdata, r.ttl)
		if r.type == dns.type.SOA and not zone.soa then
			zone.soa, zone.origin = rr, owner:lower()
		end
	end
	if not zone.soa then die(1, '%s: no SOA record', path) end
	-- Negative answers carry the SOA with the TTL of RFC 2308 §3: the
	-- smaller of the SOA's own TTL and its MINIMUM field.
	local soa_rd = zone.soa:rdata(0)
	zone.neg_soa = dns.rrset(zone.soa:owner(), dns.type.SOA, zone.soa:class())
	zone.neg_soa:add(soa_rd, math.min(zone.soa:ttl(), dns.rdata.soa_minttl(soa_rd)))
	-- Names and empty non-terminals down from the origin.
	for key in pairs(zone.sets) do
		local d = dns.dname(key)
		while d and d:within(zone.origin) do
			local w = d:towire()
			if zone.names[w] then break end
			zone.names[w] = true
			if d:labels() == 0 then break end
			d = dns.dname(w:sub(w:byte(1) + 2))
		end
	end
	return #records
end

local function parent(d)
	local w = d:towire()
	if #w <= 1 then return nil end
	return dns.dname(w:sub(w:byte(1) + 2))
end

-- Answering ----------------------------------------------------------------

local function copy_as(rr, owner)
	local out = dns.rrset(owner, rr:type(), rr:class())
	for i = 0, rr:count() - 1 do out:add(rr:rdata(i), rr:ttl()) end
	return out
end

-- Fill answer (a reply skeleton); returns false when it did not fit.
local function resolve(query, answer)
	local qname, qtype = query:qname(), query:qtype()
	local lname = qname:lower()
	if not lname:within(zone.origin) then
		answer:rcode(dns.rcode.REFUSED)
		return true
	end
	answer:aa(true)
	-- Zone cut between the origin and the name: referral.
	local d = lname
	local cuts = {}
	while d and not (d == zone.origin) do
		cuts[#cuts + 1] = d
		d = parent(d)
	end
	for k = #cuts, 1, -1 do
		local sets = zone.sets[cuts[k]:towire()]
		local ns = sets and sets[dns.type.NS]
		if ns and not (k == 1 and qtype == dns.type.DS) then
			answer:aa(false)
			answer:begin(dns.section.AUTHORITY)
			if not answer:put(ns) then return false end
			answer:begin(dns.section.ADDITIONAL)
			for i = 0, ns:count() - 1 do
				local target = dns.dname(ns:rdata(i)):lower():towire()
				local glue = zone.sets[target]
				for _, t in ipairs({dns.type.A, dns.type.AAAA}) do
					if glue and glue[t] then answer:put(glue[t]) end
				end
			end
			return true
		end
	end
	local sets = zone.sets[lname:towire()]
	local owner = qname
	if not sets and not zone.names[lname:towire()] then
		-- Wildcard at the closest encloser.
		local enc = parent(lname)
		while enc and enc:within(zone.origin) do
			if zone.names[enc:towire()] then
				sets = zone.sets['\1*' .. enc:towire()]
				break
			end
			enc = parent(enc)
		end
	end
	if sets then
		local found = false
		if qtype == dns.type.ANY then
			for _, rr in pairs(sets) do
				if not answer:put(copy_as(rr, owner)) then return false end
				found = true
			end
		elseif sets[qtype] then
			if not answer:put(copy_as(sets[qtype], owner)) then return false end
			found = true
		elseif sets[dns.type.CNAME] then
			local cname = sets[dns.type.CNAME]
			if not answer:put(copy_as(cname, owner)) then return false end
			found = true
			local target = dns.dname(cname:rdata(0)):lower():towire()
			local tsets = zone.sets[target]
			if tsets and tsets[qtype] then
				if not answer:put(tsets[qtype]) then return false end
			end
		end
		if not found then
			answer:begin(dns.section.AUTHORITY)
			if not answer:put(zone.neg_soa) then return false end
		end
		return true
	end
	if zone.names[lname:towire()] then
		answer:begin(dns.section.AUTHORITY)
		return answer:put(zone.neg_soa)
	end
	answer:rcode(dns.rcode.NXDOMAIN)
	answer:begin(dns.section.AUTHORITY)
	return answer:put(zone.neg_soa)
end

-- Build the reply to a parsed query into a packet of capacity size.
local function respond(query, size)
	local answer = dns.packet(size)
	query:toanswer(answer)
	if query:rd() then answer:rd(true) end
	if query:cd() then answer:cd(true) end
	local qopt = query.opt_rr
	local reserve = qopt and 11 or 0
	if not query:qname() then
		answer:rcode(dns.rcode.FORMERR)
		return answer
	end
	if query:opcode() ~= dns.opcode.QUERY then
		answer:rcode(dns.rcode.NOTIMPL)
		return answer
	end
	if qopt and dns.edns.version(qopt) ~= 0 then
		answer:begin(dns.section.ADDITIONAL)
		local opt = dns.edns.rrset(0, 1232)
		answer:put(opt)
		answer:rcode(dns.rcode.BADVERS)
		return answer
	end
	-- Leave room for the OPT record by building in a slightly smaller packet.
	local body = dns.packet(size - reserve)
	query:toanswer(body)
	if query:rd() then body:rd(true) end
	if query:cd() then body:cd(true) end
	if not resolve(query, body) then
		-- Truncated: header and question only.
		query:toanswer(answer)
		if query:rd() then answer:rd(true) end
		answer:tc(true)
		answer:aa(true)
	elseif reserve == 0 then
		answer = body
	else
		-- It fits with room to spare: build it again at full capacity.
		resolve(query, answer)
	end
	if qopt then
		answer:begin(dns.section.ADDITIONAL)
		local opt = dns.edns.rrset(0, 1232)
		if dns.edns.dobit(qopt) then dns.edns.dobit(opt, true) end
		answer:put(opt)
	end
	return answer
end

local function udp_limit(query)
	local opt = query.opt_rr
	if not opt then return 512 end
	local p = dns.edns.payload(opt)
	if p < 512 then p = 512 end
	if p > 1232 then p = 1232 end
	return p
end

-- Stream the whole zone to a TCP or TLS connection.
local function axfr(conn, query)
	local msg = dns.packet(16384)
	local n = 0
	query:toanswer(msg)
	msg:aa(true)
	local function flush()
		assert(nb.tcpsend(conn, msg))
		n = n + 1
		query:toanswer(msg)
		msg:aa(true)
	end
	local function add(rr)
		if not msg:put(rr) then
			flush()
			assert(msg:put(rr), 'RR set too large for one message')
		end
	end
	add(zone.soa)
	for _, rr in ipairs(zone.order) do
		if rr ~= zone.soa then add(rr) end
	end
	add(zone.soa)
	flush()
	return n
end

local function handle_stream(conn, peer)
	local query = dns.packet(65535)
	while true do
		local ok, n = pcall(nb.tcprecv, conn, query)
		if not ok or not n or n < 12 then break end
		if query:parse() and not query:qr() then
			local qt = query:qtype()
			log('[%s] %s %s', peer, tostring(query:qname()), dns.tostring.type[qt or 0])
			if qt == dns.type.AXFR or qt == dns.type.IXFR then
				local lname = query:qname():lower()
				if lname == zone.origin then
					axfr(conn, query)
				else
					local ans = respond(query, 512)
					ans:rcode(dns.rcode.NOTAUTH)
					nb.tcpsend(conn, ans)
				end
			else
				-- Most answers fit in 4 KiB; build a 64 KiB one only when not.
				local ans = respond(query, 4096)
				if ans:tc() then ans = respond(query, 65535) end
				nb.tcpsend(conn, ans)
			end
		end
	end
	conn:close()
end

local function serve_udp(sock)
	while true do
		local query = dns.packet(4096)
		local addr = nb.addr()
		local n = nb.udprecv(sock, query, addr)
		if n and n >= 12 and query:parse() and not query:qr() then
			local qt = query:qtype()
			log('[udp] %s %s', tostring(query:qname()), dns.tostring.type[qt or 0])
			local ans
			if qt == dns.type.AXFR or qt == dns.type.IXFR then
				ans = respond(query, 512)
				ans:rcode(dns.rcode.REFUSED)
			else
				ans = respond(query, udp_limit(query))
			end
			nb.udpsend(sock, ans, addr)
		end
	end
end

local function accept_loop(sock, kind, cred)
	while true do
		local conn = sock:accept()
		if conn then
			nb.go(function()
				local c = conn
				if kind == 'tls' then
					local tls = require('dns.tls')
					local s, err = tls.server(conn, cred)
					if not s then
						log('[tls] handshake failed: %s', tostring(err))
						conn:close()
						return
					end
					c = s
				end
				local ok, err = pcall(handle_stream, c, kind)
				if not ok then log('[%s] error: %s', kind, tostring(err)) end
				pcall(conn.close, conn)
			end)
		end
	end
end

-- Main -----------------------------------------------------------------------

local function main(args)
	opts = options(args)
	if opts.help then return T:help() end
	dns = require('dns')
	nb = require('dns.nbio')
	rrparser = require('dns.rrparser')

	local count = load_zone(opts.zone)
	log('loaded %s: %d records, origin %s', opts.zone, count, tostring(zone.origin))

	for _, l in ipairs(opts.listen) do
		local tcp, udp, bound = T:listen(l[1], l[2])
		log('listening on %s#%d (udp, tcp)', l[1], bound)
		nb.go(serve_udp, udp)
		nb.go(accept_loop, tcp, 'tcp')
	end

	local cred
	if #opts.tls > 0 and (opts.cert or opts.key) then
		local tls = require('dns.tls')
		local err
		cred, err = tls.creds.x509({certfile = opts.cert, keyfile = opts.key})
		if not cred then die(1, 'TLS credentials: %s', tostring(err)) end
	end
	for _, l in ipairs(opts.tls) do
		local tcp, _, bound = T:listen(l[1], l[2], false)
		log('listening on %s#%d (tls)', l[1], bound)
		nb.go(accept_loop, tcp, 'tls', cred)
	end
	io.stderr:flush()

	local ok, err, co = nb.run()
	if not ok then
		if co then io.stderr:write(debug.traceback(co), '\n') end
		die(1, '%s', tostring(err))
	end
	return 0
end

T:main(main, ...)

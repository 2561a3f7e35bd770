-- A small Lua DNS responder over UDP, TCP and TLS answering from one zone
-- file: exact matches (AA), CNAME at the name, NODATA and NXDOMAIN with the
-- SOA in the authority section, REFUSED outside the zone, TC when a UDP
-- answer does not fit. It is the server the dns.nbio integration tests and
-- examples/dnsperf-compare.sh drive.
--
-- Usage: ljdns examples/responder.lua [-a HOST] [-p PORT] [-t TLSPORT] [-q] [ZONEFILE]
--   -a HOST     listen address (default 127.0.0.1)
--   -p PORT     UDP and TCP port (default 5353; 0 = ephemeral)
--   -t TLSPORT  also serve DNS over TLS on this port (ephemeral self-signed certificate)
--   -q          quiet (no start-up line)
-- On start-up it prints "listening udp=<port> tcp=<port> [tls=<port>]" to stdout.
local dns = require('dns')
local nb = require('dns.nbio')
local rrparser = require('dns.rrparser')

local usage = [[
Usage: responder.lua [-a HOST] [-p PORT] [-t TLSPORT] [-q] [ZONEFILE]
  -h, --help  show this help
  -a HOST     listen address (default 127.0.0.1)
  -p PORT     UDP and TCP port (default 5353; 0 = ephemeral)
  -t TLSPORT  also serve DNS over TLS on this port (ephemeral self-signed certificate)
  -q          quiet (no start-up line)
  ZONEFILE    default examples/responder.zone
]]

local opts = {host = '127.0.0.1', port = 5353, zone = 'examples/responder.zone'}
do
	local T = require('ljdns.tool').new('responder', usage)
	local ok, err = pcall(function(args)
		local c = T:args(args)
		for a in c.next, c do
			if a == '-h' or a == '--help' then opts.help = true
			elseif a == '-a' then opts.host = c:value()
			elseif a == '-p' then opts.port = T:uint(c:value(), 'port', 65535)
			elseif a == '-t' then opts.tls = T:uint(c:value(), 'TLS port', 65535)
			elseif a == '-q' then opts.quiet = true
			elseif a:sub(1, 1) == '-' then T.usage_error('unknown option "%s" (see --help)', a)
			else opts.zone = a end
		end
	end, {...})
	if not ok then
		T:warn('%s', tostring(err))
		os.exit(1)
	end
	if opts.help then
		io.write(usage)
		os.exit(0)
	end
end

-- Zone: names[lowercase owner wire][type] = rrset ----------------------------
local names, origin, soa = {}, nil, nil
do
	local records, err = rrparser.file(opts.zone)
	if not records then error(('cannot load zone %s: %s'):format(opts.zone, tostring(err))) end
	for _, r in ipairs(records) do
		local owner = dns.dname(r.owner):lower()
		local key = owner:towire()
		local node = names[key]
		if not node then node = {}; names[key] = node end
		local rr = node[r.type]
		if not rr then rr = dns.rrset(owner, r.type); node[r.type] = rr end
		rr:add(r.rdata, r.ttl)
		if r.type == dns.type.SOA then origin, soa = owner, rr end
	end
	assert(soa, 'zone has no SOA')
	-- Negative answers carry the SOA with the TTL of RFC 2308 §3.
	local rd = soa:rdata(0)
	soa = dns.rrset(origin, dns.type.SOA):add(rd, math.min(soa:ttl(), dns.rdata.soa_minttl(rd)))
end

local CNAME, AUTHORITY = dns.type.CNAME, dns.section.AUTHORITY
local NXDOMAIN, REFUSED, FORMERR = dns.rcode.NXDOMAIN, dns.rcode.REFUSED, dns.rcode.FORMERR

-- Methods are looked up once: a call through a local skips the userdata's
-- __index on every query.
local P, D = dns.packet(12), origin
local parse_question, toanswer, qname_of, qtype_of = P.parse_question, P.toanswer, P.qname, P.qtype
local is_response, set_rcode, set_aa, set_tc, put, begin = P.qr, P.rcode, P.aa, P.tc, P.put, P.begin
local lower, towire, within = D.lower, D.towire, D.within

-- answer fills resp for query; false when query is not worth a reply.
local function answer(query, resp)
	if not parse_question(query) or is_response(query) then return false end
	toanswer(query, resp)
	local qname = qname_of(query)
	if not qname then set_rcode(resp, FORMERR) return true end
	local node = names[towire(qname)]
	if not node then
		qname = lower(qname)
		node = names[towire(qname)]
	end
	if node then
		local rr = node[qtype_of(query)] or node[CNAME]
		if rr then
			set_aa(resp, true)
			if not put(resp, rr) then set_tc(resp, true) end
			return true
		end
	elseif not within(qname, origin) then
		set_rcode(resp, REFUSED)
		return true
	else
		set_rcode(resp, NXDOMAIN)
	end
	set_aa(resp, true)
	begin(resp, AUTHORITY)
	put(resp, soa)
	return true
end

-- Transports -------------------------------------------------------------------
local function serve_udp(sock)
	local query, resp, addr = dns.packet(4096), dns.packet(1232), nb.addr()
	local recv, send = nb.udprecv, nb.udpsend
	while true do
		if recv(sock, query, addr) and answer(query, resp) then
			send(sock, resp, addr)
		end
	end
end

-- One stream connection (plain TCP or a TLS session): answer until the peer
-- goes away, sends garbage or stays silent longer than the timeout. All
-- connections share one query and one response packet: tcprecv assembles a
-- message in the socket's own buffer and fills the packet only when it is
-- complete, and tcpsend copies what it cannot write at once, so neither
-- packet is in use while a coroutine waits. An idle connection costs its
-- coroutine and a small read buffer.
local stream_query, stream_resp = dns.packet(4096), dns.packet(65535)
local function serve_stream(conn)
	local query, resp = stream_query, stream_resp
	while true do
		local n = nb.tcprecv(conn, query)
		if not n then break end
		if answer(query, resp) then
			if not nb.tcpsend(conn, resp) then break end
		end
	end
end

local function accept_loop(server, tls)
	while true do
		local conn = server:accept()
		if conn then
			conn:settimeout(10000)
			nb.go(function()
				local c = conn
				if tls then c = tls.server(conn) end
				if c then pcall(serve_stream, c) end
				conn:close()
			end)
		end
	end
end

local function listen(type, port)
	local s = nb.socket(nb.family(opts.host), type)
	local ok, err = pcall(s.bind, s, opts.host, port, 4096) -- deep accept queue for floods
	if not ok then s:close() error(err, 0) end
	local _, p = s:getsockname()
	return s, p
end

-- UDP and TCP on the same port; with port 0 retry until an ephemeral UDP
-- port is also free for TCP.
local udp, port, tcp, tport
for _ = 1, 50 do
	udp, port = listen('dgram', opts.port)
	local ok, s, p = pcall(listen, 'stream', port)
	if ok then tcp, tport = s, p break end
	udp:close()
	if opts.port ~= 0 then error(s, 0) end
end
assert(tcp, 'no free port for both UDP and TCP')
local ports = ('udp=%d tcp=%d'):format(port, tport)
nb.go(serve_udp, udp)
nb.go(accept_loop, tcp)
if opts.tls then
	local tlssock, p = listen('stream', opts.tls)
	ports = ports .. (' tls=%d'):format(p)
	nb.go(accept_loop, tlssock, require('dns.tls'))
end
if not opts.quiet then print('listening ' .. ports) end
io.stdout:flush()
while true do
	local ok, err, co = nb.run()
	if not ok then
		io.stderr:write('responder: ', tostring(err), '\n', co and debug.traceback(co) or '', '\n')
	end
end

-- ldig: a dig(1)-like DNS client built on the ljdns modules.
-- Usage: ldig [options] [@server] [type] [class] [domain]   (see ldig --help)
--
-- Exit status (as dig): 0 answer received, 1 usage error, 8 cannot read
-- the batch input, 9 no (valid) reply, 10 internal error.

local PROG = 'ldig'

local usage = [[
Usage: ldig [options] [@server] [type] [class] [domain]
       ldig [options] [@server] -          (queries read from standard input)

Arguments may appear in any order. A word that is a DNS type (A, NS, AAAA,
TYPE65534, AXFR, IXFR=serial, ...) sets the query type, a class word (IN, CH,
NONE, ANY) the class, anything else the query name (default ".", type NS).

Options:
  -h, --help          show this help and exit
  @SERVER[#PORT]      server address (default: first nameserver of /etc/resolv.conf)
  -p PORT             server port (default 53, 853 with +tls)
  -q NAME             query name (even one that looks like a type or option)
  -t TYPE             query type
  -c CLASS            query class
  -x ADDR             reverse lookup of an IPv4/IPv6 address (type PTR)
  -y [ALG:]NAME:KEY   sign queries and verify answers with TSIG (base64 KEY,
                      NAME:ALG:KEY is accepted too; default hmac-sha256)
  -f FORMAT           output format: json (one JSON object per message) or
                      text (dig-like text, no statistics footer)
  -                   read queries from standard input, one per line:
                      "name [type] [class]"
  +[no]tcp            use TCP (default UDP; truncated UDP answers are retried over TCP)
  +[no]tls            use DNS over TLS (implies TCP, port 853 unless -p is given);
                      the server certificate is not authenticated unless
                      +tls-ca or +tls-hostname is given
  +tls-ca[=FILE]      authenticate the server against FILE (PEM) or the system roots
  +tls-hostname=NAME  name to expect in the server certificate (also sent as SNI)
  +[no]short          print only the answer records, no footer
  +[no]cd             set the CD (checking disabled) flag
  +[no]do, +[no]dnssec  set the EDNS DO (DNSSEC OK) bit
  +[no]recurse        set the RD flag (default on)
  +[no]nsid           ask for the server's NSID and print it
  +[no]cookie[=HEX]   send an EDNS cookie: HEX, or 8 random client-cookie bytes
  +bufsize=N          advertise an EDNS UDP payload of N bytes (0-65535)
  +[no]edns           send an EDNS OPT record even without other EDNS options
  +timeout=SECONDS    wait this long for each answer (default 5)
  +tries=N            number of UDP attempts (default 3); +retry=N means N+1 tries
  +[no]ignore         do not retry a truncated UDP answer over TCP

Zone transfers (AXFR, IXFR=serial) use TCP and print every message.

Exit status: 0 answer received, 1 usage error, 8 cannot read input,
9 no valid reply (timeout, refused connection, malformed or unverifiable
message), 10 internal error.

Examples:
  ldig @127.0.0.1 -p 5353 example.com SOA
  ldig @2001:678:f::1 +do +cd cz DNSKEY
  ldig -x 192.0.2.1
  ldig @127.0.0.1 -y hmac-sha256:key.:c2VjcmV0 example.com AXFR
  ldig +tls @127.0.0.1 example.com A
  ldig -f json nic.cz MX
  echo "nic.cz A" | ldig @127.0.0.1 -
]]

-- Errors raised with fail() carry an exit status and are printed on one line.
-- Accept both key orders: dig's ALG:NAME:KEY and NAME:ALG:KEY.
local function key_spec(s)
	local a, b, c = s:match('^([^:]*):([^:]*):(.*)$')
	if a and a:lower():match('^hmac%-') and not b:lower():match('^hmac%-') then
		return b .. ':' .. a .. ':' .. c
	end
	return s
end

local Failure = {}
Failure.__index = Failure
Failure.__tostring = function(e) return e.msg end

local function fail(status, fmt, ...)
	error(setmetatable({status = status, msg = string.format(fmt, ...)}, Failure), 0)
end

local function usage_error(fmt, ...) fail(1, fmt, ...) end

-- Modules are loaded lazily so that --help works even without them.
local dns, nb

local function tohex(s)
	return (s:gsub('.', function(c) return string.format('%02X', c:byte()) end))
end

local function fromhex(s)
	if #s % 2 ~= 0 or s:find('[^%x]') then return nil end
	return (s:gsub('%x%x', function(h) return string.char(tonumber(h, 16)) end))
end

-- IPv4 text → 4 numbers, or nil.
local function parse_ipv4(s)
	local a, b, c, d = s:match('^(%d+)%.(%d+)%.(%d+)%.(%d+)$')
	if not a then return nil end
	local t = {tonumber(a), tonumber(b), tonumber(c), tonumber(d)}
	for _, v in ipairs(t) do
		if v > 255 then return nil end
	end
	return t
end

-- IPv6 text → 32 hex nibbles (lowercase string), or nil.
local function parse_ipv6(s)
	s = s:gsub('%%.*$', '')
	if not s:find(':') then return nil end
	local groups = {}
	-- A trailing dotted quad counts as two groups.
	local head, quad = s:match('^(.*:)(%d+%.%d+%.%d+%.%d+)$')
	if head then
		local q = parse_ipv4(quad)
		if not q then return nil end
		s = head .. string.format('%x:%x', q[1] * 256 + q[2], q[3] * 256 + q[4])
	end
	local left, right = s, nil
	local dbl = s:find('::', 1, true)
	if dbl then
		left, right = s:sub(1, dbl - 1), s:sub(dbl + 2)
		if right:find('::', 1, true) then return nil end
	end
	local function split(part, out)
		if part == '' then return true end
		for g in (part .. ':'):gmatch('([^:]*):') do
			if not g:match('^%x%x?%x?%x?$') then return false end
			out[#out + 1] = string.format('%04x', tonumber(g, 16))
		end
		return true
	end
	local l, r = {}, {}
	if not split(left, l) or (right and not split(right, r)) then return nil end
	if right then
		if #l + #r > 7 then return nil end
		for _ = 1, 8 - #l - #r do l[#l + 1] = '0000' end
	elseif #l ~= 8 then
		return nil
	end
	for _, g in ipairs(r) do l[#l + 1] = g end
	for _, g in ipairs(l) do groups[#groups + 1] = g end
	return table.concat(groups)
end

-- Reverse-lookup name for an address (IPv4 octets reversed).
local function reverse_name(addr)
	local v4 = parse_ipv4(addr)
	if v4 then
		return string.format('%d.%d.%d.%d.in-addr.arpa.', v4[4], v4[3], v4[2], v4[1])
	end
	local v6 = parse_ipv6(addr)
	if v6 then
		local labels = {}
		for i = #v6, 1, -1 do labels[#labels + 1] = v6:sub(i, i) end
		return table.concat(labels, '.') .. '.ip6.arpa.'
	end
	return nil
end

local function is_address(s)
	return parse_ipv4(s) ~= nil or parse_ipv6(s) ~= nil
end

local function default_server()
	local f = io.open('/etc/resolv.conf', 'r')
	if f then
		for line in f:lines() do
			local ns = line:match('^%s*nameserver%s+([^%s]+)')
			if ns then
				f:close()
				return (ns:gsub('%%.*$', ''))
			end
		end
		f:close()
	end
	return '127.0.0.1'
end

local function parse_type(word)
	local up = word:upper()
	local serial
	if up:match('^IXFR=') then
		serial = tonumber(up:sub(6))
		if not serial or serial < 0 or serial > 4294967295 or serial % 1 ~= 0 then
			usage_error('invalid IXFR serial "%s"', word:sub(6))
		end
		up = 'IXFR'
	end
	local t = dns.type[up]
	if type(t) ~= 'number' then
		local n = up:match('^TYPE(%d+)$')
		t = n and tonumber(n)
		if t and t > 65535 then t = nil end
	end
	return t, serial
end

local function parse_class(word)
	local up = word:upper()
	local c = dns.class[up]
	if type(c) ~= 'number' then
		local n = up:match('^CLASS(%d+)$')
		c = n and tonumber(n)
		if c and c > 65535 then c = nil end
	end
	return c
end

local function parse_uint(s, what, max)
	local n = tonumber(s)
	if not s or not s:match('^%d+$') or not n or n > max then
		usage_error('invalid %s "%s"', what, tostring(s))
	end
	return n
end

-- Command line -------------------------------------------------------------

local function parse_args(args)
	local o = {
		port = 53, rd = true, timeout = 5, tries = 3, fmt = nil,
		queries = {},
	}
	local name, qtype, qclass, serial
	local i = 1
	local function optarg(opt)
		i = i + 1
		if args[i] == nil then usage_error('option %s needs an argument', opt) end
		return args[i]
	end
	while i <= #args do
		local a = args[i]
		if a == '-h' or a == '--help' or a == '-help' then
			o.help = true
		elseif a:sub(1, 1) == '@' then
			local srv, port = a:sub(2), nil
			local h, p = srv:match('^(.+)#(%d+)$')
			if h then srv, port = h, p end
			srv = srv:gsub('^%[(.*)%]$', '%1')
			if srv == '' then usage_error('missing server address after "@"') end
			if not is_address(srv) then
				usage_error('server "%s" is not an IP address (names are not resolved)', srv)
			end
			o.server = srv
			if port then o.port = parse_uint(port, 'port', 65535); o.port_set = true end
		elseif a == '-' then
			o.stdin = true
		elseif a == '-p' then
			o.port = parse_uint(optarg(a), 'port', 65535)
			o.port_set = true
		elseif a == '-f' then
			o.fmt = optarg(a)
			if o.fmt ~= 'json' and o.fmt ~= 'text' then
				usage_error('unknown output format "%s" (json or text)', o.fmt)
			end
		elseif a == '-x' then
			local addr = optarg(a)
			name = reverse_name(addr)
			if not name then usage_error('invalid address "%s" for -x', addr) end
			qtype = qtype or dns.type.PTR
		elseif a == '-y' then
			o.tsig = optarg(a)
		elseif a == '-q' then
			name = optarg(a)
		elseif a == '-t' then
			local w = optarg(a)
			local t, s = parse_type(w)
			if not t then usage_error('unknown type "%s"', w) end
			qtype, serial = t, s
		elseif a == '-c' then
			local w = optarg(a)
			qclass = parse_class(w)
			if not qclass then usage_error('unknown class "%s"', w) end
		elseif a:sub(1, 1) == '+' then
			local key, val = a:match('^%+([%w-]+)=(.*)$')
			if not key then key = a:match('^%+([%w-]+)$') end
			if not key then usage_error('invalid option "%s"', a) end
			key = key:lower()
			local on = true
			local base = key
			if key:sub(1, 2) == 'no' and key ~= 'nsid' then
				on, base = false, key:sub(3)
			end
			local function noval()
				if val ~= nil then usage_error('option +%s takes no value', key) end
			end
			local function needval()
				if not on then usage_error('option +%s takes no "no" form', base) end
				if val == nil or val == '' then usage_error('option +%s needs a value', base) end
				return val
			end
			if base == 'tcp' or base == 'vc' then noval(); o.tcp = on
			elseif base == 'tls' then noval(); o.tls = on
			elseif base == 'tls-ca' then
				o.tls = on; o.tls_ca = on and (val or true) or nil
			elseif base == 'tls-hostname' then o.tls = true; o.tls_hostname = needval()
			elseif base == 'short' then noval(); o.short = on
			elseif base == 'cd' or base == 'cdflag' then noval(); o.cd = on
			elseif base == 'do' or base == 'dnssec' then noval(); o.dobit = on
			elseif base == 'recurse' or base == 'rec' then noval(); o.rd = on
			elseif base == 'nsid' then noval(); o.nsid = true
			elseif base == 'nonsid' then noval(); o.nsid = false
			elseif base == 'edns' then noval(); o.edns = on
			elseif base == 'ignore' then noval(); o.ignore_tc = on
			elseif base == 'cookie' then
				if not on then o.cookie = nil
				elseif val then
					local c = fromhex(val)
					if not c or #c < 8 or #c > 40 then
						usage_error('invalid cookie "%s" (8 to 40 bytes in hex)', val)
					end
					o.cookie = c
				else
					o.cookie = true
				end
			elseif base == 'bufsize' then o.bufsize = parse_uint(needval(), 'bufsize', 65535)
			elseif base == 'timeout' or base == 'time' then
				o.timeout = parse_uint(needval(), 'timeout', 86400)
				if o.timeout == 0 then o.timeout = 1 end
			elseif base == 'tries' then
				o.tries = parse_uint(needval(), 'tries', 100)
				if o.tries == 0 then o.tries = 1 end
			elseif base == 'retry' then
				o.tries = parse_uint(needval(), 'retry', 99) + 1
			else
				usage_error('unknown option "%s"', a)
			end
		elseif a:sub(1, 1) == '-' and #a > 1 then
			usage_error('unknown option "%s"', a)
		else
			local t, s = parse_type(a)
			local c = not t and parse_class(a)
			if t then qtype, serial = t, s
			elseif c then qclass = c
			else name = a end
		end
		i = i + 1
	end
	o.name, o.qtype, o.qclass, o.serial = name, qtype, qclass, serial
	return o
end

-- Queries ----------------------------------------------------------------

local function random_bytes(n)
	local f = io.open('/dev/urandom', 'rb')
	local s = f and f:read(n)
	if f then f:close() end
	if not s or #s ~= n then
		local t = {}
		for k = 1, n do t[k] = string.char(math.random(0, 255)) end
		s = table.concat(t)
	end
	return s
end

local function build_query(o, q, tsig)
	local qname = dns.dname.parse(q.name)
	if not qname then usage_error('invalid domain name "%s"', q.name) end
	local pkt = dns.packet(4096)
	if o.rd then pkt:rd(true) end
	if o.cd then pkt:cd(true) end
	if not pkt:question(qname, q.qtype, q.qclass) then
		fail(10, 'query does not fit in a message')
	end
	if q.qtype == dns.type.IXFR then
		pkt:begin(dns.section.AUTHORITY)
		local soa = dns.rdata.soa(string.format('. . %d 0 0 0 0', q.serial or 0))
		local rr = dns.rrset(qname, dns.type.SOA, q.qclass)
		rr:add(soa, 0)
		pkt:put(rr)
	end
	local cookie = o.cookie
	if cookie == true then cookie = random_bytes(8) end
	if o.dobit or o.bufsize or cookie or o.nsid or o.edns then
		pkt:begin(dns.section.ADDITIONAL)
		local opt = dns.edns.rrset(0, o.bufsize or 4096)
		if o.dobit then dns.edns.dobit(opt, true) end
		if o.nsid then dns.edns.option(opt, dns.option.NSID, '') end
		if cookie then dns.edns.option(opt, dns.option.COOKIE, cookie) end
		if not pkt:put(opt) then fail(10, 'EDNS record does not fit in the query') end
	end
	if tsig then
		local ok, err = tsig:sign(pkt)
		if not ok then fail(10, 'cannot sign the query: %s', tostring(err)) end
	end
	return pkt
end

-- Transfer state machine: returns true once the message stream is complete.
local function transfer_tracker(qtype)
	local first_serial, count, mode, target
	local soa = dns.type.SOA
	return function(rr)
		count = (count or 0) + 1
		local t = rr:type()
		if count == 1 then
			if t ~= soa then fail(9, 'zone transfer does not start with a SOA record') end
			first_serial = dns.rdata.soa_serial(rr:rdata(0))
			return false
		end
		if count == 2 then
			if t == soa then
				local s = dns.rdata.soa_serial(rr:rdata(0))
				if s == first_serial or qtype ~= dns.type.IXFR then return true end
				mode = 'del'
				return false
			end
			mode = 'axfr'
			return false
		end
		if t ~= soa then return false end
		if mode == 'axfr' then return true end
		local s = dns.rdata.soa_serial(rr:rdata(0))
		if mode == 'del' then
			mode, target = 'add', s
			return false
		end
		if s == first_serial and target == first_serial then return true end
		mode = 'del'
		return false
	end
end

-- Transport: returns a connected socket (or TLS session) for the query.
local function open_transport(o, stream)
	local family = nb.family(o.server)
	local sock = nb.socket(family, stream and 'stream' or 'dgram')
	local ok, err = sock:connect(o.server, o.port)
	if not ok then
		sock:close()
		fail(9, 'cannot connect to %s#%d: %s', o.server, o.port, tostring(err or 'connection failed'))
	end
	if stream and o.tls then
		local tls = require('dns.tls')
		local cred
		if o.tls_ca or o.tls_hostname then
			local spec = {hostname = o.tls_hostname}
			if type(o.tls_ca) == 'string' and o.tls_ca ~= '' then spec.cafile = o.tls_ca end
			if spec.cafile or spec.hostname then
				local c, cerr = tls.creds.x509(spec)
				if not c then fail(1, 'invalid TLS credentials: %s', tostring(cerr)) end
				cred = c
			else
				cred = 'x509'
			end
		end
		local s, terr = tls.client(sock, cred)
		if not s then
			sock:close()
			fail(9, 'TLS handshake with %s#%d failed: %s', o.server, o.port, tostring(terr))
		end
		return s, sock
	end
	return sock, sock
end

local function errtext(err)
	if type(err) == 'table' then return tostring(err.strerr or err.msg or err.errno) end
	return tostring(err)
end

local function emit(o, answer, first)
	if o.fmt == 'json' then
		io.write(answer:tostring('json'), '\n')
	elseif o.short then
		io.write(answer:tostring(true))
	elseif first then
		io.write(answer:tostring(false))
		local opt = answer.opt_rr
		if o.nsid and opt then
			local id = dns.edns.option(opt, dns.option.NSID)
			if id then
				local text = id:gsub('[^\32-\126]', '.')
				io.write(string.format(';; NSID: %s ("%s")\n', tohex(id), text))
			end
		end
	else
		io.write(answer:tostring(true))
	end
end

-- Drive the scheduler until state.done, giving up after timeout seconds
-- of inactivity. Returns true, or nil when the wait timed out.
local function drive(state, timeout)
	while not state.done do
		local left = state.active + timeout - nb.now()
		if left <= 0 then return nil end
		local ok, err = nb.step(left)
		if ok == false and err ~= 'timeout' then fail(10, '%s', errtext(err)) end
	end
	return true
end

-- Run one query; returns statistics or raises a Failure.
local function exchange(o, q, tsig)
	local xfr = q.qtype == dns.type.AXFR or q.qtype == dns.type.IXFR
	local stream = o.tcp or o.tls or xfr
	local query = build_query(o, q, tsig)
	local st = {bytes = 0, msgs = 0, done = false, start = nb.now()}
	st.active = st.start

	local function handle(answer, first)
		local ok = answer:parse()
		if not ok then
			if not o.short and o.fmt ~= 'json' then dns.hexdump(answer:towire()) end
			fail(9, 'malformed message from %s#%d', o.server, o.port)
		end
		if tsig then
			if answer.tsig_rr then
				local vok, code = tsig:verify(answer)
				if not vok then
					fail(9, 'TSIG verification of the answer failed (%s)',
						dns.tostring.rcode_tsig[code] or dns.tostring.rcode[code] or tostring(code))
				end
			elseif first then
				fail(9, 'answer is not signed with TSIG (rcode %s)',
					dns.tostring.rcode[answer:rcode()] or tostring(answer:rcode()))
			end
		end
		st.bytes = st.bytes + answer.size
		st.msgs = st.msgs + 1
		emit(o, answer, first)
	end

	local function udp_body(sock)
		local answer = dns.packet(65535)
		while true do
			local n, err = nb.udprecv(sock, answer)
			if not n then fail(9, 'no answer from %s#%d: %s', o.server, o.port, errtext(err)) end
			-- Ignore stray datagrams (late answers to an earlier try).
			if n >= 12 and answer:id() == query:id() and answer:qr() then
				st.last = answer
				return
			end
			if n < 12 then
				fail(9, 'malformed message from %s#%d (%d bytes)', o.server, o.port, n)
			end
		end
	end

	local function tcp_body(conn)
		local n, err = nb.tcpsend(conn, query)
		if not n then fail(9, 'cannot send to %s#%d: %s', o.server, o.port, errtext(err)) end
		local answer = dns.packet(65535)
		local track = xfr and transfer_tracker(q.qtype)
		local first = true
		while true do
			local ok, rn, rerr = pcall(nb.tcprecv, conn, answer)
			if not ok then fail(9, 'malformed message from %s#%d: %s', o.server, o.port, errtext(rn)) end
			if not rn or rn < 12 then
				if rerr then
					fail(9, 'no answer from %s#%d: %s', o.server, o.port, errtext(rerr))
				end
				if first then fail(9, 'connection to %s#%d closed without an answer', o.server, o.port) end
				fail(9, 'connection to %s#%d closed before the zone transfer completed', o.server, o.port)
			end
			st.active = nb.now()
			if answer:id() == query:id() then
				handle(answer, first)
				if not track then return end
				if answer:rcode() ~= dns.rcode.NOERROR then return end
				local an = answer:section(dns.section.ANSWER)
				if first and #an == 0 then return end
				for k = 0, #an - 1 do
					if track(an[k]) then return end
				end
				first = false
			end
		end
	end

	local function spawn(fn, ...)
		local args = {...}
		local ok, err, co = nb.go(function()
			local ok2, e = pcall(fn, unpack(args))
			if not ok2 then st.err = e end
			st.done = true
		end)
		if ok == false then fail(10, '%s', errtext(err)) end
		return co
	end

	local sock, conn
	if stream then
		local function connect_and_run()
			local c, raw = open_transport(o, true)
			sock, conn = raw, c
			tcp_body(c)
		end
		spawn(connect_and_run)
		if not drive(st, o.timeout) then
			st.err = st.err or setmetatable({status = 9,
				msg = string.format('connection to %s#%d timed out', o.server, o.port)}, Failure)
		end
	else
		local tries = o.tries
		local sent = 0
		local function send()
			local n, err = nb.udpsend(sock, query)
			if not n then
				st.err = setmetatable({status = 9, msg = string.format('cannot send to %s#%d: %s',
					o.server, o.port, errtext(err))}, Failure)
				st.done = true
			end
		end
		spawn(function()
			sock = open_transport(o, false)
			send()
			if not st.done then udp_body(sock) end
		end)
		sent = 1
		while not drive(st, o.timeout) do
			if sent >= tries then
				st.err = setmetatable({status = 9, msg = string.format(
					'no answer from %s#%d (timed out)', o.server, o.port)}, Failure)
				break
			end
			st.active = nb.now()
			if sock then nb.go(send) end
			sent = sent + 1
		end
		if not st.err and st.last then
			local answer = st.last
			local pok, perr = pcall(function()
				if answer:tc() and not o.ignore_tc then
					st.truncated = true
				else
					handle(answer, true)
				end
			end)
			if not pok then st.err = perr end
		end
	end
	if conn and conn ~= sock and conn.close then pcall(conn.close, conn) end
	if sock then pcall(sock.close, sock) end
	if st.err then error(st.err, 0) end
	if st.truncated then
		if not o.short and o.fmt ~= 'json' then
			io.write(';; Truncated, retrying in TCP mode.\n')
		end
		local o2 = setmetatable({tcp = true}, {__index = o})
		return exchange(o2, q, tsig)
	end
	st.elapsed = nb.now() - st.start
	return st
end

local function footer(o, st)
	io.write(string.format(';; Query time: %d msec\n', math.floor(st.elapsed * 1000)))
	io.write(string.format(';; SERVER: %s#%d\n', o.server, o.port))
	io.write(string.format(';; WHEN: %s\n', os.date()))
	io.write(string.format(';; MSG SIZE  rcvd: %d count: %d\n\n', st.bytes, st.msgs))
end

local function read_stdin_queries(o)
	local list = {}
	for line in io.lines() do
		local q = {name = '.', qtype = dns.type.A, qclass = dns.class.IN}
		local words = 0
		for w in line:gmatch('%S+') do
			words = words + 1
			local t, s = parse_type(w)
			local c = not t and parse_class(w)
			if t then q.qtype, q.serial = t, s
			elseif c then q.qclass = c
			else q.name = w end
		end
		if words > 0 and not line:match('^%s*[;#]') then list[#list + 1] = q end
	end
	return list
end

local function main(args)
	-- --help first, so it works even when a module cannot load.
	for _, a in ipairs(args) do
		if a == '-h' or a == '--help' or a == '-help' then
			io.write(usage)
			return 0
		end
	end
	dns = require('dns')
	local o = parse_args(args)
	if o.name and not dns.dname.parse(o.name) then usage_error('invalid domain name "%s"', o.name) end
	if o.tls then o.tcp = true end
	if o.tls and not o.port_set then o.port = 853 end
	o.server = o.server or default_server()
	local tsig
	if o.tsig then
		local t, err = dns.tsig(key_spec(o.tsig))
		if not t then usage_error('invalid TSIG key "%s": %s', o.tsig, tostring(err)) end
		tsig = t
	end
	nb = require('dns.nbio')
	local queries
	if o.stdin then
		local ok, list = pcall(read_stdin_queries, o)
		if not ok then fail(8, 'cannot read queries from standard input: %s', tostring(list)) end
		queries = list
	else
		queries = {{
			name = o.name or '.', qtype = o.qtype or dns.type.NS,
			qclass = o.qclass or dns.class.IN, serial = o.serial,
		}}
	end
	local status = 0
	for _, q in ipairs(queries) do
		local ok, st = pcall(exchange, o, q, tsig and tsig:copy())
		if ok then
			if not o.short and not o.fmt then footer(o, st) end
		else
			-- In batch mode a bad line or a missing answer does not stop the run.
			if not o.stdin or getmetatable(st) ~= Failure or (st.status ~= 9 and st.status ~= 1) then
				error(st, 0)
			end
			io.stderr:write(PROG, ': ', tostring(st), '\n')
			if st.status == 9 and not o.short and not o.fmt then io.write('; NO ANSWER\n\n') end
			if status == 0 then status = st.status end
		end
	end
	return status
end

-- Top level: a user mistake or network failure is one line on stderr.
local args = {}
for k = 1, select('#', ...) do args[k] = select(k, ...) end
local ok, res = xpcall(function() return main(args) end, function(e)
	if getmetatable(e) == Failure then return e end
	-- Unexpected errors: first line only, without the chunk position.
	local msg = tostring(e):match('^[^\n]*'):gsub('^[^:]*%.lua:%d+: ', '')
	return {status = 10, msg = msg, trace = debug.traceback(tostring(e))}
end)
io.stdout:flush()
if ok then
	os.exit(res or 0)
else
	io.stderr:write(PROG, ': ', tostring(res.msg), '\n')
	if res.trace and os.getenv('LDIG_DEBUG') then io.stderr:write(res.trace, '\n') end
	os.exit(res.status or 10)
end

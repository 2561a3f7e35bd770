-- ldig: a dig(1)-like DNS client built on the ljdns modules.
-- Usage: ldig [options] [@server] [type] [class] [domain]...   (see ldig --help)
--
-- Exit status (as dig): 0 answer received, 1 usage error, 8 cannot read
-- the batch input, 9 no (valid) reply, 10 internal error.

local tool = require('ljdns.tool')

local usage = [[
Usage: ldig [options] [@server] [type] [class] [domain] [[type] [class] domain]...
       ldig [options] [@server] -          (queries read from standard input)

Arguments may appear in any order. A word that is a DNS type (A, NS, AAAA,
CAA, HTTPS, any type miekg/dns knows, TYPE65534, AXFR, IXFR=serial, ...) sets
the query type, a class word (IN, CH, HS, NONE, ANY, CLASS3) the class,
anything else the query name (default ".", type NS). Each further name
starts another query, as with dig: "ldig a.example MX b.example AAAA" asks
two questions. A word in capitals without a dot that names no type or class
is an error (use -q for such a query name).

Options:
  -h, --help          show this help and exit
  @SERVER[#PORT]      server address or host name (looked up in /etc/hosts, then
                      asked of the nameservers of /etc/resolv.conf); default:
                      first nameserver of /etc/resolv.conf
  -p PORT             server port (default 53, 853 with +tls, 443 with +https)
  -4, -6              use IPv4 / IPv6 only
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
  +[no]https[=PATH]   use DNS over HTTPS (RFC 8484, HTTP/2, POST; path default
                      /dns-query); +tls-ca and +tls-hostname authenticate the server
  +https-get[=PATH]   DNS over HTTPS with GET
  +[no]short          print only the RDATA of the answer records, no footer
  +[no]all            set or clear every display flag below
  +[no]comments       header, pseudosections and section headings
  +[no]question       the question
  +[no]answer, +[no]authority, +[no]additional   those sections
  +[no]stats          the footer (query time, server, date, size)
  +[no]cmd            accepted for dig compatibility (ldig prints no command line)
  +[no]multiline      SOA, DNSKEY, RRSIG, DS, TLSA, ... records on several
                      commented lines, as dig prints them
  +[no]json           the same as -f json
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

Every transport is dns.client's (UDP, TCP, TLS, HTTPS); destinations outside
LJDNS_OUTGOING_ALLOW are refused. LJDNS_HOSTS and LJDNS_RESOLV_CONF replace
/etc/hosts and /etc/resolv.conf.

Zone transfers (AXFR, IXFR=serial) use TCP and print every message; a
transfer answered with an error (NOTAUTH, REFUSED, ...) is a failure. A
TSIG failure prints the server's reply and its TSIG error (BADKEY, BADSIG,
BADTIME).

Exit status: 0 answer received, 1 usage error, 8 cannot read input,
9 no valid reply (timeout, refused connection, malformed or unverifiable
message, failed zone transfer), 10 internal error. With several queries,
each failure is reported and the others still run; the status is that of
the first failure.

Examples:
  ldig @127.0.0.1 -p 5353 example.com SOA
  ldig @2001:678:f::1 +do +cd cz DNSKEY +multiline
  ldig -x 192.0.2.1
  ldig +noall +answer example.com MX example.net AAAA
  ldig @127.0.0.1 -y hmac-sha256:key.:c2VjcmV0 example.com AXFR
  ldig +tls @127.0.0.1 example.com A
  ldig +https @localhost -p 8443 +tls-ca=ca.pem +tls-hostname=dns.example example.com
  ldig -f json nic.cz MX
  echo "nic.cz A" | ldig @127.0.0.1 -
]]

local T = tool.new('ldig', usage)
T.internal_status = 10
local fail, usage_error = T.fail, T.usage_error

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

-- First nameserver of /etc/resolv.conf (of the family asked for, if any).
local function default_server(family)
	local f = io.open(os.getenv('LJDNS_RESOLV_CONF') or '/etc/resolv.conf', 'r')
	if f then
		for line in f:lines() do
			local ns = line:match('^%s*nameserver%s+([^%s]+)')
			if ns then
				ns = ns:gsub('%%.*$', '')
				local v6 = ns:find(':', 1, true) ~= nil
				if not family or (family == 'inet6') == v6 then
					f:close()
					return ns
				end
			end
		end
		f:close()
	end
	return family == 'inet6' and '::1' or '127.0.0.1'
end

-- parse_type(word) -> type number [, IXFR serial], or nil when word is no
-- type. A mnemonic of dns.type (any miekg/dns type), TYPEnnn or
-- IXFR=serial; TYPEnnn beyond 65535 and a bad serial are usage errors.
local function parse_type(word)
	local up = word:upper()
	local serial
	if up:match('^IXFR=') then
		serial = tonumber(up:sub(6))
		if not up:sub(6):match('^%d+$') or not serial or serial > 4294967295 then
			usage_error('invalid IXFR serial "%s"', word:sub(6))
		end
		up = 'IXFR'
	end
	local t = dns.type[up]
	if type(t) == 'number' then return t, serial end
	local n = up:match('^TYPE(%d+)$')
	if n then
		t = tonumber(n)
		if t > 65535 then usage_error('unknown type "%s" (TYPEnnn goes up to 65535)', word) end
		return t
	end
	return nil
end

local classes_extra = {HS = 4}

local function parse_class(word)
	local up = word:upper()
	local c = dns.class[up] or classes_extra[up]
	if type(c) == 'number' then return c end
	local n = up:match('^CLASS(%d+)$')
	if n then
		c = tonumber(n)
		if c > 65535 then usage_error('unknown class "%s" (CLASSnnn goes up to 65535)', word) end
		return c
	end
	return nil
end

-- A word in capitals without a dot reads as a type, not as a name.
local function looks_like_type(word)
	return word:match('^[A-Z][A-Z0-9-]*$') ~= nil
end

-- Command line -------------------------------------------------------------

-- Display flags of dig (+[no]all sets them all).
local function all_shown(on)
	return {comments = on, question = on, answer = on, authority = on, additional = on, stats = on}
end

local function plus_option(o, a)
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
	elseif base == 'https' or base == 'https-get' then
		o.https = on and (val or '/dns-query') or nil
		o.https_get = on and base == 'https-get'
		if o.https and o.https:sub(1, 1) ~= '/' then
			usage_error('option +%s takes a path ("/dns-query"), not "%s"', base, o.https)
		end
	elseif base == 'short' then noval(); o.short = on
	elseif base == 'all' then noval(); o.show = all_shown(on)
	elseif o.show[base] ~= nil then noval(); o.show[base] = on
	elseif base == 'cmd' then noval()
	elseif base == 'multiline' then noval(); o.multiline = on
	elseif base == 'json' then noval(); o.fmt = on and 'json' or nil
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
	elseif base == 'bufsize' then o.bufsize = T:uint(needval(), 'bufsize', 65535)
	elseif base == 'timeout' or base == 'time' then
		o.timeout = math.max(1, T:uint(needval(), 'timeout', 86400))
	elseif base == 'tries' then
		o.tries = math.max(1, T:uint(needval(), 'tries', 100))
	elseif base == 'retry' then
		o.tries = T:uint(needval(), 'retry', 99) + 1
	else
		usage_error('unknown option "%s"', a)
	end
end

-- classify(word, g) applies a free word to query group g: returns 'type',
-- 'class' or 'name' (g untouched for a name).
local function classify(word, g)
	local t, s = parse_type(word)
	if t then g.qtype, g.serial = t, s; return 'type' end
	local c = parse_class(word)
	if c then g.qclass = c; return 'class' end
	if looks_like_type(word) then
		usage_error('unknown type "%s" (for a query name, write -q %s or %s.)', word, word, word)
	end
	return 'name'
end

local function parse_args(args)
	local o = {
		port = 53, rd = true, timeout = 5, tries = 3, fmt = nil, show = all_shown(true),
	}
	-- Query groups: a name word (or -q, -x) starts a new one once the
	-- current group has a name; type and class words fill the current one.
	local groups, cur = {}, nil
	local function group()
		if not cur then cur = {}; groups[#groups + 1] = cur end
		return cur
	end
	local function set_name(name, ptr)
		if cur and cur.name then cur = nil end
		local g = group()
		g.name, g.ptr = name, ptr
	end
	local c = T:args(args)
	for a in c.next, c do
		if a == '-h' or a == '--help' or a == '-help' then
			o.help = true
		elseif a:sub(1, 1) == '@' then
			local srv, port = a:sub(2), nil
			local h, p = srv:match('^(.+)#(%d+)$')
			if h then srv, port = h, p end
			srv = srv:gsub('^%[(.*)%]$', '%1')
			if srv == '' then usage_error('missing server address after "@"') end
			o.server, o.server_name = srv, nil
			if not is_address(srv) then
				if srv:find('[%s/]') or not dns.dname.parse(srv) then
					usage_error('server "%s" is neither an IP address nor a host name', srv)
				end
				o.server_name = srv
			end
			if port then o.port = T:uint(port, 'port', 65535); o.port_set = true end
		elseif a == '-' then
			o.stdin = true
		elseif a == '-4' or a == '-6' then
			local fam = a == '-4' and 'inet' or 'inet6'
			if o.family and o.family ~= fam then usage_error('options -4 and -6 exclude each other') end
			o.family = fam
		elseif a == '-p' then
			o.port = T:uint(c:value(), 'port', 65535)
			o.port_set = true
		elseif a == '-f' then
			o.fmt = c:value()
			if o.fmt ~= 'json' and o.fmt ~= 'text' then
				usage_error('unknown output format "%s" (json or text)', o.fmt)
			end
		elseif a == '-x' then
			local addr = c:value()
			local name = reverse_name(addr)
			if not name then usage_error('invalid address "%s" for -x', addr) end
			set_name(name, true)
		elseif a == '-y' then
			o.tsig = c:value()
		elseif a == '-q' then
			set_name(c:value())
		elseif a == '-t' then
			local w = c:value()
			local t, s = parse_type(w)
			if not t then usage_error('unknown type "%s"', w) end
			local g = group()
			g.qtype, g.serial = t, s
		elseif a == '-c' then
			local w = c:value()
			local cl = parse_class(w)
			if not cl then usage_error('unknown class "%s"', w) end
			group().qclass = cl
		elseif a:sub(1, 1) == '+' then
			plus_option(o, a)
		elseif a:sub(1, 1) == '-' and #a > 1 then
			usage_error('unknown option "%s"', a)
		else
			local g = {}
			if classify(a, g) == 'name' then
				set_name(a)
			else
				local cg = group()
				for k, v in pairs(g) do cg[k] = v end
			end
		end
	end
	o.queries = {}
	for _, g in ipairs(groups) do
		o.queries[#o.queries + 1] = {
			name = g.name or '.', qclass = g.qclass or dns.class.IN, serial = g.serial,
			qtype = g.qtype or (g.ptr and dns.type.PTR) or dns.type.NS,
		}
	end
	if #o.queries == 0 then
		o.queries[1] = {name = '.', qtype = dns.type.NS, qclass = dns.class.IN}
	end
	return o
end

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

-- Transports --------------------------------------------------------------

-- tls_option(o) -> the tls option of dns.client for +tls/+https: strict
-- with +tls-ca/+tls-hostname, opportunistic otherwise.
local function tls_option(o)
	if o.tls_ca or o.tls_hostname then
		local file = type(o.tls_ca) == 'string' and o.tls_ca ~= '' and o.tls_ca or nil
		if file or o.tls_hostname then return {hostname = o.tls_hostname, ca_file = file} end
		return require('dns.tls').creds.client_x509 -- system roots, the address as name
	end
	return true
end

-- transport(o, kind) -> the dns.client for 'udp', 'tcp' (TCP or TLS) or
-- 'https', made once per run. UDP adds no EDNS and no cookie of its own,
-- TCP no keepalive option: ldig sends the query it built.
local function transport(o, kind)
	o.clients = o.clients or {}
	if o.clients[kind] then return o.clients[kind] end
	local client = require('dns.client')
	local addr = o.server .. '#' .. o.port
	local c, err
	if kind == 'udp' then
		c, err = client.dgram(addr, {timeout = o.timeout, retries = o.tries - 1,
			udp_payload_size = 0, cookies = false})
	elseif kind == 'https' then
		local host = o.server:find(':', 1, true) and '[' .. o.server .. ']' or o.server
		c, err = client.https(('https://%s:%d%s'):format(host, o.port, o.https), {timeout = o.timeout,
			connect_timeout = o.timeout, method = o.https_get and 'GET' or 'POST', tls = tls_option(o)})
	else
		c, err = client.stream(addr, {connect_timeout = o.timeout, response_timeout = o.timeout,
			keepalive = false, tls = o.tls and tls_option(o) or nil})
	end
	if not c then
		if (o.tls or o.https) and tostring(err):match('tls') then fail(1, 'invalid TLS credentials: %s', err) end
		fail(9, 'cannot ask %s#%d: %s', o.server, o.port, tostring(err))
	end
	o.clients[kind] = c
	return c
end

-- server_text: the server as the messages name it.
local function server_text(o)
	return ('%s#%d'):format(o.server, o.port)
end

-- Server names -------------------------------------------------------------

local function wanted(addr, family)
	if not family then return true end
	return (addr:find(':', 1, true) ~= nil) == (family == 'inet6')
end

-- hosts_lookup(name, family) -> the addresses /etc/hosts gives name, IPv4
-- first when no family is asked for.
local function hosts_lookup(name, family)
	local want = name:lower():gsub('%.$', '')
	local v4, v6 = {}, {}
	local f = io.open(os.getenv('LJDNS_HOSTS') or '/etc/hosts', 'r')
	if not f then return {} end
	for line in f:lines() do
		line = line:gsub('#.*$', '')
		local addr, names = line:match('^%s*(%S+)%s+(.*)$')
		if addr and is_address(addr) and wanted(addr, family) then
			for n in names:gmatch('%S+') do
				if n:lower():gsub('%.$', '') == want then
					local list = addr:find(':', 1, true) and v6 or v4
					list[#list + 1] = addr:gsub('%%.*$', '')
					break
				end
			end
		end
	end
	f:close()
	for _, a in ipairs(v6) do v4[#v4 + 1] = a end
	return v4
end

-- resolv_servers() -> the nameservers of /etc/resolv.conf.
local function resolv_servers()
	local out = {}
	local f = io.open(os.getenv('LJDNS_RESOLV_CONF') or '/etc/resolv.conf', 'r')
	if not f then return out end
	for line in f:lines() do
		local ns = line:match('^%s*nameserver%s+([^%s]+)')
		if ns and is_address(ns:gsub('%%.*$', '')) then out[#out + 1] = ns:gsub('%%.*$', '') end
	end
	f:close()
	return out
end

-- resolve(o, name) -> an address of name: from /etc/hosts, else asked
-- through dns.client of the nameservers of /etc/resolv.conf (A, then
-- AAAA). Failing that, exit 10 as dig does.
local function resolve(o, name)
	local found = hosts_lookup(name, o.family)
	if #found > 0 then return found[1] end
	local client = require('dns.client')
	local ups, why = {}, nil
	for _, ns in ipairs(resolv_servers()) do
		local c, err = client.dgram_stream(ns, {timeout = o.timeout, retries = o.tries - 1})
		if c then ups[#ups + 1] = c else why = err end
	end
	if #ups == 0 then
		fail(10, "couldn't get address for '%s': %s", name, why or 'no nameserver in /etc/resolv.conf')
	end
	local r = client.redundant(ups)
	local types = {}
	if o.family ~= 'inet6' then types[#types + 1] = dns.type.A end
	if o.family ~= 'inet' then types[#types + 1] = dns.type.AAAA end
	for _, t in ipairs(types) do
		local a, err = r:query(name, t)
		if not a then why = err
		else
			for _, rr in ipairs(a:section(dns.section.ANSWER)) do
				if rr:type() == t and rr:count() > 0 then
					r:close()
					local rd = rr:rdata(0)
					if t == dns.type.A then return ('%d.%d.%d.%d'):format(rd:byte(1, 4)) end
					local g = {}
					for k = 1, 16, 2 do g[#g + 1] = ('%x'):format(rd:byte(k) * 256 + rd:byte(k + 1)) end
					return table.concat(g, ':')
				end
			end
			why = why or ('not found (%s)'):format(dns.tostring.rcode[a:rcode()] or a:rcode())
		end
	end
	r:close()
	fail(10, "couldn't get address for '%s': %s", name, tostring(why or 'not found'))
end

-- Output -------------------------------------------------------------------

local function rcode_name(code)
	return dns.tostring.rcode[code] or tostring(code)
end

local function tsig_rcode_name(code)
	return dns.tostring.rcode_tsig[code] or dns.tostring.rcode[code] or tostring(code)
end

-- tsig_error(rr) -> the error field of a TSIG record (RFC 8945 §4.2), or
-- nil when its RDATA is malformed.
local function tsig_error(rr)
	local rd = rr:rdata(0)
	local i = 1
	while true do -- algorithm name (never compressed)
		local len = rd:byte(i)
		if not len then return nil end
		i = i + 1 + len
		if len == 0 then break end
	end
	-- time signed (6), fudge (2), MAC size (2), MAC, original ID (2), error (2)
	local hi, lo = rd:byte(i + 8, i + 9)
	if not lo then return nil end
	i = i + 10 + hi * 256 + lo + 2
	hi, lo = rd:byte(i, i + 1)
	if not lo then return nil end
	return hi * 256 + lo
end

-- RR line -> prefix ("owner<pad>TTL\tTYPE\t"), type, rdata text.
local function split_rr(line)
	local prefix, rtype, rdata = line:match('^(%S+%s+%d+\t(%S+)\t)(.-)\n?$')
	return prefix, rtype, rdata
end

-- Presentation tokens of RDATA text (quoted strings kept whole).
local function tokens(text)
	local out, i, n = {}, 1, #text
	while i <= n do
		local ch = text:sub(i, i)
		if ch == ' ' or ch == '\t' then
			i = i + 1
		elseif ch == '"' then
			local j = i + 1
			while j <= n do
				local d = text:sub(j, j)
				if d == '\\' then j = j + 2
				elseif d == '"' then break
				else j = j + 1 end
			end
			out[#out + 1] = text:sub(i, j)
			i = j + 1
		else
			local j = text:find('[ \t]', i) or n + 1
			out[#out + 1] = text:sub(i, j - 1)
			i = j
		end
	end
	return out
end

-- "2 hours", "1 week 1 day", as dig writes SOA timer comments.
local function duration(s)
	local units = {{604800, 'week'}, {86400, 'day'}, {3600, 'hour'}, {60, 'minute'}, {1, 'second'}}
	local out = {}
	for _, u in ipairs(units) do
		local n = math.floor(s / u[1])
		if n > 0 then
			out[#out + 1] = n .. ' ' .. u[2] .. (n > 1 and 's' or '')
			s = s - n * u[1]
		end
	end
	if #out == 0 then return '0 seconds' end
	return table.concat(out, ' ')
end

-- Multi-line forms: the number of leading fields on the first line; the
-- rest (base64 or hex, which the zone syntax lets us split) follows in
-- 56-character lines.
local multiline_head = {
	DNSKEY = 3, CDNSKEY = 3, KEY = 3, RRSIG = 4, SIG = 4, DS = 3, CDS = 3, DLV = 3, TA = 3,
	TLSA = 3, SMIMEA = 3, SSHFP = 2, NSEC3 = 4, DHCID = 0, OPENPGPKEY = 0, IPSECKEY = 4,
}
local INDENT = '\t\t\t\t'

local function multiline(line)
	local prefix, rtype, rdata = split_rr(line)
	if not prefix then return line end
	local f = tokens(rdata)
	if rtype == 'SOA' and #f == 7 then
		local out = {prefix, f[1], ' ', f[2], ' (\n',
			INDENT, string.format('%-10s ; serial\n', f[3])}
		for k, what in ipairs({'refresh', 'retry', 'expire', 'minimum'}) do
			local v = f[3 + k]
			out[#out + 1] = INDENT .. string.format('%-10s ; %s (%s)\n', v, what, duration(tonumber(v) or 0))
		end
		out[#out + 1] = INDENT .. ')\n'
		return table.concat(out)
	end
	local head = multiline_head[rtype]
	if not head or #rdata <= 56 or #f <= head then return line end
	local out = {prefix, table.concat(f, ' ', 1, head), head > 0 and ' (\n' or '(\n'}
	local cur = {}
	local function flush()
		if #cur > 0 then out[#out + 1] = INDENT .. table.concat(cur, ' ') .. '\n'; cur = {} end
	end
	for k = head + 1, #f do
		local tok = f[k]
		if #tok > 56 and tok:match('^[%w+/=]+$') then
			flush()
			for p = 1, #tok, 56 do out[#out + 1] = INDENT .. tok:sub(p, p + 55) .. '\n' end
		else
			cur[#cur + 1] = tok
		end
	end
	flush()
	out[#out + 1] = INDENT .. ')\n'
	return table.concat(out)
end

-- Blocks of the dig-like text of a message, each with its display flag.
local block_kinds = {
	{'^;; %->>HEADER', 'header', 'comments'}, {'^;; OPT PSEUDOSECTION', 'opt', 'comments'},
	{'^;; TSIG PSEUDOSECTION', 'tsig', 'comments'}, {'^;; QUESTION', 'question', 'question'},
	{'^;; ANSWER', 'answer', 'answer'}, {'^;; AUTHORITY', 'authority', 'authority'},
	{'^;; ADDITIONAL', 'additional', 'additional'},
}

local function blocks(text)
	local out, cur = {}, nil
	for line in text:gmatch('[^\n]*\n') do
		local kind
		for _, b in ipairs(block_kinds) do
			if line:find(b[1]) then kind = b; break end
		end
		if kind then
			cur = {kind = kind[2], flag = kind[3], head = line, lines = {}}
			out[#out + 1] = cur
		elseif cur then
			cur.lines[#cur.lines + 1] = line
		end
	end
	return out
end

local function answer_lines(answer)
	for _, b in ipairs(blocks(answer:tostring(false))) do
		if b.kind == 'answer' then return b.lines end
	end
	return {}
end

-- Text of one message under the display flags; a transfer's later
-- messages (first false) show their answer records only.
local function render(o, answer, first)
	local out = {}
	local function rr(line)
		out[#out + 1] = o.multiline and multiline(line) or line
	end
	if not first then
		if o.show.answer then
			for _, line in ipairs(answer_lines(answer)) do rr(line) end
		end
		return table.concat(out)
	end
	for _, b in ipairs(blocks(answer:tostring(false))) do
		if o.show[b.flag] then
			local is_rr = b.kind == 'answer' or b.kind == 'authority' or b.kind == 'additional'
			if o.show.comments then out[#out + 1] = b.head end
			for _, line in ipairs(b.lines) do
				if is_rr then rr(line) else out[#out + 1] = line end
			end
			if b.kind == 'tsig' and answer.tsig_rr then
				local err = tsig_error(answer.tsig_rr)
				if err and err ~= 0 then
					out[#out + 1] = string.format('; TSIG error: %s\n', tsig_rcode_name(err))
				end
			end
		end
	end
	return table.concat(out)
end

local function emit(o, answer, first)
	if o.fmt == 'json' then
		io.write(answer:tostring('json'), '\n')
	elseif o.short then
		for _, line in ipairs(answer_lines(answer)) do
			local _, _, rdata = split_rr(line)
			if rdata then io.write(rdata, '\n') end
		end
	else
		io.write(render(o, answer, first))
		local opt = answer.opt_rr
		if first and o.nsid and opt and o.show.comments then
			local id = dns.edns.option(opt, dns.option.NSID)
			if id then
				local text = id:gsub('[^\32-\126]', '.')
				io.write(string.format(';; NSID: %s ("%s")\n', tohex(id), text))
			end
		end
	end
end

-- Run one query; returns statistics or raises a failure (ljdns.tool).
local function exchange(o, q, tsig)
	if q.err then error(q.err, 0) end
	local xfr = q.qtype == dns.type.AXFR or q.qtype == dns.type.IXFR
	local query = build_query(o, q, tsig)
	local st = {bytes = 0, msgs = 0, start = nb.now()}

	local function handle(answer, first)
		st.bytes = st.bytes + answer.size
		st.msgs = st.msgs + 1
		if tsig then
			-- On failure the reply is printed first: its TSIG error and
			-- status are what the user needs to see.
			local trr = answer.tsig_rr
			if trr then
				local terr = tsig_error(trr)
				if terr ~= 0 then
					emit(o, answer, first)
					fail(9, 'TSIG error from %s: %s (status %s)', server_text(o),
						terr and tsig_rcode_name(terr) or 'malformed TSIG record', rcode_name(answer:rcode()))
				end
				local vok, code = tsig:verify(answer)
				if not vok then
					emit(o, answer, first)
					fail(9, 'TSIG verification of the answer failed (%s)', tsig_rcode_name(code))
				end
			elseif first then
				emit(o, answer, first)
				fail(9, 'answer is not signed with TSIG (status %s)', rcode_name(answer:rcode()))
			end
		end
		emit(o, answer, first)
	end

	if xfr and not o.https then
		local s, err = transport(o, 'tcp'):stream(query)
		if not s then fail(9, 'zone transfer from %s failed: %s', server_text(o), tostring(err)) end
		local first = true
		local ok, ferr = pcall(function()
			for answer in s do
				handle(answer, first)
				if answer:rcode() ~= dns.rcode.NOERROR then
					fail(9, 'zone transfer failed: %s answered %s', server_text(o), rcode_name(answer:rcode()))
				end
				first = false
			end
		end)
		s:close()
		if not ok then error(ferr, 0) end
		if s:err() then fail(9, 'zone transfer from %s failed: %s', server_text(o), s:err()) end
	else
		local kind = o.https and 'https' or ((o.tcp or o.tls) and 'tcp' or 'udp')
		local answer, err = transport(o, kind):query(query)
		if not answer then fail(9, 'no answer from %s: %s', server_text(o), tostring(err)) end
		if kind == 'udp' and answer:tc() and not o.ignore_tc then
			if not o.short and o.fmt ~= 'json' then
				io.write(';; Truncated, retrying in TCP mode.\n')
			end
			local o2 = setmetatable({tcp = true}, {__index = o})
			return exchange(o2, q, tsig)
		end
		handle(answer, true)
	end
	st.elapsed = nb.now() - st.start
	return st
end

local function footer(o, st)
	io.write(string.format(';; Query time: %d msec\n', math.floor(st.elapsed * 1000)))
	if o.server_name then
		io.write(string.format(';; SERVER: %s#%d(%s)\n', o.server, o.port, o.server_name))
	else
		io.write(string.format(';; SERVER: %s#%d\n', o.server, o.port))
	end
	io.write(string.format(';; WHEN: %s\n', os.date()))
	io.write(string.format(';; MSG SIZE  rcvd: %d count: %d\n\n', st.bytes, st.msgs))
end

-- Batch mode: "name [type] [class]" per line; a bad line becomes a query
-- carrying its error, reported when its turn comes.
local function read_stdin_queries()
	local list = {}
	for line in io.lines() do
		if line:match('%S') and not line:match('^%s*[;#]') then
			local q = {name = '.', qtype = dns.type.A, qclass = dns.class.IN}
			for w in line:gmatch('%S+') do
				local ok, kind = pcall(classify, w, q)
				if not ok then q.err = kind; break end
				if kind == 'name' then q.name = w end
			end
			list[#list + 1] = q
		end
	end
	return list
end

local function main(args)
	-- --help first, so it works even when a module cannot load.
	if tool.wants_help(args) then return T:help() end
	dns = require('dns')
	local o = parse_args(args)
	for _, q in ipairs(o.queries) do
		if not dns.dname.parse(q.name) then usage_error('invalid domain name "%s"', q.name) end
	end
	if o.https then o.tls = false end -- +tls-ca/+tls-hostname authenticate the HTTPS server
	if o.tls then o.tcp = true end
	if not o.port_set then o.port = (o.https and 443) or (o.tls and 853) or 53 end
	if o.server_name then o.server = resolve(o, o.server_name) end
	o.server = o.server or default_server(o.family)
	if o.family then
		local v6 = o.server:find(':', 1, true) ~= nil
		if v6 ~= (o.family == 'inet6') then
			usage_error('server %s is not an %s address (option %s)', o.server,
				v6 and 'IPv4' or 'IPv6', v6 and '-4' or '-6')
		end
	end
	local tsig = o.tsig and T:tsig(o.tsig)
	nb = require('dns.nbio')
	local queries = o.queries
	if o.stdin then
		local ok, list = pcall(read_stdin_queries)
		if not ok then fail(8, 'cannot read queries from standard input: %s', tostring(list)) end
		queries = list
	end
	local status = 0
	for _, q in ipairs(queries) do
		local ok, st = pcall(exchange, o, q, tsig and tsig:copy())
		if ok then
			if o.show.stats and not o.short and not o.fmt then footer(o, st) end
		else
			-- A bad batch line or a missing answer does not stop the others.
			if #queries == 1 or not tool.is_failure(st) or (st.status ~= 9 and st.status ~= 1) then
				error(st, 0)
			end
			io.stdout:flush()
			T:warn('%s', tostring(st))
			if o.stdin and st.status == 9 and not o.short and not o.fmt then io.write('; NO ANSWER\n\n') end
			if status == 0 then status = st.status end
		end
	end
	for _, c in pairs(o.clients or {}) do c:close() end
	return status
end

T:main(main, ...)

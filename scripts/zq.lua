-- zq: query and filter zone files.
-- Usage: zq [options] [filter]... zonefile   (see zq --help)

local PROG = 'zq'
local json_sink

local usage = [[
Usage: zq [options] [filter]... zonefile

Prints the records of a zone file that match every filter (all filters
must match). The last argument is always the zone file ("-" is standard input).

Options:
  -h, --help        show this help and exit
  -s                sort the output canonically (owner, then type; text only)
  -1                print only the first matching record and the following
                    matching records with the same owner
  -f text|json      output format (default text: one record per line;
                    json: one array of {"name","type","TTL","data"} objects)
  -t                print the parse time and record count on stderr
  --progress        show progress on stderr (default: for files of 8 MiB or
                    more, when stderr is a terminal and stdout is not)
  --no-progress     never show progress

Example filters:
  SOA               records of type SOA
  type~=SOA         records of any other type
  domain.cz         records owned by domain.cz.
  owner=domain.cz   the same
  *.cz              records at or below cz.
  A(1.2.3.4)        A records with address 1.2.3.4
  NS(ns.domain.cz)  NS records pointing to ns.domain.cz.
  rdata~=\x02cz     records whose RDATA does not contain the bytes \x02cz
  ttl<=3600         records with TTL at most 3600

Examples:
  zq -s example.com.zone
  zq -f json 'type=MX' example.com.zone
  zq -1 '*.example.com' ttl>=300 example.com.zone
]]

local Failure = {}
Failure.__tostring = function(e) return e.msg end
local function fail(status, fmt, ...)
	error(setmetatable({status = status, msg = string.format(fmt, ...)}, Failure), 0)
end

-- isatty(2), when a module offers a way to ask.
local function stderr_is_tty()
	local ok, S = pcall(require, 'syscall')
	if ok and type(S) == 'table' and type(S.isatty) == 'function' then
		local ok2, r = pcall(S.isatty, 2)
		if ok2 then return r == true and not S.isatty(1) end
	end
	ok, S = pcall(require, 'dns.utils')
	if ok and type(S) == 'table' and type(S.isatty) == 'function' then
		local ok2, r = pcall(S.isatty, 2)
		if ok2 then return r == true and not S.isatty(1) end
	end
	-- Fallback: ask test(1), which inherits our descriptors. Records
	-- printed on the terminal show progress themselves: only when the
	-- output goes elsewhere.
	local okx, r = pcall(os.execute, 'test -t 2 && ! test -t 1')
	return okx and (r == 0 or r == true)
end

-- Wrap a filter (it sees every parsed record) so that it reports
-- progress on stderr; returns the filter and a function clearing the line.
local function with_progress(filter, now)
	local n, start, last = 0, now(), now()
	local function progress(owner, rtype, ttl, rdata)
		n = n + 1
		if n % 8192 == 0 then
			local t = now()
			if t - last >= 0.25 then
				last = t
				io.stderr:write(string.format('\r; %d records parsed, %.0f records/s',
					n, n / math.max(t - start, 1e-6)))
			end
		end
		if filter then return filter(owner, rtype, ttl, rdata) end
		return true
	end
	return progress, function()
		if n >= 8192 then io.stderr:write('\r\27[K') end
	end
end

local function json_string(s)
	if not s:find('[%c"\\]') then return '"' .. s .. '"' end
	return '"' .. s:gsub('[%c"\\]', function(c)
		if c == '"' then return '\\"' elseif c == '\\' then return '\\\\' end
		return string.format('\\u%04x', c:byte())
	end) .. '"'
end

-- Like sift.jsonify(), but "data" is always a JSON string holding the
-- RDATA text, so TXT records with several strings or escapes stay valid.
json_sink = function(dns)
	local parts, n = {}, 0
	local rr = dns.rrset(nil, 0)
	return function(owner, rtype, ttl, rdata)
		if owner == nil then
			return '[' .. table.concat(parts, ',') .. ']', n
		end
		rr:init(owner, rtype)
		rr:add(rdata, ttl)
		n = n + 1
		parts[n] = string.format('{ "name": %s, "type": %d, "TTL": %d, "data": %s }',
			json_string(owner:tostring()), rtype, ttl, json_string(rr:tostring(0)))
		return true
	end
end

-- Parse the whole file, returning the first syntax error or nil.
local function validate(path)
	local rrparser = require('dns.rrparser')
	local p = rrparser.new()
	local ok, err = p:open(path)
	if not ok then return err or 'cannot open zone file' end
	while true do
		ok, err = p:parse()
		if not ok then return err end
	end
end

local function parse_args(args)
	local o = {filters = {}, fmt = 'text'}
	local rest = {}
	local i = 1
	while i <= #args do
		local a = args[i]
		if a == '-h' or a == '--help' then o.help = true
		elseif a == '-s' then o.sort = true
		elseif a == '-1' then o.limit = 1
		elseif a == '-t' then o.timing = true
		elseif a == '--progress' then o.progress = true
		elseif a == '--no-progress' then o.progress = false
		elseif a == '-f' then
			i = i + 1
			o.fmt = args[i]
			if o.fmt ~= 'text' and o.fmt ~= 'json' then
				fail(1, 'unknown output format "%s" (text or json)', tostring(o.fmt))
			end
		elseif a == '--' then
			for k = i + 1, #args do rest[#rest + 1] = args[k] end
			break
		elseif a:sub(1, 1) == '-' and #a > 1 and not a:match('^%-%d') then
			fail(1, 'unknown option "%s" (see zq --help)', a)
		else
			rest[#rest + 1] = a
		end
		i = i + 1
	end
	if #rest > 0 then
		o.zone = table.remove(rest)
		o.filters = rest
	end
	return o
end

local function main(args)
	local o = parse_args(args)
	if o.help or #args == 0 then
		io.write(usage)
		return 0
	end
	if not o.zone then fail(1, 'missing zone file (see zq --help)') end
	if o.sort and o.fmt ~= 'text' then fail(1, 'cannot sort in other format than "text"') end
	local sift = require('dns.sift')
	local okn, nb = pcall(require, 'dns.nbio')
	if not okn then nb = {now = os.clock} end
	local ok, filter, ferr = pcall(sift.makefilter, o.filters)
	if not ok then fail(1, '%s', tostring(filter)) end
	if not filter then fail(1, '%s', tostring(ferr)) end
	if #o.filters == 0 then filter = nil end
	local path = o.zone
	if path == '-' then path = '/dev/stdin' end
	local f, oerr = io.open(path, 'r')
	if not f then fail(1, 'cannot open zone file: %s', tostring(oerr)) end
	f:close()

	local sink
	if o.sort then sink = sift.set()
	elseif o.fmt == 'json' then sink = json_sink(require('dns'))
	else sink = sift.printer() end
	local progress = o.progress
	if progress == nil then
		-- Only large files (8 MiB or more) are worth a progress line.
		local fh = io.open(path, 'rb')
		local size = fh and fh:seek('end') or 0
		if fh then fh:close() end
		progress = size >= 8 * 1024 * 1024 and stderr_is_tty()
	end
	local clear_progress
	if progress then filter, clear_progress = with_progress(filter, nb.now) end

	local start = nb.now()
	-- A sift that reports parse errors replaces this sentinel.
	pcall(function() sift.error = false end)
	local res, extra = sift.zone(path, sink, filter, o.limit)
	if res == false or (res == nil and extra) then
		fail(1, '%s: %s', o.zone, tostring(extra or 'cannot parse zone'))
	end
	local count = 0
	if o.sort then
		local set = res
		set:sort()
		local out, n = {}, 0
		for k = 0, #set - 1 do
			n = n + 1
			out[n] = set.at[k]:tostring()
			if n >= 512 then io.write(table.concat(out)); out, n = {}, 0 end
		end
		io.write(table.concat(out))
		count = extra or #set
	elseif o.fmt == 'json' then
		io.write(res, '\n')
		count = extra or 0
	else
		count = tonumber(res) or 0
	end
	io.stdout:flush()
	if clear_progress then clear_progress() end
	-- sift.zone ends silently at a syntax error: find it.
	local perr = sift.error
	if perr == false and o.zone ~= '-' then perr = validate(path) end
	if perr then
		perr = tostring(perr)
		if #perr > 200 then perr = perr:sub(1, 200) .. '...' end
		fail(1, '%s', perr:gsub('[%c\128-\255]', '?'))
	end
	if o.timing then
		io.stderr:write(string.format('; parsed in %.2f msec (%d records)\n',
			(nb.now() - start) * 1000, count))
	end
	return 0
end

local args = {}
for k = 1, select('#', ...) do args[k] = select(k, ...) end
local ok, res = xpcall(function() return main(args) end, function(e)
	if getmetatable(e) == Failure then return e end
	-- Unexpected errors: first line only, without the chunk position.
	local msg = tostring(e):match('^[^\n]*'):gsub('^[^:]*%.lua:%d+: ', '')
	return {status = 1, msg = msg, trace = debug.traceback(tostring(e))}
end)
io.stdout:flush()
if ok then
	os.exit(res or 0)
else
	local msg = tostring(res.msg):gsub('^[^:]*%.lua:%d+: ', '')
	io.stderr:write(PROG, ': ', msg, '\n')
	if res.trace and os.getenv('LJDNS_DEBUG') then io.stderr:write(res.trace, '\n') end
	os.exit(res.status or 1)
end

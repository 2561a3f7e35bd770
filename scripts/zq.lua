-- zq: query and filter zone files.
-- Usage: zq [options] [filter]... zonefile   (see zq --help)

local tool = require('ljdns.tool')

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
                    json: one array of {"name","type","TTL","data"} objects,
                    written as the zone is read)
  -t                print the parse time and record count on stderr
  --progress        show progress on stderr (default: for files of 8 MiB or
                    more, when stderr is a terminal and stdout is not)
  --no-progress     never show progress

Example filters:
  SOA                 records of type SOA (any type miekg/dns knows, or TYPEnnn)
  'type~=SOA'         records of any other type
  domain.cz           records owned by domain.cz. (owner names ignore case)
  owner=domain.cz     the same
  '*.cz'              records at or below cz.
  'A(1.2.3.4)'        A records with address 1.2.3.4
  'NS(ns.domain.cz)'  NS records pointing to ns.domain.cz.
  'rdata~=\x02cz'     records whose RDATA does not contain the bytes \x02cz
  'ttl<=3600'         records with TTL at most 3600

Quote filters as shown: the shell gives *, ( ), < > and ~ a meaning.
A filter that begins with a type name but is neither the type itself nor
TYPE(rdata) (MX.example.com, or lowercase mx) is an error: write
owner=MX.example.com for an owner name.

Examples:
  zq -s example.com.zone
  zq -f json 'type=MX' example.com.zone
  zq -1 '*.example.com' 'ttl>=300' example.com.zone
]]

local T = tool.new('zq', usage)
local fail, usage_error = T.fail, T.usage_error

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
	local c = T:args(args)
	for a in c.next, c do
		if a == '-h' or a == '--help' then o.help = true
		elseif a == '-s' then o.sort = true
		elseif a == '-1' then o.limit = 1
		elseif a == '-t' then o.timing = true
		elseif a == '--progress' then o.progress = true
		elseif a == '--no-progress' then o.progress = false
		elseif a == '-f' then
			o.fmt = c:value()
			if o.fmt ~= 'text' and o.fmt ~= 'json' then
				usage_error('unknown output format "%s" (text or json)', o.fmt)
			end
		elseif a == '--' then
			for _, w in ipairs(c:rest()) do rest[#rest + 1] = w end
		elseif a:sub(1, 1) == '-' and #a > 1 and not a:match('^%-%d') then
			usage_error('unknown option "%s" (see zq --help)', a)
		else
			rest[#rest + 1] = a
		end
	end
	if #rest > 0 then
		o.zone = table.remove(rest)
		o.filters = rest
	end
	return o
end

-- type_number(word) -> the type a mnemonic or TYPEnnn names, or nil.
local function type_number(dns, word)
	local t = dns.type[word]
	if type(t) == 'number' then return t end
	local n = word:match('^TYPE(%d+)$')
	n = n and tonumber(n)
	if n and n <= 65535 then return n end
	return nil
end

-- check_filter raises a usage error for a term sift would take in a way
-- the user hardly meant: one that begins with a type name but is neither
-- that type nor TYPE(rdata) (sift reads MX.example.com as raw RDATA
-- bytes), or a type name in lowercase (sift reads "mx" as an owner).
local function check_filter(dns, term)
	if term:find('%w[~!=<>]') then return end -- field<op>value
	local w = term:match('%w+')
	if not w then return end
	if type_number(dns, w) then
		if w == term or term:match('^%w+%(.*%)$') then return end
		usage_error('filter "%s" begins with the type name %s: write owner=%s for an owner '
			.. 'name, %s(...) for RDATA', term, w, term, w)
	end
	if w == term and w ~= w:upper() and type_number(dns, w:upper()) then
		usage_error('filter "%s" is a type name in lowercase: write %s for the type, owner=%s '
			.. 'for an owner name', term, w:upper(), term)
	end
end

local function main(args)
	local o = parse_args(args)
	if o.help or #args == 0 then return T:help() end
	if not o.zone then usage_error('missing zone file (see zq --help)') end
	if o.sort and o.fmt ~= 'text' then usage_error('cannot sort in other format than "text"') end
	local dns = require('dns')
	local sift = require('dns.sift')
	local okn, nb = pcall(require, 'dns.nbio')
	if not okn then nb = {now = os.clock} end
	for _, term in ipairs(o.filters) do check_filter(dns, term) end
	local ok, filter, ferr = pcall(sift.makefilter, o.filters)
	if not ok then usage_error('%s', tostring(filter)) end
	if not filter then usage_error('%s', tostring(ferr)) end
	if #o.filters == 0 then filter = nil end
	local path = o.zone
	if path == '-' then path = '/dev/stdin' end
	local f, oerr = io.open(path, 'r')
	if not f then fail(1, 'cannot open zone file: %s', tostring(oerr)) end
	f:close()

	local sink
	if o.sort then sink = sift.set()
	else sink = sift.printer(o.fmt) end
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
	else
		if o.fmt == 'json' then io.write('\n') end
		count = tonumber(res) or 0
	end
	io.stdout:flush()
	if clear_progress then clear_progress() end
	-- sift.zone ends silently at a syntax error: find it.
	local perr = o.zone ~= '-' and validate(path)
	if perr then
		perr = tostring(perr)
		if #perr > 200 then perr = perr:sub(1, 200) .. '...' end
		fail(1, '%s', (perr:gsub('[%c\128-\255]', '?')))
	end
	if o.timing then
		io.stderr:write(string.format('; parsed in %.2f msec (%d records)\n',
			(nb.now() - start) * 1000, count))
	end
	return 0
end

T:main(main, ...)

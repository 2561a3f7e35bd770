-- kresd 5's configuration environment, built over the Go natives in S
-- (luamod/serve/natives.go). Executed once in every worker state before
-- the configuration file. Written for ljdns; the names, units and answers
-- follow kresd 5.x's documentation (../shared/reference/kresd-modules.md).
local S = ...
local G = _G
local type, pairs, ipairs, tostring, tonumber, error, select, next =
	type, pairs, ipairs, tostring, tonumber, error, select, next
local sfmt, concat, insert, sort = string.format, table.concat, table.insert, table.sort

-- Units: times in milliseconds, sizes in bytes (kresd's sandbox).
kB, MB, GB = 1024, 1024 * 1024, 1024 * 1024 * 1024
sec = 1000
second = sec
minute = 60 * sec
min = minute
hour = 60 * minute
day = 24 * hour

-- userpos() -> 'file:line' of the configuration code that is running
-- (the first Lua frame outside this environment).
local function userpos()
	for level = 2, 40 do
		local info = debug.getinfo(level, 'Sl')
		if not info then break end
		local src = info.source or ''
		if info.what ~= 'C' and (info.currentline or -1) > 0 and not src:match('^@serve/')
				and src ~= 'prelude' and src ~= '@prelude' then
			return info.short_src .. ':' .. info.currentline
		end
	end
end

-- guarded(f): f with its errors re-raised at the configuration's line
-- (a hook of net = {...}, modules = {...}, cache.size = ... fails there).
local function guarded(f)
	return function(...)
		local ok, res = pcall(f, ...)
		if not ok then
			local msg = tostring(res):gsub('^@?serve/[%w_.]+:%d+: ', ''):gsub('^prelude:%d+: ', '')
			local where = userpos()
			error(where and (where .. ': ' .. msg) or msg, 0)
		end
		return res
	end
end

-- Tables assigned to these globals merge into the existing object.
local protected = {}
local gmeta = {
	__index = protected,
	__newindex = function(t, k, v)
		local p = protected[k]
		if p ~= nil then
			if type(v) ~= 'table' then
				error(sfmt("'%s' cannot be replaced (assign a table to configure it)", k), 2)
			end
			if p == v then return end
			local ok, err = pcall(function()
			-- array part first (net = {'127.0.0.1'}, modules = {'stats'}), in order
			for i, x in ipairs(v) do p[i] = x end
			for key, x in pairs(v) do
				if type(key) ~= 'number' or key < 1 or key > #v or key % 1 ~= 0 then
					p[key] = x
				end
			end
			end)
			if not ok then error(err, 0) end
			return
		end
		rawset(t, k, v)
	end,
}

-- A protected table keeps its own entries in a shadow table, so that every
-- assignment reaches its __newindex hook.
local function hooked(name, fields, newindex, index)
	local shadow = fields or {}
	local obj = setmetatable({}, {
		__index = function(_, k)
			local v = shadow[k]
			if v ~= nil then return v end
			if index then return index(k) end
		end,
		__newindex = function(_, k, v)
			if newindex then newindex(shadow, k, v) else shadow[k] = v end
		end,
		__pairs = function() return next, shadow, nil end,
		__tostring = function() return name end,
	})
	protected[name] = obj
	return obj, shadow
end

----------------------------------------------------------------------------
-- printing and help

local function quote(s)
	return "'" .. s:gsub("\\", "\\\\"):gsub("'", "\\'"):gsub("\n", "\\n") .. "'"
end

local function keystr(k)
	if type(k) == 'string' then return '[' .. quote(k) .. ']' end
	return '[' .. tostring(k) .. ']'
end

local function valstr(v, indent, seen)
	local tv = type(v)
	if tv == 'string' then return quote(v) end
	if tv ~= 'table' then return tostring(v) end
	if seen[v] then return '{...}' end
	seen[v] = true
	local keys = {}
	for k in pairs(v) do keys[#keys + 1] = k end
	sort(keys, function(a, b)
		local ta, tb = type(a), type(b)
		if ta ~= tb then return ta < tb end
		if ta == 'number' or ta == 'string' then return a < b end
		return tostring(a) < tostring(b)
	end)
	local inner = indent .. '    '
	local out = {'{\n'}
	for _, k in ipairs(keys) do
		out[#out + 1] = inner .. keystr(k) .. ' = ' .. valstr(v[k], inner, seen) .. ',\n'
	end
	out[#out + 1] = indent .. '}'
	seen[v] = nil
	return concat(out)
end

-- table_print(v) -> the text kresd's REPL shows for v.
function table_print(v)
	return valstr(v, '', {})
end

local helptext = [==[
ljdns serve — kresd 5's configuration API (Lua)
  net.listen(addr, [port], {kind='dns'|'tls'|'doh2'|'webmgmt', freebind=bool}), net.list(), net.close(addr, [port])
  net.bufsize([n]), net.tcp_pipeline([n]), net.tls(cert, key), net.tls_sticket_secret([s]), net.outgoing_allow({...})
  modules.load('name [> other]'), modules.unload(name), modules.list()
  cache.size, cache.open(size, [uri]), cache.clear([name, [exact]]), cache.stats(), cache.min_ttl([s]), cache.max_ttl([s])
  event.after(ms, f), event.recurrent(ms, f), event.reschedule(id, ms), event.cancel(id), event.socket(fd, f)
  worker.id, worker.count, worker.sleep(s), worker.coroutine(f), worker.stats()
  resolve(name, type, [class, flags, finish, init]), map(expr), option(name, [bool]), mode([m])
  log_level([l]), log_groups([{...}]), log_info(group, fmt, ...), verbose([bool])
  trust_anchors.add_file(path), trust_anchors.summary(), reload(), quit([code])
  units: sec minute hour day (milliseconds), kB MB GB (bytes)]==]

-- help() -> a summary of the configuration API.
function help() return helptext end

----------------------------------------------------------------------------
-- logging

local function grpname(g)
	if type(g) == 'string' then return g end
	if type(g) == 'number' then return S.group_name(g) end
	return 'system'
end

local function logfn(level)
	return function(group, fmt, ...)
		local msg = fmt
		if select('#', ...) > 0 then msg = sfmt(tostring(fmt), ...) end
		S.log(level, grpname(group), tostring(msg))
	end
end
log_crit = logfn('crit')
log_error = logfn('error')
log_warn = logfn('warning')
log_notice = logfn('notice')
log_info = logfn('info')
log_debug = logfn('debug')
-- log(fmt, ...): kresd 4's form, at level notice.
function log(fmt, ...) log_notice('system', fmt, ...) end
log_qry = function(_, group, fmt, ...) log_debug(group, fmt, ...) end
log_req = log_qry

log_level = guarded(function(l) return S.log_level(l) end)
function log_target(t)
	if t ~= nil and t ~= 'stderr' then
		error("log_target: only 'stderr' is supported by ljdns serve", 2)
	end
	return 'stderr'
end
log_groups = guarded(function(g) return S.log_groups(g) end)
-- verbose(bool): kresd 4's switch between the debug and notice levels.
function verbose(on)
	if on ~= nil then log_level(on and 'debug' or 'notice') end
	return log_level() == 'debug'
end

-- panic(fmt, ...): raise an error (kresd ends the configuration with it).
function panic(fmt, ...)
	local msg = fmt
	if select('#', ...) > 0 then msg = sfmt(fmt, ...) end
	error(msg, 2)
end

----------------------------------------------------------------------------
-- globals

env = nil
local envtbl = setmetatable({}, {
	__index = function(_, k) return os.getenv(k) end,
	__newindex = function(t, k, v)
		rawset(t, k, v)
		if k == 'KRESD_NO_LISTEN' then S.setenv(k, v) end
	end,
})
protected.env = envtbl

hostname = guarded(function(name) return S.hostname(name) end)
function package_version() return S.version() end
moduledir = guarded(function(dir) return S.moduledir(dir) end)
-- user(name, [group]): drop privileges.
user = guarded(function(name, group) return S.user(name, group) end)

-- option(name, [value]) -> the request flag every request starts with.
local function option_(name, val)
	if type(name) ~= 'string' then error('option(): name must be a string', 2) end
	if val ~= nil and type(val) ~= 'boolean' then
		error(sfmt("option('%s'): value must be a boolean", name), 2)
	end
	return S.option(name, val)
end
option = guarded(option_)
function reorder_RR(on)
	if on ~= nil then option('REORDER_RR', on) end
	return option('REORDER_RR')
end

local modes = {strict = true, normal = true, permissive = true}
local curmode = 'normal'
-- mode([m]) -> the glue acceptance mode ('strict', 'normal', 'permissive').
function mode(m)
	if m == nil then return curmode end
	if not modes[m] then error(sfmt("mode(): unknown mode '%s'", tostring(m)), 2) end
	curmode = m
	option('STRICT', m == 'strict')
	option('PERMISSIVE', m == 'permissive')
	return true
end

function quit(code) S.quit(code) end
reload = guarded(function() return S.reload() end)

do
	local cjson = require('cjson')
	-- tojson(v), fromjson(s): JSON as kresd's (raising on bad input).
	function tojson(v) return cjson.encode(v) end
	function fromjson(s)
		if type(s) ~= 'string' then error('fromjson(): string expected', 2) end
		return cjson.decode(s)
	end
end

----------------------------------------------------------------------------
-- kres, todname, resolve

kres = S.kres
todname = kres.str2dname

-- resolve(name, type, [class, options, finish, init]) or resolve{...}
function resolve(name, qtype, qclass, options, finish, init)
	if type(name) == 'table' then
		local t = name
		name, qtype, qclass, options, finish, init = t.name, t.type, t.class, t.options, t.finish, t.init
	end
	if type(name) ~= 'string' then error('resolve(): name must be a string', 2) end
	qtype = qtype or kres.type.A
	qclass = qclass or kres.class.IN
	if type(options) == 'string' then
		options = {options} -- resolve('.', kres.type.DNSKEY, kres.class.IN, 'NO_CACHE') (the seeds)
	end
	if type(options) == 'table' then
		local list = {}
		for k, v in pairs(options) do
			if type(k) == 'number' then list[#list + 1] = v elseif v then list[#list + 1] = k end
		end
		options = list
	else
		options = {}
	end
	return S.resolve(name, qtype, qclass, options, finish, init)
end

----------------------------------------------------------------------------
-- net

local netfuncs = S.net
net = nil
local netobj, netshadow = hooked('net', nil, guarded(function(shadow, k, v)
	if type(k) == 'number' then
		netfuncs.listen(v)
	elseif k == 'ipv4' or k == 'ipv6' then
		option(k == 'ipv4' and 'NO_IPV4' or 'NO_IPV6', not v)
	else
		shadow[k] = v
	end
end), function(k)
	if k == 'ipv4' then return not option('NO_IPV4') end
	if k == 'ipv6' then return not option('NO_IPV6') end
	if type(k) == 'string' then
		local ifs = netfuncs.interfaces()
		return ifs[k]
	end
end)
for k, f in pairs(netfuncs) do netshadow[k] = f end

----------------------------------------------------------------------------
-- modules

modules = nil
local M = S.modules
local modobj, modshadow = hooked('modules', nil, guarded(function(shadow, k, v)
	if type(k) == 'number' then
		M.load(v)
	elseif type(k) == 'string' then
		if shadow[k] ~= nil then shadow[k] = v return end
		M.load(k)
		local mod = G[k]
		if type(mod) == 'table' and type(mod.config) == 'function' then
			mod.config(v)
		elseif type(mod) == 'table' and v ~= nil and v ~= true then
			error(sfmt("module '%s' takes no configuration", k), 2)
		end
	end
end))
for k, f in pairs(M) do modshadow[k] = f end

----------------------------------------------------------------------------
-- cache

cache = nil
-- The cache's functions: the Go cache module's binding when it is built in
-- (S.cache), else a small in-memory stand-in keeping kresd's API (sizes,
-- TTL bounds, counters) so that configurations load; nothing answers from it.
local C = S.cache
if C == nil then
	local st = {size = 100 * MB, storage = 'lmdb://', open = true, min_ttl = 5, max_ttl = 86400,
		ns_tout = 400, entries = {}, n = 0}
	local stats = {read = 0, read_miss = 0, write = 0, write_miss = 0, commit = 0, open = 0, close = 0,
		count = 0, clear = 0, match = 0, match_miss = 0, read_leq = 0, read_leq_miss = 0}
	local function need_open(what)
		if not st.open then error(sfmt('cache.%s(): the cache is closed', what), 3) end
	end
	local backends = {lmdb = true}
	C = {}
	function C.current_size() return st.size end
	function C.current_storage() return st.storage end
	function C.backends() return {lmdb = true} end
	function C.open(size, uri)
		size = size or st.size
		uri = uri or 'lmdb://'
		if type(size) ~= 'number' or size <= 0 then error('cache.open(): size must be a positive number', 2) end
		local scheme = uri:match('^(%w+)://')
		if not scheme or not backends[scheme] then
			error(sfmt("cache.open(): unknown backend in '%s'", uri), 2)
		end
		st.size, st.storage, st.open = size, uri, true
		stats.open = stats.open + 1
		return true
	end
	function C.close()
		st.open = false
		stats.close = stats.close + 1
		return true
	end
	function C.count() need_open('count') return st.n end
	function C.stats() local out = {} for k, v in pairs(stats) do out[k] = v end return out end
	function C.clear(name, exact, rrtype)
		need_open('clear')
		local n = st.n
		st.entries, st.n = {}, 0
		stats.clear = stats.clear + 1
		return {count = n}
	end
	function C.get(name) need_open('get') return nil end
	function C.sync() return true end
	function C.fssize() return st.size end
	local function ttl(field)
		return function(v)
			if v ~= nil then
				if type(v) ~= 'number' or v < 0 then error(sfmt('cache.%s(): seconds expected', field), 2) end
				st[field] = v
			end
			return st[field]
		end
	end
	C.min_ttl, C.max_ttl, C.ns_tout = ttl('min_ttl'), ttl('max_ttl'), ttl('ns_tout')
	-- kres.context().cache
	local ctxcache = {stats = stats}
	function ctxcache:insert(rr, rrsig, rank, timestamp)
		need_open('insert')
		local key = rr:owner() .. '|' .. rr.type
		if not st.entries[key] then st.n = st.n + 1 end
		st.entries[key] = rr
		stats.write = stats.write + 1
		return true
	end
	function ctxcache:commit() stats.commit = stats.commit + 1 return true end
	function ctxcache:sync() return true end
	S.context_cache = setmetatable(ctxcache, {__type = 'cdata'})
end
local cacheobj, cacheshadow = hooked('cache', nil, guarded(function(shadow, k, v)
	if k == 'size' then
		C.open(v, C.current_storage())
	elseif k == 'storage' then
		C.open(C.current_size(), v)
	else
		shadow[k] = v
	end
end), function(k)
	if k == 'current_size' then return C.current_size() end
	if k == 'current_storage' then return C.current_storage() end
	if k == 'size' then return C.current_size() end
	if k == 'storage' then return C.current_storage() end
	if type(k) == 'string' and C.get then return C.get(k) end
end)
for k, f in pairs(C) do
	if k ~= 'current_size' and k ~= 'current_storage' then cacheshadow[k] = f end
end
do
	-- cache.clear() clears the resolver's own cache too (RR sets, answers, name server RTTs)
	local clear = cacheshadow.clear
	cacheshadow.clear = function(name, exact, rrtype, ...)
		local rn = S.resolver_clear(name, exact, rrtype) or 0
		local res = clear(name, exact, rrtype, ...)
		if type(res) == 'table' and type(res.count) == 'number' then
			res.count = res.count + rn -- the resolver's entries count too
		end
		return res
	end
end

-- kres.context(): the resolver context kresd's tests and modules read.
do
	-- the Go cache module's binding gives its context object as C.context
	local kctx = {cache = S.context_cache or rawget(C, 'context'), options = kres.mk_qflags({})}
	function kres.context() return kctx end
end

----------------------------------------------------------------------------
-- event, worker, map

event = S.event
do
	local sockets = {} -- event.socket ids still watching
	local cancel = event.cancel
	-- event.socket(fd, cb): cb(id) each time fd becomes readable, until event.cancel(id).
	function event.socket(fd, cb)
		local nb = require('dns.nbio')
		local id
		id = event.after(0, function(ev)
			while sockets[ev] do
				coroutine.yield(nb.readers, fd)
				if not sockets[ev] then break end
				cb(ev)
			end
		end)
		sockets[id] = true
		return id
	end
	function event.cancel(id)
		if sockets[id] then
			sockets[id] = nil
			cancel(id)
			return true
		end
		return cancel(id)
	end
end

worker = nil
local W = S.worker
local wobj, wshadow = hooked('worker')
for k, v in pairs(W) do wshadow[k] = v end
wshadow.resolve = resolve
-- worker.bg_worker.cq: the background cqueues controller (wrap, step, loop).
wshadow.bg_worker = {cq = S.bg_cq}
wshadow.lua_budget = S.lua_budget
wshadow.memory_limit = S.memory_limit

-- map(expr) -> the results of expr evaluated in every worker.
function map(expr, ...)
	if type(expr) ~= 'string' then error('map(): expression (string) expected', 2) end
	return S.map(expr) -- may yield (the other workers answer): not wrapped in a pcall
end

----------------------------------------------------------------------------
-- trust_anchors: the resolver's anchors (resolver/anchors through S.ta_*):
-- built-in root anchors until a file or add() gives the root's, key files
-- maintained by RFC 5011, negative trust anchors.

trust_anchors = nil
local ta = {keyfiles = {}, insecure = {}, hold_down_time = 30 * day, refresh_time = nil,
	keep_removed = 0}
local function ta_check(ok, err)
	if not ok then error(err, 3) end
	return ok
end
local taobj, tashadow = hooked('trust_anchors', nil, guarded(function(shadow, k, v)
	if k == 'file' then
		-- seed form (kresd <= 3): trust_anchors.file = 'root.keys'
		shadow.add_file(v, false)
	elseif k == 'negative' then
		shadow.set_insecure(v)
	elseif k == 'hold_down_time' then
		shadow.set_hold_down_time(v)
	elseif k == 'refresh_time' then
		shadow.set_refresh_time(v)
	elseif k == 'keep_removed' then
		shadow.set_keep_removed(v)
	else
		shadow[k] = v
	end
end), function(k)
	-- the seeds read these back: trust_anchors.insecure, .hold_down_time, ...
	if k == 'insecure' or k == 'hold_down_time' or k == 'refresh_time' or k == 'keep_removed' or k == 'keyfiles' then
		return ta[k]
	end
end)
-- trust_anchors.add_file(path[, readonly]): a key file, maintained by RFC
-- 5011 unless readonly. A file that does not exist is created from the
-- anchors the configuration adds for the root, else it is an error.
function tashadow.add_file(path, readonly)
	if type(path) ~= 'string' then error('trust_anchors.add_file(): path expected', 2) end
	ta_check(S.ta_add_file(path, readonly and true or false))
	ta.keyfiles[path] = {readonly = readonly and true or false}
	return true
end
-- trust_anchors.config(file): seed form (kresd <= 3).
function tashadow.config(path, readonly) return tashadow.add_file(path, readonly) end
-- trust_anchors.add(rr): DS/DNSKEY text, not maintained.
function tashadow.add(rr)
	if type(rr) ~= 'string' then error('trust_anchors.add(): DS/DNSKEY text expected', 2) end
	return ta_check(S.ta_add(rr))
end
function tashadow.remove(zone)
	if type(zone) ~= 'string' then error('trust_anchors.remove(): zone name expected', 2) end
	return S.ta_remove(zone)
end
function tashadow.set_insecure(list)
	if type(list) ~= 'table' then error('trust_anchors.set_insecure(): table expected', 2) end
	ta_check(S.ta_set_insecure(list))
	ta.insecure = {}
	for _, n in ipairs(list) do insert(ta.insecure, n) end
	return true
end
local function ta_number(name, t, nilok)
	if t == nil and nilok then return end
	if type(t) ~= 'number' or t < 0 then error(sfmt('trust_anchors.%s(): number >= 0 expected', name), 3) end
end
function tashadow.set_hold_down_time(t)
	ta_number('set_hold_down_time', t)
	S.ta_hold_down_time(t) ta.hold_down_time = t return t
end
function tashadow.set_refresh_time(t)
	ta_number('set_refresh_time', t, true)
	S.ta_refresh_time(t) ta.refresh_time = t return t
end
function tashadow.set_keep_removed(n)
	ta_number('set_keep_removed', n)
	S.ta_keep_removed(n) ta.keep_removed = n return n
end
-- trust_anchors.summary(): each zone's keys as key-file lines with their
-- state, the key files and the negative trust anchors.
function tashadow.summary() return S.ta_summary() end
-- trust_anchors.list(): the anchors in use (Valid and Missing keys), the
-- key files and the negative trust anchors (copies).
function tashadow.list()
	local out = {anchors = S.ta_anchors(), files = {}, insecure = {}}
	for p in pairs(ta.keyfiles) do insert(out.files, p) end
	for _, n in ipairs(ta.insecure) do insert(out.insecure, n) end
	return out
end

setmetatable(G, gmeta)

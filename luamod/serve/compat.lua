-- The pieces of LuaJIT, libknot and cqueues that kresd's configurations and
-- config tests reach for, over dns.nbio and the ffi shim (written for
-- ljdns; names and behaviour follow kresd 5 and cqueues' documentation).
local S = ...
local nb = require('dns.nbio')
local ffi = require('ffi')
local sfmt = string.format

-- ffi.C: kresd's log groups and ranks, and the few libknot/libkres calls
-- configurations make on packets.
local Cfuncs = {
	kr_pkt_make_auth_header = function(pkt) pkt:aa(true) return 0 end,
	knot_pkt_new = function(wire, len, _)
		local s = type(wire) == 'string' and wire:sub(1, len) or ffi.string(wire, len)
		return kres.packet(math.max(len, 12), s)
	end,
	knot_pkt_parse = function(pkt, _) if pkt:parse() then return 0 end return -1 end,
	knot_pkt_free = function() end,
	kr_straddr = function(a) return tostring(a) end,
}
setmetatable(ffi.C, {__index = function(_, k)
	local f = Cfuncs[k]
	if f then return f end
	if type(k) == 'string' then
		local g = k:match('^LOG_GRP_(.+)$')
		if g then
			local n = S.log_group_const(g)
			if n then return n end
		end
		local r = k:match('^KR_RANK_(.+)$')
		if r and kres.rank[r] then return kres.rank[r] end
	end
	error(sfmt("ffi.C.%s: not provided by ljdns serve (kresd's C API is not available)", tostring(k)), 2)
end})

-- cqueues: the subset kresd's tests use (monotime, condition variables,
-- a controller's wrap, sockets for datagrams), on dns.nbio coroutines.
local cqueues = {}
function cqueues.monotime() return nb.now() end
function cqueues.sleep(s) nb.sleep(s) end
function cqueues.running() return coroutine.running() end
local controller = {}
controller.__index = controller
function controller:wrap(f, ...)
	S.spawn(f, ...)
	return self
end
function controller:step() return true end
function controller:loop() return true end
function controller:empty() return true end
function cqueues.new() return setmetatable({}, controller) end
S.bg_cq = setmetatable({}, controller)

local condition = {}
condition.__index = condition
-- condition.new() -> cv; cv:wait([timeout]) -> true when signalled, false on timeout.
function condition.new() return setmetatable({waiters = {}}, condition) end
function condition:wait(timeout)
	local me = {signalled = false}
	table.insert(self.waiters, me)
	local deadline = timeout and nb.now() + timeout
	while not me.signalled do
		if deadline and nb.now() >= deadline then
			for i, w in ipairs(self.waiters) do
				if w == me then table.remove(self.waiters, i) break end
			end
			return false
		end
		nb.sleep(0.005)
	end
	return true
end
function condition:signal(n)
	local ws = self.waiters
	self.waiters = {}
	for i, w in ipairs(ws) do
		if n and i > n then table.insert(self.waiters, w) else w.signalled = true end
	end
	return true
end

local socket = {SOCK_DGRAM = 2, SOCK_STREAM = 1, AF_INET = 2, AF_INET6 = 10}
local sockmt = {}
sockmt.__index = sockmt
-- socket.listen{host=, port=, type=socket.SOCK_DGRAM} (datagram sockets).
function socket.listen(host, port)
	local o = type(host) == 'table' and host or {host = host, port = port}
	local fam = tostring(o.host):find(':') and 'inet6' or 'inet'
	if o.type ~= socket.SOCK_DGRAM then
		error('cqueues.socket.listen(): only datagram sockets are provided by ljdns serve', 2)
	end
	local s = nb.socket(fam, 'dgram')
	assert(s:bind(o.host, o.port))
	return setmetatable({s = s}, sockmt)
end
function sockmt:setmode() return self end
function sockmt:xread(_, _, timeout)
	if timeout then self.s:settimeout(timeout * 1000) end
	local msg, err = self.s:receive()
	if not msg then return nil, err end
	return msg
end
sockmt.read = sockmt.xread
function sockmt:close() self.s:close() end

package.preload['cqueues'] = function() return cqueues end
package.preload['cqueues.condition'] = function() return condition end
package.preload['cqueues.socket'] = function() return socket end

-- kluautil: kresd's small Lua helpers.
package.preload['kluautil'] = function()
	local M = {}
	function M.kr_table_len(t)
		local n = 0
		for _ in pairs(t) do n = n + 1 end
		return n
	end
	function M.kr_table_pack(...) return {n = select('#', ...), ...} end
	function M.kr_table_unpack(t) return unpack(t, 1, t.n) end
	function M.list_dir(path)
		local out = {}
		local p = io.popen('ls -a "' .. path .. '" 2>/dev/null')
		if p then
			for l in p:lines() do table.insert(out, l) end
			p:close()
		end
		return out
	end
	return M
end

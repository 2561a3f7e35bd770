-- ljdns host prelude: yield-transparent pcall/xpcall (DESIGN.md hard point 3).
-- Inside a coroutine the protected function runs in a helper coroutine whose
-- yields are passed outward, so socket I/O under pcall works in nbio servers.
local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_status, co_running = coroutine.status, coroutine.running
local raw_pcall, raw_xpcall = pcall, xpcall
local type, select = type, select

local function finish(co, handler, ok, ...)
	if not ok then
		if handler then return false, handler((...)) end
		return false, (...)
	end
	if co_status(co) == 'dead' then return true, ... end
	return finish(co, handler, co_resume(co, co_yield(...)))
end

-- The helper coroutine's body must not tail-call f: gopher-lua loses the
-- coroutine's only frame when a tail-called Go function yields (e.g.
-- `pcall(function() return sock:receive() end)`), and the resume crashes.
local function callable(f)
	return function(...) return select(1, f(...)) end
end

function pcall(f, ...)
	if not co_running() then return raw_pcall(f, ...) end
	if f == nil then return false, 'attempt to call a nil value' end
	local co = co_create(callable(f))
	return finish(co, nil, co_resume(co, ...))
end

function xpcall(f, handler, ...)
	if not co_running() then
		if select('#', ...) == 0 then return raw_xpcall(f, handler) end
		local args = {n = select('#', ...), ...}
		return raw_xpcall(function() return f(unpack(args, 1, args.n)) end, handler)
	end
	local co = co_create(callable(f))
	return finish(co, handler, co_resume(co, ...))
end

-- LuaJIT opens the bit library as a global.
bit = require('bit')

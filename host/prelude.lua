-- ljdns host prelude: yield-transparent pcall/xpcall (DESIGN.md hard point 3).
--
-- Every protected call runs in a helper coroutine whose yields are passed
-- outward, so socket I/O under pcall works in nbio servers. The main thread
-- uses helpers too: gopher-lua closes the open upvalues of the whole stack
-- when an error is raised under its own pcall (a closure sharing a local
-- with a running function then silently loses it), while an error inside a
-- coroutine only touches that coroutine's frames, which are dead anyway.
-- Helpers that finish normally are kept in a small pool and reused, since
-- creating a coroutine is the expensive part.
--
-- A helper arms itself first (host/protect.go): errors raised in it are
-- worded as LuaJIT words them, and an xpcall handler runs where the error
-- was raised, found as the local "handler" of the frame below that
-- resumed the helper; the helper is then marked in `handled` so that
-- finish does not run the handler again.
local co_resume, co_yield = coroutine.resume, coroutine.yield
local co_running, co_wrapped = coroutine.running, coroutine.create
-- raw_yield skips the nested-VM-loop check of coroutine.yield; only
-- job_loop uses it, from the base frame of its own coroutine. co_create
-- makes a coroutine without the trampoline of coroutine.create.
local raw_yield, co_create, arm, handled = __ljdns_rawyield, __ljdns_create, __ljdns_arm, __ljdns_handled
__ljdns_rawyield, __ljdns_create, __ljdns_arm, __ljdns_handled = nil, nil, nil, nil
local type = type
local traceback = debug.traceback

-- DONE tags the values a helper yields when its job has returned.
local DONE = {}

-- job_loop is the body of a helper coroutine: run f(...), hand the results
-- back tagged with DONE, receive the next job. f is never tail-called
-- (gopher-lua loses a coroutine's only frame when a tail-called Go
-- function yields).
local function job_loop(f, ...)
	return job_loop(raw_yield(DONE, f(...)))
end

local function helper_main(f, ...)
	arm()
	return job_loop(f, ...)
end

local pool, pooled, max_pooled = {}, 0, 32

local function release(co)
	if pooled < max_pooled then
		pooled = pooled + 1
		pool[pooled] = co
	end
end

-- handle runs an xpcall message handler the helper could not run itself
-- (the error was a Go panic); debug.traceback gets the dead helper
-- coroutine, so the traceback shows where the error was raised.
local function handle(co, handler, e)
	if handled[co] then
		handled[co] = nil
		return e
	end
	if handler == traceback and (type(e) == 'string' or e == nil) then return traceback(co, e) end
	return handler(e)
end

local function finish(co, handler, ok, tag, ...)
	if not ok then
		if handler then return false, handle(co, handler, tag) end
		return false, tag
	end
	if tag == DONE then
		release(co)
		return true, ...
	end
	if not co_running() then
		-- a yield with nobody to pass it to; the helper stays suspended and is dropped
		local e = 'attempt to yield from outside a coroutine'
		if handler then return false, handler(e) end
		return false, e
	end
	return finish(co, handler, co_resume(co, co_yield(tag, ...)))
end

local function protect(f, handler, ...)
	if f == nil then
		local e = 'attempt to call a nil value'
		if handler then return false, handler(e) end
		return false, e
	end
	local co = pool[pooled]
	if co then
		pool[pooled] = nil
		pooled = pooled - 1
	else
		co = co_create(helper_main)
	end
	return finish(co, handler, co_resume(co, f, ...))
end

function pcall(f, ...)
	return protect(f, nil, ...)
end

function xpcall(f, handler, ...)
	return protect(f, handler, ...)
end

-- coroutine.wrap on top of coroutine.resume, so that the values passed in
-- are fitted to the pending yield as in resume (host/coroutine.go).
local function wrap_finish(ok, ...)
	if not ok then error((...), 0) end
	return ...
end

function coroutine.wrap(f)
	local co = co_wrapped(f)
	return function(...) return wrap_finish(co_resume(co, ...)) end
end

-- LuaJIT opens the bit library as a global.
bit = require('bit')

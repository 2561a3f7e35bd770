-- ljdns.tool: command-line plumbing shared by the embedded tools (ldig, zq,
-- namepile) and the example servers: one-line errors with an exit status,
-- --help, an argument cursor, number/address/TSIG-key parsers and the
-- listener set-up of the servers.
--
--   local tool = require('ljdns.tool')
--   local T = tool.new('zq', usage)          -- name used in messages
--   T.fail(status, fmt, ...)                 -- raise: "zq: <message>", exit status
--   T.usage_error(fmt, ...)                  -- T.fail(1, ...)
--   T:main(function(args) ... return 0 end, ...)   -- never returns
--
-- T:main runs the function with the script's arguments (the `...` of the
-- chunk); a failure raised with fail() prints one line on stderr and exits
-- with its status; any other error prints its first line (without the
-- chunk position) and exits with T.internal_status, adding a traceback when
-- LJDNS_DEBUG (or <NAME>_DEBUG, e.g. LDIG_DEBUG) is set. Standard output is
-- flushed before exiting.

local M = {}

-- Failure is the metatable of errors raised by fail().
local Failure = {}
Failure.__index = Failure
Failure.__tostring = function(e) return e.msg end
M.Failure = Failure

-- failure(status, fmt, ...) -> a Failure object (not raised).
function M.failure(status, fmt, ...)
	return setmetatable({status = status, msg = string.format(fmt, ...)}, Failure)
end

-- is_failure(e) -> true when e was made by failure()/fail().
function M.is_failure(e) return getmetatable(e) == Failure end

-- wants_help(args) -> true when one of args is -h, --help or -help.
function M.wants_help(args)
	for _, a in ipairs(args) do
		if a == '-h' or a == '--help' or a == '-help' then return true end
	end
	return false
end

-- Tool methods ----------------------------------------------------------------

local Tool = {}
Tool.__index = Tool

-- new(name, usage) -> tool. usage is the --help text (may be nil).
function M.new(name, usage)
	local t = setmetatable({name = name, usage = usage, internal_status = 1}, Tool)
	-- fail and usage_error are plain functions (no self), handy as locals.
	t.fail = function(status, fmt, ...) error(M.failure(status, fmt, ...), 0) end
	t.usage_error = function(fmt, ...) error(M.failure(1, fmt, ...), 0) end
	return t
end

-- T:help() writes the usage text on stdout and returns 0.
function Tool:help()
	io.write(self.usage or '')
	return 0
end

-- T:warn(fmt, ...) writes "<name>: <message>" on stderr.
function Tool:warn(fmt, ...)
	io.stderr:write(self.name, ': ', string.format(fmt, ...), '\n')
end

-- T:exit(status) flushes standard output and exits.
function Tool:exit(status)
	io.stdout:flush()
	io.stderr:flush()
	os.exit(status or 0)
end

-- Strip the "chunk:12: " prefixes of an error message ("scripts/x.lua:12: ",
-- "(command line):2: ", several when an error was re-raised).
local function strip_position(msg)
	local n, m
	repeat
		msg, n = msg:gsub('^[^:%s]+:%d+: ', '', 1)
		msg, m = msg:gsub('^%([^)\n]*%):%d+: ', '', 1)
	until n + m == 0
	return msg
end

-- T:main(fn, ...) runs fn(args) (args: an array of the arguments in ...)
-- and exits with the status it returns, or reports its error.
function Tool:main(fn, ...)
	local args = {}
	for k = 1, select('#', ...) do args[k] = select(k, ...) end
	local ok, res = xpcall(function() return fn(args) end, function(e)
		if M.is_failure(e) then return e end
		local msg = strip_position(tostring(e):match('^[^\n]*'))
		return {status = self.internal_status, msg = msg, trace = debug.traceback(tostring(e))}
	end)
	if ok then self:exit(res or 0) end
	io.stdout:flush()
	io.stderr:write(self.name, ': ', tostring(res.msg), '\n')
	if res.trace and (os.getenv('LJDNS_DEBUG') or os.getenv(self.name:upper() .. '_DEBUG')) then
		io.stderr:write(res.trace, '\n')
	end
	self:exit(res.status or self.internal_status)
end

-- Arguments --------------------------------------------------------------------

local Cursor = {}
Cursor.__index = Cursor

-- T:args(args) -> cursor over args: c:next() -> word | nil,
-- c:value() -> the argument of the option just read (usage error when
-- missing), c:rest() -> the words not read yet.
function Tool:args(args)
	return setmetatable({args = args, i = 0, tool = self}, Cursor)
end

function Cursor:next()
	self.i = self.i + 1
	self.opt = self.args[self.i]
	return self.opt
end

function Cursor:value()
	local opt = self.opt
	self.i = self.i + 1
	local v = self.args[self.i]
	if v == nil then self.tool.usage_error('option %s needs an argument', tostring(opt)) end
	return v
end

function Cursor:rest()
	local out = {}
	for k = self.i + 1, #self.args do out[#out + 1] = self.args[k] end
	self.i = #self.args
	return out
end

-- T:uint(text, what, max [, min]) -> integer in [min or 0, max], or a usage
-- error naming what.
function Tool:uint(text, what, max, min)
	local n = type(text) == 'string' and text:match('^%d+$') and tonumber(text)
	if not n or n > max or n < (min or 0) then
		self.usage_error('invalid %s "%s"', what, tostring(text))
	end
	return n
end

-- T:hostport(spec, default_port) -> host, port: "HOST", "HOST#PORT" or
-- "[v6]#PORT"; usage error when malformed.
function Tool:hostport(spec, default_port)
	local host, port = spec:match('^(.*)#(%d+)$')
	if not host then host, port = spec, tostring(default_port) end
	host = host:gsub('^%[(.*)%]$', '%1')
	port = tonumber(port)
	if host == '' or host:find('#', 1, true) or not port or port > 65535 then
		self.usage_error('invalid address "%s"', spec)
	end
	return host, port
end

-- key_spec(s) accepts both TSIG key orders, dig's ALG:NAME:KEY and
-- NAME:ALG:KEY, and returns the NAME:ALG:KEY that dns.tsig() takes.
function M.key_spec(s)
	local a, b, c = s:match('^([^:]*):([^:]*):(.*)$')
	if a and a:lower():match('^hmac%-') and not b:lower():match('^hmac%-') then
		return b .. ':' .. a .. ':' .. c
	end
	return s
end

-- T:tsig(spec) -> dns.tsig object for a -y argument, or a usage error.
function Tool:tsig(spec)
	local t, err = require('dns').tsig(M.key_spec(spec))
	if not t then self.usage_error('invalid TSIG key "%s": %s', spec, tostring(err)) end
	return t
end

-- Servers ------------------------------------------------------------------------

-- T:listen(host, port [, udp]) -> tcp, udp, port: a bound TCP socket (and,
-- unless udp is false, a UDP socket on the same port, so port 0 picks one
-- free port for both). Failure exits with a one-line message.
function Tool:listen(host, port, udp)
	local nb = require('dns.nbio')
	local family = nb.family(host)
	if not family then self.usage_error('invalid listen address "%s"', host) end
	local tcp = nb.socket(family, 'stream')
	local ok, err = pcall(tcp.bind, tcp, host, port)
	if not ok then self.fail(1, 'cannot listen on %s#%d: %s', host, port, tostring(err)) end
	local _, bound = tcp:getsockname()
	if udp == false then return tcp, nil, bound end
	local u = nb.socket(family, 'dgram')
	ok, err = pcall(u.bind, u, host, bound)
	if not ok then self.fail(1, 'cannot listen on %s#%d (udp): %s', host, bound, tostring(err)) end
	return tcp, u, bound
end

return M

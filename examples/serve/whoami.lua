-- A kresd-style Lua module: whoami.example. TXT answers with the client's
-- address and the worker; time.example. TXT asks the upstream for the
-- SOA of the root with dns.client and answers with its serial.
local client = require('dns.client')
local M = {layer = {}}
local whoami = todname('whoami.example.')
local timename = todname('time.example.')

function M.init(m)
	m.answered = 0
	m.upstream = assert(client.dgram(UPSTREAM, {timeout = 2}))
end

local function txt(s) return string.char(#s) .. s end

function M.layer.begin(state, req)
	local qry = req:current()
	if qry.stype ~= kres.type.TXT then return state end
	local text
	if qry.sname == whoami then
		text = string.format('%s via worker %d', req.qsource.addr, worker.id)
	elseif qry.sname == timename then
		local answer = M.upstream:query('.', 'SOA') -- yields while it waits
		if not answer then return kres.FAIL end
		text = 'upstream rcode ' .. tostring(answer:rcode())
	else
		return state
	end
	M.answered = M.answered + 1
	local answer = req:ensure_answer()
	answer:rcode(kres.rcode.NOERROR)
	answer:begin(kres.section.ANSWER)
	answer:put(qry.sname, 0, kres.class.IN, kres.type.TXT, txt(text))
	return kres.DONE
end

return M

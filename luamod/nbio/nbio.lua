-- dns.nbio Lua part: nb.tcprecv raises when a message exceeds max_size
-- (the Go primitive reports it as a third return value, since it may be
-- completed by the scheduler where raising into the coroutine is impossible).
local nb, tcprecv = ...
local error = error
function nb.tcprecv(sock, msg)
	local n, err, raise = tcprecv(sock, msg)
	if raise then error(err, 2) end
	return n, err
end

-- Coroutine body of nb.go: f is called, not tail-called, so that the
-- coroutine keeps a frame when f tail-calls a yielding Go function
-- (`nb.go(function() return sock:receive() end)`; gopher-lua would lose
-- the coroutine's only frame and crash on resume).
local select = select
return function(f, ...) return select(1, f(...)) end

-- dns.tls session methods send/receive return errors as upstream did:
-- nil, {errno = <EIO>, strerr = <message>} (tostring gives the message).
-- The Go primitives return nil, message; this runs after they return, so
-- it also applies when the call yielded.
local methods, send, receive = ...
local type, setmetatable = type, setmetatable
local errmt = {__tostring = function(e) return e.strerr end}
local EIO = 5
local function wrap(f)
	return function(...)
		local v, err = f(...)
		if v == nil and type(err) == 'string' then
			return nil, setmetatable({errno = EIO, strerr = err}, errmt)
		end
		return v, err
	end
end
methods.send = wrap(send)
methods.receive = wrap(receive)
methods.recv = methods.receive

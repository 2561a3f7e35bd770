local nb = require('dns.nbio')
local tls = require('dns.tls')
local dns = require('dns')

-- Listener on an ephemeral loopback port.
local function listener()
	local server = nb.socket('inet', 'stream')
	assert(server:bind('127.0.0.1', 0))
	return server, server:getsockname()
end

describe('tls', function()

	it('does ping/pong over TLS', function()
		local server, host, port = listener()
		local got = {}
		nb.go(function()
			local c = assert(server:accept())
			local s = assert(tls.server(c))
			got.ping = s:receive(4)
			got.sent = s:send('PONG')
			s:close()
		end)
		nb.go(function()
			local c = nb.socket(nb.family(host), 'stream')
			assert(c:connect(host, port))
			local s, err = tls.client(c)
			assert.truthy(s, err)
			got.fd = s.fd >= 0
			got.peer = tostring(s:getpeername())
			got.version = s:info().version
			got.psent = s:send('PING')
			got.pong = s:receive(4)
			s:close()
			local v, err = s:send('late')
			got.err = v == nil and type(err) == 'table' and err.errno == 5 and tostring(err) == err.strerr
		end)
		local ok, err = nb.run()
		assert.truthy(ok, err)
		assert.same({ping = 'PING', sent = 4, fd = true, peer = '127.0.0.1',
			version = 'TLS 1.3', psent = 4, pong = 'PONG', err = true}, got)
		server:close()
	end)

	it('does not block other coroutines during the handshake', function()
		local server, host, port = listener()
		local ticks, done = 0, false
		nb.go(function()
			local s = assert(tls.server(assert(server:accept())))
			s:receive(1)
			s:close()
		end)
		nb.go(function()
			local c = nb.socket('inet', 'stream')
			c:connect(host, port)
			local s = assert(tls.client(c))
			s:send('x')
			s:close()
			done = true
		end)
		nb.go(function()
			while not done do ticks = ticks + 1; nb.sleep(0.0005) end
		end)
		assert.truthy(nb.run())
		assert.truthy(ticks > 0)
		server:close()
	end)

	it('carries pipelined DNS over TLS', function()
		local server, host, port = listener()
		local N, answered = 50, 0
		nb.go(function()
			local s = assert(tls.server(assert(server:accept())))
			local q = dns.packet(512)
			for _ = 1, N do
				assert(nb.tcprecv(s, q))
				q:qr(true)
				assert.equal(q.size, nb.tcpsend(s, q))
			end
		end)
		local c = nb.socket('inet', 'stream')
		local s
		nb.go(function()
			c:connect(host, port)
			s = assert(tls.client(c))
			for i = 1, N do
				nb.go(function()
					local q, r = dns.packet(64), dns.packet(64)
					q:id(i)
					q:question('\7example\3com', dns.type.A)
					assert.equal(q.size, nb.tcpxchg(s, q, r))
					assert.equal(i, r:id())
					assert.truthy(r:qr())
					answered = answered + 1
				end)
			end
		end)
		local ok, err = nb.run()
		assert.truthy(ok, err)
		assert.equal(N, answered)
		s:close()
		server:close()
	end)

	it('verifies strictly with x509 credentials', function()
		local server, host, port = listener()
		nb.go(function()
			local c = server:accept()
			tls.server(c) -- fails: the client rejects the certificate
			c:close()
		end)
		local res = {}
		nb.go(function()
			local c = nb.socket('inet', 'stream')
			c:connect(host, port)
			res.s, res.err = tls.client(c, 'x509')
			c:close()
		end)
		assert.truthy(nb.run())
		assert.is_nil(res.s)
		assert.truthy(tostring(res.err):find('certificate'))
		server:close()
		assert.truthy(tls.creds.x509({}))
		local creds, err = tls.creds.x509({cafile = '/nonexistent/ca.pem'})
		assert.is_nil(creds)
		assert.truthy(err)
		assert.has_error(function() tls.debug('x') end)
	end)
end)

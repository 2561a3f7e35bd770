-- Fixture for luamod/spec tests: spec code that never ends, cut short by
-- --timeout; the tests after each run normally.
local nb = require('dns.nbio')

describe('hangs', function()
  local cleaned = 0
  after_each(function() cleaned = cleaned + 1 end)
  it('lua loop', function() while true do end end)
  it('loop swallowing errors', function()
    while true do pcall(function() while true do end end) end
  end)
  it('nb.run', function()
    local u = nb.socket('inet', 'dgram')
    u:bind('127.0.0.1', 0)
    nb.go(function() u:receive() end)
    nb.run()
  end)
  it('receive outside a coroutine', function()
    local u = nb.socket('inet', 'dgram')
    u:bind('127.0.0.1', 0)
    u:receive()
  end)
  it('nb.sleep', function() nb.sleep(3600) end)
  it('runs after them', function() assert.are.equal(5, cleaned) end)
end)

-- Fixture for luamod/spec tests: a spec meant to be run directly
-- (`ljdns standalone.fixture.lua`), as dnssec_spec does.
require('busted.runner')()

standalone_loads = (standalone_loads or 0) + 1

describe('standalone', function()
  it('runs under busted.runner', function()
    assert.equal(1, standalone_loads)
  end)
end)

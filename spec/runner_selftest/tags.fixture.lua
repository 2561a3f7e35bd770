-- Fixture for luamod/spec tests: selection by #tags and --filter.
describe('tagged #fast', function()
  it('first #slow', function() assert.truthy(1) end)
  it('second', function() assert.truthy(2) end)
end)

it('plain third', function() assert.truthy(3) end)

-- Fixture for luamod/spec tests: a syntax error (the file cannot load).
describe('broken', function()
  it('never runs', function( end)
end)

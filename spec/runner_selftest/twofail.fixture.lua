-- Fixture for luamod/spec tests: two failing tests, each a failure of its
-- own (issue 11: the second used to be reported as "context canceled").
describe('two', function()
  it('fails first', function() assert.are.equal(1, 2) end)
  it('fails second', function() assert.are.equal(1, 2) end)
end)

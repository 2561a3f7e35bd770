-- Fixture for luamod/spec tests: failures as busted and luassert report
-- them (the messages are checked by spec_test.go).
describe('messages', function()
  it('assert false', function() assert(false, 'plain assert') end)
  it('assert false table', function() assert(false, { code = 7 }) end)
  it('is_true', function() assert.is_true(false) end)
  it('is_nil', function() assert.is_nil(1) end)
  it('same tables', function() assert.are.same({ 1, { a = 'x', b = 2 } }, { 1, { a = 'y', b = 2 } }) end)
  it('number', function() assert.are.equal(0.5, 2) end)
  it('error table', function() error({ code = 42, list = { 1, 2 }, msg = 'boom' }) end)
  it('error nil', function() error(nil) end)
end)

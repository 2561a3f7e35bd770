-- Fixture for luamod/spec tests: pending tests, a describe body that raises,
-- a failing teardown, custom messages and errors that are not strings.
describe('pending ones', function()
  pending('not written yet')
  it('has no body')
  it('calls pending inside', function()
    pending('decided at run time')
    error('never reached')
  end)
end)

describe('broken describe', function()
  it('collected before the error', function() assert.truthy(true) end)
  error('describe body broke')
end)

describe('teardown breaks', function()
  teardown(function() error('teardown broke') end)
  it('passes itself', function() assert.truthy(true) end)
end)

describe('messages', function()
  it('custom message', function()
    assert.are.equal(1, 2, 'one is not two')
  end)
  it('table error object', function()
    error({ code = 42 })
  end)
end)
